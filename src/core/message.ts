import { createHash } from 'node:crypto';
import { parseNote, serializeNote, stringOf } from './notes.js';
import { isMessageId } from './paths.js';

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** A message as stored: every copy (each recipient's and the sender's) has the same text. */
export interface Message {
  /** Sorts by creation time; also the file name. */
  id: string;
  from: string;
  /** As addressed: bot ids and `#topic` names. */
  to: string[];
  /** Every bot that got a copy. */
  recipients: string[];
  topic?: string;
  thread: string;
  reply_to?: string;
  subject: string;
  created: string;
  priority: Priority;
  ack_required: boolean;
  idempotency_key?: string;
  body: string;
}

/** What the mail views keep of a message; the body stays on disk. */
export type MessageMeta = Omit<Message, 'body'> & {
  /** Bytes of the body. */
  size: number;
};

export type Folder = 'inbox' | 'sent';

export function mailPath(bot: string, folder: Folder, id: string): string {
  return `mail/${bot}/${folder}/${id}.md`;
}

/** `mail/<bot>/<folder>/<id>.md` split into its parts, or null for any other path. */
export function parseMailPath(file: string): { bot: string; folder: Folder; id: string } | null {
  const match = /^mail\/([^/]+)\/(inbox|sent)\/([^/]+)\.md$/.exec(file);
  if (!match || !isMessageId(match[3])) return null;
  return { bot: match[1], folder: match[2] as Folder, id: match[3] };
}

/**
 * Message ids per sender: `<UTC time to the millisecond>-<sender>-<sequence>`, e.g.
 * `20261123T201312123Z-dev-000`. They increase strictly for each sender, even when the clock
 * stands still or steps back, so a sender's messages sort in the order they were sent.
 */
export class IdClock {
  private last = { ms: 0, seq: 0 };

  /** Continues after an id this sender already used (from its files). */
  seen(id: string): void {
    const parsed = /^(\d{8}T\d{9}Z)-.+-(\d{3})$/.exec(id);
    if (!parsed) return;
    const ms = Date.parse(parsed[1].replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{3})Z$/, '$1-$2-$3T$4:$5:$6.$7Z'));
    const seq = Number(parsed[2]);
    if (ms > this.last.ms || (ms === this.last.ms && seq > this.last.seq)) this.last = { ms, seq };
  }

  next(sender: string, now = Date.now()): { id: string; created: string } {
    let ms = Math.max(now, this.last.ms);
    let seq = ms === this.last.ms ? this.last.seq + 1 : 0;
    if (seq > 999) {
      ms += 1;
      seq = 0;
    }
    this.last = { ms, seq };
    const created = new Date(ms).toISOString();
    return { id: `${created.replace(/[-:.]/g, '')}-${sender}-${String(seq).padStart(3, '0')}`, created };
  }
}

export function serializeMessage(m: Message): string {
  return serializeNote(
    {
      id: m.id,
      from: m.from,
      to: m.to,
      recipients: m.recipients,
      topic: m.topic,
      thread: m.thread,
      reply_to: m.reply_to,
      subject: m.subject,
      created: m.created,
      priority: m.priority,
      ack_required: m.ack_required,
      idempotency_key: m.idempotency_key,
    },
    m.body,
  );
}

/**
 * Reads a message file. The file name gives the id; a file written by hand with missing or
 * odd fields still reads as a message (sender "unknown", thread = its id, normal priority,
 * `created` empty when it has no valid one).
 */
export function parseMessage(id: string, text: string): Message {
  const { frontmatter: fm, body } = parseNote(text);
  const priority = stringOf(fm.priority) as Priority;
  const created = stringOf(fm.created);
  const topic = stringOf(fm.topic);
  const replyTo = stringOf(fm.reply_to);
  const key = stringOf(fm.idempotency_key);
  return {
    id,
    from: stringOf(fm.from) || 'unknown',
    to: list(fm.to),
    recipients: list(fm.recipients),
    ...(topic ? { topic } : {}),
    thread: stringOf(fm.thread) || id,
    ...(replyTo ? { reply_to: replyTo } : {}),
    subject: stringOf(fm.subject) || subjectOf(body),
    created: Number.isNaN(Date.parse(created)) ? '' : created,
    priority: PRIORITIES.includes(priority) ? priority : 'normal',
    ack_required: fm.ack_required === true,
    ...(key ? { idempotency_key: key } : {}),
    body,
  };
}

/** What a retried send must repeat to count as the same request (its thread and id are derived). */
export function requestDigest(m: Pick<Message, 'to' | 'subject' | 'body' | 'reply_to' | 'priority' | 'ack_required'>): string {
  const request = [m.to, m.subject, m.body, m.reply_to ?? null, m.priority, m.ack_required];
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

export function metaOf(message: Message): MessageMeta {
  const { body, ...meta } = message;
  return { ...meta, size: Buffer.byteLength(body) };
}

/** A subject from the body's first non-empty line, for messages sent without one. */
export function subjectOf(body: string): string {
  const line = body.split('\n').find((l) => l.trim() !== '') ?? '';
  const text = line.replace(/^#+\s*/, '').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value) return [value];
  return [];
}
