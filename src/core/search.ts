import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import MiniSearch, { type Options } from 'minisearch';
import { UserError } from './errors.js';

export type Visibility = 'private' | 'shared';

export interface NoteDoc {
  bot: string;
  /** Relative to the bot's folder, posix, e.g. 'notes/plan.md'. */
  path: string;
  title: string;
  tags: string[];
  /** '' when none. */
  type: string;
  visibility: Visibility;
  /** ISO 8601, '' when unknown. */
  created: string;
  updated: string;
  /** Indexed, not kept in memory. */
  body: string;
  /** Of the file, to reconcile with the disk. */
  mtimeMs: number;
  size: number;
}

export type NoteMeta = Omit<NoteDoc, 'body'>;

/** sharedOnly: only the shard's notes with visibility 'shared'. */
export interface ShardScope {
  bot: string;
  sharedOnly: boolean;
}

export interface SearchOptions {
  scopes: ShardScope[];
  /** Every tag must be on the note (case-insensitive). */
  tags?: string[];
  /** Case-insensitive. */
  type?: string;
  /** ISO dates on `updated`: after is inclusive, before exclusive. Notes without a valid `updated` never match them. */
  updatedAfter?: string;
  updatedBefore?: string;
  /** Default true. */
  prefix?: boolean;
  /** Default true: one edit in terms of 3 letters or more (MiniSearch fuzzy 0.2, capped at one edit). */
  fuzzy?: boolean;
  /** Default 10. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

export interface SearchHit extends NoteMeta {
  score: number;
  /** The note's terms that matched, for snippets. */
  terms: string[];
}

export interface SearchResult {
  total: number;
  hits: SearchHit[];
}

/** Bump when the index options or the file layout change: older snapshots are then rebuilt. */
const FORMAT = 1;

const INDEX_OPTIONS: Options<NoteDoc> = {
  idField: 'id',
  fields: ['title', 'tags', 'path', 'body'],
  extractField: (doc, field) => {
    switch (field) {
      case 'id':
        return doc.path;
      case 'tags':
        return doc.tags.join(' ');
      case 'path':
        // The default tokenizer splits on '/', '.', '-' and '_'; '.md' would only be noise.
        return doc.path.replace(/\.md$/i, '');
      default:
        return doc[field as 'title' | 'body'];
    }
  },
  searchOptions: { boost: { title: 3, tags: 2, path: 1.5, body: 1 } },
};

/** Prefixes shorter than this match so many terms that they cost much and mean little. */
const MIN_PREFIX = 3;

interface Entry {
  meta: NoteMeta;
  /** `meta.updated` parsed once, for date filters and listing; -Infinity when missing or invalid. */
  updated: number;
}

interface Shard {
  index: MiniSearch<NoteDoc>;
  notes: Map<string, Entry>;
  /** Changed since its snapshot was written. */
  dirty: boolean;
}

/** A ranked hit before paging: `key` is the score, or the update time for an empty query. */
interface Candidate {
  key: number;
  meta: NoteMeta;
  terms: string[];
}

/**
 * The search index of every bot's notes: one MiniSearch shard per bot, with the notes'
 * metadata beside it (bodies are indexed, not kept), saved as snapshots so a restart loads
 * instead of rebuilding.
 */
export class SearchIndex {
  private readonly shards = new Map<string, Shard>();
  /** Bots removed since the last save, whose snapshot files are to be deleted. */
  private readonly removedBots = new Set<string>();
  private saving: Promise<void> = Promise.resolve();

  /** @param snapshotDir where shard snapshots go, e.g. `<data root>/.roost/index` */
  constructor(private readonly snapshotDir: string) {}

  /** Adds or replaces a note; it is searchable when this returns. */
  upsert(doc: NoteDoc): void {
    const shard = this.shard(doc.bot);
    // replace() discards the old version; MiniSearch's auto-vacuum then frees it in the background.
    if (shard.index.has(doc.path)) shard.index.replace(doc);
    else shard.index.add(doc);
    const { body: _body, ...meta } = doc;
    shard.notes.set(doc.path, { meta, updated: timeOf(meta.updated) });
    shard.dirty = true;
  }

  remove(bot: string, path: string): void {
    const shard = this.shards.get(bot);
    if (!shard?.notes.delete(path)) return;
    shard.index.discard(path);
    shard.dirty = true;
  }

  removeBot(bot: string): void {
    if (this.shards.delete(bot)) this.removedBots.add(bot);
  }

  get(bot: string, path: string): NoteMeta | undefined {
    return this.shards.get(bot)?.notes.get(path)?.meta;
  }

  /** Every note of a shard. */
  list(bot: string): NoteMeta[] {
    return Array.from(this.shards.get(bot)?.notes.values() ?? [], (e) => e.meta);
  }

  bots(): string[] {
    return [...this.shards.keys()];
  }

  /**
   * Searches the scoped shards and merges their hits by score (ties: bot, then path).
   * An empty query lists the scoped notes instead, newest `updated` first, with score 0.
   */
  search(query: string, options: SearchOptions): SearchResult {
    const offset = options.offset ?? 0;
    const wanted = offset + (options.limit ?? 10);
    const matches = noteFilter(options);
    const listing = query.trim() === '';
    const top: Candidate[] = [];
    let total = 0;

    for (const [bot, sharedOnly] of mergeScopes(options.scopes)) {
      const shard = this.shards.get(bot);
      if (!shard) continue;
      const keep = (e: Entry | undefined): e is Entry =>
        e !== undefined && (!sharedOnly || e.meta.visibility === 'shared') && matches(e);

      if (listing) {
        for (const e of shard.notes.values()) {
          if (!keep(e)) continue;
          total++;
          offer(top, wanted, e.updated, e.meta, []);
        }
        continue;
      }
      const results = shard.index.search(query, {
        prefix: options.prefix === false ? false : (term) => term.length >= MIN_PREFIX,
        fuzzy: options.fuzzy === false ? false : 0.2,
        // Two edits (0.2 × 8+ letters) mostly add noise and cost several times one edit.
        maxFuzzy: 1,
        filter: (r) => keep(shard.notes.get(r.id)),
      });
      total += results.length;
      for (const r of results) {
        // Results come sorted by score: once one can't make the page, none after it can.
        if (!offer(top, wanted, r.score, shard.notes.get(r.id)!.meta, r.terms)) break;
      }
    }

    const hits = top.slice(offset).map((c): SearchHit => ({ ...c.meta, score: listing ? 0 : c.key, terms: c.terms }));
    return { total, hits };
  }

  /**
   * Loads the shard's snapshot, replacing the shard in memory. Returns false, never throws,
   * when it is missing, corrupt or of another format: the caller then rebuilds with reconcile.
   */
  async loadSnapshot(bot: string): Promise<boolean> {
    let shard: Shard;
    try {
      const data = JSON.parse(await readFile(this.snapshotFile(bot), 'utf8')) as Snapshot;
      if (data?.version !== FORMAT || !Array.isArray(data.notes)) return false;
      const index = MiniSearch.loadJS(data.index, INDEX_OPTIONS);
      const notes = new Map(data.notes.map((meta) => [meta.path, { meta, updated: timeOf(meta.updated) }]));
      const consistent =
        index.documentCount === notes.size && data.notes.every((m) => m.bot === bot && index.has(m.path));
      if (!consistent) return false;
      shard = { index, notes, dirty: false };
    } catch {
      return false;
    }
    this.shards.set(bot, shard);
    this.removedBots.delete(bot);
    return true;
  }

  /**
   * Brings a shard in line with the files on disk: drops notes not in `files` and reads
   * (with `read`) only files that are new or whose mtimeMs or size changed. A file `read`
   * returns null for is left out of the index.
   */
  async reconcile(
    bot: string,
    files: Array<{ path: string; mtimeMs: number; size: number }>,
    read: (path: string) => Promise<NoteDoc | null>,
  ): Promise<{ added: number; updated: number; removed: number }> {
    const counts = { added: 0, updated: 0, removed: 0 };
    const shard = this.shard(bot);
    const onDisk = new Set(files.map((f) => f.path));
    for (const path of [...shard.notes.keys()]) {
      if (!onDisk.has(path)) {
        this.remove(bot, path);
        counts.removed++;
      }
    }
    const changed = files.filter((f) => {
      const known = shard.notes.get(f.path)?.meta;
      return !known || known.mtimeMs !== f.mtimeMs || known.size !== f.size;
    });
    let next = 0;
    const worker = async () => {
      while (next < changed.length) {
        const { path } = changed[next++];
        const existed = shard.notes.has(path);
        const doc = await read(path);
        if (doc) {
          this.upsert(doc);
          counts[existed ? 'updated' : 'added']++;
        } else if (existed) {
          // No longer readable as a note: an index entry would be stale.
          this.remove(bot, path);
          counts.removed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, changed.length) }, worker));
    return counts;
  }

  /** Writes the snapshots of shards changed since their last save, atomically. */
  saveSnapshots(): Promise<void> {
    // One save at a time, so two never write the same temp file; a failed save doesn't block later ones.
    this.saving = this.saving.catch(() => {}).then(() => this.writeSnapshots());
    return this.saving;
  }

  private async writeSnapshots(): Promise<void> {
    await mkdir(this.snapshotDir, { recursive: true });
    for (const bot of [...this.removedBots]) {
      this.removedBots.delete(bot);
      if (!this.shards.has(bot)) await rm(this.snapshotFile(bot), { force: true });
    }
    for (const [bot, shard] of [...this.shards]) {
      if (!shard.dirty) continue;
      const snapshot: Snapshot = { version: FORMAT, notes: this.list(bot), index: shard.index.toJSON() };
      const json = JSON.stringify(snapshot);
      shard.dirty = false;
      try {
        await writeAtomically(this.snapshotFile(bot), json);
      } catch (error) {
        shard.dirty = true;
        throw error;
      }
    }
  }

  private shard(bot: string): Shard {
    let shard = this.shards.get(bot);
    if (!shard) {
      shard = { index: new MiniSearch(INDEX_OPTIONS), notes: new Map(), dirty: true };
      this.shards.set(bot, shard);
    }
    return shard;
  }

  private snapshotFile(bot: string): string {
    if (!/^[\w-]+$/.test(bot)) throw new Error(`Invalid bot id for a snapshot file: ${JSON.stringify(bot)}`);
    return join(this.snapshotDir, `${bot}.json`);
  }
}

interface Snapshot {
  version: number;
  notes: NoteMeta[];
  index: ReturnType<MiniSearch['toJSON']>;
}

function timeOf(iso: string): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

/** One entry per bot; a bot in several scopes is searched once, as widely as any scope allows. */
function mergeScopes(scopes: ShardScope[]): Map<string, boolean> {
  const merged = new Map<string, boolean>();
  for (const { bot, sharedOnly } of scopes) merged.set(bot, (merged.get(bot) ?? true) && sharedOnly);
  return merged;
}

function noteFilter(options: SearchOptions): (e: Entry) => boolean {
  const tags = options.tags?.map((t) => t.toLowerCase()) ?? [];
  const type = options.type?.toLowerCase();
  const after = dateOption('updatedAfter', options.updatedAfter) ?? -Infinity;
  const before = dateOption('updatedBefore', options.updatedBefore) ?? Infinity;
  const dated = after !== -Infinity || before !== Infinity;
  return ({ meta, updated }) =>
    (type === undefined || meta.type.toLowerCase() === type) &&
    (!dated || (updated !== -Infinity && updated >= after && updated < before)) &&
    tags.every((t) => meta.tags.some((own) => own.toLowerCase() === t));
}

function dateOption(name: string, value: string | undefined): number | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new UserError(`${name} "${value}" is not a date: use ISO 8601, e.g. "2024-05-01" or "2024-05-01T12:00:00Z".`);
  }
  return time;
}

/** Orders by key descending, then bot, then path. */
function ranksBefore(key: number, meta: NoteMeta, other: Candidate): boolean {
  if (key !== other.key) return key > other.key;
  if (meta.bot !== other.meta.bot) return meta.bot < other.meta.bot;
  return meta.path < other.meta.path;
}

/**
 * Keeps `top` as the best `size` candidates in order, without sorting everything seen.
 * Returns false when the candidate does not make it.
 */
function offer(top: Candidate[], size: number, key: number, meta: NoteMeta, terms: string[]): boolean {
  if (top.length >= size && (size <= 0 || !ranksBefore(key, meta, top[size - 1]))) return false;
  let lo = 0;
  let hi = top.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranksBefore(key, meta, top[mid])) hi = mid;
    else lo = mid + 1;
  }
  top.splice(lo, 0, { key, meta, terms });
  if (top.length > size) top.pop();
  return true;
}

async function writeAtomically(file: string, data: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/** A window of `body` around the first of `terms`, whitespace collapsed, with '…' where cut. */
export function snippet(body: string, terms: string[], maxLength = 200): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (text.length <= maxLength) return text;
  const at = firstTerm(text, terms);
  // Room for the two '…'; start a little before the term so it reads in context.
  const room = maxLength - 2;
  let start = Math.max(0, Math.min(at - Math.floor(room / 4), text.length - room));
  let end = start + room;
  if (start > 0 && text[start - 1] !== ' ') {
    const space = text.indexOf(' ', start);
    if (space !== -1 && space < at) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > Math.max(start, at)) end = space;
  }
  return `${start > 0 ? '…' : ''}${text.slice(start, end).trim()}${end < text.length ? '…' : ''}`;
}

/** Index of the earliest term starting a word (case-insensitive), 0 when none is found. */
function firstTerm(text: string, terms: string[]): number {
  const words = terms.filter((t) => t !== '').map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0) return 0;
  const match = new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.join('|')})`, 'iu').exec(text);
  return match?.index ?? 0;
}
