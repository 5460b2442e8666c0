import { useState } from 'preact/hooks';
import { api, daemon, get, useActivity } from '../api.js';
import { plural, Time } from '../format.js';
import { html } from '../html.js';
import { go, href } from '../router.js';
import { ErrorBox, Loaded, useDebounced, useLoad } from './common.js';
import { MessageList, SendBox } from './mail.js';
import { ActivityChart } from './team.js';

function useTopics() {
  const [topics, reload] = useLoad(() => get('/api/topics'), []);
  const refresh = useDebounced(reload, 300);
  useActivity((a) => (a.kind.startsWith('topic.') || a.kind === 'message.send') && refresh());
  return [topics, reload];
}

/** Every topic channel, archived ones too, and a form to start one. */
export function Topics() {
  const [topics] = useTopics();
  return html`<div class="topics">
    <section class="card">
      <h2>Topics ${topics.data ? html`<span class="count">${topics.data.topics.length}</span>` : null}</h2>
      <${Loaded} state=${topics}>${({ topics: list }) =>
        list.length === 0
          ? html`<p class="muted">No topics yet.</p>`
          : html`<div class="table-wrap"><table class="list">
              <thead><tr><th>Topic</th><th>Members</th><th>Who posts</th><th class="num">Messages</th><th>Last message</th></tr></thead>
              <tbody>${list.map((t) => html`<tr key=${t.name} class=${t.archived ? 'retired' : ''}>
                <td><a class="bot-name" href=${href('topics', t.name)}>#${t.name}</a>${t.archived ? html` <span class="badge">archived</span>` : null}
                  ${t.description ? html`<div class="muted small">${t.description}</div>` : null}</td>
                <td>${t.members.join(', ') || html`<span class="muted">nobody</span>`}</td>
                <td>${t.post_policy === 'members' ? 'members' : 'anyone'}</td>
                <td class="num">${t.messages}</td>
                <td><${Time} at=${t.last_message} /></td>
              </tr>`)}</tbody>
            </table></div>`}<//>
    </section>
    ${daemon.readOnly ? null : html`<${NewTopic} />`}
  </div>`;
}

function NewTopic() {
  const [bots] = useLoad(() => get('/api/overview'), []);
  const [members, setMembers] = useState([]);
  const [error, setError] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    const form = event.currentTarget.elements;
    try {
      const topic = await api('POST', '/api/topics', {
        body: { name: form.name.value, description: form.description.value || undefined, members, post_policy: form.post_policy.value },
      });
      go('topics', topic.name);
    } catch (e) {
      setError(e);
    }
  };
  const toggle = (id) => setMembers((m) => (m.includes(id) ? m.filter((x) => x !== id) : [...m, id]));
  return html`<form class="card new-topic" onSubmit=${create}>
    <h2>New topic</h2>
    <${ErrorBox} error=${error} />
    <div class="form-grid">
      <label>Name<input name="name" placeholder="ops" required /></label>
      <label>Description<input name="description" placeholder="What it is for" /></label>
      <label>Who may post<select name="post_policy"><option value="anyone">any bot</option><option value="members">members only</option></select></label>
    </div>
    <fieldset class="members-pick">
      <legend>Members</legend>
      ${(bots.data?.bots ?? []).filter((b) => b.status === 'active').map((b) => html`<label class="checkbox">
        <input type="checkbox" name=${`member-${b.id}`} checked=${members.includes(b.id)} onChange=${() => toggle(b.id)} /> ${b.id}
      </label>`)}
    </fieldset>
    <div class="form-actions"><button class="button primary" type="submit">Create topic</button></div>
  </form>`;
}

/** One topic: its settings, its members, and its messages as they arrive. */
export function TopicPage({ name }) {
  const [topics, reloadTopics] = useTopics();
  const [bots] = useLoad(() => get('/api/overview'), []);
  const [stream, reloadStream] = useLoad(() => get(`/api/topics/${encodeURIComponent(name)}/messages`), [name]);
  const refreshStream = useDebounced(reloadStream, 300);
  useActivity((a) => a.kind === 'message.send' && a.detail?.topic === name && refreshStream());
  const [error, setError] = useState(null);
  const change = async (method, path, body) => {
    try {
      await api(method, path, { body });
      setError(null);
      reloadTopics();
    } catch (e) {
      setError(e);
    }
  };
  const base = `/api/topics/${encodeURIComponent(name)}`;
  return html`<div class="topic-page">
    <nav class="crumbs"><a href="#/topics">Topics</a> / <span>#${name}</span></nav>
    <${Loaded} state=${topics}>${({ topics: list }) => {
      const topic = list.find((t) => t.name === name);
      if (!topic) return html`<p class="error">There is no topic “#${name}”.</p>`;
      const byDefinition = new Set((bots.data?.bots ?? []).filter((b) => b.topics.includes(name)).map((b) => b.id));
      const candidates = (bots.data?.bots ?? []).filter((b) => b.status === 'active' && !topic.members.includes(b.id));
      return html`
        <header class="card bot-header">
          <div class="bot-title"><h1>#${topic.name}</h1>${topic.archived ? html`<span class="badge retired">archived</span>` : null}</div>
          ${topic.description ? html`<p class="description">${topic.description}</p>` : null}
          <dl class="stats">
            <div><dt>Messages</dt><dd>${topic.messages}</dd></div>
            <div><dt>Last message</dt><dd><${Time} at=${topic.last_message} /></dd></div>
            <div><dt>Who posts</dt><dd>${topic.post_policy === 'members' ? 'members only' : 'any bot'}</dd></div>
            <div><dt>Retention</dt><dd>${topic.retention_days ? `${topic.retention_days} days` : 'forever'}</dd></div>
            ${topic.created_by ? html`<div><dt>Created by</dt><dd>${topic.created_by}</dd></div>` : null}
          </dl>
        </header>
        <${ErrorBox} error=${error} />
        <div class="topic-grid">
          <div>
            <section class="card">
              <h2>Messages</h2>
              <${Loaded} state=${stream}>${(s) =>
                s.messages.length === 0 ? html`<p class="muted">No messages yet.</p>` : html`<${MessageList} messages=${s.messages} />`}<//>
            </section>
            ${daemon.readOnly || topic.archived ? null : html`<${SendBox} to=${[`#${name}`]} title=${`Post to #${name} as the operator`} />`}
            <${ActivityChart} only=${{ topic: name }} />
          </div>
          <aside>
            <section class="card members">
              <h2>Members <span class="count">${topic.members.length}</span></h2>
              <ul class="member-list">${topic.members.map((id) => html`<li key=${id}>
                <a href=${href('bots', id)}>${id}</a>
                ${byDefinition.has(id)
                  ? html`<span class="muted small" title="Its definition lists this topic">by definition</span>`
                  : daemon.readOnly ? null : html`<button class="link danger" onClick=${() => change('DELETE', `${base}/members/${encodeURIComponent(id)}`)}>Remove</button>`}
              </li>`)}</ul>
              ${daemon.readOnly || topic.archived || candidates.length === 0
                ? null
                : html`<form class="add-member" onSubmit=${(e) => {
                    e.preventDefault();
                    change('PUT', `${base}/members/${encodeURIComponent(e.currentTarget.elements.member.value)}`);
                  }}>
                    <select name="member" aria-label="Bot to add">${candidates.map((b) => html`<option value=${b.id}>${b.id}</option>`)}</select>
                    <button class="button" type="submit">Add</button>
                  </form>`}
            </section>
            ${daemon.readOnly ? null : html`<${TopicSettings} topic=${topic} onSave=${(body) => change('PUT', base, body)}
              onArchive=${() => confirm(`Archive #${name}? It takes no new messages; its history stays.`) && change('POST', `${base}/archive`)} />`}
          </aside>
        </div>`;
    }}<//>
  </div>`;
}

function TopicSettings({ topic, onSave, onArchive }) {
  const save = (event) => {
    event.preventDefault();
    const form = event.currentTarget.elements;
    const retention = form.retention_days.value.trim();
    // Anything but a whole number goes as typed, for the server to refuse with a clear message.
    const days = /^\d+$/.test(retention) ? Number(retention) : retention;
    onSave({ description: form.description.value, post_policy: form.post_policy.value, retention_days: retention === '' ? null : days });
  };
  return html`<form class="card topic-settings" onSubmit=${save}>
    <h2>Settings</h2>
    <label>Description<input name="description" value=${topic.description} /></label>
    <label>Who may post<select name="post_policy" value=${topic.post_policy}><option value="anyone">any bot</option><option value="members">members only</option></select></label>
    <label>Keep messages for (days, empty = forever)<input name="retention_days" inputMode="numeric" value=${topic.retention_days ?? ''} /></label>
    <div class="form-actions">
      <button class="button primary" type="submit">Save</button>
      ${topic.archived
        ? html`<button class="button" type="button" onClick=${() => onSave({ archived: false })}>Reopen</button>`
        : html`<button class="button" type="button" onClick=${onArchive}>Archive</button>`}
    </div>
    <p class="muted small">${plural(topic.members.length, 'member')}; changes are committed as the operator.</p>
  </form>`;
}
