import { get } from '../api.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { Loaded, useLoad } from './common.js';

/** Everything that needs a person: notes with broken frontmatter, bot definitions that could not be read. */
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
  </div>`}<//>`;
}
