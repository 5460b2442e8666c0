import { useEffect, useState } from 'preact/hooks';
import { api, daemon, get } from '../api.js';
import { bytes, shortCommit, Time } from '../format.js';
import { html } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import { go, href } from '../router.js';
import { Chips, ErrorBox, Loaded, useLoad } from './common.js';

/** The right side of a bot's memory: a note, its history, a diff, or the editor. */
export function NotePane({ bot, path, query, changes }) {
  const view = query.get('view') ?? 'note';
  if (view === 'new') return html`<${Editor} bot=${bot.id} note=${null} />`;
  if (!path) {
    return html`<div class="empty"><p>Pick a note on the left${daemon.readOnly ? '' : html`, or <a href=${href('bots', bot.id, { view: 'new' })}>write a new one</a> for ${bot.name}`}.</p></div>`;
  }
  return html`<${OpenNote} bot=${bot.id} path=${path} view=${view} query=${query} changes=${changes} />`;
}

function OpenNote({ bot, path, view, query, changes }) {
  // Reload when this note changed (not while editing: the editor keeps the version it started from).
  const touched = changes.paths.has(path) && view !== 'edit' ? changes.count : 0;
  const [note, reload] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/note`, { path }), [bot, path, touched]);
  const tab = (name, label) =>
    html`<a role="tab" aria-selected=${view === name} class=${view === name ? 'active' : ''} href=${href('bots', bot, { path, ...(name === 'note' ? {} : { view: name }) })}>${label}</a>`;
  return html`<${Loaded} state=${note}>${(n) => html`
    <div class="note-head">
      <div>
        <h2 class="note-title">${n.title}</h2>
        <div class="muted small mono">${path} · ${bytes(n.size)} · ${n.lines} lines · version ${n.version.slice(0, 10)}</div>
      </div>
      <div class="tabs small" role="tablist">
        ${tab('note', 'Note')} ${tab('history', 'History')} ${view === 'diff' ? tab('diff', 'Diff') : null}
        ${n.problem || daemon.readOnly ? null : tab('edit', 'Edit')}
        ${daemon.readOnly ? null : html`<button class="link danger" onClick=${() => remove(bot, n)}>Delete</button>`}
      </div>
    </div>
    ${view === 'history' ? html`<${History} bot=${bot} note=${n} changes=${changes.count} onRestored=${reload} />` : null}
    ${view === 'diff' ? html`<${Diff} bot=${bot} path=${path} from=${query.get('from')} to=${query.get('to')} />` : null}
    ${view === 'edit' ? html`<${Editor} bot=${bot} note=${n} />` : null}
    ${view === 'note' ? html`<${NoteView} bot=${bot} note=${n} />` : null}
  `}<//>`;
}

async function remove(bot, note) {
  if (!confirm(`Delete ${note.path} from ${bot}'s memory? Its history stays in git and it can be restored.`)) return;
  try {
    await api('DELETE', `/api/bots/${encodeURIComponent(bot)}/note`, { query: { path: note.path, expected_version: note.version } });
    go('bots', bot);
  } catch (error) {
    alert(error.message);
  }
}

function NoteView({ bot, note }) {
  const [rest, setRest] = useState(null);
  const body = rest ?? note.body;
  const loadRest = async () => {
    const all = await get(`/api/bots/${encodeURIComponent(bot)}/note`, { path: note.path, from_line: 1, to_line: note.lines });
    setRest(all.body);
  };
  return html`<div class="note">
    ${note.problem ? html`<p class="warning" role="alert">The frontmatter is broken (${note.problem}). The note is shown and indexed as plain text; fix the file by hand.</p>` : null}
    <${Frontmatter} frontmatter=${note.frontmatter} />
    ${note.problem
      ? html`<pre class="raw">${body}</pre>`
      : html`<article class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(body) }} />`}
    ${note.truncated && !rest ? html`<p><button class="button" onClick=${loadRest}>Show the rest (lines ${note.to_line + 1}–${note.lines})</button></p>` : null}
  </div>`;
}

function Frontmatter({ frontmatter }) {
  const entries = Object.entries(frontmatter);
  if (entries.length === 0) return null;
  return html`<details class="frontmatter" open>
    <summary>Frontmatter</summary>
    <table class="fields">${entries.map(([key, value]) => html`<tr><th>${key}</th><td>${valueOf(value)}</td></tr>`)}</table>
  </details>`;
}

function valueOf(value) {
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return html`<${Chips} items=${value.map(String)} />`;
  if (value !== null && typeof value === 'object') return html`<code>${JSON.stringify(value)}</code>`;
  return String(value);
}

function History({ bot, note, changes, onRestored }) {
  const [history] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/history`, { path: note.path }), [bot, note.path, changes, note.version]);
  const [picked, setPicked] = useState([]);
  const [error, setError] = useState(null);
  const toggle = (commit) => setPicked((p) => (p.includes(commit) ? p.filter((c) => c !== commit) : [...p, commit].slice(-2)));
  const restore = async (version) => {
    if (!confirm(`Restore ${note.path} as it was at ${shortCommit(version.commit)} (${new Date(version.date).toLocaleString()})? This adds a new version; nothing is lost.`)) return;
    try {
      await api('POST', `/api/bots/${encodeURIComponent(bot)}/restore`, { body: { path: note.path, version: version.commit, expected_version: note.version } });
      setError(null);
      onRestored();
      go('bots', bot, { path: note.path });
    } catch (e) {
      setError(e);
    }
  };
  return html`<${Loaded} state=${history}>${({ versions }) => {
    const order = (commit) => versions.findIndex((v) => v.commit === commit);
    const [newer, older] = [...picked].sort((a, b) => order(a) - order(b));
    return html`<div class="history">
      <${ErrorBox} error=${error} />
      <div class="history-actions">
        <span class="muted small">Tick two versions to compare them, or compare one with the note as it is now.</span>
        <a class=${`button ${picked.length === 2 ? '' : 'disabled'}`} aria-disabled=${picked.length !== 2}
          href=${picked.length === 2 ? href('bots', bot, { path: note.path, view: 'diff', from: older, to: newer }) : undefined}>Compare selected</a>
      </div>
      ${versions.length === 0 ? html`<p class="muted">No committed versions yet.</p>` : null}
      <table class="versions">
        <thead><tr><th></th><th>Version</th><th>When</th><th>By</th><th>What</th><th></th></tr></thead>
        <tbody>${versions.map((v, i) => html`<tr key=${v.commit}>
          <td><input type="checkbox" aria-label=${`select ${shortCommit(v.commit)}`} checked=${picked.includes(v.commit)} onChange=${() => toggle(v.commit)} /></td>
          <td class="mono">${shortCommit(v.commit)}${i === 0 ? html` <span class="badge">latest</span>` : null}</td>
          <td><${Time} at=${v.date} /></td>
          <td>${v.author}</td>
          <td>${v.message}</td>
          <td class="row-actions">
            <a href=${href('bots', bot, { path: note.path, view: 'diff', from: v.commit })}>Diff to now</a>
            ${i > 0 && !daemon.readOnly ? html`<button class="link" onClick=${() => restore(v)}>Restore</button>` : null}
          </td>
        </tr>`)}</tbody>
      </table>
    </div>`;
  }}<//>`;
}

function Diff({ bot, path, from, to }) {
  const [diff] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/diff`, { path, from, to }), [bot, path, from, to]);
  return html`<${Loaded} state=${diff}>${(d) => html`<div class="diff-view">
    <p class="muted small">Changes from <span class="mono">${shortCommit(from)}</span> to <span class="mono">${to ? shortCommit(to) : 'the note as it is now'}</span></p>
    ${d.diff.trim() === '' ? html`<p class="muted">No differences.</p>` : html`<pre class="diff">${diffLines(d.diff)}</pre>`}
  </div>`}<//>`;
}

/** A unified diff, coloured by line; git's header lines before the first hunk are left out. */
function diffLines(text) {
  const lines = text.replace(/\n$/, '').split('\n');
  const start = lines.findIndex((l) => l.startsWith('@@'));
  return lines.slice(Math.max(0, start)).map((line) => {
    const kind = line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('\\') ? 'meta' : 'same';
    return html`<span class=${`line ${kind}`}>${line}</span>`;
  });
}

/** Writes a note as the bot (as its MCP connection would), refusing to overwrite a version changed meanwhile. */
function Editor({ bot, note }) {
  const fm = note?.frontmatter ?? {};
  const [fields, setFields] = useState({
    path: note?.path ?? '',
    title: typeof fm.title === 'string' ? fm.title : '',
    tags: Array.isArray(fm.tags) ? fm.tags.join(', ') : '',
    type: typeof fm.type === 'string' ? fm.type : '',
    visibility: fm.visibility ?? '',
    body: note && !note.truncated ? note.body : '',
  });
  const [ready, setReady] = useState(!note?.truncated);
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    if (!note?.truncated) return;
    get(`/api/bots/${encodeURIComponent(bot)}/note`, { path: note.path, from_line: 1, to_line: note.lines }).then(
      (all) => {
        setFields((f) => ({ ...f, body: all.body }));
        setReady(true);
      },
      setError,
    );
  }, [bot, note?.path]);
  const set = (name) => (event) => setFields((f) => ({ ...f, [name]: event.currentTarget.value }));
  const save = async (event) => {
    event.preventDefault();
    setSaving(true);
    try {
      const tags = fields.tags.split(',').map((t) => t.trim()).filter(Boolean);
      await api('PUT', `/api/bots/${encodeURIComponent(bot)}/note`, {
        body: {
          path: fields.path,
          body: fields.body,
          title: fields.title || undefined,
          tags: tags.length || fm.tags ? tags : undefined,
          type: fields.type || undefined,
          visibility: fields.visibility || undefined,
          expected_version: note ? note.version : 'new',
        },
      });
      go('bots', bot, { path: fields.path });
    } catch (e) {
      setError(e);
      setSaving(false);
    }
  };
  return html`<form class="editor" onSubmit=${save}>
    <h2>${note ? `Edit ${note.path}` : `New note for ${bot}`}</h2>
    <p class="muted small">Saved as ${bot}: the change is committed with ${bot} as its author.</p>
    <${ErrorBox} error=${error} />
    <div class="form-grid">
      <label>Path<input name="path" value=${fields.path} onInput=${set('path')} placeholder="notes/plan.md" required readOnly=${!!note} /></label>
      <label>Title<input name="title" value=${fields.title} onInput=${set('title')} /></label>
      <label>Tags<input name="tags" value=${fields.tags} onInput=${set('tags')} placeholder="comma, separated" /></label>
      <label>Type<input name="type" value=${fields.type} onInput=${set('type')} placeholder="decision, howto…" /></label>
      <label>Visibility<select name="visibility" value=${fields.visibility} onChange=${set('visibility')}>
        <option value="">bot's default</option><option value="private">private</option><option value="shared">shared</option>
      </select></label>
    </div>
    <label>Body (Markdown)<textarea name="body" rows="18" value=${fields.body} onInput=${set('body')} disabled=${!ready}></textarea></label>
    <div class="form-actions">
      <button class="button primary" type="submit" disabled=${saving || !ready}>${saving ? 'Saving…' : 'Save'}</button>
      <a class="button" href=${note ? href('bots', bot, { path: note.path }) : href('bots', bot)}>Cancel</a>
    </div>
  </form>`;
}
