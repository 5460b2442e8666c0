import { useState } from 'preact/hooks';
import { api, get, useActivity } from '../api.js';
import { bytes } from '../format.js';
import { html } from '../html.js';
import { go, href } from '../router.js';
import { ErrorBox, Loaded, useDebounced, useLoad } from './common.js';

const MB = 1024 * 1024;

/** A comma- or space-separated list typed by a person. */
export function listOf(text) {
  return text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean);
}

/** How much of its quota a bot's memory (with its task agents') takes, as a bar. */
export function QuotaBar({ memory }) {
  const share = Math.min(1, memory.tree_bytes / memory.quota);
  const label = `${bytes(memory.tree_bytes)} of ${bytes(memory.quota)}`;
  return html`<div class="quota" title=${`${label} (its task agents' notes count in)`}>
    <div class=${`quota-bar ${share > 0.9 ? 'full' : ''}`} role="meter" aria-label="Memory used" aria-valuemin="0" aria-valuemax=${memory.quota} aria-valuenow=${memory.tree_bytes} aria-valuetext=${label}>
      <span style=${{ width: `${Math.max(share * 100, memory.tree_bytes > 0 ? 2 : 0)}%` }}></span>
    </div>
    <span class="muted small quota-text">${label}</span>
  </div>`;
}

/** A bearer token, shown the one time the server hands it out: it is not kept anywhere the console can read again. */
export function TokenOnce({ bot, token, onDone }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(token).catch(() => undefined);
    setCopied(true);
  };
  return html`<div class="token-once" role="status">
    <p><b>${bot}'s token.</b> Store it now: it is shown only this once. Give it to the bot as <code>ROOST_TOKEN</code>.</p>
    <div class="token-line">
      <input class="mono" readOnly value=${token} aria-label=${`${bot}'s token`} onFocus=${(e) => e.currentTarget.select()} />
      <button class="button" type="button" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
      <button class="button" type="button" onClick=${onDone}>Done</button>
    </div>
  </div>`;
}

/** Adds a bot to the registry, then shows its token once. */
export function RegisterBot({ onRegistered }) {
  const [error, setError] = useState(null);
  const [issued, setIssued] = useState(null);
  const register = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = form.elements;
    const tools = listOf(f.tools.value);
    try {
      const result = await api('POST', '/api/bots', {
        body: {
          id: f.id.value.trim(),
          kind: f.kind.value,
          name: f.name.value.trim() || undefined,
          description: f.description.value.trim() || undefined,
          tools: tools.length ? tools : undefined,
          role: f.role.value.trim() || undefined,
        },
      });
      setError(null);
      setIssued({ bot: result.bot.id, token: result.token });
      form.reset();
      onRegistered();
    } catch (e) {
      setError(e);
    }
  };
  return html`<details class="card register-bot">
    <summary><h2>Register a bot</h2></summary>
    <${ErrorBox} error=${error} />
    ${issued ? html`<${TokenOnce} bot=${issued.bot} token=${issued.token} onDone=${() => setIssued(null)} />` : null}
    <form onSubmit=${register}>
      <div class="form-grid">
        <label>Id<input name="id" placeholder="reviewer" required autocomplete="off" /></label>
        <label>Name<input name="name" placeholder="default: the id" /></label>
        <label>Kind<select name="kind"><option value="specialist">specialist</option><option value="task">task</option></select></label>
        <label>Tools<input name="tools" placeholder="all; or e.g. memory, messaging" /></label>
      </div>
      <label>Description<input name="description" placeholder="What it does, in a line" /></label>
      <label>Role (Markdown)<textarea name="role" rows="3" placeholder="What the bot is for"></textarea></label>
      <div class="form-actions"><button class="button primary" type="submit">Register</button></div>
    </form>
  </details>`;
}

/** Everything the operator changes about one bot: profile, tools and quota, token, a task for it, retirement. */
export function ManageBot({ bot, onChanged }) {
  const [message, setMessage] = useState(null);
  const [error, setError] = useState(null);
  const [issued, setIssued] = useState(null);
  const run = async (work, done) => {
    try {
      const result = await work();
      setError(null);
      setMessage(done(result));
      onChanged();
    } catch (e) {
      setError(e);
      setMessage(null);
    }
  };
  const saveProfile = (event) => {
    event.preventDefault();
    const f = event.currentTarget.elements;
    run(
      () =>
        api('PUT', `/api/bots/${encodeURIComponent(bot.id)}`, {
          body: { name: f.name.value.trim(), description: f.description.value.trim(), topics: listOf(f.topics.value), role: f.role.value },
        }),
      () => 'Profile saved.',
    );
  };
  const saveConfig = (event) => {
    event.preventDefault();
    const f = event.currentTarget.elements;
    const quota = f.quota.value.trim();
    const tools = listOf(f.tools?.value ?? '');
    const body = {
      memory_quota_bytes: quota === '' ? null : /^\d+(\.\d+)?$/.test(quota) ? Math.round(Number(quota) * MB) : quota,
      ...(bot.source === 'registered' ? { tools: tools.length === 0 || tools.includes('all') ? null : tools } : {}),
    };
    run(() => api('PUT', `/api/bots/${encodeURIComponent(bot.id)}/config`, { body }), () => 'Tools and quota saved.');
  };
  const rotate = () => {
    if (!confirm(`Give ${bot.id} a new token? Its current token stops working at once.`)) return;
    run(
      () => api('POST', `/api/bots/${encodeURIComponent(bot.id)}/token`),
      (result) => {
        setIssued(result);
        return null;
      },
    );
  };
  const retire = () => {
    if (!confirm(`Retire ${bot.id}? Its token stops working; its memory and mail stay.`)) return;
    run(() => api('POST', `/api/bots/${encodeURIComponent(bot.id)}/retire`), () => `${bot.id} is retired.`);
  };
  const retired = bot.status === 'retired';
  return html`<div class="manage">
    <${ErrorBox} error=${error} />
    ${message ? html`<p class="notice" role="status">${message}</p>` : null}
    <form class="card" onSubmit=${saveProfile} aria-label="Profile">
      <h2>Profile</h2>
      <div class="form-grid">
        <label>Name<input name="name" value=${bot.name} required /></label>
        <label>Topics<input name="topics" value=${bot.topics.join(', ')} placeholder="ops, releases" /></label>
      </div>
      <label>Description<input name="description" value=${bot.description} /></label>
      <label>Role (Markdown)<textarea name="role" rows="5" value=${bot.role}></textarea></label>
      <div class="form-actions"><button class="button primary" type="submit">Save profile</button></div>
    </form>
    <form class="card" onSubmit=${saveConfig} aria-label="Tools and quota">
      <h2>Tools and memory quota</h2>
      <div class="form-grid">
        ${bot.source === 'registered'
          ? html`<label>Tools<input name="tools" value=${bot.tools.join(', ')} placeholder="all" /></label>`
          : html`<p class="muted small">Its tools are set in its definition, <code>bots/${bot.id}.md</code>: ${bot.tools.join(', ')}.</p>`}
        <label>Memory quota (MB, empty = the daemon's)<input name="quota" inputMode="decimal" value=${bot.memory_quota_bytes ? String(bot.memory_quota_bytes / MB) : ''} /></label>
      </div>
      <${QuotaBar} memory=${bot.memory} />
      <div class="form-actions"><button class="button primary" type="submit">Save tools and quota</button></div>
    </form>
    ${retired ? null : html`<${AssignTask} bot=${bot} onAssigned=${(task) => setMessage(html`Task <a href=${href('agents', { task: task.task })}>${task.task}</a> assigned to ${bot.id}${task.live ? ', and it reached its live session' : ''}.`)} />`}
    <section class="card">
      <h2>Token and retirement</h2>
      ${issued ? html`<${TokenOnce} bot=${issued.bot} token=${issued.token} onDone=${() => setIssued(null)} />` : null}
      <p class="muted small">A new token replaces the current one at once. Retiring stops its token; its memory and mail stay.</p>
      <div class="form-actions">
        ${retired ? html`<span class="muted">${bot.id} is retired.</span>` : html`<button class="button" type="button" onClick=${rotate}>Rotate token</button>`}
        ${retired || bot.kind === 'main' ? null : html`<button class="button danger" type="button" onClick=${retire}>Retire ${bot.id}</button>`}
      </div>
    </section>
  </div>`;
}

/** The bots that can ask for a task (it is asked as one of them, which gets the result in its inbox). */
function useAskers() {
  const [bots] = useLoad(() => get('/api/overview'), []);
  return (bots.data?.bots ?? []).filter((b) => b.status === 'active' && b.kind !== 'task');
}

function AskedBy({ askers, exclude }) {
  const choices = askers.filter((b) => b.id !== exclude);
  return html`<label>Asked by (gets the result)<select name="asker">
    ${choices.map((b) => html`<option value=${b.id} selected=${b.kind === 'main'}>${b.id}</option>`)}
  </select></label>`;
}

/** Hands an existing bot a task with a brief, asked as another bot. */
function AssignTask({ bot, onAssigned }) {
  const askers = useAskers();
  const [error, setError] = useState(null);
  const assign = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = form.elements;
    try {
      const task = await api('POST', `/api/bots/${encodeURIComponent(f.asker.value)}/assign`, {
        body: { bot: bot.id, task: f.brief.value, deadline: f.deadline.value.trim() || undefined },
      });
      setError(null);
      form.reset();
      onAssigned(task);
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="card assign-task" onSubmit=${assign} aria-label="Assign a task">
    <h2>Assign ${bot.id} a task</h2>
    <${ErrorBox} error=${error} />
    <div class="form-grid">
      <${AskedBy} askers=${askers} exclude=${bot.id} />
      <label>Deadline<input name="deadline" placeholder="1h (30m, 2d or a date)" /></label>
    </div>
    <label>Brief (Markdown)<textarea name="brief" rows="4" required placeholder="What to do and what to hand back"></textarea></label>
    <div class="form-actions"><button class="button primary" type="submit">Assign</button></div>
  </form>`;
}

/** Starts a new task agent with a brief, asked as a bot. */
export function SpawnTask() {
  const askers = useAskers();
  const [error, setError] = useState(null);
  const [started, setStarted] = useState(null);
  const spawn = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = form.elements;
    try {
      const task = await api('POST', `/api/bots/${encodeURIComponent(f.asker.value)}/spawn`, {
        body: {
          task: f.brief.value,
          role: f.role.value.trim() || undefined,
          runtime: f.runtime.value || undefined,
          deadline: f.deadline.value.trim() || undefined,
        },
      });
      setError(null);
      setStarted(task);
      form.reset();
      if (!task.token) go('agents', { task: task.task });
    } catch (e) {
      setError(e);
    }
  };
  return html`<details class="card spawn-task">
    <summary><h2>Spawn a task agent</h2></summary>
    <${ErrorBox} error=${error} />
    ${started?.token ? html`<${TokenOnce} bot=${started.agent} token=${started.token} onDone=${() => go('agents', { task: started.task })} />` : null}
    <form onSubmit=${spawn} aria-label="Spawn a task agent">
      <div class="form-grid">
        <${AskedBy} askers=${askers} />
        <label>Runtime<select name="runtime"><option value="">the daemon's default</option><option value="openclaw">openclaw</option><option value="command">command</option><option value="none">none (it attaches itself)</option></select></label>
        <label>Deadline<input name="deadline" placeholder="1h (30m, 2d or a date)" /></label>
        <label>Start from<input name="role" placeholder="a bot definition, or a role" /></label>
      </div>
      <label>Brief (Markdown)<textarea name="brief" rows="4" required placeholder="What to do and what to hand back"></textarea></label>
      <div class="form-actions"><button class="button primary" type="submit">Spawn</button></div>
    </form>
  </details>`;
}

const WINDOW_LABEL = { day: 'last 24 hours', week: 'last 7 days' };

/** Messages and note changes per bot, and messages per topic, over the last day or week; `only` narrows to one bot or topic. */
export function ActivityChart({ only }) {
  const [span, setSpan] = useState('day');
  const [chart, reload] = useLoad(() => get('/api/activity/chart', { window: span }), [span]);
  useActivity(useDebounced(reload, 2000));
  const pick = (name) => html`<button type="button" class=${`link ${span === name ? 'active' : ''}`} aria-pressed=${span === name} onClick=${() => setSpan(name)}>${name}</button>`;
  return html`<section class="card activity-chart">
    <div class="card-head">
      <h2>Activity <span class="count">${WINDOW_LABEL[span]}</span></h2>
      <div class="chart-window">${pick('day')} · ${pick('week')}</div>
    </div>
    <${Loaded} state=${chart}>${(c) => {
      const bots = c.bots
        .filter((b) => !only || only.bot === b.bot)
        .map((b) => ({ name: b.bot, link: href('bots', b.bot), counts: b.messages.map((m, i) => m + b.notes[i]) }));
      const topics = c.topics
        .filter((t) => !only || only.topic === t.topic)
        .map((t) => ({ name: `#${t.topic}`, link: href('topics', t.topic), counts: t.messages }));
      return html`
        ${bots.length ? html`<${ChartRows} title=${only ? null : 'Bots: messages sent and notes changed'} rows=${bots} buckets=${c.buckets} span=${span} />` : null}
        ${topics.length ? html`<${ChartRows} title=${only ? null : 'Topics: messages posted'} rows=${topics} buckets=${c.buckets} span=${span} />` : null}`;
    }}<//>
  </section>`;
}

function ChartRows({ title, rows, buckets, span }) {
  return html`<div class="chart">
    ${title ? html`<h3 class="small muted">${title}</h3>` : null}
    <ul class="chart-rows">${rows.map((row) => html`<${ChartRow} key=${row.name} row=${row} buckets=${buckets} span=${span} />`)}</ul>
  </div>`;
}

function ChartRow({ row, buckets, span }) {
  const total = row.counts.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...row.counts);
  const when = (iso) => (span === 'day' ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }) : new Date(iso).toLocaleDateString([], { weekday: 'short', day: 'numeric' }));
  return html`<li class="chart-row" data-name=${row.name} data-total=${total}>
    <a href=${row.link} class="chart-name">${row.name}</a>
    <svg class="bars" viewBox=${`0 0 ${row.counts.length * 10} 24`} preserveAspectRatio="none" role="img" aria-label=${`${row.name}: ${total} in the ${WINDOW_LABEL[span]}`}>
      ${row.counts.map((n, i) => html`<rect x=${i * 10 + 1} width="8" y=${24 - (n / max) * 22} height=${n ? (n / max) * 22 : 0}><title>${n} from ${when(buckets[i])}</title></rect>`)}
      <line x1="0" x2=${row.counts.length * 10} y1="23.5" y2="23.5" />
    </svg>
    <span class="chart-total">${total}</span>
  </li>`;
}
