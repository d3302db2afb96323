import type { AdminRoom } from '../api';
import { roomIdFromInput, roomSummary } from './room-model';

const ID = '3f1c2b9a-8d7e-4c6b-9a5f-0e1d2c3b4a59';

describe('roomIdFromInput', () => {
  it.each([
    [ID, ID],
    [`  ${ID}\n`, ID],
    [`https://chat.example.com/r/${ID}`, ID],
    [`http://127.0.0.1:3000/r/${ID}/`, ID],
    [`/r/${ID}?x=1#top`, ID],
    [`r/${ID}`, ID],
    ['/r/a%20b', 'a b'],
    ['/r/%E0%A4%A', '%E0%A4%A'], // a malformed escape is taken as it is
  ])('%j → %j', (input, id) => {
    expect(roomIdFromInput(input)).toBe(id);
  });

  it('is null for empty input', () => {
    expect(roomIdFromInput('   ')).toBeNull();
  });
});

describe('roomSummary', () => {
  const time = (iso: string) => `<${iso}>`;
  const base: AdminRoom = {
    room: { id: ID, name: 'Ops', createdAt: '2026-11-27T10:00:00Z', createdBy: 'u1' },
    headSeq: 12345,
    owner: { gatewayId: 'gw-2', epoch: 3 },
    snapshot: { seq: 12000, createdAt: '2026-11-27T11:00:00Z', bytes: 2560 },
  };

  it('shows the owner with its epoch and the last snapshot', () => {
    expect(roomSummary(base, time)).toEqual({
      id: ID,
      name: 'Ops',
      headSeq: '12,345',
      owner: 'gw-2, epoch 3',
      snapshot: 'seq 12,000 · <2026-11-27T11:00:00Z> · 2.5 KiB',
    });
  });

  it('says "not loaded" and "none" when no gateway holds the room and it has no snapshot', () => {
    expect(roomSummary({ ...base, owner: null, snapshot: null }, time)).toMatchObject({ owner: 'not loaded', snapshot: 'none' });
  });
});
