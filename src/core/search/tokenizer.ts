import MiniSearch from 'minisearch';

/** Splits text into words as MiniSearch does (on spaces and punctuation). */
export const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];

/** A text's terms, lowercased, with how often each occurs. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokenize(text)) {
    if (!token) continue;
    const term = token.toLowerCase();
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return counts;
}

/** A query's distinct terms, lowercased; at most 31, as each gets a bit in the match mask. */
export function queryTerms(query: string): string[] {
  return [...new Set(tokenize(query).map((t) => t.toLowerCase()).filter(Boolean))].slice(0, 31);
}
