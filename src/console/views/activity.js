import { html } from '../html.js';
import { href } from '../router.js';
import { mailLink } from './mail.js';

const VERBS = {
  'note.write': 'wrote',
  'note.delete': 'deleted',
  'note.move': 'moved',
  'topic.create': 'created',
  'topic.update': 'changed',
  'topic.archive': 'archived',
  'topic.subscribe': 'joined',
  'topic.unsubscribe': 'left',
};

/** Activities worth a line: a send says it all, so its per-recipient deliveries are left out. */
export function shownInFeed(a) {
  return a.kind !== 'message.deliver' || a.by === 'external';
}

/** One line of the activity feed: who did what, to which bot's thing, linked when it can be opened. */
export function ActivityLine({ activity: a }) {
  const at = new Date(a.at);
  const today = at.toDateString() === new Date().toDateString();
  const time = today ? at.toLocaleTimeString([], { hourCycle: 'h23' }) : at.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return html`<li class="activity">
    <time datetime=${a.at} title=${at.toLocaleString()}>${time}</time>
    <span>${describe(a)}</span>
  </li>`;
}

function describe(a) {
  const who = html`<b>${a.by}</b>`;
  const d = a.detail ?? {};
  if (a.kind.startsWith('note.')) {
    const link = a.kind === 'note.delete' ? href('bots', a.bot) : href('bots', a.bot, { path: a.path });
    return html`${who} ${VERBS[a.kind] ?? a.kind} <a href=${link}>${a.bot}/${a.path}</a>${d.from ? html` <span class="muted">from ${d.from}</span>` : null}`;
  }
  if (a.kind === 'message.send') {
    return html`${who} sent <a href=${mailLink(a.bot, 'sent')}>“${d.subject}”</a> to ${(d.to ?? []).join(', ')}`;
  }
  if (a.kind === 'message.deliver') return html`a message to <a href=${mailLink(a.bot, 'inbox')}>${a.bot}</a> was written by hand`;
  if (a.kind === 'message.read' || a.kind === 'message.ack') {
    const n = d.ids?.length ?? 0;
    return html`${who} ${a.kind === 'message.read' ? 'read' : 'acknowledged'} <a href=${mailLink(a.bot, 'inbox')}>${n} message${n === 1 ? '' : 's'}</a>`;
  }
  if (a.kind === 'task.spawn') return html`${who} spawned <a href=${href('bots', a.bot)}>${a.bot}</a> (${d.runtime})`;
  if (a.kind === 'task.assign') return html`${who} gave <a href=${href('bots', a.bot)}>${a.bot}</a> a task`;
  if (a.kind === 'task.end') return html`<a href=${href('agents')}>${a.bot}</a>'s task ${d.status === 'done' ? 'is done' : `ended: ${d.status}`}`;
  if (a.kind.startsWith('topic.')) {
    return html`${who} ${VERBS[a.kind] ?? a.kind} <a href=${href('topics', d.topic)}>#${d.topic}</a>`;
  }
  return html`${who} ${a.kind} ${a.bot}${a.path ? `/${a.path}` : ''}`;
}
