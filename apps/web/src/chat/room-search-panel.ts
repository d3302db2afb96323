/**
 * Search inside one room (DOM contract "Room", side panel): #room-search-form with
 * #room-search-input and #room-search-submit, hits newest first in <ul id="room-search-results">
 * (<li data-seq> holding a button with author, time and text), "More results"
 * (#room-search-more) paging older hits. Choosing a hit asks the room view to reveal that seq in
 * the message list. The state lives in RoomSearchResults; this only lays it out.
 */
import type { Api, RoomSearchHit } from '../api';
import { formatTime, h } from '../dom';
import { checkRoomSearchQuery, RoomSearchResults, roomSearchPath } from './room-search-model';

export interface RoomSearchPanelOptions {
  api: Api;
  roomId: string;
  /** Scrolls the message list to this seq (paging older history in as needed) and highlights it. */
  reveal(seq: number): void;
  report(err: unknown): void;
}

export interface RoomSearchPanel {
  element: HTMLElement;
  dispose(): void;
}

function hitItem(hit: RoomSearchHit): HTMLLIElement {
  const author = hit.actor?.username ?? 'someone';
  return h(
    'li',
    { class: 'room-search-hit', 'data-seq': hit.seq },
    h(
      'button',
      { type: 'button', class: 'room-search-open', title: 'Show this message in the room' },
      h('span', { class: 'meta' }, h('span', { class: 'author' }, author), ' ', h('time', { datetime: hit.ts }, formatTime(hit.ts))),
      h('span', { class: 'text' }, hit.text),
    ),
  );
}

export function mountRoomSearchPanel({ api, roomId, reveal, report }: RoomSearchPanelOptions): RoomSearchPanel {
  const results = new RoomSearchResults();
  const input = h('input', {
    id: 'room-search-input',
    name: 'q',
    type: 'search',
    maxlength: 200,
    autocomplete: 'off',
    'aria-describedby': 'room-search-problem',
  });
  const submit = h('button', { type: 'submit', id: 'room-search-submit' }, 'Search');
  const problem = h('p', { id: 'room-search-problem', class: 'room-search-problem', role: 'alert' });
  const form = h(
    'form',
    { id: 'room-search-form', role: 'search', 'aria-label': 'Search this room', novalidate: true },
    h('label', { for: 'room-search-input' }, 'Search this room'),
    h('div', { class: 'room-search-row' }, input, submit),
    problem,
  );
  const summary = h('p', { id: 'room-search-summary', class: 'hint', role: 'status' });
  const list = h('ul', { id: 'room-search-results', 'aria-label': 'Search results' });
  const more = h('button', { type: 'button', id: 'room-search-more', class: 'secondary', hidden: true }, 'More results');
  const element = h('div', { class: 'room-search' }, h('h3', {}, 'Search'), form, summary, list, more);

  let disposed = false;
  /** Only the latest request's answer is shown, whatever order the answers come back in. */
  let latest = 0;

  function showProblem(message: string): void {
    problem.textContent = message;
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
  }

  async function loadPage(first: boolean): Promise<void> {
    const q = results.q;
    if (q === null) return;
    const ticket = ++latest;
    submit.disabled = true;
    more.disabled = true;
    try {
      const { hits } = await api.get<{ hits: RoomSearchHit[] }>(roomSearchPath(roomId, q, first ? undefined : results.nextBefore));
      if (disposed || ticket !== latest) return;
      const added = results.addPage(hits);
      if (first) list.replaceChildren();
      list.append(...added.map(hitItem));
      summary.textContent = results.summary();
      more.hidden = !results.hasMore;
      // "More results" vanishes on the last page: keep keyboard users on the first new hit.
      if (!first && more.hidden && document.activeElement === more) list.querySelector<HTMLElement>(`li[data-seq="${added[0]?.seq}"] button`)?.focus();
    } catch (err) {
      if (!disposed && ticket === latest) report(err);
    } finally {
      if (ticket === latest) {
        submit.disabled = false;
        more.disabled = false;
      }
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const checked = checkRoomSearchQuery(input.value);
    if ('code' in checked) {
      showProblem(`Search: ${checked.message}.`);
      input.focus();
      return;
    }
    showProblem('');
    results.start(checked.q);
    more.hidden = true;
    void loadPage(true);
  });
  input.addEventListener('input', () => {
    if (problem.textContent) showProblem('');
  });
  more.addEventListener('click', () => void loadPage(false));
  list.addEventListener('click', (event) => {
    const li = (event.target as Element).closest('button')?.closest<HTMLLIElement>('li[data-seq]');
    if (li) reveal(Number(li.dataset.seq));
  });

  return {
    element,
    dispose() {
      disposed = true;
      latest += 1; // answers still in flight are dropped
    },
  };
}
