import { useState } from 'preact/hooks';
import { get } from '../api.js';
import { Time } from '../format.js';
import { html } from '../html.js';
import { go, href } from '../router.js';
import { Chips, Loaded, useLoad } from './common.js';

const PAGE = 20;

/** Search across every bot's memory; the form's state lives in the URL, so results can be linked and reloaded. */
export function Search({ query }) {
  const params = Object.fromEntries(['q', 'bot', 'tags', 'type', 'after', 'before', 'offset'].map((k) => [k, query.get(k) ?? '']));
  const [form, setForm] = useState(params);
  const searched = query.toString() !== '';
  const [bots] = useLoad(() => get('/api/overview'), []);
  const [results] = useLoad(
    () =>
      searched
        ? get('/api/search', {
            query: params.q,
            bot: params.bot,
            tags: params.tags,
            type: params.type,
            updated_after: params.after && `${params.after}T00:00:00Z`,
            updated_before: params.before && nextDay(params.before),
            offset: params.offset,
            limit: PAGE,
          })
        : Promise.resolve(null),
    [query.toString()],
  );
  const set = (name) => (event) => setForm((f) => ({ ...f, [name]: event.currentTarget.value }));
  const submit = (event) => {
    event.preventDefault();
    go('search', { ...form, offset: '' });
  };
  const offset = Number(params.offset || 0);
  return html`<div class="search">
    <form class="card search-form" onSubmit=${submit} role="search">
      <div class="search-line">
        <input type="search" name="q" value=${form.q} onInput=${set('q')} placeholder="Search every bot's memory…" aria-label="Search" autofocus />
        <button class="button primary" type="submit">Search</button>
      </div>
      <div class="filters">
        <label>Bot<select name="bot" value=${form.bot} onChange=${set('bot')}>
          <option value="">all bots</option>
          ${(bots.data?.bots ?? []).map((b) => html`<option value=${b.id}>${b.id}</option>`)}
        </select></label>
        <label>Tags<input name="tags" value=${form.tags} onInput=${set('tags')} placeholder="all of: a, b" /></label>
        <label>Type<input name="type" value=${form.type} onInput=${set('type')} placeholder="any" /></label>
        <label>Updated from<input type="date" name="after" value=${form.after} onInput=${set('after')} /></label>
        <label>to<input type="date" name="before" value=${form.before} onInput=${set('before')} /></label>
      </div>
    </form>
    ${searched
      ? html`<section class="card results"><${Loaded} state=${results}>${(r) => html`
          <h2>${r.total} ${r.total === 1 ? 'note' : 'notes'}${params.q ? html` for “${params.q}”` : ' (newest first)'}</h2>
          <ol class="hits" start=${offset + 1}>${r.results.map((hit) => html`<li key=${`${hit.bot}/${hit.path}`}>
            <a class="hit-title" href=${href('bots', hit.bot, { path: hit.path })}>${hit.title}</a>
            <div class="muted small mono">${hit.bot}/${hit.path} · <${Time} at=${hit.updated} />${hit.type ? ` · ${hit.type}` : ''}</div>
            ${hit.snippet ? html`<p class="snippet">${hit.snippet}</p>` : null}
            ${hit.tags.length ? html`<${Chips} items=${hit.tags} />` : null}
          </li>`)}</ol>
          <div class="pager">
            ${offset > 0 ? html`<a class="button" href=${href('search', { ...params, offset: Math.max(0, offset - PAGE) || '' })}>Previous</a>` : null}
            ${r.next_offset !== undefined ? html`<a class="button" href=${href('search', { ...params, offset: r.next_offset })}>Next</a>` : null}
          </div>
        `}<//></section>`
      : null}
  </div>`;
}

/** "Updated to" a date includes that whole day: the search's upper bound is the next midnight. */
function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}
