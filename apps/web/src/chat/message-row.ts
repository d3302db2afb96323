/**
 * One row of the message list as DOM, built from a timeline row. Thin: every decision about the
 * content is made by the timeline and the members rules; this only lays it out.
 */
import { formatTime, h } from '../dom';
import { describeSystemRow, excerpt, type MessageRow, type SystemRow, type TimelineRow } from './room-timeline';

/** The few emoji of the picker. */
export const EMOJI_CHOICES = ['👍', '❤️', '😂', '🎉', '😮'];

export interface RowContext {
  selfId: string;
  canDelete(authorId: string | undefined): boolean;
  nameOf(userId: string): string;
  /** The quoted message, when it is loaded. */
  quoted(seq: number): MessageRow | undefined;
  /** The seq being edited and its draft, if any. */
  editing: { seq: number; draft: string } | null;
  /** The seq whose emoji picker is open, if any. */
  pickerOpen: number | null;
}

function timeOf(ts: string): HTMLTimeElement {
  return h('time', { datetime: ts, title: new Date(ts).toLocaleString() }, formatTime(ts));
}

export function renderRow(row: TimelineRow, ctx: RowContext): HTMLLIElement {
  return row.kind === 'message' ? renderMessage(row, ctx) : renderSystem(row, ctx);
}

function renderSystem(row: SystemRow, ctx: RowContext): HTMLLIElement {
  return h('li', { class: 'system', 'data-seq': row.seq }, h('span', { class: 'system-text' }, describeSystemRow(row, ctx.nameOf)), ' ', timeOf(row.ts));
}

function renderMessage(row: MessageRow, ctx: RowContext): HTMLLIElement {
  const own = row.author?.id === ctx.selfId;
  const classes = ['msg', own ? 'own' : '', row.deleted ? 'deleted' : ''].filter(Boolean).join(' ');
  const li = h('li', { class: classes, 'data-seq': row.seq });
  const author = row.author?.username ?? 'unknown';
  li.append(h('div', { class: 'meta' }, h('span', { class: 'author' }, author), ' ', timeOf(row.ts), row.edited ? h('span', { class: 'edited' }, ' (edited)') : null));

  if (row.replyTo !== null) li.append(renderQuote(row.replyTo, ctx));

  if (row.deleted) {
    li.append(h('p', { class: 'deleted-text' }, 'This message was deleted.'));
    return li;
  }

  if (ctx.editing?.seq === row.seq) {
    const input = h('input', { type: 'text', class: 'edit-text', 'aria-label': 'Edit message', maxlength: 4000, value: ctx.editing.draft });
    input.value = ctx.editing.draft;
    li.append(
      h(
        'form',
        { class: 'edit-form' },
        input,
        h('button', { type: 'submit', class: 'edit-save' }, 'Save'),
        h('button', { type: 'button', class: 'edit-cancel secondary' }, 'Cancel'),
      ),
    );
  } else {
    li.append(h('p', { class: 'text' }, row.text ?? ''));
  }

  const reactions = h('div', { class: 'reactions', role: 'group', 'aria-label': `Reactions to ${author}'s message` });
  for (const [emoji, users] of row.reactions) {
    const mine = users.includes(ctx.selfId);
    reactions.append(h('button', { type: 'button', class: 'reaction', 'data-emoji': emoji, 'aria-pressed': mine ? 'true' : 'false', title: users.map(ctx.nameOf).join(', ') }, `${emoji} ${users.length}`));
  }
  const pickerOpen = ctx.pickerOpen === row.seq;
  reactions.append(h('button', { type: 'button', class: 'react secondary', 'aria-label': 'Add a reaction', 'aria-expanded': pickerOpen ? 'true' : 'false' }, '☺+'));
  li.append(reactions);
  if (pickerOpen) {
    const picker = h('div', { class: 'emoji-picker', role: 'group', 'aria-label': 'Pick a reaction' });
    for (const emoji of EMOJI_CHOICES) picker.append(h('button', { type: 'button', class: 'emoji-choice', 'data-emoji': emoji, 'aria-label': `React with ${emoji}` }, emoji));
    li.append(picker);
  }

  const actions = h('div', { class: 'actions' }, h('button', { type: 'button', class: 'reply link' }, 'Reply'));
  if (own && ctx.editing?.seq !== row.seq) actions.append(h('button', { type: 'button', class: 'edit link' }, 'Edit'));
  if (ctx.canDelete(row.author?.id)) actions.append(h('button', { type: 'button', class: 'delete link' }, 'Delete'));
  li.append(actions);
  return li;
}

function renderQuote(seq: number, ctx: RowContext): HTMLElement {
  const original = ctx.quoted(seq);
  if (!original) return h('blockquote', { class: 'reply-to' }, `in reply to an earlier message (#${seq})`);
  if (original.deleted) return h('blockquote', { class: 'reply-to' }, 'in reply to a deleted message');
  return h('blockquote', { class: 'reply-to' }, h('span', { class: 'reply-author' }, original.author?.username ?? 'unknown'), ': ', excerpt(original.text ?? ''));
}

/** A message sent and not yet acknowledged: no seq until the server commits it. */
export function renderPending(clientMsgId: string, text: string, author: string): HTMLLIElement {
  return h(
    'li',
    { class: 'msg own pending', 'data-client-msg-id': clientMsgId },
    h('div', { class: 'meta' }, h('span', { class: 'author' }, author), ' ', h('span', { class: 'pending-note' }, 'sending…')),
    h('p', { class: 'text' }, text),
  );
}

/** Marks a pending row as not sent yet (the library is still resending it). */
export function markPendingSlow(el: HTMLLIElement): void {
  el.classList.add('slow');
  const note = el.querySelector('.pending-note');
  if (note) note.textContent = 'not sent yet, retrying…';
}
