/**
 * The baseline peer as a process of its own (bench/peer.ts): `PORT=<n> node -r ./bench/register.js
 * bench/peer-main.ts`. Prints `peer listening on <url>` once it accepts connections; SIGTERM
 * closes it. Started by bench/compare-main.ts, never by the product.
 */
import { startPeer } from './peer';

async function main(): Promise<void> {
  const peer = await startPeer(Number(process.env.PORT ?? 0));
  console.log(`peer listening on ${peer.url}`);
  const stop = () => void peer.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`peer: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
