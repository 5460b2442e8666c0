import { useState } from 'preact/hooks';
import { api, daemon, get, useActivity } from '../api.js';
import { Time } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { ErrorBox, Loaded, useDebounced, useLoad } from './common.js';
import { SpawnTask } from './team.js';

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
  const opened = query.get('task');
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
    ${daemon.readOnly ? null : html`<${SpawnTask} />`}
    ${opened ? html`<${TaskDetails} key=${opened} id=${opened} />` : null}
    <section class="card">
      <div class="card-head">
        <h2>Tasks and task agents ${agents.data ? html`<span class="count">${agents.data.agents.length}</span>` : null}</h2>
        <a class="button small" href=${href('agents', liveOnly ? {} : { live: 'true' })}>${liveOnly ? 'Show all' : 'Only live ones'}</a>
      </div>
      <${ErrorBox} error=${error} />
      <${Loaded} state=${agents}>${({ agents: list }) =>
        list.length === 0
          ? html`<p class="muted">${liveOnly ? 'No task is under way.' : 'No tasks yet: spawn a task agent above, or assign a bot a task from its Manage tab.'}</p>`
          : html`<div class="table-wrap"><table class="list tasks">
              <thead><tr><th>Agent</th><th>Status</th><th>Asked by</th><th>Runtime</th><th>Deadline</th><th>Last activity</th><th>Result</th><th></th></tr></thead>
              <tbody>${list.map((t) => html`<${TaskRow} key=${t.task} task=${t} onCancel=${cancel} />`)}</tbody>
            </table></div>`}<//>
    </section>
    <${Sessions} key=${query.get('session') ?? ''} open=${query.get('session')} />
  </div>`;
}

function TaskRow({ task: t, onCancel }) {
  const overdue = isLiveTask(t.status) && Date.parse(t.deadline) < Date.now();
  return html`<tr>
    <td style=${{ paddingLeft: `${0.75 + t.level * 1.5}rem` }}>
      ${t.level > 0 ? html`<span class="branch">└</span>` : null}
      <a class="bot-name" href=${href('bots', t.agent)}>${t.agent}</a>
      <div class="muted small">${t.kind === 'assign' ? 'assigned' : 'spawned'}${t.task === t.agent ? null : html` · <span class="mono">${t.task}</span>`}
        · <a class="task-link" href=${href('agents', { task: t.task })}>brief and result</a></div>
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
function Sessions({ open: linked }) {
  const [sessions] = useLoad(() => get('/api/sessions'), []);
  const [open, setOpen] = useState(linked);
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

/** One task: who asked whom for what (the brief), how it went, its result, and where to read more. */
function TaskDetails({ id }) {
  const [task, reload] = useLoad(() => get(`/api/agents/${encodeURIComponent(id)}`), [id]);
  useActivity((a) => a.kind.startsWith('task.') && reload());
  return html`<section class="card task-details" aria-label="Task">
    <div class="card-head">
      <h2>Task <span class="mono">${id}</span></h2>
      <a class="button small" href=${href('agents')}>Close</a>
    </div>
    <${Loaded} state=${task}>${(t) => html`
      <dl class="stats">
        <div><dt>Status</dt><dd><${TaskStatus} status=${t.status} /></dd></div>
        <div><dt>Agent</dt><dd><a href=${href('bots', t.agent)}>${t.agent}</a></dd></div>
        <div><dt>Asked by</dt><dd><a href=${href('bots', t.parent)}>${t.parent}</a></dd></div>
        <div><dt>Runtime</dt><dd>${t.runtime}</dd></div>
        <div><dt>Deadline</dt><dd><${Time} at=${t.deadline} /></dd></div>
        <div><dt>Recorded in</dt><dd class="mono task-file">${t.file}</dd></div>
      </dl>
      <h3>Brief</h3>
      <div class="brief">${t.brief}</div>
      <h3>Result</h3>
      ${t.error ? html`<p class="danger">${t.error}</p>` : null}
      ${t.result ? html`<div class="task-result">${t.result}</div>` : isLiveTask(t.status) ? html`<p class="muted">Not done yet.</p>` : t.error ? null : html`<p class="muted">None reported.</p>`}
      <h3>Transcript</h3>
      <p class="transcript">${t.session
        ? html`<a href=${href('agents', { task: t.task, session: t.session })}>Read the session ${t.session}</a>`
        : html`<span class="muted">The ${t.runtime} runtime keeps no transcript; </span><a href=${href('bots', t.agent, { tab: 'mail' })}>${t.agent}'s mail</a><span class="muted"> holds the brief and what it sent.</span>`}</p>
    `}<//>
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
