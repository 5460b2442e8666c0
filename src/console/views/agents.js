import { useState } from 'preact/hooks';
import { api, daemon, get, useActivity } from '../api.js';
import { Time } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { ErrorBox, Loaded, useDebounced, useLoad } from './common.js';

const LIVE = new Set(['starting', 'running']);

export function isLiveTask(status) {
  return LIVE.has(status);
}

export function TaskStatus({ status }) {
  return html`<span class=${`badge task-${status}`}>${status}</span>`;
}

/** Every task and task agent (spawned or assigned), as a tree under whoever asked, with cancel; and the OpenClaw sessions. */
export function Agents({ query }) {
  const liveOnly = query.get('live') === 'true';
  const [agents, reload] = useLoad(() => get('/api/agents', { live: liveOnly }), [liveOnly]);
  const refresh = useDebounced(reload, 300);
  useActivity((a) => a.kind.startsWith('task.') && refresh());
  const [error, setError] = useState(null);
  const cancel = async (task) => {
    if (!confirm(`Cancel task ${task.task} (${task.agent})? Its run is stopped and ${task.parent} is told.`)) return;
    try {
      await api('POST', `/api/agents/${encodeURIComponent(task.task)}/cancel`);
      setError(null);
      reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`<div class="agents">
    <section class="card">
      <div class="card-head">
        <h2>Tasks and task agents ${agents.data ? html`<span class="count">${agents.data.agents.length}</span>` : null}</h2>
        <a class="button small" href=${href('agents', liveOnly ? {} : { live: 'true' })}>${liveOnly ? 'Show all' : 'Only live ones'}</a>
      </div>
      <${ErrorBox} error=${error} />
      <${Loaded} state=${agents}>${({ agents: list }) =>
        list.length === 0
          ? html`<p class="muted">${liveOnly ? 'No task is under way.' : 'No tasks yet: bots start them with spawn_agent or assign_task.'}</p>`
          : html`<table class="list tasks">
              <thead><tr><th>Agent</th><th>Status</th><th>Asked by</th><th>Runtime</th><th>Deadline</th><th>Last activity</th><th>Result</th><th></th></tr></thead>
              <tbody>${list.map((t) => html`<${TaskRow} key=${t.task} task=${t} onCancel=${cancel} />`)}</tbody>
            </table>`}<//>
    </section>
    <${Sessions} />
  </div>`;
}

function TaskRow({ task: t, onCancel }) {
  const overdue = isLiveTask(t.status) && Date.parse(t.deadline) < Date.now();
  return html`<tr>
    <td style=${{ paddingLeft: `${0.75 + t.level * 1.5}rem` }}>
      ${t.level > 0 ? html`<span class="branch">└</span>` : null}
      <a class="bot-name" href=${href('bots', t.agent)}>${t.agent}</a>
      <div class="muted small">${t.kind === 'assign' ? 'assigned' : 'spawned'}${t.task === t.agent ? null : html` · <span class="mono">${t.task}</span>`}</div>
    </td>
    <td><${TaskStatus} status=${t.status} /></td>
    <td><a href=${href('bots', t.parent)}>${t.parent}</a></td>
    <td>${t.runtime}${t.session ? html`<div class="muted small mono">${t.session}</div>` : null}</td>
    <td class=${overdue ? 'danger' : ''}><${Time} at=${t.deadline} /></td>
    <td><${Time} at=${t.last_activity} /></td>
    <td class="result">${t.error ? html`<span class="danger">${t.error}</span>` : t.result ?? html`<span class="muted">—</span>`}</td>
    <td>${isLiveTask(t.status) && !daemon.readOnly ? html`<button class="link danger" onClick=${() => onCancel(t)}>Cancel</button>` : null}</td>
  </tr>`;
}

/** The gateway's sessions of Roost's bots and their recent turns; without a gateway, why there are none. */
function Sessions() {
  const [sessions] = useLoad(() => get('/api/sessions'), []);
  const [open, setOpen] = useState(null);
  return html`<section class="card">
    <h2>OpenClaw sessions</h2>
    ${sessions.error
      ? html`<p class="muted">${sessions.error.message}</p>`
      : html`<${Loaded} state=${sessions}>${({ sessions: list }) =>
          list.length === 0
            ? html`<p class="muted">No sessions on the gateway.</p>`
            : html`<table class="list">
                <thead><tr><th>Session</th><th>Bot</th><th>Status</th><th>Updated</th></tr></thead>
                <tbody>${list.map((s) => html`<tr key=${s.key}>
                  <td><button class="link mono" onClick=${() => setOpen(open === s.key ? null : s.key)}>${s.key}</button></td>
                  <td>${s.bot ? html`<a href=${href('bots', s.bot)}>${s.bot}</a>` : html`<span class="muted">${s.agent}</span>`}</td>
                  <td>${s.status ?? '—'}</td>
                  <td><${Time} at=${s.updated} /></td>
                </tr>`)}</tbody>
              </table>`}<//>`}
    ${open ? html`<${SessionHistory} session=${open} />` : null}
  </section>`;
}

function SessionHistory({ session }) {
  const [history] = useLoad(() => get(`/api/sessions/${encodeURIComponent(session)}/history`), [session]);
  return html`<div class="session-history">
    <h3 class="mono">${session}</h3>
    <${Loaded} state=${history}>${({ turns }) => html`<ol class="turns">${turns.map((turn) => html`<li class=${`turn ${turn.role}`}>
      <span class="muted small">${turn.role}${turn.at ? html` · <${Time} at=${turn.at} />` : null}</span>
      <div class="turn-text">${turn.text}</div>
    </li>`)}</ol>`}<//>
  </div>`;
}
