import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, connectEvents, daemon, disconnectEvents, get, useActivity, whenLoggedOut } from './api.js';
import { html } from './html.js';
import { href, useRoute } from './router.js';
import { Agents } from './views/agents.js';
import { BotPage } from './views/bot.js';
import { MailView } from './views/mail.js';
import { ErrorBox, useDebounced, useLoad } from './views/common.js';
import { Overview } from './views/overview.js';
import { Problems } from './views/problems.js';
import { Search } from './views/search.js';
import { TopicPage, Topics } from './views/topics.js';

function App() {
  // null: not known yet; false: logged out; otherwise the session's details.
  const [session, setSession] = useState(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    whenLoggedOut(() => {
      disconnectEvents();
      setSession(false);
    });
    get('/api/session').then(setSession, () => setSession(false));
  }, []);
  useEffect(() => {
    if (session) connectEvents(setLive);
  }, [!!session]);
  if (session === null) return null;
  if (session === false) return html`<${Login} onLogin=${setSession} />`;
  daemon.readOnly = session.read_only;
  return html`<${Shell} session=${session} live=${live} />`;
}

function Login({ onLogin }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const input = event.currentTarget.elements.token;
    try {
      await api('POST', '/api/login', { body: { token: input.value.trim() } });
      input.value = '';
      onLogin(await get('/api/session'));
    } catch (e) {
      setError(e);
    }
  };
  return html`<main class="login">
    <form class="card" onSubmit=${submit}>
      <h1><img src="/console/icon.svg" alt="" width="28" height="28" /> Roost</h1>
      <p class="muted">Log in with the operator token. It is kept in <code>.roost/operator.token</code> in the data root (readable only by the user the daemon runs as); <code>roost serve</code> says where on its first start.</p>
      <${ErrorBox} error=${error} />
      <label>Operator token<input type="password" name="token" autocomplete="current-password" required autofocus /></label>
      <button class="button primary" type="submit">Log in</button>
    </form>
  </main>`;
}

const NAV = [
  ['', 'Overview'],
  ['agents', 'Agents'],
  ['topics', 'Topics'],
  ['mail', 'Mail'],
  ['search', 'Search'],
  ['problems', 'Problems'],
];

function Shell({ session, live }) {
  const route = useRoute();
  const [section = ''] = route.parts;
  const [problems, reloadProblems] = useLoad(() => get('/api/problems'), []);
  const problemCount = problems.data ? problems.data.notes.length + problems.data.bots.length + problems.data.changes.length + problems.data.agents.length : 0;
  useActivity(useDebounced(reloadProblems, 1000));
  const logout = async () => {
    await api('POST', '/api/logout').catch(() => undefined);
    location.hash = '';
    location.reload();
  };
  return html`<div class="shell">
    <header class="topbar">
      <a class="brand" href="#/"><img src="/console/icon.svg" alt="" width="24" height="24" />Roost</a>
      <nav>
        ${NAV.map(([path, label]) => html`<a href=${`#/${path}`} class=${section === path || (path === '' && section === 'bots') ? 'active' : ''}>
          ${label}${path === 'problems' && problemCount > 0 ? html`<span class="problem-count">${problemCount}</span>` : null}
        </a>`)}
      </nav>
      <div class="topbar-right">
        ${session.read_only ? html`<span class="badge">read-only</span>` : null}
        <span class=${`live ${live ? 'on' : 'off'}`} title=${live ? 'Live updates connected' : 'Live updates disconnected; reconnecting'}>${live ? 'live' : 'offline'}</span>
        <button class="link" onClick=${logout}>Log out</button>
      </div>
    </header>
    <main class="content">${page(route)}</main>
  </div>`;
}

function page({ parts, query }) {
  switch (parts[0]) {
    case undefined:
      return html`<${Overview} />`;
    case 'bots':
      return html`<${BotPage} key=${parts[1]} id=${parts[1]} query=${query} />`;
    case 'agents':
      return html`<${Agents} query=${query} />`;
    case 'topics':
      return parts[1] ? html`<${TopicPage} key=${parts[1]} name=${parts[1]} />` : html`<${Topics} />`;
    case 'mail':
      return html`<div class="operator-mail">
        <p class="muted">The operator's own mail: messages bots send to “operator”, and what you sent from here.</p>
        <${MailView} bot="operator" query=${query} link=${(q) => href('mail', q)} />
      </div>`;
    case 'search':
      return html`<${Search} query=${query} />`;
    case 'problems':
      return html`<${Problems} />`;
    default:
      return html`<p class="error">There is no page “${parts.join('/')}”. <a href="#/">Back to the overview</a>.</p>`;
  }
}

render(html`<${App} />`, document.getElementById('app'));
