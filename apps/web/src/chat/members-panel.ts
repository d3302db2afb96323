/**
 * The members panel of the room view: <ul id="members"> with roles, mutes and the moderator
 * actions the rules allow, and the invite form (hidden for plain members). Members come from
 * `GET /rooms/:id/members`, refreshed when a membership event arrives; actions go through the
 * room handle's membership commands.
 */
import type { RoomHandle } from '../../../../libs/client/src/index';
import { seg, type Api, type Member } from '../api';
import { h } from '../dom';
import { ACTION_LABELS, canInvite, isMuted, memberActions, type Me, type MemberAction } from './members-rules';

const MUTE_SECONDS = 600;

export interface MembersPanel {
  /** The members heading, list and invite form, for the view's side column. */
  readonly elements: HTMLElement[];
  /** The caller as the rules see them (their role in this room, once known). */
  me(): Me;
  nameOf(userId: string): string | undefined;
  /** Refetches the members shortly (a burst of membership events makes one request). */
  refreshSoon(): void;
  dispose(): void;
}

export function mountMembersPanel(options: {
  api: Api;
  room: RoomHandle;
  roomId: string;
  self: { id: string; isAdmin: boolean };
  report(err: unknown): void;
  /** The caller's role changed: what they may delete changes with it. */
  onRoleChange(): void;
}): MembersPanel {
  const { api, room, roomId, report } = options;
  let members: Member[] = [];
  let me: Me = { id: options.self.id, role: null, isAdmin: options.self.isAdmin };
  let disposed = false;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let lapseTimer: ReturnType<typeof setTimeout> | null = null;

  const list = h('ul', { id: 'members', 'aria-label': 'Members' });
  const inviteInput = h('input', { type: 'text', id: 'invite-username', autocomplete: 'off', required: true });
  const inviteForm = h(
    'form',
    { id: 'invite-form', hidden: true },
    h('label', { for: 'invite-username' }, 'Invite by username'),
    inviteInput,
    h('button', { type: 'submit', id: 'invite' }, 'Invite'),
  );

  async function refresh(): Promise<void> {
    try {
      const answer = await api.get<{ members: Member[] }>(`/rooms/${seg(roomId)}/members`);
      if (disposed) return;
      members = answer.members;
      const before = me.role;
      me = { ...me, role: members.find((m) => m.id === me.id)?.role ?? null };
      render();
      if (before !== me.role) options.onRoleChange();
    } catch (err) {
      // A private room not joined yet answers 403 here too; the join reports that one.
      if ((err as { status?: number }).status !== 403) report(err);
    }
  }

  function refreshSoon(): void {
    if (refreshTimer || disposed) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void refresh();
    }, 150);
  }

  function render(): void {
    const now = Date.now();
    // Keyboard users keep their place: the focused action (or its member's first) after a refresh.
    const active = document.activeElement as HTMLElement | null;
    const focused = active && list.contains(active) ? { userId: active.closest<HTMLElement>('li.member')?.dataset.userId, action: active.dataset.action } : null;
    list.replaceChildren(...members.map((m) => renderMember(m, now)));
    if (focused?.userId) {
      const row = list.querySelector<HTMLElement>(`li.member[data-user-id="${CSS.escape(focused.userId)}"]`);
      (row?.querySelector<HTMLElement>(`button[data-action="${focused.action}"]`) ?? row?.querySelector<HTMLElement>('button') ?? list.querySelector<HTMLElement>('button'))?.focus();
    }
    inviteForm.hidden = !canInvite(me);
    // A mute lapses by the clock, not by an event: show the change when it happens.
    if (lapseTimer) clearTimeout(lapseTimer);
    lapseTimer = null;
    const nextLapse = Math.min(...members.filter((m) => isMuted(m, now)).map((m) => Date.parse(m.mutedUntil!) - now));
    if (Number.isFinite(nextLapse) && !disposed) lapseTimer = setTimeout(render, nextLapse + 50);
  }

  function renderMember(m: Member, now: number): HTMLLIElement {
    const li = h(
      'li',
      { class: 'member', 'data-user-id': m.id },
      h('span', { class: 'member-name' }, m.username),
      ' ',
      h('span', { class: 'role' }, m.role),
      isMuted(m, now) ? h('span', { class: 'muted', title: `muted until ${new Date(m.mutedUntil!).toLocaleTimeString()}` }, ' muted') : null,
    );
    const actions = memberActions(me, m, now);
    if (actions.length > 0) {
      li.append(
        h(
          'div',
          { class: 'member-actions' },
          ...actions.map((action) =>
            h('button', { type: 'button', class: 'member-action secondary', 'data-action': action, 'aria-label': `${ACTION_LABELS[action]}: ${m.username}` }, ACTION_LABELS[action]),
          ),
        ),
      );
    }
    return li;
  }

  list.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.member-action');
    const userId = button?.closest<HTMLElement>('li.member')?.dataset.userId;
    if (!button || !userId) return;
    const run: Record<MemberAction, () => Promise<unknown>> = {
      'make-moderator': () => room.setRole(userId, 'moderator'),
      'make-member': () => room.setRole(userId, 'member'),
      mute: () => room.mute(userId, MUTE_SECONDS),
      unmute: () => room.mute(userId, 0),
      remove: () => room.remove(userId),
      ban: () => room.ban(userId),
    };
    run[button.dataset.action as MemberAction]().then(refreshSoon, report);
  });

  inviteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const username = inviteInput.value.trim();
    if (!username) return;
    room.invite(username).then(() => {
      inviteInput.value = '';
      refreshSoon();
    }, report);
  });

  void refresh();

  return {
    elements: [h('h3', {}, 'Members'), list, inviteForm],
    me: () => me,
    nameOf: (userId) => members.find((m) => m.id === userId)?.username,
    refreshSoon,
    dispose() {
      disposed = true;
      if (refreshTimer) clearTimeout(refreshTimer);
      if (lapseTimer) clearTimeout(lapseTimer);
    },
  };
}
