import { useEffect, useState } from 'preact/hooks';
import { daemon, get, useActivity } from '../api.js';
import { bytes, plural, Time } from '../format.js';
import { html } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import { href } from '../router.js';
import { Chips, KindBadge, Loaded, Online, useDebounced, useLoad } from './common.js';
import { MailView } from './mail.js';
import { ActivityChart, ManageBot, QuotaBar } from './team.js';
import { NotePane } from './note.js';

/** One bot: its header, then its memory (folder tree + note), its mail, or its profile. */
export function BotPage({ id, query }) {
  const [bot, reloadBot] = useLoad(() => get(`/api/bots/${encodeURIComponent(id)}`), [id]);
  // Bumped when this bot's memory changes, so the tree and the open note reload.
  const [changes, setChanges] = useState({ count: 0, paths: new Set() });
  const refreshBot = useDebounced(reloadBot, 500);
  useActivity((activity) => {
    if (activity.bot !== id) return;
    refreshBot();
    if (!activity.kind.startsWith('note.')) return;
    setChanges((c) => ({ count: c.count + 1, paths: new Set([activity.path, activity.detail?.from]) }));
  });
  const tab = query.get('tab') ?? 'memory';
  return html`<div class="bot-page">
    <nav class="crumbs"><a href="#/">Overview</a> / <span>${id}</span></nav>
    <${Loaded} state=${bot}>${(b) => html`
      <${BotHeader} bot=${b} />
      <div class="tabs" role="tablist">
        <a role="tab" aria-selected=${tab === 'memory'} class=${tab === 'memory' ? 'active' : ''} href=${href('bots', id)}>Memory</a>
        <a role="tab" aria-selected=${tab === 'mail'} class=${tab === 'mail' ? 'active' : ''} href=${href('bots', id, { tab: 'mail' })}>
          Mail${b.mail.unread ? html` <span class="unread-count">${b.mail.unread}</span>` : null}
        </a>
        <a role="tab" aria-selected=${tab === 'profile'} class=${tab === 'profile' ? 'active' : ''} href=${href('bots', id, { tab: 'profile' })}>Profile</a>
        ${daemon.readOnly ? null : html`<a role="tab" aria-selected=${tab === 'manage'} class=${tab === 'manage' ? 'active' : ''} href=${href('bots', id, { tab: 'manage' })}>Manage</a>`}
      </div>
      ${tab === 'manage' && !daemon.readOnly ? html`<${ManageBot} bot=${b} onChanged=${reloadBot} />` : null}
      ${tab === 'profile' ? html`<${Profile} bot=${b} />` : null}
      ${tab === 'profile' ? html`<${ActivityChart} only=${{ bot: id }} />` : null}
      ${tab === 'mail' ? html`<${MailView} bot=${id} query=${query} link=${(q) => href('bots', id, { tab: 'mail', ...q })} />` : null}
      ${tab === 'memory' ? html`<${Memory} bot=${b} query=${query} changes=${changes} />` : null}
    `}<//>
  </div>`;
}

function BotHeader({ bot }) {
  return html`<header class="card bot-header">
    <div class="bot-title">
      <${Online} online=${bot.online} />
      <h1>${bot.name}</h1>
      <span class="muted mono">${bot.id}</span>
      <${KindBadge} kind=${bot.kind} />
      ${bot.status === 'retired' ? html`<span class="badge retired">retired</span>` : null}
    </div>
    ${bot.description ? html`<p class="description">${bot.description}</p>` : null}
    <dl class="stats">
      <div><dt>Memory</dt><dd>${plural(bot.memory.notes, 'note')} · ${bytes(bot.memory.bytes)}<${QuotaBar} memory=${bot.memory} /></dd></div>
      <div><dt>Last activity</dt><dd><${Time} at=${bot.last_activity} /></dd></div>
      <div><dt>Inbox</dt><dd>${plural(bot.mail.total, 'message')}${bot.mail.unread ? `, ${bot.mail.unread} unread` : ''}</dd></div>
      <div><dt>Sessions</dt><dd>${bot.sessions}</dd></div>
      ${bot.parent ? html`<div><dt>Parent</dt><dd><a href=${href('bots', bot.parent)}>${bot.parent}</a></dd></div>` : null}
      <div><dt>Topics</dt><dd><${Chips} items=${bot.topics} /></dd></div>
    </dl>
  </header>`;
}

function Profile({ bot }) {
  const rows = [
    ['Source', bot.source === 'definition' ? `definition (bots/${bot.id}.md)` : `registered at run time (registry/${bot.id}.md)`],
    ['Kind', bot.kind],
    ['Status', bot.status],
    ['Parent', bot.parent ?? '—'],
    ['Default visibility of new notes', bot.visibility],
    ['Tools', html`<${Chips} items=${bot.tools} />`],
    ['Capabilities', html`<${Chips} items=${bot.capabilities} />`],
    ['Topics', html`<${Chips} items=${bot.topics} />`],
  ];
  return html`<div class="profile">
    <section class="card">
      <h2>Definition</h2>
      <table class="fields">${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>
    </section>
    <section class="card">
      <h2>Role</h2>
      ${bot.role ? html`<div class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(bot.role) }} />` : html`<p class="muted">No role written.</p>`}
    </section>
  </div>`;
}

function Memory({ bot, query, changes }) {
  const path = query.get('path');
  return html`<div class="memory">
    <aside class="card tree" aria-label="Notes">
      <div class="tree-head">
        <h2>Notes</h2>
        ${daemon.readOnly ? null : html`<a class="button small" href=${href('bots', bot.id, { view: 'new' })}>New note</a>`}
      </div>
      ${bot.memory.notes === 0 ? html`<p class="muted small">No notes yet.</p>` : null}
      <${Folder} bot=${bot.id} folder="" selected=${path} changes=${changes.count} open />
    </aside>
    <section class="card note-pane">
      <${NotePane} bot=${bot} path=${path} query=${query} changes=${changes} />
    </section>
  </div>`;
}

/** A folder of the memory; its content loads when it is opened. */
function Folder({ bot, folder, selected, changes, open: initiallyOpen }) {
  const holdsSelected = (selected ?? '').startsWith(`${folder}/`);
  const [open, setOpen] = useState(initiallyOpen || holdsSelected);
  // A note opened from elsewhere (a search hit, a link) shows where it lives.
  useEffect(() => {
    if (holdsSelected) setOpen(true);
  }, [selected]);
  return html`<div class=${folder ? 'folder' : 'folder root'}>
    ${folder
      ? html`<button class="folder-name" aria-expanded=${open} onClick=${() => setOpen(!open)}>
          <span class="caret">${open ? '▾' : '▸'}</span>${folder.split('/').pop()}/
        </button>`
      : null}
    ${open ? html`<${FolderContent} bot=${bot} folder=${folder} selected=${selected} changes=${changes} />` : null}
  </div>`;
}

function FolderContent({ bot, folder, selected, changes }) {
  const [offset, setOffset] = useState(0);
  const [list] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/notes`, { folder, offset }), [bot, folder, offset, changes]);
  return html`<${Loaded} state=${list}>${(data) => html`<ul>
    ${data.folders.map((f) => html`<li key=${f.path}><${Folder} bot=${bot} folder=${f.path} selected=${selected} changes=${changes} /></li>`)}
    ${data.notes.map((n) => html`<li key=${n.path}>
      <a class=${`note-link ${n.path === selected ? 'selected' : ''}`} href=${href('bots', bot, { path: n.path })} title=${n.title}>
        ${n.path.split('/').pop()}${n.visibility === 'shared' ? html`<span class="shared" title="shared with other bots">shared</span>` : null}
      </a>
    </li>`)}
    ${data.next_offset !== undefined ? html`<li><button class="link" onClick=${() => setOffset(data.next_offset)}>Next ${data.total - data.next_offset} notes…</button></li>` : null}
    ${offset > 0 ? html`<li><button class="link" onClick=${() => setOffset(0)}>Back to the first notes</button></li>` : null}
  </ul>`}<//>`;
}
