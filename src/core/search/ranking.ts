import { UserError } from '../errors.js';
import type { NoteMeta } from '../catalogue.js';

import { queryTerms, termCounts } from './tokenizer.js';

/** The indexed fields, by number. */
export const FIELDS = ['title', 'tags', 'path', 'body'] as const;

/** How notes are split into terms and scored: the search index is built for one. */
export interface Ranking {
  /** A field's terms, with how often each occurs. */
  termCounts(text: string): Map<string, number>;
  /** A query's distinct terms, at most 31. */
  queryTerms(query: string): string[];
  /**
   * How a query word's terms add up in a note: 'sum' adds every term it matched (MiniSearch's
   * way), 'best' counts only the term that scores most.
   */
  expansions: 'sum' | 'best';
  /** By field: how much a match in it counts; a field with 0 is not indexed. */
  boosts: readonly number[];
  /** Query words at least this long also match the terms they begin (shorter prefixes match so many terms that they cost much and mean little). */
  minPrefix: number;
  /** How many edits a fuzzy match of a query word allows. */
  maxEdits(word: string): number;
  /** What a prefix and a fuzzy match count against an exact one (before their distance lowers them). */
  prefixWeight: number;
  fuzzyWeight: number;
}

/**
 * Roost's ranking, chosen on the tuning half of the quality benchmark (`npm run bench:quality`):
 * a query word counts once per note, by its best term (summed, a word that also matched as a prefix
 * or with a typo put notes full of near terms, like a table of contents, above the note whose title
 * it named); the title counts 1.75 times the body and tags as much; the path is not indexed (a word in a path
 * pulled notes above the ones about it, and the title holds the file's name when nothing else
 * does); one edit in words of 3 letters or more (MiniSearch's fuzzy 0.2, capped: two edits in long
 * words found no more on the tuning half and made searches slower).
 */
export const RANKING: Ranking = {
  termCounts,
  queryTerms,
  expansions: 'best',
  boosts: [1.75, 1, 0, 1],
  minPrefix: 3,
  maxEdits: (word) => Math.min(1, Math.round(word.length * 0.2)),
  prefixWeight: 0.375,
  fuzzyWeight: 0.45,
};

const BM25 = { k: 1.2, b: 0.7, d: 0.5 };

/** MiniSearch's BM25+ score of one term in one field of one note. */
export function bm25(tf: number, df: number, count: number, length: number, average: number): number {
  const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5));
  return idf * (BM25.d + (tf * (BM25.k + 1)) / (tf + BM25.k * (1 - BM25.b + (BM25.b * length) / average)));
}

export function bitCount(n: number): number {
  let bits = 0;
  for (; n; n &= n - 1) bits++;
  return bits;
}

/** A ranked note before paging: `key` is the score, or the update time for an empty query. */
export interface Candidate {
  key: number;
  note: NoteMeta;
  id: number;
  /** Bits of the query words the note matched. */
  words: number;
}

/** Orders by key descending, then bot, then path. */
function ranksBefore(key: number, note: NoteMeta, other: Candidate): boolean {
  if (key !== other.key) return key > other.key;
  if (note.bot !== other.note.bot) return note.bot < other.note.bot;
  return note.path < other.note.path;
}

/** Keeps `top` as the best `size` candidates in order, without sorting everything seen. */
export function offer(top: Candidate[], size: number, candidate: Candidate): void {
  const { key, note } = candidate;
  if (top.length >= size && (size <= 0 || !ranksBefore(key, note, top[size - 1]))) return;
  let lo = 0;
  let hi = top.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranksBefore(key, note, top[mid])) hi = mid;
    else lo = mid + 1;
  }
  top.splice(lo, 0, candidate);
  if (top.length > size) top.pop();
}

/** The filters of a search on a note's tags, type and `updated` time. */
export function noteFilter(options: { tags?: string[]; type?: string; updatedAfter?: string; updatedBefore?: string }): (note: NoteMeta, updated: number) => boolean {
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
