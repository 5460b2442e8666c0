import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import SearchableMap from 'minisearch/SearchableMap';
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

/** Bump when the tokenizing, the scoring or the file layout change: older snapshots are then rebuilt. */
const FORMAT = 2;

/** The indexed fields, by number, and how much a match in each counts (title > tags > path > body). */
const FIELDS = ['title', 'tags', 'path', 'body'] as const;
const BOOSTS = [3, 2, 1.5, 1];

/** Prefixes shorter than this match so many terms that they cost much and mean little. */
const MIN_PREFIX = 3;

/** MiniSearch's defaults: the weights of prefix and fuzzy matches against an exact one, and BM25+ parameters. */
const PREFIX_WEIGHT = 0.375;
const FUZZY_WEIGHT = 0.45;
const BM25 = { k: 1.2, b: 0.7, d: 0.5 };

const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];

/**
 * A posting is one number: document << 10 | field << 8 | term frequency (capped at 255, where
 * BM25 has long saturated): 4 bytes in an Int32Array, where a Map entry per posting (MiniSearch's
 * own index) costs about twenty times more.
 */
const MAX_TF = 255;
const MAX_DOCS = 1 << 21;
const posting = (doc: number, field: number, tf: number) => doc * 1024 + field * 256 + Math.min(tf, MAX_TF);
const docOf = (p: number) => p >>> 10;
const fieldOf = (p: number) => (p >>> 8) & 3;
const tfOf = (p: number) => p & 255;

/**
 * Every distinct term of every shard, once, in MiniSearch's radix tree: a query's prefix and fuzzy
 * expansions are found here once, not once per shard. A term is dropped when no shard has it.
 */
class Vocabulary {
  /** Exact lookups, many times faster than the tree's. */
  private readonly ids = new Map<string, number>();
  private readonly tree = new SearchableMap<number>();
  private readonly terms: string[] = [];
  /** How many shards have postings for each term. */
  private readonly uses: number[] = [];
  private readonly free: number[] = [];

  id(term: string): number | undefined {
    return this.ids.get(term);
  }

  term(id: number): string {
    return this.terms[id];
  }

  /** A shard starts using `term`. */
  acquire(term: string): number {
    let id = this.ids.get(term);
    if (id === undefined) {
      id = this.free.pop() ?? this.terms.length;
      this.ids.set(term, id);
      this.tree.set(term, id);
      this.terms[id] = term;
      this.uses[id] = 0;
    }
    this.uses[id]++;
    return id;
  }

  /** A shard no longer has postings for term `id`. */
  release(id: number): void {
    if (--this.uses[id] > 0) return;
    this.ids.delete(this.terms[id]);
    this.tree.delete(this.terms[id]);
    this.terms[id] = '';
    this.free.push(id);
  }

  /** The terms a query term matches, with their weights as MiniSearch gives them: exact 1, prefix and fuzzy less with distance. */
  expand(term: string, prefix: boolean, maxDistance: number): Array<[id: number, weight: number]> {
    const found = new Map<number, number>();
    const exact = this.ids.get(term);
    if (exact !== undefined) found.set(exact, 1);
    if (prefix) {
      for (const [t, id] of this.tree.atPrefix(term)) {
        const distance = t.length - term.length;
        if (distance) found.set(id, (PREFIX_WEIGHT * t.length) / (t.length + 0.3 * distance));
      }
    }
    if (maxDistance) {
      for (const [t, [id, distance]] of this.tree.fuzzyGet(term, maxDistance)) {
        if (distance && !found.has(id)) found.set(id, (FUZZY_WEIGHT * t.length) / (t.length + distance));
      }
    }
    return [...found];
  }
}

/**
 * Many lists of integers in one Int32Array: list i is `data[starts[i]]` to `data[starts[i] + lengths[i] - 1]`.
 * One buffer instead of an array per list spares the header of each of hundreds of thousands of
 * small lists. A list that outgrows its room moves to the end of the buffer with twice the room;
 * when the buffer is full, the lists are packed into a new one, without the space they moved out of.
 */
class Lists {
  data: Int32Array;
  starts: Int32Array;
  lengths: Int32Array;
  private capacities: Int32Array;
  /** Where the unused end of `data` begins. */
  private end: number;

  /** @param lengths of the lists `data` holds one after the other (none by default) */
  constructor(data: Int32Array = new Int32Array(0), lengths: Int32Array = new Int32Array(0)) {
    this.data = data;
    this.lengths = lengths;
    this.capacities = lengths.slice();
    this.starts = new Int32Array(lengths.length);
    let at = 0;
    for (let i = 0; i < lengths.length; i++) {
      this.starts[i] = at;
      at += lengths[i];
    }
    this.end = at;
  }

  /** A view of the list, valid until the lists next change. */
  values(list: number): Int32Array {
    return this.data.subarray(this.starts[list], this.starts[list] + this.lengths[list]);
  }

  has(list: number, value: number): boolean {
    return this.values(list).includes(value);
  }

  push(list: number, value: number): void {
    const length = this.lengths[list] ?? 0;
    this.reserve(list, length + 1, Math.max(4, 2 * length));
    this.data[this.starts[list] + this.lengths[list]++] = value;
  }

  /** Replaces the list's values. */
  set(list: number, values: ArrayLike<number>): void {
    if (list < this.lengths.length) this.lengths[list] = 0;
    this.reserve(list, values.length, values.length);
    this.data.set(values, this.starts[list]);
    this.lengths[list] = values.length;
  }

  /** Keeps the values `keep` says yes to, in order; returns how many are left. */
  filter(list: number, keep: (value: number) => boolean): number {
    const values = this.values(list);
    let kept = 0;
    for (const value of values) if (keep(value)) values[kept++] = value;
    this.lengths[list] = kept;
    return kept;
  }

  /** Makes room for `needed` values in the list, moving it to the end with room for `capacity` when it has too little. */
  private reserve(list: number, needed: number, capacity: number): void {
    if (list >= this.starts.length) {
      const count = Math.max(list + 1, 2 * this.starts.length);
      this.starts = grown(this.starts, count);
      this.lengths = grown(this.lengths, count);
      this.capacities = grown(this.capacities, count);
    }
    if (needed <= this.capacities[list]) return;
    if (this.end + capacity > this.data.length) this.pack(capacity);
    const start = this.starts[list];
    this.data.copyWithin(this.end, start, start + this.lengths[list]);
    this.starts[list] = this.end;
    this.capacities[list] = capacity;
    this.end += capacity;
  }

  /**
   * Copies the lists into a new buffer with room for `extra` more values and a quarter more. Each
   * keeps its room up to twice its length: without room, every list that grows would move again.
   */
  private pack(extra: number): void {
    let used = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      this.capacities[i] = Math.min(this.capacities[i], 2 * this.lengths[i]);
      used += this.capacities[i];
    }
    const data = new Int32Array(Math.ceil((used + extra) * 1.25));
    let at = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      data.set(this.values(i), at);
      this.starts[i] = at;
      at += this.capacities[i];
    }
    this.data = data;
    this.end = at;
  }
}

/** `array` when it has `length` elements, else a copy with that many (or twice as many when that is more), zeros after. */
function grown<T extends Int32Array | Float64Array>(array: T, length: number): T {
  if (length <= array.length) return array;
  const copy = new (array.constructor as new (length: number) => T)(Math.max(length, 2 * array.length));
  copy.set(array);
  return copy;
}

/**
 * A shard's terms, numbered densely (slots), and the slot of each vocabulary id, found by open
 * addressing in an Int32Array: a Map costs three times more, with an entry per term and shard.
 */
class TermSlots {
  /** By slot: the vocabulary id; -1 for a free slot. */
  private ids = new Int32Array(0);
  private slots = 0;
  private readonly free: number[] = [];
  /** Per bucket: slot + 1; 0 when empty, -1 when its entry was removed (lookups go on past it). */
  private buckets = new Int32Array(16);
  /** 32 - log2(buckets.length). */
  private shift = 28;
  /** Buckets not empty. */
  private taken = 0;
  private size = 0;

  get(termId: number): number | undefined {
    const mask = this.buckets.length - 1;
    for (let b = this.home(termId); ; b = (b + 1) & mask) {
      const entry = this.buckets[b];
      if (entry === 0) return undefined;
      if (entry > 0 && this.ids[entry - 1] === termId) return entry - 1;
    }
  }

  termId(slot: number): number {
    return this.ids[slot];
  }

  /** Gives a term the shard does not have yet a slot. */
  add(termId: number): number {
    if ((this.taken + 1) * 4 > this.buckets.length * 3) this.rehash();
    const slot = this.free.pop() ?? this.slots++;
    this.ids = grown(this.ids, slot + 1);
    this.ids[slot] = termId;
    this.place(slot);
    this.size++;
    return slot;
  }

  remove(slot: number): void {
    const mask = this.buckets.length - 1;
    let b = this.home(this.ids[slot]);
    while (this.buckets[b] !== slot + 1) b = (b + 1) & mask;
    this.buckets[b] = -1;
    this.ids[slot] = -1;
    this.free.push(slot);
    this.size--;
  }

  /** [vocabulary id, slot] of every term. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let slot = 0; slot < this.slots; slot++) if (this.ids[slot] !== -1) yield [this.ids[slot], slot];
  }

  /** Fibonacci hashing: the top bits of id × 2^32/φ, as many as the buckets need. */
  private home(termId: number): number {
    return Math.imul(termId, 0x9e3779b9) >>> this.shift;
  }

  private place(slot: number): void {
    const mask = this.buckets.length - 1;
    let b = this.home(this.ids[slot]);
    while (this.buckets[b] > 0) b = (b + 1) & mask;
    if (this.buckets[b] === 0) this.taken++;
    this.buckets[b] = slot + 1;
  }

  /** New buckets, at most half full, without the removed entries. */
  private rehash(): void {
    let count = 16;
    this.shift = 28;
    while (count < 2 * (this.size + 1)) {
      count *= 2;
      this.shift--;
    }
    this.buckets = new Int32Array(count);
    this.taken = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.ids[slot] !== -1) this.place(slot);
  }
}

/**
 * One bot's notes and their postings. Terms are numbered per shard (slots), so that a term's
 * postings and a note's terms are lists in `Lists`; per-note numbers are in typed arrays.
 */
interface Shard {
  /** By note number; a removed note leaves a hole that the next new note fills. */
  notes: Array<NoteMeta | undefined>;
  byPath: Map<string, number>;
  holes: number[];
  /** By note: `updated` parsed once, for date filters and listing; -Infinity when missing or invalid. */
  updated: Float64Array;
  /** By note, four in a row: the distinct terms in each field, as BM25 counts a field's length. */
  lengths: Int32Array;
  /** By note: the slots of the terms it has postings under, to remove them again and to report them. */
  noteTerms: Lists;
  /** The terms the shard has postings for. */
  terms: TermSlots;
  /** By slot: the term's postings. */
  postings: Lists;
  /** Sum of each field's length over the shard's notes, for the average BM25 needs. */
  totals: number[];
  /** Changed since its snapshot was written. */
  dirty: boolean;
  /** The sum of the notes' sizes, counted when first asked for and kept up to date after. */
  bytes?: number;
}

/** A ranked hit before paging: `key` is the score, or the update time for an empty query. */
interface Candidate {
  key: number;
  shard: Shard;
  id: number;
}

/**
 * The search index of every bot's notes: one shard per bot (its notes' metadata and postings; bodies
 * are indexed, not kept) over one shared vocabulary, ranked like MiniSearch (BM25+, field boosts,
 * prefix and fuzzy weights). Shards are saved as snapshots so a restart loads instead of rebuilding.
 */
export class SearchIndex {
  private readonly vocabulary = new Vocabulary();
  private readonly shards = new Map<string, Shard>();
  /** Bots removed since the last save, whose snapshot files are to be deleted. */
  private readonly removedBots = new Set<string>();
  private saving: Promise<void> = Promise.resolve();

  /** @param snapshotDir where shard snapshots go, e.g. `<data root>/.roost/index` */
  constructor(private readonly snapshotDir: string) {}

  /** Adds or replaces a note; it is searchable when this returns. */
  upsert(doc: NoteDoc): void {
    const shard = this.shard(doc.bot);
    let id = shard.byPath.get(doc.path);
    if (id !== undefined) this.unindex(shard, id);
    else {
      id = shard.holes.pop() ?? shard.notes.length;
      if (id >= MAX_DOCS) throw new UserError(`${doc.bot}'s memory holds ${MAX_DOCS} notes, the most one bot can have: delete some first.`);
      shard.byPath.set(doc.path, id);
    }
    shard.lengths = grown(shard.lengths, id * 4 + 4);
    shard.updated = grown(shard.updated, id + 1);
    const slots = new Set<number>();
    FIELDS.forEach((field, f) => {
      const counts = termCounts(fieldText(doc, field));
      for (const [term, tf] of counts) {
        const slot = this.slotOf(shard, term);
        shard.postings.push(slot, posting(id, f, tf));
        slots.add(slot);
      }
      shard.lengths[id * 4 + f] = counts.size;
      shard.totals[f] += counts.size;
    });
    shard.noteTerms.set(id, [...slots]);
    if (shard.bytes !== undefined) shard.bytes += doc.size - (shard.notes[id]?.size ?? 0);
    shard.notes[id] = metaOf(doc);
    shard.updated[id] = timeOf(doc.updated);
    shard.dirty = true;
  }

  remove(bot: string, path: string): void {
    const shard = this.shards.get(bot);
    const id = shard?.byPath.get(path);
    if (!shard || id === undefined) return;
    this.unindex(shard, id);
    if (shard.bytes !== undefined) shard.bytes -= shard.notes[id]!.size;
    shard.notes[id] = undefined;
    shard.byPath.delete(path);
    shard.holes.push(id);
    shard.dirty = true;
  }

  removeBot(bot: string): void {
    const shard = this.shards.get(bot);
    if (!shard) return;
    this.drop(shard);
    this.shards.delete(bot);
    this.removedBots.add(bot);
  }

  get(bot: string, path: string): NoteMeta | undefined {
    const shard = this.shards.get(bot);
    const id = shard?.byPath.get(path);
    return id === undefined ? undefined : shard!.notes[id];
  }

  /** Every note of a shard. */
  list(bot: string): NoteMeta[] {
    const shard = this.shards.get(bot);
    return shard ? [...shard.byPath.values()].map((id) => shard.notes[id]!) : [];
  }

  /** The bytes of a shard's notes on disk. */
  bytes(bot: string): number {
    const shard = this.shards.get(bot);
    if (!shard) return 0;
    if (shard.bytes === undefined) {
      shard.bytes = 0;
      for (const id of shard.byPath.values()) shard.bytes += shard.notes[id]!.size;
    }
    return shard.bytes;
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
    const words = [...new Set(tokenize(query).map((t) => t.toLowerCase()).filter(Boolean))].slice(0, 31);
    const expansions = words.map((word) =>
      this.vocabulary.expand(
        word,
        options.prefix !== false && word.length >= MIN_PREFIX,
        // One edit in terms of 3 letters or more: MiniSearch's fuzzy 0.2, capped, since two edits mostly add noise.
        options.fuzzy === false ? 0 : Math.min(1, Math.round(word.length * 0.2)),
      ),
    );
    const top: Candidate[] = [];
    let total = 0;

    for (const [bot, sharedOnly] of mergeScopes(options.scopes)) {
      const shard = this.shards.get(bot);
      if (!shard) continue;
      const keep = (id: number) => {
        const note = shard.notes[id];
        return note !== undefined && (!sharedOnly || note.visibility === 'shared') && matches(note, shard.updated[id]);
      };

      if (words.length === 0) {
        for (let id = 0; id < shard.notes.length; id++) {
          if (!keep(id)) continue;
          total++;
          offer(top, wanted, shard.updated[id], shard, id);
        }
        continue;
      }
      const { ids, scores } = this.scoreShard(shard, expansions, keep);
      total += ids.length;
      for (const id of ids) offer(top, wanted, scores[id], shard, id);
    }

    // The note's terms among the query's expansions, in the order MiniSearch reports them.
    const expanded = [...new Set(expansions.flat().map(([termId]) => termId))];
    const hits = top.slice(offset).map(
      ({ key, shard, id }): SearchHit => ({
        ...shard.notes[id]!,
        score: words.length ? key : 0,
        terms: expanded
          .filter((termId) => {
            const slot = shard.terms.get(termId);
            return slot !== undefined && shard.noteTerms.has(id, slot);
          })
          .map((termId) => this.vocabulary.term(termId)),
      }),
    );
    return { total, hits };
  }

  /** Scores the shard's notes against the query's expanded terms; returns the notes that matched, with their scores. */
  private scoreShard(
    shard: Shard,
    expansions: Array<Array<[number, number]>>,
    keep: (id: number) => boolean,
  ): { ids: number[]; scores: Float64Array } {
    const n = shard.notes.length;
    const scores = new Float64Array(n);
    /** Per note: bits of the query terms it matched; -1 when filtered out. */
    const matched = new Int32Array(n);
    const ids: number[] = [];
    const count = shard.byPath.size;
    const averages = shard.totals.map((t) => t / count || 1);
    const df = [0, 0, 0, 0];
    expansions.forEach((terms, q) => {
      for (const [termId, weight] of terms) {
        const slot = shard.terms.get(termId);
        if (slot === undefined) continue;
        const list = shard.postings.values(slot);
        df.fill(0);
        for (let i = 0; i < list.length; i++) df[fieldOf(list[i])]++;
        for (let i = 0; i < list.length; i++) {
          const p = list[i];
          const id = docOf(p);
          const bits = matched[id];
          if (bits === -1) continue;
          if (bits === 0) {
            if (!keep(id)) {
              matched[id] = -1;
              continue;
            }
            ids.push(id);
          }
          const f = fieldOf(p);
          scores[id] += weight * BOOSTS[f] * bm25(tfOf(p), df[f], count, shard.lengths[id * 4 + f], averages[f]);
          matched[id] = bits | (1 << q);
        }
      }
    });
    // MiniSearch's "quality": a note matching more of the query's words ranks higher.
    for (const id of ids) scores[id] *= bitCount(matched[id]);
    return { ids, scores };
  }

  /**
   * Loads the shard's snapshot, replacing the shard in memory. Returns false, never throws,
   * when it is missing, corrupt or of another format: the caller then rebuilds with reconcile.
   */
  async loadSnapshot(bot: string): Promise<boolean> {
    let data: Snapshot;
    try {
      data = JSON.parse(await readFile(this.snapshotFile(bot), 'utf8')) as Snapshot;
    } catch {
      return false;
    }
    const postings = isSnapshot(data, bot) && postingsOf(data);
    if (!postings) return false;
    const old = this.shards.get(bot);
    if (old) this.drop(old);
    const shard = emptyShard(false);
    // Slot = the term's place in the snapshot, whose postings lie term after term.
    shard.postings = new Lists(postings, Int32Array.from(data.counts));
    for (const term of data.terms) shard.terms.add(this.vocabulary.acquire(term));
    shard.noteTerms = noteTermsOf(shard.postings, data.notes.length);
    shard.lengths = Int32Array.from(data.lengths);
    shard.updated = new Float64Array(data.notes.length);
    const share = sharing();
    data.notes.forEach((meta, id) => {
      shard.notes.push(metaOf(meta, bot, share));
      shard.byPath.set(meta.path, id);
      shard.updated[id] = timeOf(meta.updated);
    });
    data.lengths.forEach((l, i) => (shard.totals[i % 4] += l));
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
    for (const path of [...shard.byPath.keys()]) {
      if (!onDisk.has(path)) {
        this.remove(bot, path);
        counts.removed++;
      }
    }
    const changed = files.filter((f) => {
      const known = this.get(bot, f.path);
      return !known || known.mtimeMs !== f.mtimeMs || known.size !== f.size;
    });
    let next = 0;
    const worker = async () => {
      while (next < changed.length) {
        const { path } = changed[next++];
        const existed = shard.byPath.has(path);
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
      const json = JSON.stringify(this.snapshotOf(shard));
      shard.dirty = false;
      try {
        await writeAtomically(this.snapshotFile(bot), json);
      } catch (error) {
        shard.dirty = true;
        throw error;
      }
    }
  }

  /** The shard with its notes numbered densely, in path order. */
  private snapshotOf(shard: Shard): Snapshot {
    const ids = [...shard.byPath.values()];
    const renumber = new Int32Array(shard.notes.length);
    ids.forEach((id, i) => (renumber[id] = i));
    const terms: string[] = [];
    const counts: number[] = [];
    let total = 0;
    for (const [, slot] of shard.terms) total += shard.postings.lengths[slot];
    const postings = new Int32Array(total);
    let at = 0;
    for (const [termId, slot] of shard.terms) {
      const list = shard.postings.values(slot);
      terms.push(this.vocabulary.term(termId));
      counts.push(list.length);
      for (const p of list) postings[at++] = posting(renumber[docOf(p)], fieldOf(p), tfOf(p));
    }
    return {
      version: FORMAT,
      notes: ids.map((id) => shard.notes[id]!),
      lengths: ids.flatMap((id) => [...shard.lengths.subarray(id * 4, id * 4 + 4)]),
      terms,
      counts,
      postings: Buffer.from(postings.buffer, postings.byteOffset, postings.byteLength).toString('base64'),
    };
  }

  /** Takes a note's postings out of its shard. */
  private unindex(shard: Shard, id: number): void {
    for (const slot of shard.noteTerms.values(id)) {
      if (shard.postings.filter(slot, (p) => docOf(p) !== id) > 0) continue;
      this.vocabulary.release(shard.terms.termId(slot));
      shard.terms.remove(slot);
    }
    shard.noteTerms.set(id, []);
    for (let f = 0; f < 4; f++) shard.totals[f] -= shard.lengths[id * 4 + f];
  }

  /** The slot of `term`'s postings in the shard; a term new to the shard gets one. */
  private slotOf(shard: Shard, term: string): number {
    const termId = this.vocabulary.id(term);
    const slot = termId === undefined ? undefined : shard.terms.get(termId);
    return slot ?? shard.terms.add(this.vocabulary.acquire(term));
  }

  /** Releases a shard's terms from the vocabulary. */
  private drop(shard: Shard): void {
    for (const [termId] of shard.terms) this.vocabulary.release(termId);
  }

  private shard(bot: string): Shard {
    let shard = this.shards.get(bot);
    if (!shard) {
      shard = emptyShard(true);
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
  /** Document number = position. */
  notes: NoteMeta[];
  /** Four per note: the lengths of its fields. */
  lengths: number[];
  terms: string[];
  /** Per term: how many postings it has. */
  counts: number[];
  /** Every term's postings in turn, as little-endian 32-bit integers in base64: parsing them as JSON numbers took most of a load. */
  postings: string;
}

function isSnapshot(data: Snapshot | null, bot: string): data is Snapshot {
  if (data?.version !== FORMAT || !Array.isArray(data.notes) || !Array.isArray(data.terms) || !Array.isArray(data.counts)) return false;
  const n = data.notes.length;
  return (
    typeof data.postings === 'string' &&
    Array.isArray(data.lengths) &&
    data.lengths.length === n * 4 &&
    data.counts.length === data.terms.length &&
    new Set(data.terms).size === data.terms.length &&
    data.counts.every((c) => Number.isInteger(c) && c > 0) &&
    data.notes.every((m) => m?.bot === bot && typeof m.path === 'string') &&
    new Set(data.notes.map((m) => m.path)).size === n
  );
}

/** The snapshot's postings, or null when they do not add up or name a note it does not have. */
function postingsOf(data: Snapshot): Int32Array | null {
  const bytes = Buffer.from(data.postings, 'base64');
  if (bytes.length % 4 !== 0) return null;
  const postings = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const total = data.counts.reduce((sum, c) => sum + c, 0);
  const n = data.notes.length;
  return postings.length === total && postings.every((p) => p >= 0 && docOf(p) < n) ? postings : null;
}

function emptyShard(dirty: boolean): Shard {
  return {
    notes: [],
    byPath: new Map(),
    holes: [],
    updated: new Float64Array(0),
    lengths: new Int32Array(0),
    noteTerms: new Lists(),
    terms: new TermSlots(),
    postings: new Lists(),
    totals: [0, 0, 0, 0],
    dirty,
  };
}

/** Each note's term slots, read off the postings in two passes (count, then fill) to allocate once. */
function noteTermsOf(postings: Lists, notes: number): Lists {
  const lengths = new Int32Array(notes);
  /** Per note: the last slot counted, as a note has one posting per field it has the term in. */
  const last = new Int32Array(notes).fill(-1);
  const { data, starts, lengths: counts } = postings;
  const each = (visit: (id: number, slot: number) => void) => {
    for (let slot = 0; slot < counts.length; slot++) {
      for (let i = starts[slot]; i < starts[slot] + counts[slot]; i++) {
        const id = docOf(data[i]);
        if (last[id] !== slot) visit(id, (last[id] = slot));
      }
    }
  };
  each((id) => lengths[id]++);
  const lists = new Lists(new Int32Array(lengths.reduce((sum, l) => sum + l, 0)), lengths);
  const filled = new Int32Array(notes);
  last.fill(-1);
  each((id, slot) => (lists.data[lists.starts[id] + filled[id]++] = slot));
  return lists;
}

/** A note's metadata with the same fields in the same order for every note; `share` lets equal values be one string. */
function metaOf(doc: NoteMeta, bot = doc.bot, share?: Sharing): NoteMeta {
  const value = share?.string ?? ((s: string) => s);
  return {
    bot,
    path: doc.path,
    title: doc.title,
    tags: share ? share.tags(doc.tags) : doc.tags,
    type: value(doc.type),
    visibility: doc.visibility === 'shared' ? 'shared' : 'private',
    created: value(doc.created),
    updated: value(doc.updated),
    mtimeMs: doc.mtimeMs,
    size: doc.size,
  };
}

interface Sharing {
  string(value: string): string;
  tags(tags: string[]): string[];
}

/** Makes equal strings and equal tag lists one object: a bot's notes repeat a few tags, types and dates. */
function sharing(): Sharing {
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const string = (value: string) => {
    const known = strings.get(value);
    if (known !== undefined) return known;
    strings.set(value, value);
    return value;
  };
  const tags = (tags: string[]) => {
    const key = JSON.stringify(tags);
    let known = lists.get(key);
    if (!known) lists.set(key, (known = tags.map(string)));
    return known;
  };
  return { string, tags };
}

function fieldText(doc: NoteDoc, field: (typeof FIELDS)[number]): string {
  switch (field) {
    case 'tags':
      return doc.tags.join(' ');
    case 'path':
      // The tokenizer splits on '/', '.', '-' and '_'; '.md' would only be noise.
      return doc.path.replace(/\.md$/i, '');
    default:
      return doc[field];
  }
}

/** A text's terms, lowercased, with how often each occurs. */
function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokenize(text)) {
    if (!token) continue;
    const term = token.toLowerCase();
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return counts;
}

/** MiniSearch's BM25+ score of one term in one field of one note. */
function bm25(tf: number, df: number, count: number, length: number, average: number): number {
  const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5));
  return idf * (BM25.d + (tf * (BM25.k + 1)) / (tf + BM25.k * (1 - BM25.b + (BM25.b * length) / average)));
}

function bitCount(n: number): number {
  let bits = 0;
  for (; n; n &= n - 1) bits++;
  return bits;
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

function noteFilter(options: SearchOptions): (note: NoteMeta, updated: number) => boolean {
  const tags = options.tags?.map((t) => t.toLowerCase()) ?? [];
  const type = options.type?.toLowerCase();
  const after = dateOption('updatedAfter', options.updatedAfter) ?? -Infinity;
  const before = dateOption('updatedBefore', options.updatedBefore) ?? Infinity;
  const dated = after !== -Infinity || before !== Infinity;
  return (note, updated) =>
    (type === undefined || note.type.toLowerCase() === type) &&
    (!dated || (updated !== -Infinity && updated >= after && updated < before)) &&
    tags.every((t) => note.tags.some((own) => own.toLowerCase() === t));
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
function ranksBefore(key: number, note: NoteMeta, other: Candidate): boolean {
  if (key !== other.key) return key > other.key;
  const { bot, path } = other.shard.notes[other.id]!;
  if (note.bot !== bot) return note.bot < bot;
  return note.path < path;
}

/**
 * Keeps `top` as the best `size` candidates in order, without sorting everything seen.
 * Returns false when the candidate does not make it.
 */
function offer(top: Candidate[], size: number, key: number, shard: Shard, id: number): boolean {
  const note = shard.notes[id]!;
  if (top.length >= size && (size <= 0 || !ranksBefore(key, note, top[size - 1]))) return false;
  let lo = 0;
  let hi = top.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranksBefore(key, note, top[mid])) hi = mid;
    else lo = mid + 1;
  }
  top.splice(lo, 0, { key, shard, id });
  if (top.length > size) top.pop();
  return true;
}

async function writeAtomically(file: string, data: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    // A full disk must not leave half a snapshot behind; the old snapshot stays valid.
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
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
  const lower = text.toLowerCase();
  // A few characters change length when lowercased, and the indexes with them: rare enough for the slow way.
  if (lower.length !== text.length) return firstTermByRegExp(text, terms);
  let first = -1;
  for (const term of new Set(terms.map((t) => t.toLowerCase()))) {
    if (term === '') continue;
    for (let at = lower.indexOf(term); at !== -1 && (first === -1 || at < first); at = lower.indexOf(term, at + 1)) {
      if (!WORD_CHARACTER.test(characterBefore(lower, at))) {
        first = at;
        break;
      }
    }
  }
  return Math.max(first, 0);
}

const WORD_CHARACTER = /^[\p{L}\p{N}]$/u;

function characterBefore(text: string, at: number): string {
  if (at === 0) return '';
  const code = text.charCodeAt(at - 1);
  // The second half of a surrogate pair: the character is the pair.
  return code >= 0xdc00 && code <= 0xdfff && at >= 2 ? text.slice(at - 2, at) : text[at - 1];
}

function firstTermByRegExp(text: string, terms: string[]): number {
  const words = terms.filter((t) => t !== '').map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0) return 0;
  const match = new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.join('|')})`, 'iu').exec(text);
  return match?.index ?? 0;
}
