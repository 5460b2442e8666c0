import { useEffect, useState } from 'preact/hooks';
import { daemon, get, useActivity } from '../api.js';
import { bytes, plural, Time } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { ActivityLine, shownInFeed } from './activity.js';
import { isLiveTask, TaskStatus } from './agents.js';
import { Chips, KindBadge, Loaded, Online, useDebounced, useLoad } from './common.js';
import { ActivityChart, QuotaBar, RegisterBot } from './team.js';

const KIND_ORDER = { main: 0, specialist: 1, task: 2 };
const FEED_SIZE = 100;
/** Sessions opening and closing are not activity: the table refreshes on its own for the online dots. */
const PRESENCE_REFRESH_MS = 30_000;

export function Overview() {
  const [bots, reloadBots] = useLoad(() => get('/api/overview'), []);
  const [initial] = useLoad(() => get('/api/activity'), []);
  const [live, setLive] = useState([]);
  const refresh = useDebounced(reloadBots, 500);
  useEffect(() => {
    const timer = setInterval(reloadBots, PRESENCE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reloadBots]);
  useActivity((activity) => {
    if (shownInFeed(activity)) setLive((feed) => [activity, ...feed].slice(0, FEED_SIZE));
    refresh();
  });
  const earlier = (initial.data?.activity ?? []).filter((a) => shownInFeed(a) && !live.some((l) => l.at === a.at && l.kind === a.kind && l.path === a.path));
  const feed = [...live, ...earlier].slice(0, FEED_SIZE);
  return html`<div class="overview">
    <div class="overview-main">
      <section class="card">
        <h2>Bots ${bots.data ? html`<span class="count">${bots.data.bots.length}</span>` : null}</h2>
        <${Loaded} state=${bots}>${(data) => html`<${BotTable} bots=${data.bots} />${data.embeddings ? html`<${Embeddings} progress=${data.embeddings} />` : null}`}<//>
      </section>
      ${daemon.readOnly ? null : html`<${RegisterBot} onRegistered=${reloadBots} />`}
      <${ActivityChart} />
    </div>
    <section class="card feed">
      <h2>Live activity</h2>
      ${feed.length === 0
        ? html`<p class="muted">Nothing yet. Writes, messages and spawns appear here as they happen.</p>`
        : html`<ul class="activity-list" aria-live="polite">${feed.map((a) => html`<${ActivityLine} key=${`${a.at}${a.kind}${a.path}`} activity=${a} />`)}</ul>`}
    </section>
  </div>`;
}

/** How far the background embedding of notes for semantic search has come (only with an embedding provider). */
function Embeddings({ progress }) {
  return html`<p class="muted small embeddings">
    Semantic search (${progress.model}): ${progress.embedded} notes embedded${progress.pending ? `, ${progress.pending} pending` : ''}${progress.error ? html` · <span class="error">${progress.error}</span>` : null}
  </p>`;
}

function BotTable({ bots }) {
  return html`<table class="bots">
    <thead><tr><th>Bot</th><th class="col-kind">Kind</th><th>Status</th><th class="col-last">Last activity</th><th class="col-topics">Topics</th><th class="num">Unread</th><th class="num">Memory</th></tr></thead>
    <tbody>${treeOrder(bots).map(({ bot, depth }) => html`<${BotRow} key=${bot.id} bot=${bot} depth=${depth} />`)}</tbody>
  </table>`;
}

function BotRow({ bot, depth }) {
  return html`<tr class=${bot.status === 'retired' ? 'retired' : ''}>
    <td class="col-bot" style=${{ paddingLeft: `${0.75 + depth * 1.5}rem` }}>
      ${depth > 0 ? html`<span class="branch">└</span>` : null}
      <${Online} online=${bot.online} />
      <a class="bot-name" href=${href('bots', bot.id)}>${bot.name}</a>
      ${bot.name !== bot.id ? html` <span class="muted mono">${bot.id}</span>` : null}
      ${bot.description ? html`<div class="muted small">${bot.description}</div>` : null}
    </td>
    <td class="col-kind"><${KindBadge} kind=${bot.kind} /></td>
    <td>
      ${bot.task ? html`<a href=${href('agents')}><${TaskStatus} status=${bot.task.status} /></a>` : bot.status}
      ${bot.task && isLiveTask(bot.task.status) ? html`<div class="small muted presence">due <${Time} at=${bot.task.deadline} /></div>` : null}
      ${bot.online ? html`<div class="small ok presence">online · ${plural(bot.sessions, 'session')}</div>` : null}
    </td>
    <td class="col-last"><${Time} at=${bot.last_activity} /></td>
    <td class="col-topics"><${Chips} items=${bot.topics} /></td>
    <td class="num">${bot.mail.unread ? html`<a class="unread-count" href=${href('bots', bot.id, { tab: 'mail' })}>${bot.mail.unread}</a>` : html`<span class="muted">0</span>`}</td>
    <td class="num memory-cell">${plural(bot.memory.notes, 'note')} · ${bytes(bot.memory.bytes)}<${QuotaBar} memory=${bot.memory} /></td>
  </tr>`;
}

/** Bots as a tree: each task agent under the bot that spawned it (its `parent`). */
function treeOrder(bots) {
  const ids = new Set(bots.map((b) => b.id));
  const children = new Map();
  for (const bot of bots) {
    const parent = bot.parent && ids.has(bot.parent) ? bot.parent : '';
    children.set(parent, [...(children.get(parent) ?? []), bot]);
  }
  const rows = [];
  const visit = (parent, depth) => {
    const list = (children.get(parent) ?? []).sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id.localeCompare(b.id));
    for (const bot of list) {
      rows.push({ bot, depth });
      visit(bot.id, depth + 1);
    }
  };
  visit('', 0);
  return rows;
}
