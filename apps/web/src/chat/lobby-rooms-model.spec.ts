import type { RoomListEntry } from '../api';
import { mergeRoomPages, RoomsModel, type RoomsPage } from './lobby-rooms-model';

function room(id: string, unread = 0): RoomListEntry {
  return { id, name: `room ${id}`, visibility: 'public', role: 'member', headSeq: 1, lastEvent: null, unread, lastReadSeq: 0 };
}
const ids = (rooms: readonly RoomListEntry[]): string[] => rooms.map((r) => r.id);

/** A fake `GET /rooms` over a list, pages of `size`, the cursor being the index to go on from. */
function server(size: number, all: () => RoomListEntry[]) {
  const calls: Array<string | null> = [];
  const fetchPage = async (before: string | null): Promise<RoomsPage> => {
    calls.push(before);
    const start = before === null ? 0 : Number(before);
    const rooms = all().slice(start, start + size);
    return { rooms, next: start + size < all().length ? String(start + size) : null };
  };
  return { calls, fetchPage };
}

describe('mergeRoomPages', () => {
  it('keeps page order and each room once, at its first place', () => {
    expect(ids(mergeRoomPages([[room('a'), room('b')], [room('b'), room('c')], [room('a')]]))).toEqual(['a', 'b', 'c']);
    expect(mergeRoomPages([])).toEqual([]);
  });
});

describe('RoomsModel', () => {
  it('shows the first page, then appends pages with the cursor until there is no more', async () => {
    const rooms = ['a', 'b', 'c', 'd', 'e'].map((id) => room(id));
    const api = server(2, () => rooms);
    const model = new RoomsModel(api.fetchPage);

    expect(await model.refresh()).toEqual({ rooms: rooms.slice(0, 2), hasMore: true });
    expect(ids((await model.loadMore()).rooms)).toEqual(['a', 'b', 'c', 'd']);
    const last = await model.loadMore();
    expect(last).toEqual({ rooms, hasMore: false });
    expect(await model.loadMore()).toEqual(last);
    expect(api.calls).toEqual([null, '2', '4']);
  });

  it('refreshes as many pages as were loaded, with new counts and order', async () => {
    let rooms = ['a', 'b', 'c', 'd', 'e'].map((id) => room(id));
    const api = server(2, () => rooms);
    const model = new RoomsModel(api.fetchPage);
    await model.refresh();
    await model.loadMore();

    rooms = [room('e', 3), ...rooms.slice(0, 4)];
    api.calls.length = 0;
    const snapshot = await model.refresh();
    expect(api.calls).toEqual([null, '2']);
    expect(ids(snapshot.rooms)).toEqual(['e', 'a', 'b', 'c']);
    expect(snapshot.rooms[0]!.unread).toBe(3);
    expect(snapshot.hasMore).toBe(true);
  });

  it('never lets a refresh and a "Load more" interleave, and folds waiting refreshes into one', async () => {
    const rooms = ['a', 'b', 'c', 'd'].map((id) => room(id));
    const api = server(2, () => rooms);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = new RoomsModel(async (before) => {
      order.push(`start ${before}`);
      if (before === null && order.length === 1) await gate; // the first refresh is slow
      const page = await api.fetchPage(before);
      order.push(`end ${before}`);
      return page;
    });

    const first = model.refresh();
    const more = model.loadMore();
    const second = model.refresh();
    const third = model.refresh();
    expect(third).toBe(second);
    release();
    await first;
    expect(ids((await more).rooms)).toEqual(['a', 'b', 'c', 'd']);
    expect(ids((await second).rooms)).toEqual(['a', 'b', 'c', 'd']);
    expect(order).toEqual(['start null', 'end null', 'start 2', 'end 2', 'start null', 'end null', 'start 2', 'end 2']);
  });

  it('keeps the shown list when a request fails, and goes on afterwards', async () => {
    const rooms = [room('a')];
    let fail = false;
    const api = server(2, () => rooms);
    const model = new RoomsModel(async (before) => {
      if (fail) throw new Error('network');
      return api.fetchPage(before);
    });
    await model.refresh();
    fail = true;
    await expect(model.refresh()).rejects.toThrow('network');
    expect(ids(model.snapshot.rooms)).toEqual(['a']);
    fail = false;
    expect(ids((await model.refresh()).rooms)).toEqual(['a']);
  });
});
