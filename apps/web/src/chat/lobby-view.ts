/**
 * The lobby, path `/` (DOM contract "Lobby"): create a room, join one by id or shared link,
 * "My rooms" with unread badges, and search. The parts live in lobby-rooms-view.ts and
 * lobby-search-view.ts; the rules in lobby-model.ts.
 */
import type { Room } from '../api';
import type { AppContext, View } from '../app-context';
import { h } from '../dom';
import { roomPath } from '../routes';
import { checkRoomName, parseRoomRef } from './lobby-model';
import { mountRoomsList } from './lobby-rooms-view';
import { mountSearch } from './lobby-search-view';

function createForm(ctx: AppContext): HTMLFormElement {
  const name = h('input', { id: 'room-name-input', name: 'name', maxlength: 100, autocomplete: 'off' });
  const isPrivate = h('input', { id: 'room-private', name: 'private', type: 'checkbox' });
  const submit = h('button', { type: 'submit', id: 'create-room' }, 'Create room');
  const form = h('form', { id: 'create-form', 'aria-label': 'Create a room' }, h('label', {}, 'Room name', name), h('label', { class: 'inline' }, isPrivate, 'Private'), submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const checked = checkRoomName(name.value);
    if ('code' in checked) {
      ctx.showError(checked);
      name.focus();
      return;
    }
    ctx.clearError();
    submit.disabled = true;
    ctx.api
      .post<{ room: Room }>('/rooms', { name: checked.name, visibility: isPrivate.checked ? 'private' : 'public' })
      .then(
        ({ room }) => ctx.navigate(roomPath(room.id)),
        (err: unknown) => {
          submit.disabled = false;
          ctx.showError(err);
        },
      );
  });
  return form;
}

function joinForm(ctx: AppContext): HTMLFormElement {
  const ref = h('input', { id: 'room-id-input', name: 'room', autocomplete: 'off', placeholder: 'room id or https://…/r/<id>' });
  const submit = h('button', { type: 'submit', id: 'join-room', class: 'secondary' }, 'Join');
  const form = h('form', { id: 'join-form', 'aria-label': 'Join a room' }, h('label', {}, 'Room id or link', ref), submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const roomId = parseRoomRef(ref.value);
    if (roomId === null) {
      ctx.showError({ code: 'invalid', message: 'paste a room id or a room link (…/r/<id>)' });
      ref.focus();
      return;
    }
    ctx.clearError();
    // The room view asks the API and says so when the room does not exist or is closed to us.
    ctx.navigate(roomPath(roomId));
  });
  return form;
}

export function mountLobbyView(root: HTMLElement, ctx: AppContext): View {
  const roomsPanel = h('div', { class: 'lobby-panel lobby-rooms' });
  const searchPanel = h('div', { class: 'lobby-panel lobby-search' });
  const section = h(
    'section',
    { id: 'lobby-view', 'aria-labelledby': 'lobby-title' },
    h('h2', { id: 'lobby-title' }, 'Rooms'),
    h('div', { class: 'lobby-forms' }, createForm(ctx), joinForm(ctx)),
    h('div', { class: 'lobby-body' }, roomsPanel, searchPanel),
  );
  root.replaceChildren(section);
  const parts = [mountRoomsList(roomsPanel, ctx), mountSearch(searchPanel, ctx)];
  return {
    unmount: () => {
      for (const part of parts) part.unmount();
      section.remove();
    },
  };
}
