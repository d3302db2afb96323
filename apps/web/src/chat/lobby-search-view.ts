/**
 * Search over every room the user may read (`GET /search`: their rooms and public ones; DOM
 * contract: #search-form, #search-input, #search-submit, <ul id="search-results">): newest first,
 * each hit linking to its room.
 */
import type { SearchHit } from '../api';
import type { AppContext, View } from '../app-context';
import { formatTime, h } from '../dom';
import { roomPath } from '../routes';
import { checkSearchQuery, searchSummary } from './lobby-model';

const HITS = 50;

function hitItem(hit: SearchHit): HTMLLIElement {
  return h(
    'li',
    { class: 'search-hit', 'data-room-id': hit.roomId, 'data-seq': hit.seq },
    h(
      'div',
      { class: 'meta' },
      h('a', { class: 'room-name', href: roomPath(hit.roomId) }, hit.roomName || hit.roomId),
      h('span', { class: 'author' }, hit.actor?.username ?? 'someone'),
      h('time', { datetime: hit.ts }, formatTime(hit.ts)),
    ),
    h('p', { class: 'text' }, hit.text),
  );
}

export function mountSearch(container: HTMLElement, ctx: AppContext): View {
  const input = h('input', { id: 'search-input', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off' });
  const submit = h('button', { type: 'submit', id: 'search-submit' }, 'Search');
  const form = h('form', { id: 'search-form', role: 'search' }, h('label', {}, 'Search messages', input), submit);
  const summary = h('p', { id: 'search-summary', class: 'hint', role: 'status' });
  const results = h('ul', { id: 'search-results', 'aria-labelledby': 'search-title' });
  container.append(h('h3', { id: 'search-title' }, 'Search'), form, summary, results);

  let mounted = true;
  // Only the latest search's answer is shown, whatever order the answers come back in.
  let latest = 0;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const checked = checkSearchQuery(input.value);
    if ('code' in checked) {
      ctx.showError(checked);
      return;
    }
    ctx.clearError();
    const ticket = ++latest;
    submit.disabled = true;
    const query = new URLSearchParams({ q: checked.q, limit: String(HITS) });
    ctx.api
      .get<{ hits: SearchHit[] }>(`/search?${query.toString()}`)
      .then(
        ({ hits }) => {
          if (!mounted || ticket !== latest) return;
          summary.textContent = searchSummary(hits.length, checked.q);
          results.replaceChildren(...hits.map(hitItem));
        },
        (err: unknown) => mounted && ctx.showError(err),
      )
      .finally(() => {
        submit.disabled = false;
      });
  });

  return {
    unmount: () => {
      mounted = false;
    },
  };
}
