/**
 * The room view, path `/r/<roomId>` (DOM contract "Room"): header with the shareable link and the
 * connection state, the message list (live events from the client library, older pages on
 * scrolling up), pending sends, edit/delete, replies, reactions, typing, read markers, presence
 * and the members panel with moderator actions, and a search of the room whose hits scroll the
 * list to the message (paging older history in when it is not loaded yet).
 *
 * The client library keeps the room joined across gateway moves and reloads (its outbox lives in
 * localStorage), and delivers every event exactly once in seq order; this view folds the events
 * with `RoomTimeline` and renders each row idempotently by seq.
 */
import { createClient, WebStorageOutboxStorage, type ConnectionState, type EventEnvelope, type PresenceUser } from '../../../../libs/client/src/index';
import { newClientMsgId } from '../../../../libs/client/src/room-handle';
import type { AppContext, View } from '../app-context';
import { h } from '../dom';
import { roomPath } from '../routes';
import { mountMembersPanel } from './members-panel';
import { canDelete, typingText } from './members-rules';
import { markPendingSlow, renderPending, renderRow, type RowContext } from './message-row';
import { mountRoomSearchPanel } from './room-search-panel';
import { RoomTimeline, excerpt, type MessageRow } from './room-timeline';

/** Renew `typing: true` this often while the user keeps typing (the server lapses it after 5 s). */
const TYPING_RENEW_MS = 2500;
/** At most one read marker a second. */
const MARK_READ_THROTTLE_MS = 1000;
const PAGE_SIZE = 100;
/**
 * A send still unacknowledged after this long says so ("not sent yet, retrying…"): the client
 * library keeps it in the outbox and resends it, with backoff, until the log takes it.
 */
const SLOW_SEND_MS = 3000;
/**
 * Rows held at most while the user follows the newest messages: past MAX_ROWS the oldest are
 * dropped down to KEEP_ROWS (scrolling up pages them in again), so a tab left open in a busy room
 * keeps a bounded DOM and timeline.
 */
const MAX_ROWS = 1000;
const KEEP_ROWS = 750;
/** How long a message revealed from a search hit stays highlighted. */
const HIGHLIGHT_MS = 2000;

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  moving: 'moving…',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

export function mountRoomView(root: HTMLElement, ctx: AppContext, roomId: string): View {
  const self = ctx.session.user!;
  const token = ctx.session.token!;
  const client = createClient({ baseUrl: location.origin, token, outbox: new WebStorageOutboxStorage(localStorage) });
  const room = client.room(roomId);
  const timeline = new RoomTimeline();
  const rows = new Map<number, HTMLLIElement>();
  const pendingRows = new Map<string, HTMLLIElement>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let joined = false;
  let closed = false;
  let editing: { seq: number; draft: string } | null = null;
  let pickerOpen: number | null = null;
  let replyTo: number | null = null;
  /** The seq shown highlighted after a search hit took the user to it. */
  let highlighted: number | null = null;

  // ---- the page ------------------------------------------------------------------------------
  const shareUrl = `${location.origin}${roomPath(roomId)}`;
  const roomName = h('h2', { id: 'room-name' }, 'Loading…');
  const connStatus = h('span', { id: 'conn-status', 'data-state': 'connecting', role: 'status' }, STATE_TEXT.connecting);
  const copyNote = h('span', { class: 'copy-note', 'aria-live': 'polite' });
  const copyButton = h('button', { type: 'button', id: 'copy-link', class: 'secondary' }, 'Copy link');
  const leaveButton = h('button', { type: 'button', id: 'leave', class: 'secondary' }, '← Rooms');
  const leaveMembership = h('button', { type: 'button', id: 'leave-membership', class: 'secondary' }, 'Leave room');
  const header = h(
    'header',
    { class: 'room-header' },
    h('div', { class: 'room-title' }, leaveButton, roomName, connStatus),
    h(
      'div',
      { class: 'room-share' },
      h('span', {}, 'Room id '),
      h('code', { id: 'room-id' }, roomId),
      h('span', {}, ' · share: '),
      h('a', { id: 'share-link', href: shareUrl }, shareUrl),
      ' ',
      copyButton,
      copyNote,
      ' ',
      leaveMembership,
    ),
  );

  const loadOlder = h('button', { type: 'button', id: 'load-older', class: 'secondary', hidden: true }, 'Load older messages');
  const list = h('ol', { id: 'messages', 'aria-label': 'Messages' });
  const pane = h('div', { id: 'messages-pane', tabindex: 0, role: 'region', 'aria-label': 'Message history' }, loadOlder, list);
  const typing = h('div', { id: 'typing', 'aria-live': 'polite' });
  const replyText = h('span', { class: 'reply-preview-text' });
  const replyCancel = h('button', { type: 'button', id: 'reply-cancel', class: 'link', 'aria-label': 'Cancel reply' }, 'Cancel');
  const replyPreview = h('div', { id: 'reply-preview', hidden: true }, replyText, ' ', replyCancel);
  const sendText = h('input', { type: 'text', id: 'send-text', autocomplete: 'off', maxlength: 4000, placeholder: 'Write a message' });
  const sendForm = h(
    'form',
    { id: 'send-form' },
    h('label', { for: 'send-text', class: 'visually-hidden' }, 'Message'),
    sendText,
    h('button', { type: 'submit', id: 'send' }, 'Send'),
  );

  const presence = h('ul', { id: 'presence', 'aria-label': 'Online now' });
  const membersPanel = mountMembersPanel({
    api: ctx.api,
    room,
    roomId,
    self: { id: self.id, isAdmin: ctx.session.isAdmin },
    report: (err) => report(err),
    onRoleChange: () => rerenderAll(),
  });
  const searchPanel = mountRoomSearchPanel({
    api: ctx.api,
    roomId,
    reveal: (seq) => void revealSeq(seq),
    report: (err) => report(err),
  });
  const aside = h('aside', { class: 'room-side', 'aria-label': 'Search and people' }, searchPanel.element, h('h3', {}, 'Online'), presence, ...membersPanel.elements);

  const section = h(
    'section',
    { id: 'room-view', 'aria-labelledby': 'room-name' },
    header,
    h('div', { class: 'room-body' }, h('div', { class: 'room-main' }, pane, typing, replyPreview, sendForm), aside),
  );
  root.replaceChildren(section);

  // ---- helpers -------------------------------------------------------------------------------
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  /**
   * Shows a failure in the banner; an `unauthorized` one (the client library's
   * `POST /rooms/:id/connection` or history page answered 401: the token expired) ends the session
   * the way a 401 of any API call does. The handle has then failed for good, but the messages of
   * its outbox stay in localStorage, and the room view of the next sign-in sends them.
   */
  const report = (err: unknown) => {
    if (closed || (err as { code?: string })?.code === 'closed') return;
    if (isUnauthorized(err)) return ctx.sessionExpired(token);
    ctx.showError(err);
  };
  const nameOf = (userId: string) => membersPanel.nameOf(userId) ?? (userId === self.id ? self.username : userId);
  const messageRow = (seq: number) => {
    const row = timeline.row(seq);
    return row?.kind === 'message' ? row : undefined;
  };
  /**
   * Originals of replies that are older than the loaded history: fetched once each (as they were
   * posted; their later edits show once paging back reaches them).
   */
  const olderOriginals = new Map<number, MessageRow | 'loading' | 'missing'>();
  const quoted = (seq: number): MessageRow | undefined => {
    const loaded = messageRow(seq);
    if (loaded || timeline.complete) return loaded;
    const known = olderOriginals.get(seq);
    if (known === undefined && joined) {
      olderOriginals.set(seq, 'loading');
      room.history({ before: seq + 1, limit: 1 }).then(
        (page) => {
          const single = new RoomTimeline();
          for (const event of page.events) if (event.seq === seq) single.apply(event);
          const row = single.row(seq);
          olderOriginals.set(seq, row?.kind === 'message' ? row : 'missing');
          if (!closed) for (const reply of timeline.repliesTo(seq)) renderSeq(reply);
        },
        () => olderOriginals.set(seq, 'missing'),
      );
    }
    return typeof known === 'object' ? known : undefined;
  };
  const rowContext = (): RowContext => ({
    selfId: self.id,
    canDelete: (authorId) => canDelete(membersPanel.me(), authorId),
    nameOf,
    quoted,
    editing,
    pickerOpen,
  });
  const nearBottom = () => pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
  const scrollToBottom = () => {
    pane.scrollTop = pane.scrollHeight;
  };

  /** (Re)renders the row of one seq in its place, keeping keyboard focus inside it. */
  function renderSeq(seq: number): void {
    const row = timeline.row(seq);
    if (!row) return;
    const el = renderRow(row, rowContext());
    if (highlighted === seq) el.classList.add('highlight');
    const existing = rows.get(seq);
    rows.set(seq, el);
    if (existing) {
      const focusKey = focusKeyWithin(existing);
      existing.replaceWith(el);
      if (focusKey) (el.querySelector<HTMLElement>(focusKey) ?? el.querySelector<HTMLElement>('button'))?.focus();
      return;
    }
    const seqs = timeline.seqs;
    let next: HTMLLIElement | undefined;
    for (let i = indexOf(seqs, seq) + 1; i < seqs.length && !next; i++) next = rows.get(seqs[i]!);
    list.insertBefore(el, next ?? list.querySelector('li.pending'));
  }

  /** Applies events and renders what they changed (the rows quoting an edited message too). */
  function applyEvents(events: EventEnvelope[]): void {
    const changed = new Set<number>();
    let membersChanged = false;
    for (const event of events) {
      for (const seq of timeline.apply(event)) {
        changed.add(seq);
        // Replies quote the message: an edit, a delete, or the original paged in changes them.
        for (const reply of timeline.repliesTo(seq)) changed.add(reply);
      }
      if (event.type.startsWith('member.')) membersChanged = true;
      if (event.clientMsgId && event.actor?.id === self.id) dropPending(event.clientMsgId);
    }
    // Descending: each new row finds its already rendered successor (a prepended page).
    for (const seq of [...changed].sort((a, b) => b - a)) renderSeq(seq);
    if (membersChanged) membersPanel.refreshSoon();
  }

  function rerenderAll(): void {
    for (const seq of timeline.seqs) renderSeq(seq);
  }

  function dropPending(clientMsgId: string): void {
    pendingRows.get(clientMsgId)?.remove();
    pendingRows.delete(clientMsgId);
  }

  function addPending(clientMsgId: string, text: string): void {
    if (pendingRows.has(clientMsgId)) return;
    const el = renderPending(clientMsgId, text, self.username);
    pendingRows.set(clientMsgId, el);
    list.append(el);
    later(SLOW_SEND_MS, () => {
      if (pendingRows.get(clientMsgId) === el) markPendingSlow(el);
    });
  }

  // ---- connection ----------------------------------------------------------------------------
  function showState(state: ConnectionState): void {
    connStatus.dataset.state = state;
    connStatus.textContent = state === 'connected' ? `connected to ${room.gatewayId ?? 'a gateway'}` : STATE_TEXT[state];
  }
  room.on('state', (state) => showState(state));
  room.on('event', (event) => {
    const stick = nearBottom() || (event.actor?.id === self.id && event.type === 'message.posted');
    applyEvents([event]);
    if (stick) {
      trimOldRows();
      scrollToBottom();
    }
    markReadSoon();
  });
  room.on('presence', (users) => renderPresence(users));
  room.on('typing', (users) => {
    typing.textContent = typingText(users, self.id);
  });
  room.on('sent', ({ clientMsgId }) => dropPending(clientMsgId));
  room.on('error', (err) => {
    // A message restored from the outbox (no send of this view waits for it) that the server
    // refused for good leaves the outbox with only this event: its row must go with it.
    const waiting = new Set(room.pending().map((entry) => entry.clientMsgId));
    for (const clientMsgId of [...pendingRows.keys()]) if (!waiting.has(clientMsgId)) dropPending(clientMsgId);
    report(err);
  });
  room.on('kicked', ({ reason }) => {
    if (closed) return;
    ctx.navigate('/');
    ctx.showError({ code: reason, message: `you were ${reason === 'banned' ? 'banned from' : 'removed from'} the room` });
  });

  for (const entry of room.pending()) addPending(entry.clientMsgId, entry.text);

  room
    .join()
    .then(({ room: info }) => {
      if (closed) return;
      joined = true;
      roomName.textContent = info.name;
      document.title = `${info.name} · durable-rooms`;
      showState(room.state);
      // Replies whose original is older than the first page: now their quotes can be fetched.
      for (const seq of timeline.seqs) {
        const replyTo = messageRow(seq)?.replyTo;
        if (replyTo != null && !timeline.has(replyTo)) renderSeq(seq);
      }
      scrollToBottom();
      updateLoadOlder();
      fillViewport();
      markReadSoon();
    })
    .catch((err: unknown) => {
      if (closed || (err as { code?: string })?.code === 'closed') return;
      if (isUnauthorized(err)) return ctx.sessionExpired(token);
      ctx.navigate('/');
      ctx.showError(err);
    });

  // ---- paging back ---------------------------------------------------------------------------
  let paging: Promise<void> | null = null;
  let noOlder = false;

  function updateLoadOlder(): void {
    loadOlder.hidden = !joined || noOlder || timeline.complete;
  }

  function pageOlder(): Promise<void> {
    if (paging || !joined || noOlder || timeline.complete) return paging ?? Promise.resolve();
    const before = timeline.oldestApplied;
    if (before === undefined) return Promise.resolve();
    paging = room
      .history({ before, limit: PAGE_SIZE })
      .then((page) => {
        if (closed) return;
        if (page.events.length === 0) noOlder = true;
        // Keep what the user looks at in place: the new rows grow the list above it.
        const height = pane.scrollHeight;
        const top = pane.scrollTop;
        applyEvents(page.events);
        pane.scrollTop = top + (pane.scrollHeight - height);
      })
      .catch(report)
      .finally(() => {
        paging = null;
        updateLoadOlder();
        fillViewport();
      });
    return paging;
  }

  /** Drops the oldest rows past MAX_ROWS (only while the user is at the newest: see MAX_ROWS). */
  function trimOldRows(): void {
    if (timeline.seqs.length <= MAX_ROWS || paging) return;
    for (const seq of timeline.trimTo(KEEP_ROWS)) {
      rows.get(seq)?.remove();
      rows.delete(seq);
    }
    olderOriginals.clear(); // quotes of rows now gone are fetched again when shown
    noOlder = false;
    updateLoadOlder();
  }

  /** A list shorter than the pane cannot be scrolled up: page until it can, or all is there. */
  function fillViewport(): void {
    if (!closed && pane.scrollHeight <= pane.clientHeight + 10) void pageOlder();
  }

  pane.addEventListener('scroll', () => {
    if (pane.scrollTop < 40) void pageOlder();
  });
  loadOlder.addEventListener('click', () => {
    void pageOlder().then(() => {
      const first = list.querySelector<HTMLElement>('li button');
      if (loadOlder.hidden) first?.focus();
    });
  });

  // ---- revealing a message (a search hit) ----------------------------------------------------
  let highlightTimer: ReturnType<typeof setTimeout> | null = null;
  /** Only the latest hit chosen is revealed: a click while paging for an older one wins. */
  let revealTicket = 0;

  /**
   * Scrolls the list to `seq` and highlights it for HIGHLIGHT_MS. A seq older than the loaded
   * history is paged in first (the same pages as scrolling up), until it is there or seq 1 is.
   */
  async function revealSeq(seq: number): Promise<void> {
    const ticket = ++revealTicket;
    const current = () => !closed && ticket === revealTicket;
    while (current() && joined && !rows.has(seq) && !noOlder && !timeline.complete) {
      const oldest = timeline.oldestApplied;
      if (oldest !== undefined && seq >= oldest) break; // within the loaded history, yet no row
      await pageOlder();
      // No progress and not the end of the history: the page failed, and pageOlder reported why.
      if (timeline.oldestApplied === oldest && !noOlder) return;
    }
    if (!current()) return;
    const el = rows.get(seq);
    if (!el) {
      report({ code: 'not_found', message: joined ? 'that message is no longer in the room' : 'the room is still loading: try again in a moment' });
      return;
    }
    setHighlight(seq);
    el.scrollIntoView({ block: 'center' });
    // Keyboard and screen reader users land on the message they asked for.
    el.tabIndex = -1;
    el.focus({ preventScroll: true });
  }

  function setHighlight(seq: number | null): void {
    if (highlighted !== null) rows.get(highlighted)?.classList.remove('highlight');
    if (highlightTimer) {
      clearTimeout(highlightTimer);
      timers.delete(highlightTimer);
      highlightTimer = null;
    }
    highlighted = seq;
    if (seq === null) return;
    rows.get(seq)?.classList.add('highlight');
    highlightTimer = later(HIGHLIGHT_MS, () => {
      highlightTimer = null;
      setHighlight(null);
    });
  }

  // ---- composer, replies, typing -------------------------------------------------------------
  let typingSentAt = 0;
  let typingActive = false;

  function stopTyping(): void {
    if (!typingActive) return;
    typingActive = false;
    typingSentAt = 0;
    // Typing is a hint: a refused or lost one is not worth an error banner.
    room.typing(false).catch(() => undefined);
  }

  sendText.addEventListener('input', () => {
    if (!joined) return;
    if (sendText.value.trim() === '') return stopTyping();
    const now = Date.now();
    if (typingActive && now - typingSentAt < TYPING_RENEW_MS) return;
    typingActive = true;
    typingSentAt = now;
    room.typing(true).catch(() => undefined);
  });
  sendText.addEventListener('blur', stopTyping);

  function setReply(seq: number | null): void {
    replyTo = seq;
    const original = seq === null ? undefined : messageRow(seq);
    replyPreview.hidden = seq === null;
    replyText.textContent = seq === null ? '' : `Replying to ${original?.author?.username ?? 'a message'}: ${excerpt(original?.text ?? '', 60)}`;
  }
  replyCancel.addEventListener('click', () => {
    setReply(null);
    sendText.focus();
  });

  sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = sendText.value.trim();
    if (!text) return;
    const clientMsgId = newClientMsgId();
    const options = replyTo === null ? { clientMsgId } : { clientMsgId, replyTo };
    sendText.value = '';
    setReply(null);
    stopTyping();
    addPending(clientMsgId, text);
    scrollToBottom();
    room.send(text, options).then(
      () => dropPending(clientMsgId),
      (err: unknown) => {
        // Unmounted (closed, or signed out by an expired session): the outbox keeps the message
        // and the next room view over it sends it.
        if (closed || (err as { code?: string })?.code === 'closed') return;
        // A 401 leaves a waiting message in the outbox (the next sign-in sends it): its row stays
        // until the sign-out that `report` starts. Any other refusal (the handle failed for good
        // before or while it waited, a mute, ...) took it out of the outbox, or it never got in:
        // the text goes back into the composer, unless the user has typed something new since.
        if (!room.pending().some((entry) => entry.clientMsgId === clientMsgId)) {
          dropPending(clientMsgId);
          if (sendText.value === '') {
            sendText.value = text;
            // A reply again, unless its original is gone (a reply to a deleted message is refused).
            const original = options.replyTo === undefined ? undefined : messageRow(options.replyTo);
            if (original && !original.deleted && replyTo === null) setReply(original.seq);
          }
        }
        report(err);
      },
    );
  });

  // ---- message actions (one delegated listener) ----------------------------------------------
  list.addEventListener('click', (event) => {
    const button = (event.target as Element).closest('button');
    const li = button?.closest<HTMLLIElement>('li[data-seq]');
    if (!button || !li) return;
    const seq = Number(li.dataset.seq);
    const cls = button.classList;
    if (cls.contains('reply')) {
      setReply(seq);
      sendText.focus();
    } else if (cls.contains('edit')) {
      editing = { seq, draft: messageRow(seq)?.text ?? '' };
      renderSeq(seq);
      rows.get(seq)?.querySelector<HTMLInputElement>('.edit-text')?.focus();
    } else if (cls.contains('edit-cancel')) {
      editing = null;
      renderSeq(seq);
      rows.get(seq)?.querySelector<HTMLElement>('.edit')?.focus();
    } else if (cls.contains('delete')) {
      room.delete(seq).catch(report);
    } else if (cls.contains('reaction')) {
      const emoji = button.dataset.emoji!;
      (button.getAttribute('aria-pressed') === 'true' ? room.unreact(seq, emoji) : room.react(seq, emoji)).catch(report);
    } else if (cls.contains('react')) {
      pickerOpen = pickerOpen === seq ? null : seq;
      renderSeq(seq);
      rows.get(seq)?.querySelector<HTMLElement>(pickerOpen === seq ? '.emoji-choice' : '.react')?.focus();
    } else if (cls.contains('emoji-choice')) {
      pickerOpen = null;
      renderSeq(seq);
      rows.get(seq)?.querySelector<HTMLElement>('.react')?.focus();
      room.react(seq, button.dataset.emoji!).catch(report);
    }
  });
  list.addEventListener('input', (event) => {
    const input = event.target as HTMLInputElement;
    if (editing && input.classList.contains('edit-text')) editing.draft = input.value;
  });
  list.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    if (event.key === 'Escape' && pickerOpen !== null && target.closest('.emoji-picker, .reactions')) {
      // Escape closes the emoji picker and gives the focus back to its button.
      const seq = pickerOpen;
      pickerOpen = null;
      renderSeq(seq);
      rows.get(seq)?.querySelector<HTMLElement>('.react')?.focus();
      return;
    }
    if (event.key !== 'Escape' || !editing || !target.classList.contains('edit-text')) return;
    const seq = editing.seq;
    editing = null;
    renderSeq(seq);
    rows.get(seq)?.querySelector<HTMLElement>('.edit')?.focus();
  });
  list.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!editing) return;
    const { seq, draft } = editing;
    const text = draft.trim();
    if (!text) return;
    room.edit(seq, text).then(
      () => {
        if (editing?.seq !== seq) return;
        editing = null;
        renderSeq(seq);
        rows.get(seq)?.querySelector<HTMLElement>('.edit')?.focus();
      },
      report,
    );
  });

  // ---- presence and members ------------------------------------------------------------------
  function renderPresence(users: PresenceUser[]): void {
    presence.replaceChildren(...users.map((u) => h('li', { 'data-user-id': u.id, class: u.id === self.id ? 'me' : null }, u.username)));
  }


  // ---- header actions ------------------------------------------------------------------------
  leaveButton.addEventListener('click', () => ctx.navigate('/'));
  leaveMembership.addEventListener('click', () => {
    room.leave().then(() => ctx.navigate('/'), report);
  });
  copyButton.addEventListener('click', () => {
    const done = (text: string) => {
      copyNote.textContent = text;
      later(3000, () => (copyNote.textContent = ''));
    };
    if (!navigator.clipboard) return done(' select the link to copy it');
    navigator.clipboard.writeText(shareUrl).then(
      () => done(' copied'),
      () => done(' select the link to copy it'),
    );
  });

  // ---- read markers --------------------------------------------------------------------------
  let lastMarked = 0;
  let markTimer: ReturnType<typeof setTimeout> | null = null;

  /** Marks the newest seq shown as read, while the page is seen (visible and focused); throttled. */
  function markReadSoon(): void {
    if (markTimer || !joined) return;
    markTimer = later(MARK_READ_THROTTLE_MS, () => {
      markTimer = null;
      const newest = timeline.newestSeq ?? 0;
      if (newest <= lastMarked || document.visibilityState !== 'visible' || !document.hasFocus()) return;
      room.markRead(newest).then(({ lastReadSeq }) => {
        lastMarked = Math.max(lastMarked, lastReadSeq);
      }, () => undefined); // retried with the next event or focus; not worth a banner
    });
  }
  const onSeen = () => markReadSoon();
  window.addEventListener('focus', onSeen);
  document.addEventListener('visibilitychange', onSeen);

  return {
    unmount() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      window.removeEventListener('focus', onSeen);
      document.removeEventListener('visibilitychange', onSeen);
      membersPanel.dispose();
      searchPanel.dispose();
      room.close();
      client.close();
      section.remove();
    },
  };
}

/** A 401 of the API as the client library reports it (`ClientError` code `unauthorized`). */
function isUnauthorized(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'unauthorized';
}

/** A selector that finds the focused control of a row again after the row is rebuilt. */
function focusKeyWithin(row: HTMLElement): string | null {
  const active = document.activeElement as HTMLElement | null;
  if (!active || !row.contains(active) || active === row) return null;
  const cls = active.classList[0];
  if (!cls) return null;
  const emoji = active.dataset.emoji;
  return emoji ? `.${cls}[data-emoji="${CSS.escape(emoji)}"]` : `.${cls}`;
}

/** Index of `seq` in an ascending list (binary search). */
function indexOf(seqs: readonly number[], seq: number): number {
  let lo = 0;
  let hi = seqs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid] === seq) return mid;
    if (seqs[mid]! < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

