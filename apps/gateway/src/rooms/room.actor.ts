import {
  adoptLegacyOwner,
  applyEvent,
  assertMayRead,
  assertMayWrite,
  canModify,
  decideMemberCommand,
  decideReaction,
  messageStatus,
  membershipAfter,
  moderates,
  readVerdict,
  type Caller,
  type MemberCommand,
  type ReadVerdict,
  dedupKey,
  DomainError,
  emptyRoomState,
  judge,
  JOIN_AFTER_LIMIT,
  JOIN_LATEST_LIMIT,
  type CommittedRef,
  type EventEnvelope,
  type EventType,
  type JoinAck,
  type MovedReason,
  type RoomState,
} from '../../../../libs/domain/src';
import type { Principal } from '../../../../libs/auth/src';
import type { EventLogRepository, NewEvent, RoomRepository } from '../../../../libs/persistence/src';
import type { CommitFailure, CommitTarget, GroupCommitWriter } from './group-commit.writer';
import { RecentEvents } from './recent-events';

/** Where a room's events and notices go: the transport's broadcast to the room's sockets. */
export interface RoomChannel {
  event(envelope: EventEnvelope): void;
  moved(roomId: string, reason: MovedReason): void;
  /** The user was removed or banned: their sockets in the room get `room:kicked` and are closed. */
  kicked(roomId: string, userId: string, reason: KickReason): void;
  /** The user left a private room: their sockets stop receiving its events (they stay connected). */
  unsubscribed?(roomId: string, userId: string): void;
}

export type KickReason = 'removed' | 'banned';

/** A membership command's result: the committed event, or null when it changed nothing. */
export type MemberCommandResult = CommittedRef | null;

/** The rules' view of a ticket or token holder. */
export function callerOf(user: Principal): Caller {
  return { id: user.id, username: user.username, isAdmin: user.role === 'admin' };
}

/** The snapshot side of libs/storage, as the actor needs it. */
export interface SnapshotPort {
  save(state: RoomState, epoch: number): Promise<{ outcome: 'saved' | 'stale'; seq: number; bytes: number }>;
  loadNewest(roomId: string, maxSeq: number): Promise<{ state: RoomState; seq: number } | null>;
}

/** How a load went: where the state came from and how much of the log was replayed. */
export interface LoadReport {
  snapshotSeq: number | null;
  replayedEvents: number;
  headSeq: number;
  epoch: number;
}

export interface RoomActorDeps {
  gatewayId: string;
  /** Absent: every load replays the whole log (no object store configured). */
  snapshots?: SnapshotPort;
  rooms: Pick<RoomRepository, 'takeLease' | 'leaseState'>;
  events: Pick<EventLogRepository, 'readAfter' | 'readBefore' | 'findMessage' | 'findSent'>;
  writer: GroupCommitWriter;
  channel: RoomChannel;
  /** Resolves `member:invite`'s username. */
  users?: { findByUsername(username: string): Promise<{ id: string; username: string } | null> };
  /** Called once when the room is lost to another owner, so the registry forgets it. */
  onLost(actor: RoomActor): void;
}

interface PendingEvent {
  event: NewEvent;
  envelope: EventEnvelope;
  key: string | undefined;
  resolve(ref: CommittedRef): void;
  reject(err: Error): void;
  promise: Promise<CommittedRef>;
}

const REPLAY_PAGE = 5_000;
/**
 * How long a load waits for S3 before replaying the log instead, ms. Replaying a tail of
 * SNAPSHOT_EVERY_EVENTS takes far less than an unresponsive S3 endpoint's timeouts.
 */
const SNAPSHOT_LOAD_BUDGET_MS = 3_000;

/** How a retire (drain or idle unload) ended; `busy`: the room was in use again and stays. */
export type RetireOutcome = 'saved' | 'stale' | 'skipped' | 'failed' | 'busy';

export interface RetireOptions {
  /** Attempts at the final snapshot (0: none). Default 3. */
  snapshotAttempts?: number;
  /** What the room's sockets are told. Default `drain`. */
  reason?: MovedReason;
  /**
   * Checked once the retire's turn comes, after every earlier command: false keeps the room
   * (an idle unload that a new socket or command overtook).
   */
  onlyIf?: () => boolean;
}

/**
 * One room on its owning gateway: the only writer of the room's log. Commands run one at a time
 * through `serially`, which assigns seqs; commits are pipelined through the shared group-commit
 * writer and acknowledged, broadcast and folded into the state strictly in seq order.
 */
export class RoomActor implements CommitTarget {
  readonly roomId: string;
  epoch = 0;
  private state: RoomState;
  private readonly pending: PendingEvent[] = [];
  private readonly pendingByKey = new Map<string, PendingEvent>();
  /** Committed envelopes kept to bridge a join's history read and its subscription. */
  private readonly recent = new RecentEvents();
  private chain: Promise<unknown> = Promise.resolve();
  /** Commands queued or running (not counting commits in flight, which `pending` holds). */
  private commandsInFlight = 0;
  private needsResync = false;
  private lost = false;
  /** Seq and time of the last snapshot known to be stored (or the load point). */
  lastSnapshotSeq = 0;
  lastSnapshotAt = Date.now();
  /** Whether this gateway stored a snapshot of the room since it loaded it (the scheduler's load phase). */
  snapshottedSinceLoad = false;
  loadReport: LoadReport | undefined;

  private constructor(
    roomId: string,
    private readonly deps: RoomActorDeps,
  ) {
    this.roomId = roomId;
    this.state = emptyRoomState(roomId);
  }

  /**
   * Takes the room's lease (raising its epoch, which fences any previous owner) and rebuilds its
   * state from the log. Null when the room does not exist.
   */
  static async load(roomId: string, deps: RoomActorDeps): Promise<RoomActor | null> {
    const lease = await deps.rooms.takeLease(roomId, deps.gatewayId);
    if (!lease) return null;
    const actor = new RoomActor(roomId, deps);
    actor.epoch = lease.epoch;
    // Snapshots only save time: a failure, or S3 slower than the budget, falls back to the log.
    const snapshot = deps.snapshots ? await withinBudget(deps.snapshots.loadNewest(roomId, lease.headSeq), SNAPSHOT_LOAD_BUDGET_MS) : null;
    if (snapshot) {
      actor.state = snapshot.state;
      actor.lastSnapshotSeq = snapshot.seq;
      // A format-1 snapshot predates membership and does not name the owner.
      if (lease.creator) adoptLegacyOwner(actor.state, lease.creator);
    }
    const from = actor.state.headSeq;
    await actor.replayUpTo(lease.headSeq, false);
    actor.loadReport = {
      snapshotSeq: snapshot?.seq ?? null,
      replayedEvents: actor.state.headSeq - from,
      headSeq: actor.state.headSeq,
      epoch: lease.epoch,
    };
    return actor;
  }

  get headSeq(): number {
    return this.state.headSeq;
  }

  get name(): string {
    return this.state.name;
  }

  /** Whether `user` may connect to and read this room now (the handshake's check). */
  readVerdict(user: Principal): ReadVerdict {
    return readVerdict(this.state, callerOf(user));
  }

  /** The folded state, read-only, for tests and diagnostics. */
  get view(): Readonly<RoomState> {
    return this.state;
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** Nothing queued, running or being committed: the room may hibernate if no socket holds it. */
  get isIdle(): boolean {
    return !this.lost && this.commandsInFlight === 0 && this.pending.length === 0;
  }

  /** Events committed since the last stored snapshot. */
  get unsnapshotted(): number {
    return this.state.headSeq - this.lastSnapshotSeq;
  }

  /**
   * Writes a snapshot of the committed state. The store copies the state synchronously, so
   * commits may go on meanwhile. A `stale` outcome means another gateway holds the room now.
   */
  async snapshot(): Promise<'saved' | 'stale' | 'skipped'> {
    const store = this.deps.snapshots;
    if (!store || this.lost) return 'skipped';
    const seq = this.state.headSeq;
    const result = await store.save(this.state, this.epoch);
    if (result.outcome === 'stale') {
      this.loseRoom('failover');
      return 'stale';
    }
    if (seq > this.lastSnapshotSeq) this.lastSnapshotSeq = result.seq;
    this.lastSnapshotAt = Date.now();
    this.snapshottedSinceLoad = true;
    return 'saved';
  }

  /**
   * Hands the room over (drain, shutdown, idle unload) as one command of the room: commands
   * that arrive meanwhile queue behind it and are then refused with `room_moved`, after the
   * clients got the `room:moved` notice. It waits for in-flight commits, writes a final snapshot
   * when the log has a tail beyond the last one (best effort: the log is the truth), runs
   * `beforeRelease` (ownership release) and gives the room up.
   */
  async retire(beforeRelease: () => Promise<void>, options: RetireOptions = {}): Promise<RetireOutcome> {
    const { snapshotAttempts = 3, reason = 'drain', onlyIf } = options;
    let snapshot: RetireOutcome = 'skipped';
    await this.serially(async () => {
      // This command counts itself: anything else queued or committing means the room is in use.
      if (onlyIf && (this.commandsInFlight > 1 || this.pending.length > 0 || !onlyIf())) {
        snapshot = 'busy';
        return;
      }
      await Promise.allSettled(this.pending.map((p) => p.promise));
      for (let attempt = 1; attempt <= snapshotAttempts && !this.lost && this.unsnapshotted > 0; attempt++) {
        try {
          snapshot = await this.snapshot();
          break;
        } catch {
          snapshot = 'failed';
          if (attempt < snapshotAttempts) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
        }
      }
      await beforeRelease().catch(() => undefined);
      this.loseRoom(reason);
    }).catch(() => undefined);
    return snapshot;
  }

  /**
   * Posts a message; resolves with its seq and ts once committed. Idempotent per clientMsgId.
   * `replyTo` must name a message of this room that is not deleted (`not_found` otherwise).
   */
  async send(author: Principal, clientMsgId: string, text: string, replyTo?: number): Promise<CommittedRef> {
    const { committed } = await this.serially(async () => {
      // A resend of a message committed (or in flight) before a mute still gets its first result:
      // it writes nothing. Only a new message is refused.
      const key = dedupKey(author.id, clientMsgId);
      // The common case, a new send, stays synchronous: only a fingerprint match is confirmed.
      const candidate = this.state.sent.get(author.id, clientMsgId);
      const done = candidate && (await this.confirmSent(author.id, clientMsgId, candidate));
      if (done) return { committed: Promise.resolve(done) };
      const inFlight = this.pendingByKey.get(key);
      if (inFlight) return { committed: inFlight.promise };
      assertMayWrite(this.state, callerOf(author), Date.now());
      if (replyTo === undefined) return { committed: this.append('message.posted', author, { text }, clientMsgId, key).promise };
      await this.assertLiveMessage(replyTo);
      // A message still being committed (above the head) is not a reply target yet: `not_found`.
      return { committed: this.append('message.posted', author, { text, replyTo }, clientMsgId, key).promise };
    });
    return committed;
  }

  async edit(author: Principal, seq: number, text: string): Promise<CommittedRef> {
    const { committed } = await this.serially(async () => {
      assertMayWrite(this.state, callerOf(author), Date.now());
      await this.authorise(author, seq, 'edit');
      return { committed: this.append('message.edited', author, { seq, text }, undefined, undefined).promise };
    });
    return committed;
  }

  async delete(author: Principal, seq: number): Promise<CommittedRef> {
    const { committed } = await this.serially(async () => {
      assertMayRead(this.state, callerOf(author));
      await this.authorise(author, seq, 'delete');
      return { committed: this.append('message.deleted', author, { seq }, undefined, undefined).promise };
    });
    return committed;
  }

  /**
   * `reaction:add` (`add`) or `reaction:remove` on the message at `seq`. Decided against the
   * folded reactions, so a duplicate add (or the removal of an absent reaction) writes nothing
   * and resolves null. Like a membership command it holds the room's chain until its event is
   * committed, so the next reaction command sees it folded (no duplicate can slip in between).
   * Only messages in the window can take reactions (their reactions are in memory): an older,
   * live one is `forbidden`.
   */
  async react(user: Principal, seq: number, emoji: string, add: boolean): Promise<CommittedRef | null> {
    return this.serially(async () => {
      assertMayWrite(this.state, callerOf(user), Date.now());
      await this.assertLiveMessage(seq);
      if (!this.state.messages.has(seq)) {
        throw new DomainError('forbidden', `message ${seq} is older than the most recent messages that take reactions`);
      }
      if (decideReaction(this.state, seq, emoji, user.id, add) === 'noop') return null;
      return this.append(add ? 'reaction.added' : 'reaction.removed', user, { seq, emoji }, undefined, undefined).promise;
    });
  }

  /**
   * History for a joining socket and the moment to subscribe it: `subscribe` runs synchronously
   * right after the last history event is known, so the socket sees every later event live,
   * exactly once, after its ack.
   */
  async join(user: Principal, afterSeq: number | undefined, subscribe: () => void): Promise<JoinAck> {
    return this.serially(async () => {
      // The first join of a public room (or of a private room after an invitation) makes the
      // user a member: `member.joined` is committed before the history is read, so it is in it.
      const joined = decideMemberCommand(this.state, callerOf(user), { kind: 'join' });
      if (joined) await this.append(joined.type, user, joined.data, undefined, undefined).promise;
      const head = this.state.headSeq;
      let events: EventEnvelope[];
      let hasMore: boolean;
      // The page comes from the recent ring when it holds all of it (the committed envelopes the
      // log would return), so a reconnect storm after a network blip costs the log nothing.
      if (afterSeq === undefined) {
        events = this.recent.between(Math.max(0, head - JOIN_LATEST_LIMIT), head) ?? (await this.deps.events.readBefore(this.roomId, head + 1, JOIN_LATEST_LIMIT));
        hasMore = (events[0]?.seq ?? 1) > 1;
      } else {
        const from = Math.min(afterSeq, head);
        const held = head - from <= JOIN_AFTER_LIMIT ? this.recent.between(from, head) : undefined;
        if (held) {
          events = held;
          hasMore = false;
        } else {
          events = await this.deps.events.readAfter(this.roomId, from, JOIN_AFTER_LIMIT + 1);
          events = events.filter((e) => e.seq <= head);
          hasMore = events.length > JOIN_AFTER_LIMIT;
          if (hasMore) events.length = JOIN_AFTER_LIMIT;
        }
      }
      // Commits that landed while history was read are bridged from memory.
      if (!hasMore && this.state.headSeq > head) {
        if ((this.recent.oldestSeq ?? Infinity) > head + 1) hasMore = true;
        else events.push(...this.recent.after(head));
      }
      subscribe();
      return { ok: true as const, room: { id: this.roomId, name: this.state.name, headSeq: this.state.headSeq }, events, hasMore };
    });
  }

  /**
   * A membership command (`room:leave`, `member:*`): decided against the folded state, appended
   * through the group commit like any event, and acknowledged once committed. It holds the
   * room's command chain until its event is committed, so the next command (a send of the user
   * just muted or banned, another moderation) is decided against a state that includes it.
   * Null: the command changed nothing (e.g. inviting a member), and nothing was written.
   */
  async member(caller: Principal, command: MemberCommand): Promise<MemberCommandResult> {
    return this.serially(async () => {
      const decided = decideMemberCommand(this.state, callerOf(caller), command);
      if (!decided) return null;
      return this.append(decided.type, caller, decided.data, undefined, undefined).promise;
    });
  }

  /** `member:invite {username}`: the username is resolved first (`not_found` if nobody has it). */
  async invite(caller: Principal, username: string): Promise<MemberCommandResult> {
    if (!this.deps.users) throw new DomainError('unavailable', 'invitations are not available here');
    const user = await this.deps.users.findByUsername(username);
    if (!user) throw new DomainError('not_found', `no user "${username}"`);
    return this.member(caller, { kind: 'invite', userId: user.id, username: user.username });
  }

  // --- CommitTarget: called by the group-commit writer, in order --------------------------

  onCommitted(events: NewEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const pending = this.pending.shift();
      if (!pending || pending.event !== events[i]) {
        // Cannot happen while the writer keeps order; resync rather than ack out of order.
        this.needsResync = true;
        continue;
      }
      this.commitLocally(pending.envelope);
      if (pending.key) this.pendingByKey.delete(pending.key);
      pending.resolve({ seq: pending.envelope.seq, ts: pending.envelope.ts });
    }
  }

  onFailed(_events: NewEvent[], failure: CommitFailure): void {
    // Everything queued behind the failed batch would fail too: it no longer continues the head.
    this.deps.writer.discard(this);
    const failed = this.pending.splice(0);
    this.pendingByKey.clear();
    if (failure.kind === 'rejected') {
      // Only that event's data was refused: nothing from it on was written and the lease is not
      // in question, so the room goes on from its head without a resync.
      this.settleAfterRejected(failed, failure.event);
      return;
    }
    this.needsResync = true;
    if (failure.kind === 'duplicate') {
      // A client message id older than memory is in the log already: answer those sends with
      // their first result and write the others again, rather than failing them all.
      void this.serially(() => this.settleAfterDuplicate(failed)).catch((err: unknown) => {
        const error = err instanceof DomainError ? err : new DomainError('unavailable', 'the event log is unavailable; resend with the same clientMsgId');
        for (const p of failed) p.reject(error);
      });
      return;
    }
    const error =
      failure.kind === 'refused'
        ? new DomainError('unavailable', 'the room is changing owner; reconnect and resend with the same clientMsgId')
        : new DomainError('unavailable', 'the event log is unavailable; resend with the same clientMsgId');
    for (const p of failed) p.reject(error);
    // Find out now, not at the next command, whether the room was taken from us.
    void this.serially(() => Promise.resolve()).catch(() => undefined);
  }

  // --- internals ---------------------------------------------------------------------------

  /**
   * The first result of `actorId`'s send `clientMsgId`, given the dedup window's `candidate` for
   * it; undefined if it is not committed after all. The window's answer is a fingerprint match,
   * so it is confirmed against the committed event: from the recent ring when it holds that send
   * (no I/O: a client's resends are usually its latest messages), else from the log. A colliding
   * fingerprint thus never turns a new message into a "duplicate", nor hides a committed one. A
   * send older than the window is not found here; the log's unique index catches it
   * (settleAfterDuplicate).
   */
  private async confirmSent(actorId: string, clientMsgId: string, candidate: CommittedRef): Promise<CommittedRef | undefined> {
    const recent = this.recent.at(candidate.seq);
    if (recent?.clientMsgId === clientMsgId && recent.actor?.id === actorId) return candidate;
    // Older than the ring, or (a collision) another send's entry: the log decides.
    return (await this.deps.events.findSent(this.roomId, actorId, [clientMsgId])).get(clientMsgId);
  }

  /**
   * After a batch hit the log's unique index (runs as a command, after the resync): sends whose
   * client message id the log already holds get its first `{seq, ts}`; the rest are appended
   * again with new seqs (nothing of the failed batch was written). Edits and deletes carry no
   * idempotency key, so they are failed for the client to retry.
   */
  private async settleAfterDuplicate(failed: PendingEvent[]): Promise<void> {
    const idsByActor = new Map<string, string[]>();
    for (const p of failed) {
      if (!p.key || !p.event.actorId || !p.event.clientMsgId) continue;
      idsByActor.set(p.event.actorId, [...(idsByActor.get(p.event.actorId) ?? []), p.event.clientMsgId]);
    }
    const foundByActor = new Map<string, Map<string, CommittedRef>>();
    for (const [actorId, ids] of idsByActor) {
      const found = await this.deps.events.findSent(this.roomId, actorId, ids);
      for (const [clientMsgId, ref] of found) this.state.sent.set(actorId, clientMsgId, ref.seq, ref.ts);
      foundByActor.set(actorId, found);
    }
    for (const p of failed) {
      const { actorId, actorUsername, clientMsgId } = p.event;
      if (!p.key || !actorId || !clientMsgId) {
        p.reject(new DomainError('unavailable', 'the event log refused the batch; retry'));
        continue;
      }
      const done = foundByActor.get(actorId)?.get(clientMsgId);
      if (done) {
        p.resolve(done);
        continue;
      }
      const inFlight = this.pendingByKey.get(p.key);
      const again = inFlight ?? this.append(p.event.type, { id: actorId, username: actorUsername ?? '', role: 'user' }, p.event.data, clientMsgId, p.key);
      again.promise.then(p.resolve, p.reject);
    }
  }

  /**
   * After the database refused one event's data on its own (the writer committed the events
   * before it): its sender gets `invalid`. Every other failed event was not written and is
   * appended again at once, in order, with fresh seqs that continue the head, and its sender gets
   * that result. Synchronous, so no command can take a seq in between and nothing is reordered.
   */
  private settleAfterRejected(failed: PendingEvent[], rejected: NewEvent): void {
    for (const p of failed) {
      if (p.event === rejected) {
        p.reject(new DomainError('invalid', 'the event log cannot store this content'));
        continue;
      }
      const { type, actorId, actorUsername, clientMsgId, data } = p.event;
      const author: Principal = { id: actorId ?? '', username: actorUsername ?? '', role: 'user' };
      this.append(type, author, data, clientMsgId ?? undefined, p.key).promise.then(p.resolve, p.reject);
    }
  }

  /** Runs `command` after every earlier command of this room, resyncing first if needed. */
  private serially<T>(command: () => Promise<T>): Promise<T> {
    this.commandsInFlight += 1;
    const run = this.chain.then(async () => {
      if (this.lost) throw new DomainError('room_moved', 'this room moved to another gateway');
      if (this.needsResync) await this.resync();
      return command();
    });
    // The chain waits for seq assignment only, never for a commit: write commands hand back
    // their commit promise wrapped in an object, so `run` settles as soon as the event is queued.
    const settled = () => {
      this.commandsInFlight -= 1;
    };
    this.chain = run.then(settled, settled);
    return run;
  }

  private append(type: EventType, author: Principal, data: unknown, clientMsgId: string | undefined, key: string | undefined): PendingEvent {
    const seq = this.state.headSeq + this.pending.length + 1;
    const ts = new Date().toISOString();
    const event: NewEvent = {
      seq,
      type,
      actorId: author.id,
      actorUsername: author.username,
      clientMsgId: clientMsgId ?? null,
      data,
      ts,
    };
    const envelope: EventEnvelope = {
      roomId: this.roomId,
      seq,
      type,
      ts,
      actor: { id: author.id, username: author.username },
      data: data as EventEnvelope['data'],
    };
    if (clientMsgId !== undefined) envelope.clientMsgId = clientMsgId;
    // The projection row travels with the event into the same transaction. Membership events
    // are committed one at a time (see `member`), so the committed state is the one before it.
    if (type.startsWith('member.')) event.membership = membershipAfter(this.state, envelope);
    let resolve!: (ref: CommittedRef) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<CommittedRef>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const pending: PendingEvent = { event, envelope, key, resolve, reject, promise };
    this.pending.push(pending);
    if (key) this.pendingByKey.set(key, pending);
    this.deps.writer.enqueue(this, event);
    return pending;
  }

  /** `not_found` unless the message at `seq` exists and is not deleted (older ones: the log). */
  private async assertLiveMessage(seq: number): Promise<void> {
    let status = messageStatus(this.state, seq);
    if (status === 'unknown') {
      const info = await this.deps.events.findMessage(this.roomId, seq);
      status = info && !info.deleted ? 'live' : 'not_found';
    }
    if (status === 'not_found') throw new DomainError('not_found', `no message at seq ${seq}`);
  }

  private async authorise(user: Principal, seq: number, action: 'edit' | 'delete'): Promise<void> {
    const mayModerate = moderates(this.state, callerOf(user));
    let verdict = canModify(this.state, seq, user.id, action, mayModerate);
    if (verdict === 'unknown') {
      const info = await this.deps.events.findMessage(this.roomId, seq);
      verdict = info ? judge(info, user.id, action, mayModerate) : 'not_found';
    }
    if (verdict === 'not_found') throw new DomainError('not_found', `no message at seq ${seq}`);
    if (verdict === 'forbidden') throw new DomainError('forbidden', `only the author may ${action} message ${seq}`);
  }

  /** Applies a committed event to the state, the recent ring and the room's sockets. */
  private commitLocally(envelope: EventEnvelope): void {
    applyEvent(this.state, envelope);
    this.recent.push(envelope);
    this.deps.channel.event(envelope);
    if (envelope.type === 'member.banned' || envelope.type === 'member.removed') {
      const { userId } = envelope.data as { userId: string };
      this.deps.channel.kicked(this.roomId, userId, envelope.type === 'member.banned' ? 'banned' : 'removed');
    } else if (envelope.type === 'member.left' && this.state.visibility === 'private') {
      this.deps.channel.unsubscribed?.(this.roomId, (envelope.data as { userId: string }).userId);
    }
  }

  /**
   * After a failed commit: confirm the lease is still ours and catch up with what the log holds
   * (a commit whose acknowledgement was lost did happen). A lost lease drops the room.
   */
  private async resync(): Promise<void> {
    let lease: { epoch: number; headSeq: number } | null;
    try {
      lease = await this.deps.rooms.leaseState(this.roomId);
    } catch {
      throw new DomainError('unavailable', 'the event log is unavailable; resend with the same clientMsgId');
    }
    if (!lease || lease.epoch !== this.epoch) {
      this.loseRoom('failover');
      throw new DomainError('room_moved', 'this room moved to another gateway');
    }
    try {
      await this.replayUpTo(lease.headSeq, true);
    } catch {
      throw new DomainError('unavailable', 'the event log is unavailable; resend with the same clientMsgId');
    }
    this.needsResync = false;
  }

  /** Folds the log from the current head up to `headSeq`; `live` also broadcasts each event. */
  private async replayUpTo(headSeq: number, live: boolean): Promise<void> {
    while (this.state.headSeq < headSeq) {
      const page = await this.deps.events.readAfter(this.roomId, this.state.headSeq, Math.min(REPLAY_PAGE, headSeq - this.state.headSeq));
      if (page.length === 0) throw new Error(`room ${this.roomId}: log ends at ${this.state.headSeq}, head says ${headSeq}`);
      for (const envelope of page) {
        if (live) this.commitLocally(envelope);
        else {
          applyEvent(this.state, envelope);
          this.recent.push(envelope);
        }
      }
    }
  }

  /** Gives the room up: later commands fail with `room_moved` and clients are told to move. */
  loseRoom(reason: MovedReason): void {
    if (this.lost) return;
    this.lost = true;
    const error = new DomainError('room_moved', 'this room moved to another gateway');
    for (const p of this.pending.splice(0)) p.reject(error);
    this.pendingByKey.clear();
    this.deps.writer.discard(this);
    this.deps.channel.moved(this.roomId, reason);
    this.deps.onLost(this);
  }
}

/** `promise`'s value, or null when it takes longer than `ms` (the work itself is not cancelled). */
async function withinBudget<T>(promise: Promise<T | null>, ms: number): Promise<T | null> {
  // A rejection after the budget ran out has no one left to hear it: mark it handled.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
