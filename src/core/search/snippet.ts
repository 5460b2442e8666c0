import { fold } from './tokenizer.js';

/** Occurrences of one term looked at, at most: enough to find the best passage of a long note. */
const MAX_OCCURRENCES = 64;

/**
 * A window of `body` around its best passage: the one holding the most of `terms` (folded, as the
 * index has them) within the window, the earliest of equals. Whitespace collapsed, '…' where cut.
 * Only the window's text is collapsed and cut, so a long note costs little more than a short one.
 */
export function snippet(body: string, terms: string[], maxLength = 200): string {
  const room = maxLength - 2;
  const at = bestPassage(foldedText(body), [...new Set(terms.map(fold))].filter(Boolean), room);
  // Start a little before the passage so it reads in context.
  let window = windowAt(body, Math.max(0, at - Math.floor(room / 4)), room);
  // Near the end of the body: start earlier, so the window is full.
  if (!window.more && window.start > 0 && window.text.length < room) window = windowAt(body, Math.max(0, window.start - (room - window.text.length)), room);
  const { start, text, more } = window;
  const cut = firstNonSpace(body, 0) < start;
  if (!cut && !more && text.length <= maxLength) return text;
  let end = Math.min(text.length, room);
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > room / 2) end = space;
  }
  return `${cut ? '…' : ''}${text.slice(0, end).trim()}${end < text.length || more ? '…' : ''}`;
}

/** The body's text from `from` (moved on to a word's start), whitespace collapsed: enough for `room` characters, and whether more follows. */
function windowAt(body: string, from: number, room: number): { start: number; text: string; more: boolean } {
  let start = from;
  if (start > 0 && !/\s/.test(body[start - 1])) {
    const space = body.slice(start, start + room).search(/\s/);
    if (space !== -1) start += space + 1;
  }
  start = firstNonSpace(body, start);
  if (start >= body.length) start = 0;
  // Whitespace collapses, so more of the text is taken than the window holds.
  const end = start + room * 4;
  return { start, text: body.slice(start, end).replace(/\s+/g, ' ').trim(), more: firstNonSpace(body, end) < body.length };
}

/** The index of the first character at or after `from` that is not whitespace; the text's length when none is. */
function firstNonSpace(text: string, from: number): number {
  const found = /\S/g;
  found.lastIndex = from;
  return found.exec(text)?.index ?? text.length;
}

/** Lowercase and without diacritics, character for character, so an index in it is one in `text`. */
function foldedText(text: string): string {
  const lower = text.toLowerCase();
  // A few characters change length when lowercased ('İ'): then character by character, from the text.
  return (lower.length === text.length ? lower : text.replace(/[A-Z]+/g, (ascii) => ascii.toLowerCase())).replace(/[^\x00-\x7f]/gu, foldedCharacter);
}

/** Each character's fold, when it keeps its length (else the character lowercased, or itself), computed once. */
const FOLDED = new Map<string, string>();
function foldedCharacter(ch: string): string {
  let folded = FOLDED.get(ch);
  if (folded === undefined) {
    const candidates = [fold(ch), ch.toLowerCase()];
    folded = candidates.find((c) => c.length === ch.length) ?? ch;
    if (FOLDED.size < 10_000) FOLDED.set(ch, folded);
  }
  return folded;
}

/** Where the window of `width` holding the most distinct terms begins (at its first term); 0 when no term is found. */
function bestPassage(text: string, terms: string[], width: number): number {
  const found: Array<[at: number, term: number]> = [];
  terms.forEach((term, t) => {
    let seen = 0;
    for (let at = text.indexOf(term); at !== -1 && seen < MAX_OCCURRENCES; at = text.indexOf(term, at + 1)) {
      if (WORD_CHARACTER.test(characterBefore(text, at))) continue;
      found.push([at, t]);
      seen++;
    }
  });
  if (found.length === 0) return 0;
  found.sort((a, b) => a[0] - b[0]);
  const inWindow = new Map<number, number>();
  let best = found[0][0];
  let bestCount = 0;
  for (let first = 0, last = 0; first < found.length; first++) {
    for (; last < found.length && found[last][0] < found[first][0] + width; last++) {
      inWindow.set(found[last][1], (inWindow.get(found[last][1]) ?? 0) + 1);
    }
    if (inWindow.size > bestCount) {
      bestCount = inWindow.size;
      best = found[first][0];
    }
    const term = found[first][1];
    const left = inWindow.get(term)! - 1;
    if (left) inWindow.set(term, left);
    else inWindow.delete(term);
  }
  return best;
}

const WORD_CHARACTER = /^[\p{L}\p{N}]$/u;

function characterBefore(text: string, at: number): string {
  if (at === 0) return '';
  const code = text.charCodeAt(at - 1);
  // The second half of a surrogate pair: the character is the pair.
  return code >= 0xdc00 && code <= 0xdfff && at >= 2 ? text.slice(at - 2, at) : text[at - 1];
}
