import { DEDUP_HASH_HEX, dedupHash, dedupHashHex, dedupHashOut, parseDedupHashHex } from './dedup-hash';

function hexOf(actorId: string, clientMsgId: string): string {
  dedupHash(actorId, clientMsgId);
  return dedupHashHex(dedupHashOut.hi, dedupHashOut.lo);
}

describe(dedupHash.name, () => {
  it('is a pure function of its two strings, in 16 hex digits', () => {
    const first = hexOf('0b6f1c9e-7d52-4f7e-9a51-2f1f5d0e8c11', 'msg-1');
    hexOf('someone else', 'something else');
    expect(hexOf('0b6f1c9e-7d52-4f7e-9a51-2f1f5d0e8c11', 'msg-1')).toBe(first);
    expect(first).toMatch(DEDUP_HASH_HEX);
  });

  it('tells apart pairs whose concatenations are equal, and the order of the two', () => {
    expect(hexOf('ab', 'c')).not.toBe(hexOf('a', 'bc'));
    expect(hexOf('a\nb', 'c')).not.toBe(hexOf('a', 'b\nc'));
    expect(hexOf('x', 'y')).not.toBe(hexOf('y', 'x'));
    expect(hexOf('', 'a')).not.toBe(hexOf('a', ''));
  });

  it('hashes UTF-16 code units: astral characters and their neighbours differ', () => {
    expect(hexOf('u', '😀')).not.toBe(hexOf('u', '😁'));
    expect(hexOf('u', 'é')).not.toBe(hexOf('u', 'e\u0301'));
  });

  it('spreads sequential ids: no collision in 64 bits, nor in either 32-bit lane alone, over 50,000', () => {
    const full = new Set<string>();
    const lo = new Set<number>();
    const hi = new Set<number>();
    for (let i = 0; i < 50_000; i++) {
      dedupHash('4d7c2a10-0000-4000-8000-000000000001', `client-${i}`);
      full.add(dedupHashHex(dedupHashOut.hi, dedupHashOut.lo));
      lo.add(dedupHashOut.lo);
      hi.add(dedupHashOut.hi);
    }
    expect(full.size).toBe(50_000);
    // 50k values in 2^32: about 0.3 expected collisions per lane; a weak lane would show hundreds.
    expect(lo.size).toBeGreaterThan(49_990);
    expect(hi.size).toBeGreaterThan(49_990);
  });
});

describe(parseDedupHashHex.name, () => {
  it('reads back what dedupHashHex wrote, and refuses anything else', () => {
    dedupHash('alice', 'c-1');
    const { hi, lo } = dedupHashOut;
    const hex = dedupHashHex(hi, lo);
    dedupHash('other', 'other');
    expect(parseDedupHashHex(hex)).toBe(true);
    expect(dedupHashOut).toEqual({ hi, lo });
    expect(dedupHashHex(0, 1)).toBe('0000000000000001');
    for (const bad of ['', '0123', '0123456789abcdeF', '0123456789abcdefa', 'alice\nc-1', '0123456789abcdeg']) {
      expect(parseDedupHashHex(bad)).toBe(false);
    }
  });
});
