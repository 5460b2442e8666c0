import { useState } from 'preact/hooks';
import { api, daemon, get, useActivity } from '../api.js';
import { plural, Time } from '../format.js';
import { html } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import { href } from '../router.js';
import { ErrorBox, Loaded, useDebounced, useLoad } from './common.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];

/**
 * A mailbox as the operator sees it: the inbox or the sent folder, newest first, or one thread.
 * Looking marks nothing read; the bot still finds its unread messages unread.
 */
export function MailView({ bot, query, link }) {
  const folder = query.get('folder') === 'sent' ? 'sent' : 'inbox';
  const thread = query.get('thread');
  const [cursor, setCursor] = useState(undefined);
  const [mail, reload] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/mail`, { folder, cursor }), [bot, folder, cursor]);
  const refresh = useDebounced(reload, 300);
  useActivity((a) => {
    if (a.kind.startsWith('message.') && (a.bot === bot || a.by === bot)) refresh();
  });
  const tab = (name, label) => html`<a role="tab" aria-selected=${folder === name && !thread} class=${folder === name && !thread ? 'active' : ''}
    href=${link({ folder: name === 'inbox' ? undefined : name })} onClick=${() => setCursor(undefined)}>${label}</a>`;
  return html`<div class="mail">
    <section class="card">
      <div class="tabs small" role="tablist">
        ${tab('inbox', `Inbox${mail.data ? ` (${mail.data.unread} unread)` : ''}`)} ${tab('sent', 'Sent')}
      </div>
      ${thread
        ? html`<${ThreadView} bot=${bot} thread=${thread} />`
        : html`<${Loaded} state=${mail}>${(m) => html`
            ${m.messages.length === 0 ? html`<p class="muted">${folder === 'inbox' ? 'No messages received yet.' : 'No messages sent yet.'}</p>` : null}
            <${MessageList} messages=${m.messages} threadLink=${(t) => link({ folder: folder === 'inbox' ? undefined : folder, thread: t })} />
            <div class="pager">
              ${cursor ? html`<button class="button" onClick=${() => setCursor(undefined)}>Newest</button>` : null}
              ${m.next_cursor ? html`<button class="button" onClick=${() => setCursor(m.next_cursor)}>Older messages</button>` : null}
            </div>
          `}<//>`}
    </section>
    ${daemon.readOnly ? null : html`<${SendBox} to=${bot === 'operator' ? null : [bot]} />`}
  </div>`;
}

function ThreadView({ bot, thread }) {
  const [state, reload] = useLoad(() => get(`/api/bots/${encodeURIComponent(bot)}/threads/${encodeURIComponent(thread)}`), [bot, thread]);
  useActivity((a) => a.kind.startsWith('message.') && a.detail?.thread === thread && reload());
  return html`<${Loaded} state=${state}>${(t) => html`<div class="thread">
    <p class="muted small">Thread <span class="mono">${t.thread}</span> · ${plural(t.total, 'message')}, oldest first</p>
    <${MessageList} messages=${t.messages} open />
  </div>`}<//>`;
}

/** Messages as data with their provenance; a click opens one. Bodies are other bots' words, rendered safely. */
export function MessageList({ messages, threadLink, open = false }) {
  return html`<ul class="messages">${messages.map((m) => html`<${MessageItem} key=${m.id} message=${m} threadLink=${threadLink} open=${open} />`)}</ul>`;
}

function MessageItem({ message: m, threadLink, open: initiallyOpen }) {
  const [open, setOpen] = useState(initiallyOpen);
  return html`<li class=${`message ${m.status === 'unread' ? 'unread' : ''}`}>
    <button class="message-head" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <span class="message-who"><b>${m.from}</b> → ${m.to.join(', ')}</span>
      <span class="message-subject">${m.subject}</span>
      <span class="message-tags">
        ${m.priority !== 'normal' ? html`<span class=${`badge priority-${m.priority}`}>${m.priority}</span>` : null}
        ${m.status ? html`<span class=${`badge status-${m.status}`}>${m.status}</span>` : null}
        <${Time} at=${m.created} />
      </span>
    </button>
    ${open
      ? html`<div class="message-body">
          <div class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(m.body) }} />
          <p class="muted small">
            ${m.folder === 'sent' || m.recipients ? html`Reached ${m.recipients?.join(', ') || 'nobody'}. ` : null}
            ${m.ack_required ? html`Acknowledgement asked${m.acked_by ? `; acknowledged by ${m.acked_by.join(', ') || 'nobody yet'}` : ''}. ` : null}
            ${threadLink ? html`<a href=${threadLink(m.thread)}>Show the thread</a> · ` : null}<span class="mono">${m.id}</span>
          </p>
        </div>`
      : null}
  </li>`;
}

/**
 * Sends as the operator: to a fixed recipient (a bot's page, a topic), or to whoever is typed in.
 * The message is on disk in every inbox when the answer comes, and pushed into live sessions.
 */
export function SendBox({ to, title }) {
  const [fields, setFields] = useState({ to: '', subject: '', body: '', priority: 'normal', ack_required: false });
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [sending, setSending] = useState(false);
  const set = (name) => (event) => {
    const input = event.currentTarget;
    setFields((f) => ({ ...f, [name]: input.type === 'checkbox' ? input.checked : input.value }));
  };
  const send = async (event) => {
    event.preventDefault();
    setSending(true);
    try {
      const recipients = to ?? fields.to.split(',').map((t) => t.trim()).filter(Boolean);
      const sent = await api('POST', '/api/messages', {
        body: { to: recipients, subject: fields.subject || undefined, body: fields.body, priority: fields.priority, ack_required: fields.ack_required },
      });
      setResult(sent);
      setError(null);
      setFields((f) => ({ ...f, subject: '', body: '' }));
    } catch (e) {
      setError(e);
      setResult(null);
    } finally {
      setSending(false);
    }
  };
  return html`<form class="card send-box" onSubmit=${send}>
    <h2>${title ?? (to ? `Send ${to.join(', ')} a message or a command` : 'Send a message')}</h2>
    <${ErrorBox} error=${error} />
    ${result ? html`<p class="notice" role="status">${describeSend(result)}</p>` : null}
    <div class="form-grid">
      ${to ? null : html`<label>To<input name="to" value=${fields.to} onInput=${set('to')} placeholder="dev, research or #topic" required /></label>`}
      <label>Subject<input name="subject" value=${fields.subject} onInput=${set('subject')} placeholder="default: the first line" /></label>
      <label>Priority<select name="priority" value=${fields.priority} onChange=${set('priority')}>${PRIORITIES.map((p) => html`<option value=${p}>${p}</option>`)}</select></label>
      <label class="checkbox"><input type="checkbox" name="ack_required" checked=${fields.ack_required} onChange=${set('ack_required')} /> Ask for an acknowledgement</label>
    </div>
    <label>Message (Markdown)<textarea name="body" rows="4" value=${fields.body} onInput=${set('body')} required></textarea></label>
    <div class="form-actions"><button class="button primary" type="submit" disabled=${sending}>${sending ? 'Sending…' : 'Send'}</button></div>
  </form>`;
}

function describeSend(result) {
  if (result.recipients.length === 0) return 'Sent, but it reached nobody (the topic has no other members).';
  const parts = result.recipients.map((r) => (r.live ? `${r.bot}: in its inbox and live in session ${r.session}` : `${r.bot}: in its inbox${r.reason ? ` (${r.reason})` : ''}`));
  return `Sent. ${parts.join('; ')}.`;
}

/** Where a message-related activity can be opened. */
export function mailLink(bot, folder, thread) {
  const where = { folder: folder === 'sent' ? 'sent' : undefined, thread };
  return bot === 'operator' ? href('mail', where) : href('bots', bot, { tab: 'mail', ...where });
}
