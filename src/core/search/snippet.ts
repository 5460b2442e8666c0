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
