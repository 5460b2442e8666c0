import MiniSearch from 'minisearch';
import { RANKING } from './search/ranking.js';
import { queryTerms, terms } from './search/tokenizer.js';
import { type Folder, IdClock, type Message, type MessageMeta, metaOf, requestDigest } from './message.js';

/** Messages sorted by id (time of sending), with lookup by id. */
export class SortedMessages {
  private readonly list: MessageMeta[] = [];
  private readonly byId = new Map<string, MessageMeta>();

  get size(): number {
    return this.list.length;
  }

  get(id: string): MessageMeta | undefined {
    return this.byId.get(id);
  }

  /** Adds or replaces a message; most arrive in order, so this is mostly a push. */
  put(meta: MessageMeta): void {
    if (this.byId.has(meta.id)) this.list[this.indexOf(meta.id)] = meta;
    else if (this.list.length === 0 || this.list[this.list.length - 1].id < meta.id) this.list.push(meta);
    else this.list.splice(this.indexOf(meta.id), 0, meta);
    this.byId.set(meta.id, meta);
  }

  delete(id: string): boolean {
    if (!this.byId.delete(id)) return false;
    this.list.splice(this.indexOf(id), 1);
    return true;
  }

  /** Oldest first, starting after the id `after` when given. */
  *ascending(after?: string): Generator<MessageMeta> {
    for (let i = after === undefined ? 0 : this.upperBound(after); i < this.list.length; i++) yield this.list[i];
  }

  /** Newest first, starting before the id `before` when given. */
  *descending(before?: string): Generator<MessageMeta> {
    for (let i = (before === undefined ? this.list.length : this.lowerBound(before)) - 1; i >= 0; i--) yield this.list[i];
  }

  private indexOf(id: string): number {
    return this.lowerBound(id);
  }

  /** First index whose id is >= `id`. */
  private lowerBound(id: string): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid].id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose id is > `id`. */
  private upperBound(id: string): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid].id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

interface IndexedMessage {
  /** `<folder>/<id>` */
  key: string;
  subject: string;
  body: string;
  from: string;
  to: string;
}

export interface MailHit {
  folder: Folder;
  meta: MessageMeta;
  score: number;
  terms: string[];
}

/** A mailbox's search index is dropped after this long without a search, and built again when needed. */
export const INDEX_IDLE_MS = 10 * 60_000;

/**
 * What the daemon knows of one bot's mail: its inbox, its sent messages, and, while the bot
 * searches its mail, a full-text index of both (a message costs the index about ten times its
 * metadata, so it is kept only while used).
 */
export class Mailbox {
  readonly inbox = new SortedMessages();
  readonly sent = new SortedMessages();
  readonly clock = new IdClock();
  /** The bot's idempotency keys: key → the message first sent with it and a digest of its request. */
  readonly keys = new Map<string, { id: string; digest: string }>();
  private index?: MiniSearch<IndexedMessage>;
  /** The filling of `index` from the message files, which every search waits for. */
  private built?: Promise<void>;
  private lastSearch = 0;

  folder(folder: Folder): SortedMessages {
    return folder === 'inbox' ? this.inbox : this.sent;
  }

  put(folder: Folder, message: Message): MessageMeta {
    const meta = metaOf(message);
    this.folder(folder).put(meta);
    if (this.index) indexMessage(this.index, folder, message);
    if (folder === 'sent') {
      this.clock.seen(message.id);
      if (message.idempotency_key) this.keys.set(message.idempotency_key, { id: message.id, digest: requestDigest(message) });
    }
    return meta;
  }

  remove(folder: Folder, id: string): MessageMeta | undefined {
    const meta = this.folder(folder).get(id);
    if (!meta) return undefined;
    this.folder(folder).delete(id);
    if (this.index?.has(`${folder}/${id}`)) this.index.discard(`${folder}/${id}`);
    if (folder === 'sent' && meta.idempotency_key && this.keys.get(meta.idempotency_key)?.id === id) this.keys.delete(meta.idempotency_key);
    return meta;
  }

  /** Searches subject, body, sender and recipients; builds the index from the message files first if it was dropped. */
  async search(query: string, keep: (folder: Folder, meta: MessageMeta) => boolean, read: (folder: Folder, id: string) => Promise<Message | null>): Promise<MailHit[]> {
    this.lastSearch = Date.now();
    if (!this.index) this.built = this.build(read);
    const index = this.index!;
    await this.built;
    const hits: MailHit[] = [];
    for (const result of index.search(query)) {
      const [folder, id] = splitKey(String(result.id));
      const meta = this.folder(folder).get(id);
      if (meta && keep(folder, meta)) hits.push({ folder, meta, score: result.score, terms: result.terms });
    }
    return hits;
  }

  /** Drops the search index if no search used it for `INDEX_IDLE_MS`. */
  dropIdleIndex(now = Date.now()): void {
    if (now - this.lastSearch < INDEX_IDLE_MS) return;
    this.index = undefined;
    this.built = undefined;
  }

  /** Sets a new index at once (messages put while the files are read go straight into it), then fills it. */
  private async build(read: (folder: Folder, id: string) => Promise<Message | null>): Promise<void> {
    const index = newIndex();
    this.index = index;
    try {
      for (const folder of ['inbox', 'sent'] as const) {
        for (const { id } of [...this.folder(folder).ascending()]) {
          const message = await read(folder, id);
          // Removed meanwhile, or already put.
          if (message && this.folder(folder).get(id) && !index.has(`${folder}/${id}`)) indexMessage(index, folder, message);
        }
      }
    } catch (error) {
      // Half filled: the next search builds it again.
      if (this.index === index) this.index = undefined;
      throw error;
    }
  }
}

/** Mail is tokenized and matched as notes are (search/ranking.ts). */
function newIndex(): MiniSearch<IndexedMessage> {
  return new MiniSearch<IndexedMessage>({
    idField: 'key',
    fields: ['subject', 'body', 'from', 'to'],
    tokenize: terms,
    processTerm: (term) => term,
    searchOptions: {
      tokenize: queryTerms,
      boost: { subject: 2, from: 1.5, to: 1.5 },
      prefix: (term) => term.length >= RANKING.minPrefix,
      fuzzy: (term) => RANKING.maxEdits(term) || false,
      weights: { prefix: RANKING.prefixWeight, fuzzy: RANKING.fuzzyWeight },
    },
  });
}

function indexMessage(index: MiniSearch<IndexedMessage>, folder: Folder, message: Message): void {
  const doc = { key: `${folder}/${message.id}`, subject: message.subject, body: message.body, from: message.from, to: message.to.join(' ') };
  if (index.has(doc.key)) index.replace(doc);
  else index.add(doc);
}

function splitKey(key: string): [Folder, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash) as Folder, key.slice(slash + 1)];
}
