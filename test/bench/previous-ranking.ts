// Roost's ranking before the search-quality work, kept here (and only here) so the quality
// benchmark can report it beside today's: MiniSearch's tokenizer (spaces and punctuation only, so
// `tsconfig` in backticks was the term "`tsconfig`"), lowercase terms, title ×3, tags ×2, path ×1.5,
// and fuzzy matching capped at one edit.
import MiniSearch from 'minisearch';
import type { Ranking } from '../../src/core/search/ranking.js';

const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];

export const PREVIOUS_RANKING: Ranking = {
  termCounts(text) {
    const counts = new Map<string, number>();
    for (const token of tokenize(text)) {
      if (!token) continue;
      const term = token.toLowerCase();
      counts.set(term, (counts.get(term) ?? 0) + 1);
    }
    return counts;
  },
  queryTerms: (query) => [...new Set(tokenize(query).map((t) => t.toLowerCase()).filter(Boolean))].slice(0, 31),
  expansions: 'sum',
  boosts: [3, 2, 1.5, 1],
  minPrefix: 3,
  maxEdits: (word) => Math.min(1, Math.round(word.length * 0.2)),
  prefixWeight: 0.375,
  fuzzyWeight: 0.45,
};
