/** Left-aligned text table with a header row, columns two spaces apart. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * A progress bar on a stream (stderr): redrawn in place on a terminal; otherwise one line per
 * 10 % step, so logs stay readable.
 */
export class ProgressBar {
  private lastStep = -1;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly total: number,
    private readonly unit: string,
    private readonly width = 30,
  ) {}

  update(done: number): void {
    const ratio = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const percent = Math.floor(ratio * 100);
    const text = `${render(ratio, this.width)} ${String(percent).padStart(3)}% ${done}/${this.total} ${this.unit}`;
    if (this.out.isTTY) {
      this.out.write(`\r${text}`);
      this.drawn = true;
      return;
    }
    const step = Math.floor(percent / 10);
    if (step !== this.lastStep) {
      this.lastStep = step;
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

function render(ratio: number, width: number): string {
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
