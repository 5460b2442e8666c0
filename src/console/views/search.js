import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { Time } from '../format.js';
import { html } from '../html.js';
import { go, href } from '../router.js';
import { Chips, Loaded, useLoad } from './common.js';
import { mailLink } from './mail.js';

const PAGE = 20;

/** Search every bot's memory, or the messages; the form's state lives in the URL, so results can be linked and reloaded. */
export function Search({ query }) {
  const messages = query.get('in') === 'messages';
  return html`<div class="search">
    <div class="tabs" role="tablist">
      <a role="tab" aria-selected=${!messages} class=${messages ? '' : 'active'} href=${href('search')}>Notes</a>
      <a role="tab" aria-selected=${messages} class=${messages ? 'active' : ''} href=${href('search', { in: 'messages' })}>Messages</a>
    </div>
    ${messages ? html`<${MessageSearch} query=${query} />` : html`<${NoteSearch} query=${query} />`}
  </div>`;
}

/** The form shows what the URL says, also when the URL changes under it (back, forward, a link). */
function useForm(query, names) {
  const fromUrl = () => Object.fromEntries(names.map((k) => [k, query.get(k) ?? '']));
  const [form, setForm] = useState(fromUrl);
  useEffect(() => setForm(fromUrl()), [query.toString()]);
  const set = (name) => (event) => setForm((f) => ({ ...f, [name]: event.currentTarget.value }));
  return [form, set, fromUrl()];
}

function NoteSearch({ query }) {
  const [form, set, params] = useForm(query, ['q', 'bot', 'tags', 'type', 'after', 'before', 'offset']);
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
  const submit = (event) => {
    event.preventDefault();
    go('search', { ...form, offset: '' });
  };
  const offset = Number(params.offset || 0);
  return html`<div>
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

/** Messages in every mailbox (or one), as each bot finds them in its own mail. */
function MessageSearch({ query }) {
  const [form, set, params] = useForm(query, ['q', 'mailbox']);
  const [bots] = useLoad(() => get('/api/overview'), []);
  const [results] = useLoad(
    () => (params.q ? get('/api/messages/search', { query: params.q, bot: params.mailbox }) : Promise.resolve(null)),
    [query.toString()],
  );
  const submit = (event) => {
    event.preventDefault();
    go('search', { in: 'messages', ...form });
  };
  return html`<div>
    <form class="card search-form" onSubmit=${submit} role="search">
      <div class="search-line">
        <input type="search" name="q" value=${form.q} onInput=${set('q')} placeholder="Search the messages…" aria-label="Search messages" required autofocus />
        <button class="button primary" type="submit">Search</button>
      </div>
      <div class="filters">
        <label>Mailbox<select name="mailbox" value=${form.mailbox} onChange=${set('mailbox')}>
          <option value="">every mailbox</option>
          <option value="operator">operator</option>
          ${(bots.data?.bots ?? []).map((b) => html`<option value=${b.id}>${b.id}</option>`)}
        </select></label>
      </div>
    </form>
    ${params.q
      ? html`<section class="card results"><${Loaded} state=${results}>${(r) => html`
          <h2>${r.total} ${r.total === 1 ? 'message' : 'messages'} for “${params.q}”</h2>
          <ol class="hits">${r.results.map((hit) => html`<li key=${hit.id}>
            <a class="hit-title" href=${mailLink(hit.mailbox, hit.folder, hit.thread)}>${hit.subject}</a>
            <div class="muted small"><b>${hit.from}</b> → ${hit.to.join(', ')} · <${Time} at=${hit.created} /></div>
            ${hit.snippet ? html`<p class="snippet">${hit.snippet}</p>` : null}
          </li>`)}</ol>
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
