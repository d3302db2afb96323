// durable-rooms web client: plain browser JavaScript, no build step, no framework.
//
// Talks to the API on this page's origin and to the gateway that owns the room over Socket.IO
// (the client script is loaded from that gateway). Follows the README's reconnect recipe: on
// `room:moved`, a disconnect or a refused handshake it asks the API again, rejoins with
// `afterSeq` = the last seq applied and resends every unacknowledged message with the same
// clientMsgId. Every piece of user text is rendered with textContent, never as HTML.
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'durable-rooms.token';
  const USER_KEY = 'durable-rooms.user';
  const JOIN_TIMEOUT_MS = 10000;
  const ACK_TIMEOUT_MS = 15000;
  const MAX_BACKOFF_MS = 2000;
  /** `unavailable` acks: resend after 0.5, 1, 2, 4, 8 s, then show the message as not sent. */
  const SEND_ATTEMPTS = 6;
  const SEND_BACKOFF_MS = 500;

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    user: readJson(sessionStorage.getItem(USER_KEY)),
    /** Bumped on every enter/leave: async work of an older room session drops its result. */
    session: 0,
    room: null, // {id, name}
    socket: null,
    joined: false,
    connecting: false,
    gatewayId: '',
    events: new Map(), // seq -> envelope (de-duplicated by seq)
    lastSeq: 0, // highest seq applied
    oldestSeq: 0, // lowest seq held (for "load older")
    hasOlder: false,
    pending: new Map(), // clientMsgId -> {text, attempts, failed}: not acknowledged yet
    presence: [],
    editing: null, // {seq, text} while a message is being edited
    members: [], // [{id, username, role, mutedUntil}] from GET /rooms/:id/members
  };

  function readJson(text) {
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  }

  // ---- errors ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function showError(err) {
    const code = err && err.code ? err.code : 'error';
    const message = err && err.message ? err.message : String(err);
    $('error-text').textContent = `${code}: ${message}`;
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
  }

  // ---- HTTP API -------------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, 'network', `cannot reach the API (${err.message})`);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const e = data && data.error && typeof data.error === 'object' ? data.error : { code: `http_${res.status}`, message: res.statusText };
      throw new ApiError(res.status, String(e.code), String(e.message));
    }
    return data;
  }

  // ---- views ----------------------------------------------------------------------------------

  function showView(name) {
    $('auth-view').hidden = name !== 'auth';
    $('lobby-view').hidden = name !== 'lobby';
    $('room-view').hidden = name !== 'room';
    $('who').hidden = !state.user;
    $('who-name').textContent = state.user ? state.user.username : '';
  }

  function setStatus(text) {
    $('conn-status').textContent = text;
  }

  /** A DOM element with text set through textContent only. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- auth -----------------------------------------------------------------------------------

  async function authenticate(action, username, password) {
    const path = action === 'register' ? '/auth/register' : '/auth/login';
    const res = await api('POST', path, { username, password });
    state.token = res.token;
    state.user = res.user;
    sessionStorage.setItem(TOKEN_KEY, res.token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(res.user));
    clearError();
    showView('lobby');
    void loadMyRooms();
  }

  function logout() {
    leaveRoom();
    state.token = null;
    state.user = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    showView('auth');
  }

  /** An expired or revoked token: back to the sign-in form, with the reason shown. */
  function handleAuthFailure(err) {
    if (err instanceof ApiError && err.status === 401 && state.token) {
      logout();
      showError(err);
      return true;
    }
    return false;
  }

  // ---- Socket.IO client -----------------------------------------------------------------------

  let ioLoading = null;

  /** Loads `<gateway>/socket.io/socket.io.js` once; every gateway serves the same client. */
  function loadIo(url) {
    if (typeof window.io === 'function') return Promise.resolve(window.io);
    if (!ioLoading) {
      ioLoading = new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = `${url.replace(/\/+$/, '')}/socket.io/socket.io.js`;
        script.async = true;
        script.onload = () => (typeof window.io === 'function' ? resolve(window.io) : reject(new Error('no io() in the client script')));
        script.onerror = () => {
          script.remove();
          ioLoading = null;
          reject(new ApiError(0, 'unavailable', `could not load the Socket.IO client from ${url}`));
        };
        document.head.appendChild(script);
      });
    }
    return ioLoading;
  }

  function newClientMsgId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    // Pages served over plain http from a non-local host are not a secure context: no randomUUID.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- room session ---------------------------------------------------------------------------

  async function enterRoom(roomId) {
    leaveRoom();
    const session = ++state.session;
    state.room = { id: roomId, name: '' };
    state.events = new Map();
    state.lastSeq = 0;
    state.oldestSeq = 0;
    state.hasOlder = false;
    state.pending = new Map();
    state.presence = [];
    state.editing = null;
    state.members = [];
    history.replaceState(null, '', `#room=${encodeURIComponent(roomId)}`);
    $('room-name').textContent = 'Joining…';
    $('room-id').textContent = roomId;
    setStatus('connecting…');
    render();
    showView('room');
    await connect(session);
  }

  function leaveRoom() {
    state.session += 1;
    dropSocket();
    state.room = null;
    state.joined = false;
    state.connecting = false;
    if (location.hash) history.replaceState(null, '', location.pathname);
  }

  function dropSocket() {
    const socket = state.socket;
    state.socket = null;
    state.joined = false;
    if (socket) {
      socket.off();
      socket.disconnect();
    }
  }

  /**
   * Steps 1–4 of the README's recipe, retried with backoff (100 ms doubling to 2 s) until joined:
   * POST /rooms/:id/connection, connect to the returned url with the ticket, room:join with
   * afterSeq = last seq applied, resend what is unacknowledged. A room that does not exist or a
   * request the API refuses for good ends the attempt with the error shown.
   */
  async function connect(session) {
    if (state.connecting) return;
    state.connecting = true;
    let delay = 100;
    try {
      for (;;) {
        if (session !== state.session) return;
        try {
          const conn = await api('POST', `/rooms/${encodeURIComponent(state.room.id)}/connection`);
          const io = await loadIo(conn.url);
          if (session !== state.session) return;
          setStatus(`connecting to ${conn.gatewayId}…`);
          await openSocket(session, io, conn);
          return;
        } catch (err) {
          if (session !== state.session) return;
          if (handleAuthFailure(err)) return;
          if (err instanceof ApiError && [400, 403, 404].includes(err.status)) {
            showError(err);
            leaveRoom();
            showView('lobby');
            return;
          }
          setStatus(`reconnecting in ${delay} ms (${err.code || 'error'}: ${err.message})`);
          await sleep(delay);
          delay = Math.min(MAX_BACKOFF_MS, delay * 2);
        }
      }
    } finally {
      if (session === state.session) state.connecting = false;
    }
  }

  /** Resolves once the room is joined; rejects if the handshake or the join fails. */
  function openSocket(session, io, conn) {
    return new Promise((resolve, reject) => {
      const socket = io(conn.url, {
        auth: { ticket: conn.ticket },
        // WebSocket straight away: no long-polling requests across origins (no CORS needed).
        transports: ['websocket'],
        // The ticket is single-gateway and short-lived: reconnecting is the recipe's job.
        reconnection: false,
        forceNew: true,
        timeout: JOIN_TIMEOUT_MS,
      });
      state.socket = socket;
      let settled = false;
      const fail = (err) => {
        if (state.socket === socket) dropSocket();
        if (!settled) {
          settled = true;
          reject(err);
        } else if (session === state.session) {
          // Lost after a successful join: start over (the recipe).
          void connect(session);
        }
      };

      socket.on('connect', () => {
        const payload = state.lastSeq > 0 ? { afterSeq: state.lastSeq } : {};
        socket.timeout(JOIN_TIMEOUT_MS).emit('room:join', payload, (timeout, ack) => {
          if (state.socket !== socket) return;
          if (timeout) return fail(new ApiError(0, 'unavailable', 'room:join was not acknowledged'));
          if (!ack || !ack.ok) return fail(new ApiError(0, ack ? ack.error.code : 'unavailable', ack ? ack.error.message : 'no ack'));
          settled = true;
          state.joined = true;
          state.gatewayId = conn.gatewayId;
          setStatus(`connected to ${conn.gatewayId}`);
          applyJoin(session, ack);
          resolve();
          resendPending(socket);
        });
      });
      socket.on('connect_error', (err) => fail(new ApiError(0, err.message || 'unavailable', `the gateway refused the connection (${err.message})`)));
      socket.on('disconnect', (reason) => {
        setStatus(`disconnected (${reason}), reconnecting…`);
        fail(new ApiError(0, 'unavailable', `disconnected: ${reason}`));
      });
      socket.on('room:moved', (moved) => {
        setStatus(`room moved (${moved && moved.reason}), reconnecting…`);
        fail(new ApiError(0, 'room_moved', 'room moved'));
      });
      socket.on('room:event', (event) => {
        if (state.socket === socket) {
          applyEvent(event);
          render();
          if (event && typeof event.type === 'string' && event.type.startsWith('member.')) void loadMembers(session);
        }
      });
      socket.on('room:kicked', (kicked) => {
        if (state.socket !== socket) return;
        const reason = kicked && kicked.reason === 'banned' ? 'banned from' : 'removed from';
        leaveRoom();
        showView('lobby');
        showError({ code: 'forbidden', message: `You were ${reason} this room.` });
        void loadMyRooms();
      });
      socket.on('room:presence', (payload) => {
        if (state.socket !== socket) return;
        state.presence = payload && Array.isArray(payload.users) ? payload.users : [];
        renderPresence();
      });
    });
  }

  function applyJoin(session, ack) {
    state.room.name = ack.room.name;
    $('room-name').textContent = ack.room.name;
    const rejoin = state.lastSeq > 0;
    for (const event of ack.events) applyEvent(event);
    if (!rejoin) state.hasOlder = Boolean(ack.hasMore);
    render();
    // A rejoin that is more than 500 events behind pages the rest over HTTP.
    if (rejoin && ack.hasMore) void catchUp(session);
    void loadMembers(session);
  }

  // ---- members and moderation -----------------------------------------------------------------

  /** The members list with roles (GET /rooms/:id/members), refreshed on every member.* event. */
  async function loadMembers(session) {
    try {
      const res = await api('GET', `/rooms/${encodeURIComponent(state.room.id)}/members`);
      if (session !== state.session) return;
      state.members = res.members;
      renderMembers();
    } catch (err) {
      if (!handleAuthFailure(err)) showError(err);
    }
  }

  /** My role here: admins act as owner anywhere. */
  function myRole() {
    if (state.user && state.user.role === 'admin') return 'owner';
    const me = state.members.find((m) => state.user && m.id === state.user.id);
    return me ? me.role : null;
  }

  function actionButton(label, onClick) {
    const b = el('button', 'link member-action', label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function renderMembers() {
    const role = myRole();
    const moderates = role === 'owner' || role === 'moderator';
    $('invite-form').hidden = !moderates;
    const nodes = state.members.map((m) => {
      const li = el('li', 'member');
      li.dataset.userId = m.id;
      const muted = m.mutedUntil && new Date(m.mutedUntil).getTime() > Date.now();
      li.append(el('span', 'member-name', m.username), el('span', `role role-${m.role}`, m.role));
      if (muted) li.append(el('span', 'muted', 'muted'));
      const self = state.user && m.id === state.user.id;
      // The rules are the server's (it answers forbidden); the buttons only hide the hopeless.
      const mayAct = moderates && !self && m.role !== 'owner' && !(role === 'moderator' && m.role === 'moderator');
      if (mayAct) {
        const actions = el('div', 'actions');
        if (role === 'owner') {
          const next = m.role === 'moderator' ? 'member' : 'moderator';
          actions.append(actionButton(next === 'moderator' ? 'Make moderator' : 'Make member', () => void command('member:role', { userId: m.id, role: next })));
        }
        actions.append(
          muted
            ? actionButton('Unmute', () => void command('member:mute', { userId: m.id, seconds: 0 }))
            : actionButton('Mute 10 min', () => void command('member:mute', { userId: m.id, seconds: 600 })),
          actionButton('Remove', () => void command('member:remove', { userId: m.id })),
          actionButton('Ban', () => void command('member:ban', { userId: m.id })),
        );
        li.append(actions);
      }
      return li;
    });
    $('members').replaceChildren(...nodes);
  }

  /** The lobby's list of my rooms (GET /rooms), most recent activity first. */
  async function loadMyRooms() {
    if (!state.token) return;
    try {
      const res = await api('GET', '/rooms?limit=50');
      const nodes = res.rooms.map((r) => {
        const li = el('li', 'my-room');
        const open = el('button', 'link', r.name);
        open.type = 'button';
        open.addEventListener('click', () => {
          clearError();
          enterRoom(r.id).catch(showError);
        });
        li.append(open, el('span', 'role', `${r.visibility} · ${r.role}`));
        return li;
      });
      $('my-rooms').replaceChildren(...nodes);
    } catch (err) {
      if (!handleAuthFailure(err)) showError(err);
    }
  }

  async function catchUp(session) {
    try {
      for (;;) {
        const page = await api('GET', `/rooms/${encodeURIComponent(state.room.id)}/events?after=${state.lastSeq}&limit=500`);
        if (session !== state.session) return;
        for (const event of page.events) applyEvent(event);
        render();
        if (page.events.length === 0 || state.lastSeq >= page.headSeq) return;
      }
    } catch (err) {
      if (!handleAuthFailure(err)) showError(err);
    }
  }

  async function loadOlder() {
    const session = state.session;
    try {
      const before = state.oldestSeq || state.lastSeq + 1;
      const page = await api('GET', `/rooms/${encodeURIComponent(state.room.id)}/events?before=${before}&limit=100`);
      if (session !== state.session) return;
      for (const event of page.events) applyEvent(event);
      state.hasOlder = page.events.length > 0 && page.events[0].seq > 1;
      render();
    } catch (err) {
      if (!handleAuthFailure(err)) showError(err);
    }
  }

  /** Applies one envelope once (by seq); an own event settles its pending message. */
  function applyEvent(event) {
    if (!event || typeof event.seq !== 'number' || state.events.has(event.seq)) return;
    state.events.set(event.seq, event);
    if (event.seq > state.lastSeq) state.lastSeq = event.seq;
    if (!state.oldestSeq || event.seq < state.oldestSeq) state.oldestSeq = event.seq;
    if (event.clientMsgId && event.actor && state.user && event.actor.id === state.user.id) state.pending.delete(event.clientMsgId);
  }

  // ---- commands -------------------------------------------------------------------------------

  function send(text) {
    const clientMsgId = newClientMsgId();
    state.pending.set(clientMsgId, { text, attempts: 0, failed: false });
    render();
    if (state.socket && state.joined) emitSend(state.socket, clientMsgId, text);
  }

  /** After a (re)join: every message not acknowledged yet, except those the user gave up on. */
  function resendPending(socket) {
    for (const [clientMsgId, { text, failed }] of state.pending) if (!failed) emitSend(socket, clientMsgId, text);
  }

  /** The user's "Retry" on a message shown as not sent: a fresh round of attempts. */
  function retrySend(clientMsgId) {
    const entry = state.pending.get(clientMsgId);
    if (!entry) return;
    entry.attempts = 0;
    entry.failed = false;
    render();
    if (state.socket && state.joined) emitSend(state.socket, clientMsgId, entry.text);
  }

  /**
   * Sends (or resends, with the same clientMsgId) until acknowledged or refused for good:
   * `invalid`, `forbidden`, `not_found` (and `rate_limited`) are final, the message is dropped and
   * the error shown; `unavailable` is retried with backoff, a bounded number of times.
   */
  function emitSend(socket, clientMsgId, text) {
    socket.timeout(ACK_TIMEOUT_MS).emit('message:send', { clientMsgId, text }, (timeout, ack) => {
      if (!state.pending.has(clientMsgId)) return;
      if (timeout || !ack) {
        // No answer: resent after the next reconnect, or now if this socket is still the one.
        if (state.socket === socket && state.joined) emitSend(socket, clientMsgId, text);
        return;
      }
      if (ack.ok) {
        state.pending.delete(clientMsgId);
        render();
        return;
      }
      const code = ack.error.code;
      if (code === 'room_moved') {
        // Not written: the reconnect resends it.
        if (state.socket === socket) socket.disconnect();
        return;
      }
      if (code === 'unavailable') {
        const entry = state.pending.get(clientMsgId);
        entry.attempts += 1;
        if (entry.attempts >= SEND_ATTEMPTS) {
          entry.failed = true;
          render();
          showError(ack.error);
          return;
        }
        setTimeout(() => {
          const still = state.pending.get(clientMsgId);
          if (state.socket === socket && state.joined && still && !still.failed) emitSend(socket, clientMsgId, text);
        }, SEND_BACKOFF_MS * 2 ** (entry.attempts - 1));
        return;
      }
      state.pending.delete(clientMsgId);
      render();
      showError(ack.error);
    });
  }

  function command(event, payload) {
    const socket = state.socket;
    if (!socket || !state.joined) {
      showError({ code: 'unavailable', message: 'not connected to the room; try again in a moment' });
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (timeout, ack) => {
        if (timeout || !ack) {
          showError({ code: 'unavailable', message: `${event} was not acknowledged` });
          return resolve(false);
        }
        if (!ack.ok) {
          showError(ack.error);
          return resolve(false);
        }
        resolve(true);
      });
    });
  }

  async function saveEdit(seq, text) {
    if (await command('message:edit', { seq, text })) {
      state.editing = null;
      render();
    }
  }

  // ---- rendering ------------------------------------------------------------------------------

  /** Folds the events into displayable items: edits and deletes change the message they name. */
  function fold() {
    const items = [];
    const messages = new Map();
    const seqs = Array.from(state.events.keys()).sort((a, b) => a - b);
    for (const seq of seqs) {
      const e = state.events.get(seq);
      const data = e.data || {};
      if (e.type === 'room.created') {
        items.push({ kind: 'system', seq, ts: e.ts, text: `Room “${data.name}” created${e.actor ? ` by ${e.actor.username}` : ''}` });
      } else if (e.type.startsWith('member.')) {
        items.push({ kind: 'system', seq, ts: e.ts, text: memberLine(e, data) });
      } else if (e.type === 'message.posted') {
        const m = { kind: 'message', seq, ts: e.ts, actor: e.actor, text: String(data.text), edited: false, deleted: false };
        messages.set(seq, m);
        items.push(m);
      } else if (e.type === 'message.edited') {
        const m = messages.get(data.seq);
        if (m && !m.deleted) {
          m.text = String(data.text);
          m.edited = true;
        }
      } else if (e.type === 'message.deleted') {
        const m = messages.get(data.seq);
        if (m) {
          m.deleted = true;
          m.text = '';
        }
      }
    }
    return items;
  }

  /** One line of history for a member.* event (usernames from the event, else the members list). */
  function memberLine(e, data) {
    const by = e.actor ? e.actor.username : 'someone';
    const known = state.members.find((m) => m.id === data.userId);
    const who = data.username || (known && known.username) || (e.actor && e.actor.id === data.userId ? by : 'a user');
    const reason = data.reason ? ` (${data.reason})` : '';
    switch (e.type) {
      case 'member.joined': return `${who} joined`;
      case 'member.left': return `${who} left`;
      case 'member.invited': return `${by} invited ${who}`;
      case 'member.role_changed': return `${by} made ${who} ${data.role}`;
      case 'member.removed': return `${by} removed ${who}${reason}`;
      case 'member.banned': return `${by} banned ${who}${reason}`;
      case 'member.unbanned': return `${by} unbanned ${who}`;
      case 'member.muted':
        return new Date(data.until).getTime() > Date.now() ? `${by} muted ${who} until ${formatTime(data.until)}` : `${by} unmuted ${who}`;
      default: return e.type;
    }
  }

  function formatTime(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function renderMessage(m) {
    const li = el('li', 'msg');
    li.dataset.seq = String(m.seq);
    const own = Boolean(state.user && m.actor && m.actor.id === state.user.id);
    if (own) li.classList.add('own');
    const meta = el('div', 'meta');
    meta.append(el('span', 'author', m.actor ? m.actor.username : 'system'), el('time', 'time', formatTime(m.ts)), el('span', 'seq', `#${m.seq}`));
    li.append(meta);

    if (state.editing && state.editing.seq === m.seq && !m.deleted) {
      const form = el('form', 'edit-form');
      const input = el('input', 'edit-text');
      input.value = state.editing.text;
      input.maxLength = 4000;
      input.required = true;
      input.addEventListener('input', () => {
        if (state.editing) state.editing.text = input.value;
      });
      const save = el('button', 'edit-save', 'Save');
      save.type = 'submit';
      const cancel = el('button', 'edit-cancel secondary', 'Cancel');
      cancel.type = 'button';
      cancel.addEventListener('click', () => {
        state.editing = null;
        render();
      });
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const text = input.value;
        if (text.trim()) void saveEdit(m.seq, text);
      });
      form.append(input, save, cancel);
      li.append(form);
      queueMicrotask(() => input.focus());
      return li;
    }

    if (m.deleted) {
      li.classList.add('deleted');
      li.append(el('div', 'text', 'message deleted'));
      return li;
    }
    const body = el('div', 'text', m.text);
    li.append(body);
    if (m.edited) meta.append(el('span', 'edited', 'edited'));
    if (own) {
      const actions = el('div', 'actions');
      const edit = el('button', 'edit link', 'Edit');
      edit.type = 'button';
      edit.addEventListener('click', () => {
        state.editing = { seq: m.seq, text: m.text };
        render();
      });
      const del = el('button', 'delete link', 'Delete');
      del.type = 'button';
      del.addEventListener('click', () => void command('message:delete', { seq: m.seq }));
      actions.append(edit, del);
      li.append(actions);
    }
    return li;
  }

  function render() {
    const list = $('messages');
    const pane = $('messages-pane');
    const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
    const nodes = [];
    for (const item of fold()) {
      if (item.kind === 'system') {
        const li = el('li', 'system', item.text);
        li.dataset.seq = String(item.seq);
        nodes.push(li);
      } else {
        nodes.push(renderMessage(item));
      }
    }
    for (const [clientMsgId, { text, failed }] of state.pending) {
      const li = el('li', failed ? 'msg own pending failed' : 'msg own pending');
      li.dataset.clientMsgId = clientMsgId;
      const meta = el('div', 'meta');
      meta.append(el('span', 'author', state.user ? state.user.username : ''), el('span', 'seq', failed ? 'not sent' : 'sending…'));
      li.append(meta, el('div', 'text', text));
      if (failed) {
        const actions = el('div', 'actions');
        const retry = el('button', 'retry link', 'Retry');
        retry.type = 'button';
        retry.addEventListener('click', () => retrySend(clientMsgId));
        const discard = el('button', 'discard link', 'Discard');
        discard.type = 'button';
        discard.addEventListener('click', () => {
          state.pending.delete(clientMsgId);
          render();
        });
        actions.append(retry, discard);
        li.append(actions);
      }
      nodes.push(li);
    }
    list.replaceChildren(...nodes);
    $('load-older').hidden = !state.hasOlder;
    if (atBottom) pane.scrollTop = pane.scrollHeight;
  }

  function renderPresence() {
    const nodes = state.presence.map((u) => {
      const li = el('li', state.user && u.id === state.user.id ? 'me' : '', u.username);
      return li;
    });
    $('presence').replaceChildren(...nodes);
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function bind() {
    $('error-close').addEventListener('click', clearError);

    $('auth-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const action = ev.submitter && ev.submitter.value === 'register' ? 'register' : 'login';
      authenticate(action, $('auth-username').value.trim(), $('auth-password').value).catch(showError);
    });

    $('logout').addEventListener('click', () => {
      clearError();
      logout();
    });

    $('create-room-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = $('room-name-input').value.trim();
      const visibility = $('room-private').checked ? 'private' : 'public';
      api('POST', '/rooms', { name, visibility })
        .then((res) => {
          clearError();
          $('room-name-input').value = '';
          return enterRoom(res.room.id);
        })
        .catch((err) => handleAuthFailure(err) || showError(err));
    });

    $('join-room-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = $('room-id-input').value.trim();
      if (!id) return;
      clearError();
      enterRoom(id).catch(showError);
    });

    $('leave').addEventListener('click', () => {
      leaveRoom();
      showView('lobby');
      void loadMyRooms();
    });

    $('leave-membership').addEventListener('click', async () => {
      if (await command('room:leave', {})) {
        leaveRoom();
        showView('lobby');
        void loadMyRooms();
      }
    });

    $('invite-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const input = $('invite-username');
      const username = input.value.trim();
      if (!username) return;
      if (await command('member:invite', { username })) input.value = '';
    });

    $('load-older').addEventListener('click', () => void loadOlder());

    $('send-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = $('send-text');
      const text = input.value;
      if (!text.trim()) return;
      input.value = '';
      send(text);
    });
  }

  function start() {
    bind();
    if (!state.token || !state.user) {
      showView('auth');
      return;
    }
    showView('lobby');
    void loadMyRooms();
    const match = /^#room=(.+)$/.exec(location.hash);
    if (match) enterRoom(decodeURIComponent(match[1])).catch(showError);
  }

  start();
})();
