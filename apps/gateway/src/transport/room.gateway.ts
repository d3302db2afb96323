import { performance } from 'node:perf_hooks';
import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { TokenBucketLimiter, TokenService, type Ticket } from '../../../../libs/auth/src';
import type { AppConfig } from '../../../../libs/config/src';
import {
  ackCodeOf,
  DomainError,
  parseOrThrow,
  schemas,
  type AckError,
  type CommitAck,
  type JoinAck,
  type MemberAck,
  type ReactionAck,
  type TypingAck,
  type ReadMarkAck,
  type ClientToServerEvents,
} from '../../../../libs/domain/src';
import { DrainService } from '../lifecycle/drain.service';
import { GatewayMetrics, type AckCommand } from '../metrics/gateway.metrics';
import { RoomHibernator } from '../lifecycle/room.hibernator';
import { ReadMarkerBatcher } from '../read-markers/read-marker.batcher';
import { PresenceTracker } from '../rooms/presence.tracker';
import type { OwnershipCheck } from '../rooms/room-ownership.check';
import { RoomRegistry } from '../rooms/room.registry';
import { TypingTracker } from '../rooms/typing.tracker';
import type { MemberCommandResult, RoomActor } from '../rooms/room.actor';
import { CONFIG, OWNERSHIP } from '../tokens';
import { ackFailureLevel, type AckStage } from './ack-failure';
import { connectedRoom, joinedRoom, SocketRoomChannel, userRoom } from './socket-room.channel';

interface SocketData {
  user: Ticket;
  roomId: string;
  joined: boolean;
  /** A `room:join` of this socket is waiting for its turn in the room or being answered. */
  joining?: boolean;
}

type RoomSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>;

/**
 * A command that passed the edge (parsed, rate-limited): what it is about, for the log line if
 * it fails (ids only, never its text), and how to run it in the room.
 */
interface AcceptedCommand<T> {
  about: { clientMsgId?: string; seq?: number };
  run(): Promise<T>;
}

/**
 * `typing` renewals per user: a client renews about every 2–3 s while keys are pressed, so 2 a
 * second with a burst of 5 is ample; more is `rate_limited` (the state is memory, not the log).
 */
const TYPING_RATE_PER_SEC = 2;
const TYPING_BURST = 5;

/**
 * `room:join`s per user and room: a client joins once per connection (again after a reconnect),
 * so 2 a second with a burst of 10 never stops a real one. Each join runs in the room's chain and
 * may read up to 500 events from the log, so unlimited joins from one user would hold up every
 * other member's sends. One join per socket may be in flight; a second is `rate_limited` too.
 */
const JOIN_RATE_PER_SEC = 2;
const JOIN_BURST = 10;

/**
 * Presence changes of a room within this window go out as one `room:presence`. Each carries the
 * whole user list to every joined socket, so a room of N users moving (N leaves, then N joins on
 * the new owner) would otherwise send N² frames of up to N users each.
 */
const PRESENCE_COALESCE_MS = 50;

/**
 * The Socket.IO edge of a gateway: authenticates the handshake, parses and rate-limits each
 * command, and hands it to the room's actor. No business rule lives here.
 */
@WebSocketGateway()
export class RoomGateway implements OnGatewayInit, OnModuleDestroy {
  private readonly logger = new Logger(RoomGateway.name);
  private readonly presence = new PresenceTracker();
  private readonly sendLimiter: TokenBucketLimiter;
  private readonly typingLimiter = new TokenBucketLimiter(TYPING_RATE_PER_SEC, TYPING_BURST);
  private readonly joinLimiter = new TokenBucketLimiter(JOIN_RATE_PER_SEC, JOIN_BURST);
  /** Who is typing: memory only, never logged; `room:typing` goes out when a room's set changes. */
  private readonly typing = new TypingTracker((roomId) => this.broadcastTyping(roomId));
  /** Rooms whose presence changed and is about to go out (at most one timer per room). */
  private readonly presenceDue = new Map<string, ReturnType<typeof setTimeout>>();
  private server!: Server;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly registry: RoomRegistry,
    private readonly channel: SocketRoomChannel,
    @Inject(OWNERSHIP) private readonly ownership: OwnershipCheck,
    private readonly drainer: DrainService,
    private readonly hibernator: RoomHibernator,
    private readonly metrics: GatewayMetrics,
    private readonly readMarkers: ReadMarkerBatcher,
  ) {
    const rate = config.rateLimitMsgPerSec;
    this.sendLimiter = new TokenBucketLimiter(rate, rate * 2);
  }

  afterInit(server: Server): void {
    this.server = server;
    this.channel.attach(server);
    this.channel.onUnsubscribed = (socket) => this.unjoin(socket as RoomSocket);
    // Every command is a plain Socket.IO listener, not a Nest @SubscribeMessage handler: Nest's
    // adapter builds rxjs pipelines per handler for every socket (with 14 handlers and the
    // disconnect a socket cost 73 KiB of heap, BENCHMARKS.md), and on `message:send` its
    // per-message plumbing was ~7% of the gateway's CPU. One listener function per command is shared by
    // all sockets (Node's EventEmitter calls it with `this` = the socket), so a socket costs a
    // table entry per command. The same methods run: parsing, limits, errors, metrics, logs.
    const listeners = this.commandTable().map(([event, run]) => {
      const listener = function (this: Socket, ...args: unknown[]): void {
        // Like Nest's adapter: the last argument is the acknowledgement if it is a function, and
        // the command runs with or without one; more than one payload argument is passed as an
        // array, which no command accepts (`invalid`).
        const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (r: unknown) => void) : undefined;
        void run(this as RoomSocket, args.length > 1 ? args : args[0]).then((result) => ack?.(result));
      };
      return [event, listener] as const;
    });
    const handleDisconnect = (socket: RoomSocket) => this.handleDisconnect(socket);
    const onDisconnect = function (this: Socket): void {
      handleDisconnect(this as RoomSocket);
    };
    server.on('connection', (socket) => {
      for (const [event, listener] of listeners) socket.on(event, listener);
      socket.once('disconnect', onDisconnect);
    });
    server.use((socket, next) => {
      this.authenticate(socket as RoomSocket).then(
        () => next(),
        (err: unknown) => {
          const code = err instanceof DomainError ? err.code : 'unavailable';
          if (!(err instanceof DomainError)) this.logger.warn(`handshake failed: ${(err as Error).message}`);
          next(new Error(code === 'room_moved' || code === 'unavailable' || code === 'forbidden' ? code : 'unauthorized'));
        },
      );
    });
  }

  /**
   * The client commands of CONTRACT.md ("Gateway"), each with the method that answers it. Keyed
   * by the contract's event map, so a command added there and not here does not compile.
   */
  private commandTable(): Array<[string, (socket: RoomSocket, payload: unknown) => Promise<unknown>]> {
    const table: Record<keyof ClientToServerEvents, (socket: RoomSocket, payload: unknown) => Promise<unknown>> = {
      'room:join': (socket, payload) => this.join(socket, payload),
      'message:send': (socket, payload) => this.send(socket, payload),
      'message:edit': (socket, payload) => this.edit(socket, payload),
      'message:delete': (socket, payload) => this.remove(socket, payload),
      'reaction:add': (socket, payload) => this.reactionAdd(socket, payload),
      'reaction:remove': (socket, payload) => this.reactionRemove(socket, payload),
      typing: (socket, payload) => this.typingCommand(socket, payload),
      'read:mark': (socket, payload) => this.readMark(socket, payload),
      'room:leave': (socket, payload) => this.leave(socket, payload),
      'member:invite': (socket, payload) => this.invite(socket, payload),
      'member:role': (socket, payload) => this.role(socket, payload),
      'member:remove': (socket, payload) => this.removeMember(socket, payload),
      'member:ban': (socket, payload) => this.ban(socket, payload),
      'member:unban': (socket, payload) => this.unban(socket, payload),
      'member:mute': (socket, payload) => this.mute(socket, payload),
    };
    return Object.entries(table);
  }

  onModuleDestroy(): void {
    this.typing.clear();
    for (const timer of this.presenceDue.values()) clearTimeout(timer);
    this.presenceDue.clear();
  }

  /** Ticket → user and room; the room must be owned here, and is loaded (lease taken) now. */
  private async authenticate(socket: RoomSocket): Promise<void> {
    const ticket = (socket.handshake.auth as { ticket?: unknown } | undefined)?.ticket;
    if (typeof ticket !== 'string' || ticket.length > 4096) throw new DomainError('unauthorized', 'missing ticket');
    const user = this.tokens.verifyTicket(ticket, this.config.gatewayId!);
    if (this.drainer.isDraining) throw new DomainError('room_moved', 'this gateway is draining');
    if (!(await this.ownership.owns(user.roomId))) throw new DomainError('room_moved', 'room is not served here');
    const actor = await this.registry.getOrLoad(user.roomId);
    if (!actor) throw new DomainError('unauthorized', 'unknown room');
    // Membership, from the room's folded state (the projection the API checks is the same fold,
    // written with the events): a ticket issued before a ban or a removal opens nothing after it.
    const verdict = actor.readVerdict(user);
    if (verdict !== 'ok') throw new DomainError('forbidden', verdict === 'banned' ? 'banned from this room' : 'this room is private');
    socket.data = { user, roomId: user.roomId, joined: false };
    await socket.join([connectedRoom(user.roomId), userRoom(user.roomId, user.id)]);
    // Lost (idle unload, failover) between the load and the join: its `room:moved` went out
    // before this socket could hear it, so refuse the handshake; the client asks the API again.
    if (actor.isLost) throw new DomainError('room_moved', 'the room moved while connecting; reconnect through the API');
  }

  handleDisconnect(socket: RoomSocket): void {
    const data = socket.data;
    if (data?.roomId) this.hibernator.touch(data.roomId);
    this.unjoin(socket);
  }

  /** A joined socket leaves the room's presence (a disconnect, or leaving a private room). */
  private unjoin(socket: RoomSocket): void {
    const data = socket.data;
    if (!data?.joined) return;
    data.joined = false;
    if (this.presence.leave(data.roomId, data.user.id)) {
      // The user's last socket in the room left: their typing state ends at once.
      this.typing.stop(data.roomId, data.user.id);
      this.presenceChanged(data.roomId);
    }
  }

  join(socket: RoomSocket, payload: unknown): Promise<JoinAck | AckError> {
    return this.respond('join', socket, () => {
      const { afterSeq } = parseOrThrow(schemas.join, payload ?? {});
      const data = socket.data;
      if (data.joining) throw new DomainError('rate_limited', 'a join of this connection is already in progress');
      if (!this.joinLimiter.tryTake(`${data.roomId}:${data.user.id}`)) throw new DomainError('rate_limited', 'too many joins; slow down');
      data.joining = true;
      return {
        about: {},
        run: async () => {
          try {
            const actor = this.actorOf(socket);
            return await actor.join(socket.data.user, afterSeq, () => {
              // Disconnected while its join waited in the room's chain: handleDisconnect already ran
              // and found nothing to undo, so marking it joined now would count it present for good.
              if (socket.disconnected) return;
              void socket.join(joinedRoom(actor.roomId));
              if (!socket.data.joined) {
                socket.data.joined = true;
                if (this.presence.join(actor.roomId, { id: socket.data.user.id, username: socket.data.user.username })) {
                  this.presenceChanged(actor.roomId);
                }
              }
            });
          } finally {
            data.joining = false;
          }
        },
      };
    });
  }

  send(socket: RoomSocket, payload: unknown): Promise<CommitAck | AckError> {
    return this.respond('send', socket, () => {
      const { clientMsgId, text, replyTo } = parseOrThrow(schemas.send, payload);
      this.limit(socket);
      return {
        about: { clientMsgId },
        run: async () => {
          const { seq, ts } = await this.actorOf(socket).send(socket.data.user, clientMsgId, text, replyTo);
          return { ok: true as const, seq, ts };
        },
      };
    });
  }

  edit(socket: RoomSocket, payload: unknown): Promise<CommitAck | AckError> {
    return this.respond('edit', socket, () => {
      const { seq, text } = parseOrThrow(schemas.edit, payload);
      this.limit(socket);
      return {
        about: { seq },
        run: async () => {
          const ref = await this.actorOf(socket).edit(socket.data.user, seq, text);
          return { ok: true as const, seq: ref.seq, ts: ref.ts };
        },
      };
    });
  }

  remove(socket: RoomSocket, payload: unknown): Promise<CommitAck | AckError> {
    return this.respond('delete', socket, () => {
      const { seq } = parseOrThrow(schemas.delete, payload);
      this.limit(socket);
      return {
        about: { seq },
        run: async () => {
          const ref = await this.actorOf(socket).delete(socket.data.user, seq);
          return { ok: true as const, seq: ref.seq, ts: ref.ts };
        },
      };
    });
  }

  reactionAdd(socket: RoomSocket, payload: unknown): Promise<ReactionAck | AckError> {
    return this.reaction(socket, payload, true);
  }

  reactionRemove(socket: RoomSocket, payload: unknown): Promise<ReactionAck | AckError> {
    return this.reaction(socket, payload, false);
  }

  private reaction(socket: RoomSocket, payload: unknown, add: boolean): Promise<ReactionAck | AckError> {
    return this.respond('react', socket, () => {
      const { seq, emoji } = parseOrThrow(schemas.reaction, payload);
      this.limit(socket);
      return {
        about: { seq },
        run: async () => {
          const ref = await this.actorOf(socket).react(socket.data.user, seq, emoji, add);
          return ref ? { ok: true as const, seq: ref.seq, ts: ref.ts } : { ok: true as const, seq: null };
        },
      };
    });
  }

  /**
   * `typing {active}`: gateway memory only (TypingTracker), never the log. Only a socket that
   * joined the room may type in it; renewals are rate-limited per user.
   */
  typingCommand(socket: RoomSocket, payload: unknown): Promise<TypingAck | AckError> {
    return this.respond('typing', socket, () => {
      const { active } = parseOrThrow(schemas.typing, payload);
      if (!socket.data.joined) throw new DomainError('forbidden', 'join the room first');
      if (active && !this.typingLimiter.tryTake(socket.data.user.id)) throw new DomainError('rate_limited', 'too many typing renewals; slow down');
      return {
        about: {},
        run: async () => {
          const { roomId, user } = socket.data;
          if (active) this.typing.start(roomId, { id: user.id, username: user.username });
          else this.typing.stop(roomId, user.id);
          return { ok: true as const };
        },
      };
    });
  }

  leave(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('leave', socket, () => {
      parseOrThrow(schemas.leave, payload ?? {});
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.member(user, { kind: 'leave' })) };
    });
  }

  invite(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { username } = parseOrThrow(schemas.invite, payload);
      this.limit(socket);
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.invite(user, username)) };
    });
  }

  role(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { userId, role } = parseOrThrow(schemas.role, payload);
      this.limit(socket);
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.member(user, { kind: 'role', userId, role })) };
    });
  }

  removeMember(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { userId, reason } = parseOrThrow(schemas.remove, payload);
      this.limit(socket);
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.member(user, { kind: 'remove', userId, reason: reason ?? '' })) };
    });
  }

  ban(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { userId, reason } = parseOrThrow(schemas.ban, payload);
      this.limit(socket);
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.member(user, { kind: 'ban', userId, reason: reason ?? '' })) };
    });
  }

  unban(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { userId } = parseOrThrow(schemas.unban, payload);
      this.limit(socket);
      return { about: {}, run: () => this.member(socket, (actor, user) => actor.member(user, { kind: 'unban', userId })) };
    });
  }

  mute(socket: RoomSocket, payload: unknown): Promise<MemberAck | AckError> {
    return this.respond('member', socket, () => {
      const { userId, seconds } = parseOrThrow(schemas.mute, payload);
      this.limit(socket);
      return {
        about: {},
        run: () =>
          // The end is fixed when the command arrives; 0 seconds is "until now", which lifts it.
          this.member(socket, (actor, user) => actor.member(user, { kind: 'mute', userId, until: new Date(Date.now() + seconds * 1000).toISOString() })),
      };
    });
  }

  /**
   * `read:mark`: the caller's marker, capped at the room's head (a marker past it would hide
   * messages not yet sent). Not a room command: it skips the actor's queue and the group commit
   * and is batched with other marks (ReadMarkerBatcher); the socket's access was checked at the
   * handshake, and a ban or removal closes it.
   */
  readMark(socket: RoomSocket, payload: unknown): Promise<ReadMarkAck | AckError> {
    return this.respond('read', socket, () => {
      const { seq } = parseOrThrow(schemas.readMark, payload);
      return {
        about: { seq },
        run: async () => {
          const actor = this.actorOf(socket);
          const lastReadSeq = await this.readMarkers.mark(socket.data.user.id, actor.roomId, Math.min(seq, actor.headSeq));
          return { ok: true as const, lastReadSeq };
        },
      };
    });
  }

  /** Runs a membership command in the room and turns its result into the ack. */
  private async member(socket: RoomSocket, run: (actor: RoomActor, user: RoomSocket['data']['user']) => Promise<MemberCommandResult>): Promise<MemberAck> {
    const ref = await run(this.actorOf(socket), socket.data.user);
    return ref ? { ok: true as const, seq: ref.seq, ts: ref.ts } : { ok: true as const, seq: null };
  }

  /**
   * Runs a command and turns its result or error into the contract's acknowledgement. Times it
   * from arrival to ack (`gateway_ack_duration_seconds`) and logs a failure with the room, user
   * and message ids at the level `ackFailureLevel` gives it.
   */
  private async respond<T>(command: AckCommand, socket: RoomSocket, accept: () => AcceptedCommand<T>): Promise<T | AckError> {
    const started = performance.now();
    let stage: AckStage = 'edge';
    let about: AcceptedCommand<T>['about'] = {};
    let ack: T | AckError;
    try {
      const accepted = accept();
      stage = 'room';
      about = accepted.about;
      ack = await accepted.run();
    } catch (err) {
      const internal = !(err instanceof DomainError);
      const error: AckError['error'] = internal
        ? { code: 'unavailable', message: 'internal error; retry' }
        : { code: ackCodeOf((err as DomainError).code), message: (err as Error).message };
      ack = { ok: false, error };
      const level = ackFailureLevel(stage, error.code, internal);
      this.logger[level]({
        msg: `${command} failed: ${error.code}`,
        roomId: socket.data?.roomId,
        userId: socket.data?.user?.id,
        ...about,
        command,
        stage,
        code: error.code,
        reason: internal ? undefined : error.message,
        err: internal ? err : undefined,
      });
    }
    const outcome = (ack as { ok?: unknown }).ok === false ? (ack as AckError).error.code : 'ok';
    this.metrics.observeAck(command, outcome, (performance.now() - started) / 1000);
    return ack;
  }

  private actorOf(socket: RoomSocket): RoomActor {
    const actor = this.registry.get(socket.data.roomId);
    if (!actor) throw new DomainError('room_moved', 'this room is no longer served here; reconnect through the API');
    return actor;
  }

  private limit(socket: RoomSocket): void {
    if (!this.sendLimiter.tryTake(socket.data.user.id)) throw new DomainError('rate_limited', 'too many messages; slow down');
  }

  private broadcastTyping(roomId: string): void {
    this.server?.to(joinedRoom(roomId)).emit('room:typing', { users: this.typing.users(roomId) });
  }

  /** Sends the room's user list once its coalescing window ends (the list as it is then). */
  private presenceChanged(roomId: string): void {
    if (this.presenceDue.has(roomId)) return;
    const timer = setTimeout(() => {
      this.presenceDue.delete(roomId);
      this.server.to(joinedRoom(roomId)).emit('room:presence', { users: this.presence.users(roomId) });
    }, PRESENCE_COALESCE_MS);
    timer.unref();
    this.presenceDue.set(roomId, timer);
  }
}
