import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NoteCatalogue, NoteMeta, Shelf } from '../catalogue.js';
import { fieldOf, grown, Lists, noteOf, noteTermsOf, posting, TermSlots, tfOf } from './postings.js';
import { bitCount, bm25, type Candidate, FIELDS, noteFilter, offer, RANKING, type Ranking } from './ranking.js';
import { readShard, type ShardData, writeShard } from './snapshot.js';
import { type Expansion, Vocabulary } from './vocabulary.js';

/** A note as indexed: its metadata and its body (indexed, not kept in memory). */
export interface NoteDoc extends NoteMeta {
  body: string;
}

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

/** A query word, the note's term it matched, and how. */
export interface Match {
  query: string;
  term: string;
  match: 'exact' | 'prefix' | 'fuzzy';
}

export interface SearchHit extends NoteMeta {
  score: number;
  /**
   * 0–1: the score against the best hit's, times the share of the query's words the note matched;
   * 1 for a best hit that matched every word. 0 when listing.
   */
  relevance: number;
  /** The note's terms that matched, for snippets. */
  terms: string[];
  /** Which query word matched which of the note's terms, and how: the closest TERMS_PER_WORD of each word. */
  matches: Match[];
}

/** A short prefix can match dozens of a note's terms: the closest few say enough, and every one costs the answer's size. */
const TERMS_PER_WORD = 3;
const MATCH_ORDER = { exact: 0, prefix: 1, fuzzy: 2 };

export interface SearchResult {
  total: number;
  hits: SearchHit[];
}

/**
 * One bot's postings, by the note numbers of its shelf in the catalogue. Terms are numbered per
 * shard (slots), so that a term's postings and a note's terms are lists in `Lists`.
 */
interface Shard {
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
}

/**
 * The search index of every bot's notes: one shard of postings per bot over one shared vocabulary,
 * ranked like MiniSearch (BM25+, field boosts, prefix and fuzzy weights). Which notes exist, with
 * their metadata, is the catalogue's; the index keeps both in step. Shards are saved as snapshots
 * so a restart loads instead of rebuilding.
 */
export class SearchIndex {
  private readonly vocabulary = new Vocabulary();
  private readonly shards = new Map<string, Shard>();
  /** Bots removed since the last save, whose snapshot files are to be deleted. */
  private readonly removedBots = new Set<string>();
  private saving: Promise<void> = Promise.resolve();

  /** @param snapshotDir where shard snapshots go, e.g. `<data root>/.roost/index` */
  constructor(
    readonly catalogue: NoteCatalogue,
    private readonly snapshotDir: string,
    private readonly ranking: Ranking = RANKING,
  ) {}

  /** Adds or replaces a note; it is searchable, and in the catalogue, when this returns. */
  upsert(doc: NoteDoc): void {
    const shard = this.shard(doc.bot);
    const known = this.catalogue.idOf(doc.bot, doc.path);
    if (known !== undefined) this.unindex(shard, known);
    const id = this.catalogue.put(doc);
    shard.lengths = grown(shard.lengths, id * 4 + 4);
    const slots = new Set<number>();
    FIELDS.forEach((field, f) => {
      if (this.ranking.boosts[f] === 0) return;
      const counts = this.ranking.termCounts(fieldText(doc, field));
      for (const [term, tf] of counts) {
        const slot = this.slotOf(shard, term);
        shard.postings.push(slot, posting(id, f, tf));
        slots.add(slot);
      }
      shard.lengths[id * 4 + f] = counts.size;
      shard.totals[f] += counts.size;
    });
    shard.noteTerms.set(id, [...slots]);
    shard.dirty = true;
  }

  remove(bot: string, path: string): void {
    const shard = this.shards.get(bot);
    const id = this.catalogue.idOf(bot, path);
    if (!shard || id === undefined) return;
    this.unindex(shard, id);
    this.catalogue.remove(bot, path);
    shard.dirty = true;
  }

  removeBot(bot: string): void {
    const shard = this.shards.get(bot);
    if (!shard) return;
    this.drop(shard);
    this.shards.delete(bot);
    this.catalogue.removeBot(bot);
    this.removedBots.add(bot);
  }

  /**
   * Searches the scoped shards and merges their hits by score (ties: bot, then path).
   * An empty query lists the scoped notes instead, newest `updated` first, with score 0.
   */
  search(query: string, options: SearchOptions): SearchResult {
    const offset = options.offset ?? 0;
    const wanted = offset + (options.limit ?? 10);
    const matches = noteFilter(options);
    const { ranking } = this;
    const listing = query.trim() === '';
    const words = ranking.queryTerms(query);
    const expansions = words.map((word) =>
      this.vocabulary.expand(word, options.prefix !== false && word.length >= ranking.minPrefix, options.fuzzy === false ? 0 : ranking.maxEdits(word), ranking),
    );
    const top: Candidate[] = [];
    let total = 0;

    for (const [bot, sharedOnly] of mergeScopes(options.scopes)) {
      const shard = this.shards.get(bot);
      const shelf = this.catalogue.shelf(bot);
      if (!shard || !shelf) continue;
      const keep = (id: number) => {
        const note = shelf.notes[id];
        return note !== undefined && (!sharedOnly || note.visibility === 'shared') && matches(note, shelf.updated[id]);
      };

      if (listing) {
        for (let id = 0; id < shelf.notes.length; id++) {
          if (!keep(id)) continue;
          total++;
          offer(top, wanted, { key: shelf.updated[id], note: shelf.notes[id]!, id, words: 0 });
        }
        continue;
      }
      const { ids, scores, matched } = scoreShard(shard, shelf, expansions, ranking, keep);
      total += ids.length;
      for (const id of ids) offer(top, wanted, { key: scores[id], note: shelf.notes[id]!, id, words: matched[id] });
    }

    const best = top[0]?.key ?? 0;
    const hits = top.slice(offset).map(({ key, note, id, words: mask }): SearchHit => {
      if (listing) return { ...note, score: 0, relevance: 0, terms: [], matches: [] };
      const shard = this.shards.get(note.bot)!;
      const found: Array<[word: number, match: Match['match'], term: string]> = [];
      for (const slot of shard.noteTerms.values(id)) {
        const termId = shard.terms.termId(slot);
        expansions.forEach((terms, word) => {
          const expansion = terms.get(termId);
          if (expansion) found.push([word, expansion.match, this.vocabulary.term(termId)]);
        });
      }
      found.sort((a, b) => a[0] - b[0] || MATCH_ORDER[a[1]] - MATCH_ORDER[b[1]] || a[2].length - b[2].length || (a[2] < b[2] ? -1 : 1));
      const shown = found.filter(([word], i) => i < TERMS_PER_WORD || found[i - TERMS_PER_WORD][0] !== word);
      return {
        ...note,
        score: key,
        relevance: best > 0 ? Math.round((1000 * key * bitCount(mask)) / (best * words.length)) / 1000 : 0,
        terms: [...new Set(found.map(([, , term]) => term))],
        matches: shown.map(([word, match, term]) => ({ query: words[word], term, match })),
      };
    });
    return { total, hits };
  }

  /**
   * Loads the shard's snapshot, replacing the shard and the bot's catalogue shelf in memory.
   * Returns false, never throws, when it is missing, corrupt or of another format: the caller
   * then rebuilds with reconcile.
   */
  async loadSnapshot(bot: string): Promise<boolean> {
    const data = await readShard(this.snapshotFile(bot), bot);
    if (!data) return false;
    const old = this.shards.get(bot);
    if (old) this.drop(old);
    const shard = emptyShard(false);
    // Slot = the term's place in the snapshot, whose postings lie term after term.
    shard.postings = new Lists(data.postings, Int32Array.from(data.counts));
    for (const term of data.terms) shard.terms.add(this.vocabulary.acquire(term));
    shard.noteTerms = noteTermsOf(shard.postings, data.notes.length);
    shard.lengths = Int32Array.from(data.lengths);
    data.lengths.forEach((l, i) => (shard.totals[i % 4] += l));
    this.catalogue.load(bot, data.notes);
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
    this.shard(bot);
    const onDisk = new Set(files.map((f) => f.path));
    for (const { path } of this.catalogue.list(bot)) {
      if (!onDisk.has(path)) {
        this.remove(bot, path);
        counts.removed++;
      }
    }
    const changed = files.filter((f) => {
      const known = this.catalogue.get(bot, f.path);
      return !known || known.mtimeMs !== f.mtimeMs || known.size !== f.size;
    });
    let next = 0;
    const worker = async () => {
      while (next < changed.length) {
        const { path } = changed[next++];
        const existed = this.catalogue.idOf(bot, path) !== undefined;
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
      const data = this.dataOf(bot, shard);
      shard.dirty = false;
      try {
        await writeShard(this.snapshotFile(bot), data);
      } catch (error) {
        shard.dirty = true;
        throw error;
      }
    }
  }

  /** The shard with its notes numbered densely, in the catalogue's order. */
  private dataOf(bot: string, shard: Shard): ShardData {
    const ids = this.catalogue.ids(bot);
    const renumber = new Int32Array(shard.lengths.length / 4);
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
      for (const p of list) postings[at++] = posting(renumber[noteOf(p)], fieldOf(p), tfOf(p));
    }
    const notes = this.catalogue.list(bot);
    return { notes, lengths: ids.flatMap((id) => [...shard.lengths.subarray(id * 4, id * 4 + 4)]), terms, counts, postings };
  }

  /** Takes a note's postings out of its shard. */
  private unindex(shard: Shard, id: number): void {
    for (const slot of shard.noteTerms.values(id)) {
      if (shard.postings.filter(slot, (p) => noteOf(p) !== id) > 0) continue;
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

/** Scores the shard's notes against the query's expanded terms; returns the notes that matched, with their scores. */
function scoreShard(
  shard: Shard,
  shelf: Shelf,
  expansions: Array<Map<number, Expansion>>,
  ranking: Ranking,
  keep: (id: number) => boolean,
): { ids: number[]; scores: Float64Array; matched: Int32Array } {
  const { boosts } = ranking;
  const best = ranking.expansions === 'best';
  const n = shelf.notes.length;
  const scores = new Float64Array(n);
  /** Per note: bits of the query terms it matched; -1 when filtered out. */
  const matched = new Int32Array(n);
  const ids: number[] = [];
  const count = shelf.count;
  const averages = shard.totals.map((t) => t / count || 1);
  const df = [0, 0, 0, 0];
  /** By note: the score of the query word being read, when it has matched the note ('best' only). */
  const wordScores = new Float64Array(n);
  expansions.forEach((terms, q) => {
    const bit = 1 << q;
    for (const { id: termId, weight } of terms.values()) {
      const slot = shard.terms.get(termId);
      if (slot === undefined) continue;
      const list = shard.postings.values(slot);
      df.fill(0);
      for (let i = 0; i < list.length; i++) df[fieldOf(list[i])]++;
      // A note's postings under a term lie next to each other (one per field, pushed by one upsert).
      for (let i = 0, end = 0; i < list.length; i = end) {
        const id = noteOf(list[i]);
        for (end = i + 1; end < list.length && noteOf(list[end]) === id; ) end++;
        const bits = matched[id];
        if (bits === -1) continue;
        if (bits === 0) {
          if (!keep(id)) {
            matched[id] = -1;
            continue;
          }
          ids.push(id);
        }
        let termScore = 0;
        for (let j = i; j < end; j++) {
          const f = fieldOf(list[j]);
          termScore += weight * boosts[f] * bm25(tfOf(list[j]), df[f], count, shard.lengths[id * 4 + f], averages[f]);
        }
        if ((bits & bit) === 0) {
          matched[id] = bits | bit;
          wordScores[id] = termScore;
          scores[id] += termScore;
        } else if (!best) {
          scores[id] += termScore;
        } else if (termScore > wordScores[id]) {
          scores[id] += termScore - wordScores[id];
          wordScores[id] = termScore;
        }
      }
    }
  });
  // MiniSearch's "quality": a note matching more of the query's words ranks higher.
  for (const id of ids) scores[id] *= bitCount(matched[id]);
  return { ids, scores, matched };
}

function emptyShard(dirty: boolean): Shard {
  return {
    lengths: new Int32Array(0),
    noteTerms: new Lists(),
    terms: new TermSlots(),
    postings: new Lists(),
    totals: [0, 0, 0, 0],
    dirty,
  };
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

/** One entry per bot; a bot in several scopes is searched once, as widely as any scope allows. */
function mergeScopes(scopes: ShardScope[]): Map<string, boolean> {
  const merged = new Map<string, boolean>();
  for (const { bot, sharedOnly } of scopes) merged.set(bot, (merged.get(bot) ?? true) && sharedOnly);
  return merged;
}
