import path from 'node:path';
import { type Caller, checkMayReadMailOf, OPERATOR_ID } from './access.js';
import { type LiveDeliveryResult, type LiveMessage, SESSION_ADDRESS, type SessionDelivery } from './delivery.js';
import { UserError } from './errors.js';
import type { Activity, RoostEvents } from './events.js';
import { KeyedLock } from './lock.js';
import { FileMailbox, type MailTransport } from './mail-store.js';
import { MailState } from './mail-state.js';
import { INDEX_IDLE_MS, Mailbox, SortedMessages } from './mailbox.js';
import {
  type Folder,
  mailPath,
  type Message,
  type MessageMeta,
  metaOf,
  parseMailPath,
  PRIORITIES,
  type Priority,
  requestDigest,
  subjectOf,
} from './message.js';
import { cursorPage, kept, offsetPage } from './paging.js';
import { isMessageId } from './paths.js';
import { RateLimit } from './rate-limit.js';
import type { Registry } from './registry.js';
import { snippet } from './search/snippet.js';
import type { Sessions } from './sessions.js';
import type { Topic, Topics } from './topics.js';
import type { FileStat, Vault } from './vault.js';

export interface MailLimits {
  /** Largest message body, in bytes of UTF-8. */
  maxBodyBytes: number;
  /** Most bots one message may reach, topics expanded. */
  maxRecipients: number;
  /** Messages a bot may send at once (its token bucket's size)… */
  sendBurst: number;
  /** …and how many the allowance grows by per second. */
  sendsPerSecond: number;
  /** A topic's retention removes a bot's copies no sooner than this many days, unless the bot's definition says otherwise. */
  minTopicRetentionDays: number;
}

export const DEFAULT_MAIL_LIMITS: MailLimits = { maxBodyBytes: 64 * 1024, maxRecipients: 100, sendBurst: 60, sendsPerSecond: 1, minTopicRetentionDays: 7 };

export interface SendRequest {
  /** Bot ids and `#topic` names. */
  to: string[];
  subject?: string;
  body: string;
  thread?: string;
  reply_to?: string;
  priority?: Priority;
  ack_required?: boolean;
  idempotency_key?: string;
}

export interface Delivery extends LiveDeliveryResult {
  bot: string;
}

export interface SendResult {
  id: string;
  thread: string;
  created: string;
  /** True when the idempotency key was used before: this is the first send's message, not a new one. */
  duplicate: boolean;
  recipients: Delivery[];
}

export type MessageStatus = 'unread' | 'read' | 'acked';

export interface MessageFilter {
  from?: string;
  topic?: string;
  thread?: string;
  /** This priority or higher. */
  priority?: Priority;
  /** ISO date: created at or after. */
  since?: string;
}

export interface InboxQuery extends MessageFilter {
  /** unread: not yet read; unacked: not yet acknowledged; all. */
  status: 'unread' | 'unacked' | 'all';
  /** Continue after this message id (the previous page's next_cursor). */
  cursor?: string;
  limit: number;
  /** Read without marking anything read. */
  peek: boolean;
}

export type ShownMessage = Omit<Message, 'recipients' | 'idempotency_key'> & { size: number };
export type InboxMessage = ShownMessage & { status: MessageStatus };

export interface InboxPage {
  messages: InboxMessage[];
  next_cursor?: string;
  /** Unread messages in the whole inbox after this call. */
  unread: number;
}

const MAX_SUBJECT = 200;
const MAX_KEY = 200;
const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Messages between bots: durable inboxes with read and ack state, threads, topic fan-out,
 * idempotent sends, limits, search, and live delivery into running sessions.
 */
export class Mail {
  private readonly boxes = new Map<string, Mailbox>();
  /** Topic messages as their senders' copies, by topic. */
  private readonly topicMessages = new Map<string, SortedMessages>();
  private readonly senders = new KeyedLock();
  /** Live deliveries to one recipient go out one at a time, in the order they were sent. */
  private readonly liveQueue = new KeyedLock();
  private readonly files: FileMailbox;
  private readonly transport: MailTransport;
  private readonly state: MailState;
  private readonly sends: RateLimit;
  private pruneTimer?: NodeJS.Timeout;
  private indexTimer?: NodeJS.Timeout;
  /** Sends under way, which `close` lets finish. */
  private readonly sending = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    vault: Vault,
    stateDir: string,
    private readonly registry: Registry,
    private readonly topics: Topics,
    private readonly events: RoostEvents,
    private readonly sessions: Pick<Sessions, 'bindingOf'>,
    private readonly delivery: SessionDelivery,
    readonly limits: MailLimits,
  ) {
    this.files = new FileMailbox(vault);
    this.transport = this.files;
    this.state = new MailState(path.join(stateDir, 'mail', 'state'));
    this.sends = new RateLimit(limits.sendBurst, limits.sendsPerSecond, 'sending', 'sent');
  }

  /** Loads every mailbox from its files (the vault has finished the sends a crash interrupted), and prunes expired topic messages. */
  async open(): Promise<void> {
    const bots = new Set([...(await this.files.bots()), ...this.registry.list().map((b) => b.id)]);
    for (const bot of [...bots].sort()) await this.load(bot);
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune().catch((error) => console.error('roost: pruning mail failed:', error)), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.indexTimer = setInterval(() => {
      for (const box of this.boxes.values()) box.dropIdleIndex();
    }, INDEX_IDLE_MS / 10);
    this.indexTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pruneTimer);
    clearInterval(this.indexTimer);
    await Promise.allSettled([...this.sending]);
    await this.state.close();
  }

  // ---- sending -------------------------------------------------------------------------

  /** Sends as the caller; resolves once every copy is durable, with each recipient's live delivery. */
  async send(caller: Caller, request: SendRequest): Promise<SendResult> {
    const sender = caller.bot;
    if (this.closed) throw new Error('the daemon is shutting down');
    const box = this.box(sender);
    const work = this.senders.run(sender, async () => {
      const draft = normalize(request);
      if (draft.idempotency_key !== undefined) {
        const first = box.keys.get(draft.idempotency_key);
        if (first) return { message: this.retried(box, draft, first), live: null };
      }
      const message = this.check(sender, box, draft);
      this.sends.take(sender);
      const { id, created } = box.clock.next(sender);
      message.id = id;
      message.created = created;
      message.thread ||= id;
      await this.transport.post(message);
      this.record(message);
      // Queued now, under the sender's lock, so each recipient's live deliveries keep the sending order.
      const live = message.recipients.map((bot) => this.liveQueue.run(bot, () => this.deliverLive(bot, message)));
      const sessions = message.to.filter((to) => to.startsWith(SESSION_ADDRESS));
      live.push(...sessions.map((to) => this.liveQueue.run(to, () => this.injectLive(to, message))));
      return { message, live };
    });
    this.sending.add(work);
    const { message, live } = await work.finally(() => this.sending.delete(work));
    return {
      id: message.id,
      thread: message.thread,
      created: message.created,
      duplicate: live === null,
      recipients: live
        ? await Promise.all(live)
        : message.recipients.map((bot) => ({ bot, live: false, reason: `this retry was not delivered again: ${message.id} was sent before` })),
    };
  }

  /** The answer to a send whose idempotency key was used before, if it repeats that request. */
  private retried(box: Mailbox, draft: Message, first: { id: string; digest: string }): MessageMeta {
    if (requestDigest(draft) !== first.digest) {
      throw new UserError(
        `The idempotency_key "${draft.idempotency_key}" was already used for message ${first.id} with different content: use a new key for a new message.`,
        'conflict',
      );
    }
    return box.sent.get(first.id)!;
  }

  /** Validates a send completely, before anything is written; returns the message without id and time. */
  private check(sender: string, box: Mailbox, draft: Message): Message {
    if (draft.to.length === 0) throw new UserError('"to" is empty: name at least one bot id, or a topic as "#name".');
    if (draft.body.trim() === '') throw new UserError('The body is empty: write the message in "body".');
    const bytes = Buffer.byteLength(draft.body);
    if (bytes > this.limits.maxBodyBytes) {
      throw new UserError(
        `The body is ${bytes} bytes; the limit is ${this.limits.maxBodyBytes}: shorten it, or write the details to a shared note and send its path.`,
        'too_large',
      );
    }
    if (/[\r\n\u0085\u2028\u2029]/.test(draft.subject)) throw new UserError('The subject has a line break: keep it to one line.');
    if (draft.subject.length > MAX_SUBJECT) throw new UserError(`The subject is ${draft.subject.length} characters long: keep it under ${MAX_SUBJECT}.`);
    if (draft.idempotency_key !== undefined && (draft.idempotency_key === '' || draft.idempotency_key.length > MAX_KEY || /[\r\n]/.test(draft.idempotency_key))) {
      throw new UserError(`The idempotency_key must be 1-${MAX_KEY} characters on one line.`);
    }

    const problems: string[] = [];
    let code: UserError['code'] = 'invalid';
    const direct: string[] = [];
    const topicNames = draft.to.filter((entry) => entry.startsWith('#'));
    if (topicNames.length > 1) problems.push(`it names ${topicNames.length} topics, but a message goes to one topic at most (send one message per topic)`);
    let topic: Topic | undefined;
    for (const entry of draft.to) {
      if (entry.startsWith('#')) {
        const found = this.topics.get(entry.slice(1));
        if (!found) problems.push(`there is no topic "${entry}" (call list_topics)`);
        else {
          topic = found;
          const refusal = this.topics.postRefusal(found, sender);
          if (refusal) {
            problems.push(refusal.reason);
            if (refusal.code === 'forbidden') code = 'forbidden';
          }
        }
        continue;
      }
      if (entry.startsWith(SESSION_ADDRESS)) {
        if (!this.delivery.inject) problems.push(`"${entry}" is a session, and no OpenClaw gateway is configured to reach it`);
        else if (!/^session:agent:[^:\s]+:\S+$/.test(entry)) problems.push(`"${entry}" is not a session address (session:agent:<agent>:<name>)`);
        continue;
      }
      const bot = this.registry.get(entry);
      if (entry === OPERATOR_ID || bot?.status === 'active') direct.push(entry);
      else if (bot) problems.push(`"${entry}" is retired and reads no mail`);
      else problems.push(`there is no bot "${entry}" (call list_bots; write topics as "#name")`);
    }
    if (draft.reply_to !== undefined) {
      const original = isMessageId(draft.reply_to) ? (box.inbox.get(draft.reply_to) ?? box.sent.get(draft.reply_to)) : undefined;
      if (!original) problems.push(`reply_to "${draft.reply_to}" is not a message in your inbox or sent mail (take the id from read_inbox)`);
      else if (draft.thread && draft.thread !== original.thread) {
        problems.push(`reply_to ${draft.reply_to} is in thread "${original.thread}", not "${draft.thread}" (omit "thread" when replying)`);
      } else draft.thread = original.thread;
    } else if (draft.thread && !isMessageId(draft.thread)) {
      problems.push(`thread "${draft.thread}" is not a valid thread id (letters, digits, ".", "_" and "-"; take it from a message)`);
    }
    if (problems.length) throw new UserError(`Nothing was sent: ${problems.join('; ')}.`, code);

    const members = topic ? this.topics.members(topic).filter((bot) => bot !== sender) : [];
    const recipients = [...new Set([...direct, ...members])];
    if (recipients.length > this.limits.maxRecipients) {
      throw new UserError(`This message would reach ${recipients.length} bots; the limit is ${this.limits.maxRecipients}: address fewer bots, or a smaller topic.`, 'too_large');
    }
    return { ...draft, from: sender, recipients, ...(topic ? { topic: topic.name } : {}) };
  }

  /** A posted message enters the views, the commit queue and the event stream. */
  private record(message: Message): void {
    for (const bot of message.recipients) this.box(bot).put('inbox', message);
    this.rememberSent(this.box(message.from).put('sent', message));
    const detail = { id: message.id, from: message.from, topic: message.topic, thread: message.thread, subject: message.subject, priority: message.priority };
    this.events.emitActivity({ kind: 'message.send', bot: message.from, by: message.from, path: mailPath(message.from, 'sent', message.id), detail: { ...detail, to: message.to, recipients: message.recipients } });
    for (const bot of message.recipients) {
      this.events.emitActivity({ kind: 'message.deliver', bot, by: message.from, path: mailPath(bot, 'inbox', message.id), detail });
    }
  }

  private async deliverLive(bot: string, m: Message): Promise<Delivery> {
    try {
      return { bot, ...(await this.delivery.deliver(bot, liveOf(m), this.sessions.bindingOf(bot))) };
    } catch (error) {
      return { bot, live: false, reason: `live delivery failed (${(error as Error).message}); the message is in the inbox` };
    }
  }

  /** A message addressed to a session: injected there, and kept in the sender's sent mail. */
  private async injectLive(to: string, m: Message): Promise<Delivery> {
    try {
      return { bot: to, ...(await this.delivery.inject!(to.slice(SESSION_ADDRESS.length), liveOf(m))) };
    } catch (error) {
      return { bot: to, live: false, reason: `injecting failed (${(error as Error).message}); the message is in your sent mail` };
    }
  }

  // ---- reading -------------------------------------------------------------------------

  async readInbox(caller: Caller, query: InboxQuery): Promise<InboxPage> {
    const bot = caller.bot;
    const box = this.box(bot);
    if (query.cursor !== undefined && !isMessageId(query.cursor)) throw new UserError(`cursor "${query.cursor}" is not one this tool returned: omit it to start from the oldest message.`);
    const { items: page, next_cursor } = cursorPage(kept(box.inbox.ascending(query.cursor), this.inboxFilter(bot, query)), query.limit, (m) => m.id);
    const messages = (await this.withBodies(bot, 'inbox', page)).map((m) => ({ ...shown(m), status: this.statusOf(bot, m.id) }));
    if (!query.peek && messages.length) {
      const marked = await this.state.markRead(bot, messages.map((m) => m.id));
      if (marked.length) this.events.emitActivity({ kind: 'message.read', bot, by: bot, detail: { ids: marked } });
    }
    return { messages, ...(next_cursor ? { next_cursor } : {}), unread: this.unreadCount(bot) };
  }

  /**
   * Waits until an unread message matching the filter is in the inbox, then reads like
   * `readInbox`. Resolves with no messages when the time is up or `signal` aborts.
   */
  async waitForMessages(
    caller: Caller,
    query: InboxQuery,
    options: { timeoutMs: number; signal: AbortSignal; onWaiting: (waitedMs: number) => void; tickMs?: number },
  ): Promise<InboxPage & { timed_out: boolean }> {
    const bot = caller.bot;
    const box = this.box(bot);
    const keep = this.inboxFilter(bot, { ...query, status: 'unread' });
    let waiting = true;
    for (const meta of box.inbox.ascending()) {
      if (keep(meta)) {
        waiting = false;
        break;
      }
    }
    if (waiting) {
      const start = Date.now();
      const arrived = await new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          clearInterval(ticker);
          this.events.off('activity', onActivity);
          options.signal.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onActivity = (a: Activity) => {
          const meta = a.kind === 'message.deliver' && a.bot === bot ? box.inbox.get(String(a.detail?.id)) : undefined;
          if (meta && keep(meta)) done(true);
        };
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(false), options.timeoutMs);
        const ticker = setInterval(() => options.onWaiting(Date.now() - start), options.tickMs ?? 5_000);
        this.events.on('activity', onActivity);
        options.signal.addEventListener('abort', onAbort, { once: true });
        options.onWaiting(0);
        if (options.signal.aborted) done(false);
      });
      if (!arrived) return { messages: [], unread: this.unreadCount(bot), timed_out: true };
    }
    return { ...(await this.readInbox(caller, { ...query, status: 'unread', cursor: undefined })), timed_out: false };
  }

  /** Acknowledges messages in the bot's inbox; every id must be there, or nothing is acknowledged. */
  async ack(caller: Caller, ids: string[]): Promise<{ acked: string[]; already: string[] }> {
    const bot = caller.bot;
    const box = this.box(bot);
    const unknown = ids.filter((id) => !box.inbox.get(id));
    if (unknown.length) {
      throw new UserError(`Not in your inbox: ${unknown.map((id) => `"${id}"`).join(', ')}. Nothing was acknowledged; take the ids from read_inbox.`, 'not_found');
    }
    const acked = await this.state.ack(bot, [...new Set(ids)]);
    if (acked.length) this.events.emitActivity({ kind: 'message.ack', bot, by: bot, detail: { ids: acked } });
    return { acked, already: [...new Set(ids)].filter((id) => !acked.includes(id)) };
  }

  /** The messages of a thread in the bot's mail (inbox and sent), oldest first. `thread` may also be the id of any message in it. */
  async thread(caller: Caller, thread: string, cursor: string | undefined, limit: number) {
    const bot = caller.bot;
    const box = this.box(bot);
    const id = box.inbox.get(thread)?.thread ?? box.sent.get(thread)?.thread ?? thread;
    const metas = new Map<string, { folder: Folder; meta: MessageMeta }>();
    for (const folder of ['sent', 'inbox'] as const) {
      for (const meta of box.folder(folder).ascending()) if (meta.thread === id) metas.set(meta.id, { folder, meta });
    }
    if (metas.size === 0) throw new UserError(`No messages of thread "${thread}" in your mail: take a thread id from read_inbox or search_messages.`, 'not_found');
    const all = [...metas.values()].sort((a, b) => (a.meta.id < b.meta.id ? -1 : 1));
    const after = cursor === undefined ? all : all.filter((m) => m.meta.id > cursor);
    const { items: page, next_cursor } = cursorPage(after, limit, (m) => m.meta.id);
    const messages = await Promise.all(page.map(({ folder, meta }) => this.described(bot, folder, meta)));
    return { thread: id, total: all.length, messages, ...(next_cursor ? { next_cursor } : {}) };
  }

  /** One folder of `bot`'s mail, newest first, marking nothing read: the operator's view of a mailbox. */
  async folder(caller: Caller, bot: string, folder: Folder, cursor: string | undefined, limit: number) {
    checkMayReadMailOf(caller, bot);
    if (bot !== OPERATOR_ID) this.registry.require(bot);
    if (cursor !== undefined && !isMessageId(cursor)) throw new UserError(`cursor "${cursor}" is not one this call returned: omit it to start from the newest message.`);
    const box = this.box(bot);
    const { items: page, next_cursor } = cursorPage(box.folder(folder).descending(cursor), limit, (m) => m.id);
    const messages = await Promise.all(page.map((meta) => this.described(bot, folder, meta)));
    return { bot, folder, total: box.folder(folder).size, unread: this.unreadCount(bot), messages, ...(next_cursor ? { next_cursor } : {}) };
  }

  async search(caller: Caller, query: string, options: MessageFilter & { folder: Folder | 'all'; limit: number; offset: number }) {
    const bot = caller.bot;
    if (query.trim() === '') throw new UserError('The query is empty: give words to search for (read_inbox lists messages).');
    const keep = filterOf(options);
    const hits = (
      await this.box(bot).search(
        query,
        (folder, meta) => (options.folder === 'all' || options.folder === folder) && keep(meta),
        (folder, id) => this.files.read(bot, folder, id),
      )
    ).sort((a, b) => b.score - a.score || (a.meta.id < b.meta.id ? 1 : -1));
    const page = offsetPage(hits, options.offset, options.limit);
    const results = await Promise.all(
      page.map(async (hit) => {
        const body = (await this.files.read(bot, hit.folder, hit.meta.id))?.body ?? '';
        const { size: _size, body: _body, ...meta } = shown({ ...hit.meta, body: '' });
        return { ...meta, folder: hit.folder, score: hit.score, snippet: snippet(body, hit.terms) };
      }),
    );
    return { total: hits.length, results };
  }

  /** A topic's messages, newest first, from their senders' copies. */
  async topicHistory(topic: string, cursor: string | undefined, limit: number) {
    this.topics.require(topic);
    const { items: page, next_cursor } = cursorPage(this.topicMessages.get(topic)?.descending(cursor) ?? [], limit, (m) => m.id);
    const messages = await Promise.all(page.map(async (meta) => shown({ ...((await this.files.read(meta.from, 'sent', meta.id)) ?? { ...meta, body: '' }), size: meta.size })));
    return { topic, messages, ...(next_cursor ? { next_cursor } : {}) };
  }

  /** When each message `bot` sent since `since` (an ISO time) was created, newest first. */
  sentSince(bot: string, since: string): string[] {
    return createdSince(this.box(bot).sent.descending(), since);
  }

  /** When each message posted to `topic` since `since` (an ISO time) was created, newest first. */
  postedSince(topic: string, since: string): string[] {
    return createdSince(this.topicMessages.get(topic)?.descending() ?? [], since);
  }

  topicStats(topic: string): { messages: number; last_message?: string } {
    const list = this.topicMessages.get(topic);
    const last = list?.descending().next().value;
    return { messages: list?.size ?? 0, ...(last ? { last_message: last.created } : {}) };
  }

  /** `bot`'s unread count and newest unread messages (without bodies): the inbox resource, and the console's figures. */
  summary(caller: Caller, bot: string, newest = 20) {
    checkMayReadMailOf(caller, bot);
    const unread: ShownMessage[] = [];
    for (const meta of this.box(bot).inbox.descending()) {
      if (unread.length === newest) break;
      if (!this.state.isRead(bot, meta.id)) unread.push(shown({ ...meta, body: '' }));
    }
    return { bot, unread: this.unreadCount(bot), total: this.box(bot).inbox.size, newest_unread: unread };
  }

  /**
   * What is unread in `bot`'s inbox, without bodies: how many, from whom, in which topics, and the
   * newest `newest` of them. `reported` says which of the given message ids are still unread.
   */
  unreadDigest(bot: string, newest: number, reported: string[] = []) {
    const senders = new Map<string, number>();
    const topics = new Map<string, number>();
    const latest: MessageMeta[] = [];
    let total = 0;
    for (const meta of this.box(bot).inbox.descending()) {
      if (this.state.isRead(bot, meta.id)) continue;
      total++;
      senders.set(meta.from, (senders.get(meta.from) ?? 0) + 1);
      if (meta.topic) topics.set(meta.topic, (topics.get(meta.topic) ?? 0) + 1);
      if (latest.length < newest) latest.push(meta);
    }
    const count = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return {
      total,
      senders: count(senders).map(([from, messages]) => ({ from, messages })),
      topics: count(topics).map(([topic, messages]) => ({ topic, messages })),
      latest,
      unreadReports: new Set(reported.filter((id) => !this.state.isRead(bot, id))),
    };
  }

  // ---- upkeep --------------------------------------------------------------------------

  /** A file under `mail/` changed on disk by someone else: bring the views in line. */
  async fileChanged(file: string, stat: FileStat | null): Promise<void> {
    const where = parseMailPath(file);
    if (!where) return;
    const { bot, folder, id } = where;
    const box = this.box(bot);
    const message = stat ? await this.files.read(bot, folder, id) : null;
    const old = box.remove(folder, id);
    if (old && folder === 'sent') this.forgetSent(old);
    if (!message) {
      if (folder === 'inbox') this.state.forget(bot, id);
      if (old) this.events.emitActivity({ kind: 'message.delete', bot, by: 'external', path: file, detail: { id } });
      return;
    }
    const meta = box.put(folder, message);
    if (folder === 'sent') this.rememberSent(meta);
    else if (!old) this.events.emitActivity({ kind: 'message.deliver', bot, by: 'external', path: file, detail: { id, from: meta.from, topic: meta.topic, thread: meta.thread } });
  }

  /**
   * Removes topic messages past their topic's retention from every mailbox. A topic's retention is
   * set by a bot, so it removes a bot's copies only once they are older than the shortest retention
   * that bot's own definition accepts (`min_topic_retention_days`) as well.
   */
  async prune(now = Date.now()): Promise<number> {
    const retention = new Map(this.topics.list().flatMap((t) => (t.retention_days ? [[t.name, t.retention_days] as const] : [])));
    if (retention.size === 0) return 0;
    const expired = [...this.boxes].flatMap(([bot, box]) => {
      const floor = this.registry.get(bot)?.minTopicRetentionDays ?? this.limits.minTopicRetentionDays;
      const expires = (m: MessageMeta) => {
        const days = m.topic === undefined ? undefined : retention.get(m.topic);
        return days !== undefined && Date.parse(m.created) < now - Math.max(days, floor) * DAY_MS;
      };
      return (['inbox', 'sent'] as const).flatMap((folder) => [...box.folder(folder).ascending()].filter(expires).map((meta) => ({ bot, box, folder, meta })));
    });
    // One commit line for all of them: their removals are committed together.
    const summary = `remove ${expired.length} message files past their topic's retention`;
    for (const { bot, box, folder, meta } of expired) {
      await this.files.remove(bot, folder, meta.id, { author: 'roost', summary });
      box.remove(folder, meta.id);
      if (folder === 'sent') this.forgetSent(meta);
      else this.state.forget(bot, meta.id);
    }
    return expired.length;
  }

  // ---- internals -----------------------------------------------------------------------

  private box(bot: string): Mailbox {
    let box = this.boxes.get(bot);
    if (!box) {
      box = new Mailbox();
      this.boxes.set(bot, box);
    }
    return box;
  }

  private async load(bot: string): Promise<void> {
    const box = this.box(bot);
    for (const folder of ['inbox', 'sent'] as const) {
      const ids = (await this.files.list(bot, folder)).sort();
      const messages = new Array<Message | null>(ids.length);
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          const i = next++;
          messages[i] = await this.files.read(bot, folder, ids[i]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
      for (const message of messages) {
        if (!message) continue;
        const meta = box.put(folder, message);
        if (folder === 'sent') this.rememberSent(meta);
      }
    }
    await this.state.load(bot, new Set(Array.from(box.inbox.ascending(), (m) => m.id)));
  }

  private rememberSent(meta: MessageMeta): void {
    if (!meta.topic) return;
    let list = this.topicMessages.get(meta.topic);
    if (!list) {
      list = new SortedMessages();
      this.topicMessages.set(meta.topic, list);
    }
    list.put(meta);
  }

  private forgetSent(meta: MessageMeta): void {
    if (meta.topic) this.topicMessages.get(meta.topic)?.delete(meta.id);
  }

  /** A message of the bot's mail with its body and state: read or acked (inbox), or who got and acknowledged it (sent). */
  private async described(bot: string, folder: Folder, meta: MessageMeta) {
    const message = (await this.files.read(bot, folder, meta.id)) ?? { ...meta, body: '' };
    return {
      ...shown({ ...message, size: meta.size }),
      folder,
      ...(folder === 'inbox' ? { status: this.statusOf(bot, meta.id) } : { recipients: meta.recipients, ...this.acksOf(meta) }),
    };
  }

  private statusOf(bot: string, id: string): MessageStatus {
    return this.state.isAcked(bot, id) ? 'acked' : this.state.isRead(bot, id) ? 'read' : 'unread';
  }

  private unreadCount(bot: string): number {
    let count = 0;
    for (const meta of this.box(bot).inbox.ascending()) if (!this.state.isRead(bot, meta.id)) count++;
    return count;
  }

  /** Who of the recipients acknowledged a message that asked for it. */
  private acksOf(meta: MessageMeta): { acked_by?: string[] } {
    if (!meta.ack_required) return {};
    return { acked_by: meta.recipients.filter((bot) => this.state.isAcked(bot, meta.id)) };
  }

  private inboxFilter(bot: string, query: InboxQuery): (meta: MessageMeta) => boolean {
    const keep = filterOf(query);
    switch (query.status) {
      case 'unread':
        return (meta) => !this.state.isRead(bot, meta.id) && keep(meta);
      case 'unacked':
        return (meta) => !this.state.isAcked(bot, meta.id) && keep(meta);
      case 'all':
        return keep;
    }
  }

  /** The page's messages with their bodies; a file deleted meanwhile is left out. */
  private async withBodies(bot: string, folder: Folder, page: MessageMeta[]): Promise<Array<Message & { size: number }>> {
    const read = await Promise.all(page.map(async (meta) => ({ meta, message: await this.files.read(bot, folder, meta.id) })));
    return read.flatMap(({ meta, message }) => (message ? [{ ...message, size: meta.size }] : []));
  }
}

/** Takes a message's request fields as the sender gave them, with defaults filled in. */
function normalize(request: SendRequest): Message {
  const body = request.body ?? '';
  return {
    id: '',
    from: '',
    to: [...new Set(request.to.map((entry) => entry.trim()).filter(Boolean))],
    recipients: [],
    thread: request.thread?.trim() ?? '',
    ...(request.reply_to !== undefined ? { reply_to: request.reply_to.trim() } : {}),
    subject: request.subject?.trim() || subjectOf(body),
    created: '',
    priority: request.priority ?? 'normal',
    ack_required: request.ack_required ?? false,
    ...(request.idempotency_key !== undefined ? { idempotency_key: request.idempotency_key } : {}),
    body,
  };
}

function filterOf(filter: MessageFilter): (meta: MessageMeta) => boolean {
  const topic = filter.topic?.replace(/^#/, '');
  const rank = filter.priority ? PRIORITIES.indexOf(filter.priority) : 0;
  const since = filter.since === undefined ? undefined : Date.parse(filter.since);
  if (since !== undefined && Number.isNaN(since)) {
    throw new UserError(`since "${filter.since}" is not a date: use ISO 8601, e.g. "2026-05-01" or "2026-05-01T12:00:00Z".`);
  }
  return (meta) =>
    (filter.from === undefined || meta.from === filter.from) &&
    (topic === undefined || meta.topic === topic) &&
    (filter.thread === undefined || meta.thread === filter.thread) &&
    PRIORITIES.indexOf(meta.priority) >= rank &&
    (since === undefined || Date.parse(meta.created) >= since);
}

/** A message as shown to a reader: its provenance and content, without delivery bookkeeping. */
function shown(m: Message & { size: number }): ShownMessage {
  const { recipients: _recipients, idempotency_key: _key, ...rest } = m;
  return rest;
}

/** `send "Deploy plan" to research, #ops (3 recipients)` */
function liveOf(m: Message): LiveMessage {
  return { id: m.id, from: m.from, to: m.to.join(', '), subject: m.subject, body: m.body, created: m.created, thread: m.thread, topic: m.topic, priority: m.priority };
}

function createdSince(newestFirst: Iterable<MessageMeta>, since: string): string[] {
  const times: string[] = [];
  for (const meta of newestFirst) {
    if (meta.created < since) break;
    times.push(meta.created);
  }
  return times;
}
