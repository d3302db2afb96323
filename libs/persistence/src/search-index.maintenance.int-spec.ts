import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Database } from './database';
import { EventLogRepository } from './event-log.repository';
import { MessageSearchRepository } from './message-search.repository';
import { RoomRepository } from './room.repository';
import { SEARCH_INDEX_CLEAN_LOCK, SearchIndexMaintenance } from './search-index.maintenance';
import { UserRepository, type UserRecord } from './user.repository';

/** The search index's pending-list merge, against real Postgres (shared test database). */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

let db: Database;
let maintenance: SearchIndexMaintenance;
let log: EventLogRepository;
let rooms: RoomRepository;
let search: MessageSearchRepository;
let alice: UserRecord;

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'search-index-int-spec' });
  maintenance = new SearchIndexMaintenance(db);
  log = new EventLogRepository(db);
  rooms = new RoomRepository(db);
  search = new MessageSearchRepository(db);
  alice = await new UserRepository(db).create(unique('alice'), 'not-a-real-hash');
});

afterAll(async () => {
  await db.close();
});

/** Posts `n` messages into a fresh room through the append statement; each holds `word`. */
async function postInto(n: number, word: string): Promise<string> {
  const { room } = await rooms.create(unique('room'), alice);
  const lease = await rooms.takeLease(room.id, 'gw-test');
  const events = Array.from({ length: n }, (_, i) => ({
    seq: room.headSeq + 1 + i,
    type: 'message.posted' as const,
    actorId: alice.id,
    actorUsername: alice.username,
    clientMsgId: randomUUID(),
    data: { text: `${word} message number ${i} ${randomUUID()}` },
    ts: new Date().toISOString(),
  }));
  const outcome = await log.appendBatch([{ roomId: room.id, epoch: lease!.epoch, events }]);
  expect(outcome.get(room.id)).toBe('committed');
  return room.id;
}

describe(SearchIndexMaintenance.name, () => {
  it('merges the pending entries the append statement left, and search still finds them after', async () => {
    // Other suites' gateways merge the same index now and then: a merge of theirs between the
    // append and ours leaves ours nothing to do, so this takes the first of a few tries.
    const word = unique('needle');
    let merged = 0;
    let roomId = '';
    for (let attempt = 0; attempt < 5 && merged === 0; attempt++) {
      roomId = await postInto(200, word);
      merged = (await maintenance.cleanPendingList()) ?? 0;
    }
    expect(merged).toBeGreaterThan(0);
    const hits = await search.searchRoom(roomId, word, undefined, 500);
    expect(hits).toHaveLength(200);
  });

  it('answers null at once, without merging, while another session holds the merge', async () => {
    const other = new Client({ connectionString: DATABASE_URL });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [SEARCH_INDEX_CLEAN_LOCK.toString()]);
      await postInto(50, unique('held'));
      const started = Date.now();
      expect(await maintenance.cleanPendingList()).toBeNull();
      expect(Date.now() - started).toBeLessThan(2_000);
      await other.query('SELECT pg_advisory_unlock($1)', [SEARCH_INDEX_CLEAN_LOCK.toString()]);
      expect(await maintenance.cleanPendingList()).not.toBeNull();
    } finally {
      await other.end();
    }
  });
});
