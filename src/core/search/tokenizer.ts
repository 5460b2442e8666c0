/**
 * Terms of technical Markdown. A word is a run of letters and digits; an identifier is words joined
 * by '.', '_' or '-' or written in camelCase (`compilerOptions.strict`, `cache_dir`, `tsconfig.json`,
 * `XMLHttpRequest`). An identifier is a term whole and each of its words is one too, so `cacheDir`,
 * `cachedir` and `cache dir` all find it. A command-line flag is a term with its dashes as well
 * (`--no-color`, `-v`), so that `--style` finds the flag before every note about style. Backticks, '#', '*' and every other
 * symbol only separate. Terms are folded: lowercase, without diacritics ('Überprüfen' → 'uberprufen').
 * Common English words (stop words) are no terms: nearly every note has them, so they find nothing
 * and only add postings; so are single letters and digits.
 */
const TOKEN = /(?:(?<![\p{L}\p{N}-])--?)?[\p{L}\p{N}]+(?:[._-][\p{L}\p{N}]+)*/gu;
const ASCII = /^[\x20-\x7e]*$/;
/** Most tokens: one ASCII word that no rule splits (nothing uppercase after its first letter). */
const SIMPLE = /^[A-Za-z0-9][a-z0-9]*$/;
/** Between a lowercase letter or digit and an uppercase one, and before the last capital of a run followed by lowercase ('XMLHttp' → 'XML', 'Http'). */
const CAMEL = /(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u;
/** Longer identifiers (URLs' hosts, hashes joined by dots) are kept by their words only. */
const MAX_WHOLE = 48;

export const STOP_WORDS = new Set(
  ('a an and are as at be been but by can do does for from had has have he her his how i if in into is it its ' +
    'me my no not of on or our she so than that the their them then there these they this those to was we were ' +
    'what when where which who why will with would you your').split(' '),
);

/** Lowercase, without diacritics. */
export function fold(word: string): string {
  if (ASCII.test(word)) return word.toLowerCase();
  return word.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** Calls `emit` with each term of `text`, in order, as often as it occurs. */
export function eachTerm(text: string, emit: (term: string) => void): void {
  for (let [token] of text.matchAll(TOKEN)) {
    if (token[0] === '-') {
      if (token.length <= MAX_WHOLE) emit(fold(token));
      token = token.replace(/^-+/, '');
    }
    if (SIMPLE.test(token)) {
      const term = token.toLowerCase();
      if (term.length > 1 && !STOP_WORDS.has(term)) emit(term);
      continue;
    }
    const words = token.split(/[._-]/).flatMap((w) => w.split(CAMEL));
    if (words.length === 1) {
      const term = fold(token);
      if (term.length > 1 && !STOP_WORDS.has(term)) emit(term);
      continue;
    }
    if (token.length <= MAX_WHOLE) emit(fold(token));
    for (const word of words) {
      const term = fold(word);
      if (term.length > 1 && !STOP_WORDS.has(term)) emit(term);
    }
  }
}

/** A text's terms, in order, as often as each occurs (MiniSearch's `tokenize`, for the indexes built with MiniSearch). */
export function terms(text: string): string[] {
  const out: string[] = [];
  eachTerm(text, (term) => out.push(term));
  return out;
}

/** A text's terms with how often each occurs. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  eachTerm(text, (term) => counts.set(term, (counts.get(term) ?? 0) + 1));
  return counts;
}

/** A query's distinct terms; at most 31, as each gets a bit in the match mask. */
export function queryTerms(query: string): string[] {
  const terms = new Set<string>();
  eachTerm(query, (term) => terms.add(term));
  return [...terms].slice(0, 31);
}
