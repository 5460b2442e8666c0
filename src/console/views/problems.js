import { get } from '../api.js';
import { Time } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { TaskStatus } from './agents.js';
import { Loaded, useLoad } from './common.js';

/** Everything that needs a person: notes with broken frontmatter, bot definitions that could not be read, changes a crash interrupted that could not be finished, tasks that failed or expired. */
export function Problems() {
  const [problems] = useLoad(() => get('/api/problems'), []);
  return html`<${Loaded} state=${problems}>${(p) => html`<div class="problems">
    <section class="card">
      <h2>Notes with broken frontmatter <span class="count">${p.notes.length}</span></h2>
      ${p.notes.length === 0
        ? html`<p class="muted">None: every note's frontmatter parses.</p>`
        : html`<table class="list"><thead><tr><th>Note</th><th>Problem</th></tr></thead><tbody>
            ${p.notes.map((n) => html`<tr key=${n.file}><td><a class="mono" href=${href('bots', n.bot, { path: n.path })}>${n.file}</a></td><td>${n.problem}</td></tr>`)}
          </tbody></table>`}
    </section>
    <section class="card">
      <h2>Bot definitions that could not be read <span class="count">${p.bots.length}</span></h2>
      ${p.bots.length === 0
        ? html`<p class="muted">None: every definition in the bots folder and the registry loads.</p>`
        : html`<table class="list"><thead><tr><th>File</th><th>Problem</th></tr></thead><tbody>
            ${p.bots.map((b) => html`<tr key=${b.file}><td class="mono">${b.file}</td><td>${b.problem}</td></tr>`)}
          </tbody></table>`}
    </section>
    <section class="card">
      <h2>Changes a crash interrupted that could not be finished <span class="count">${p.changes.length}</span></h2>
      ${p.changes.length === 0
        ? html`<p class="muted">None: every acknowledged change is on disk.</p>`
        : html`<table class="list"><thead><tr><th>File</th><th>Problem</th></tr></thead><tbody>
            ${p.changes.map((c) => html`<tr key=${c.file}><td class="mono">${c.file}</td><td>${c.problem}</td></tr>`)}
          </tbody></table>`}
    </section>
    <section class="card">
      <h2>Task agents that failed or expired <span class="count">${p.agents.length}</span></h2>
      ${p.agents.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<table class="list"><thead><tr><th>Agent</th><th>Status</th><th>Asked by</th><th>Deadline</th><th>Why</th></tr></thead><tbody>
            ${p.agents.map((a) => html`<tr key=${a.task}>
              <td><a href=${href('bots', a.agent)}>${a.agent}</a> <span class="muted small mono">${a.task}</span></td>
              <td><${TaskStatus} status=${a.status} /></td>
              <td>${a.parent}</td>
              <td><${Time} at=${a.deadline} /></td>
              <td>${a.error ?? a.result ?? '—'}</td>
            </tr>`)}
          </tbody></table>`}
    </section>
  </div>`}<//>`;
}
