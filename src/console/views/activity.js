import { html } from '../html.js';
import { href } from '../router.js';

const VERBS = { 'note.write': 'wrote', 'note.delete': 'deleted', 'note.move': 'moved' };

/** One line of the activity feed: who did what, to which bot's thing, linked when it can be opened. */
export function ActivityLine({ activity: a }) {
  const at = new Date(a.at);
  const today = at.toDateString() === new Date().toDateString();
  const time = today ? at.toLocaleTimeString([], { hourCycle: 'h23' }) : at.toLocaleDateString([], { month: 'short', day: 'numeric' });
  const verb = VERBS[a.kind] ?? a.kind;
  const target = a.path ? `${a.bot}/${a.path}` : a.bot;
  const link = a.path && a.kind !== 'note.delete' ? href('bots', a.bot, { path: a.path }) : href('bots', a.bot);
  return html`<li class="activity">
    <time datetime=${a.at} title=${at.toLocaleString()}>${time}</time>
    <span><b>${a.by}</b> ${verb} <a href=${link}>${target}</a>${a.detail?.from ? html` <span class="muted">from ${a.detail.from}</span>` : null}</span>
  </li>`;
}
