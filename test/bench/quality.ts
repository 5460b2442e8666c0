// `npm run bench:quality [-- --tune]`: how well search finds the note a query was made from.
// Corpus: every section of the Markdown under node_modules (one note each, duplicates dropped) and
// the non-English notes of international.md, spread over 10 bots. Queries of several classes are
// generated from the notes with a fixed seed, and split by another fixed seed into a tuning half
// (the only one settings may be chosen on: `--tune` tries some) and a held-out half. Each ranking
// answers every query over all notes; the tables give recall@1, recall@5 and MRR@10 per class.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import MiniSearch from 'minisearch';
import { NoteCatalogue } from '../../src/core/catalogue.js';
import { type EmbeddingProvider, SemanticIndex } from '../../src/core/embeddings.js';
import { type NoteDoc, SearchIndex } from '../../src/core/search/index.js';
import { RANKING, type Ranking } from '../../src/core/search/ranking.js';
import { PACKAGE_ROOT } from '../../src/package.js';
import { type BenchNote, notes, random, sections, sectionsOf } from './corpus.js';
import { PREVIOUS_RANKING } from './previous-ranking.js';
import { toyEmbedding } from './toy-embedding.js';
import { useLiteProvider } from './use-lite-embedding.js';

const BOTS = 10;
const PER_CLASS = 100;
const QUERY_SEED = 2026;
const SPLIT_SEED = 17;

export const CLASSES = ['body words', 'heading', 'typo', 'word stems', 'identifier', 'question', 'non-English'] as const;
type QueryClass = (typeof CLASSES)[number];

export interface Query {
  cls: QueryClass;
  text: string;
  /** The note it was made from: its index in the corpus. */
  answer: number;
  tuning: boolean;
}

/** The benchmark's own stop words (not Roost's list): words a query made from a note leaves out. */
const STOP = new Set(
  ('a about above after again all also am an and any are as at be because been before being below between both but by can could did do does ' +
    'doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just me more ' +
    'most my no nor not now of off on once only or other our out over own same she should so some such than that the their them then there ' +
    'these they this those through to too under until up use used using very was we were what when where which while who whom why will with ' +
    'would you your').split(' '),
);

/** The notes of the benchmark, in a fixed order: sections under node_modules without duplicates, then the non-English ones. */
export function qualityCorpus(): BenchNote[] {
  const seen = new Set<string>();
  const english = sections(path.join(PACKAGE_ROOT, 'node_modules')).filter((s) => !seen.has(s.body) && seen.add(s.body));
  const international = sectionsOf(readFileSync(path.join(PACKAGE_ROOT, 'test', 'bench', 'international.md'), 'utf8'), 'international', 'international').slice(1);
  return notes([...english, ...international], english.length + international.length, BOTS);
}

/** A text's words as a person reads them: runs of letters, digits and `_ . -`, without symbols around them. */
function readWords(text: string): string[] {
  return text
    .split(/[^\p{L}\p{N}_.\-]+/u)
    .map((w) => w.replace(/^[._]+|[._-]+$/g, ''))
    .filter(Boolean);
}

/** A plain word: letters only, lowercase or capitalized. */
const PLAIN = /^\p{Lu}?\p{Ll}+$/u;

const IDENTIFIERS: Array<[string, RegExp]> = [
  ['camelCase', /^[a-z]+[A-Z][A-Za-z0-9]*$/],
  ['snake_case', /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/],
  ['dotted key', /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/],
  ['CLI flag', /^--[a-z][a-z0-9]*(-[a-z0-9]+)*$/],
  ['file name', /^[\w.-]+\.(json|js|mjs|cjs|ts|mts|md|yml|yaml|toml|lock|html|css|sh|txt)$/],
];
const FILE = IDENTIFIERS[4][1];

const foldDiacritics = (w: string) => w.normalize('NFKD').replace(/\p{M}+/gu, '');

export function makeQueries(corpus: BenchNote[]): Query[] {
  const rand = random(QUERY_SEED);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const words = corpus.map((n) => readWords(n.body));
  const plain = words.map((ws) => [...new Set(ws.filter((w) => PLAIN.test(w) && w.length >= 4).map((w) => w.toLowerCase()))].filter((w) => !STOP.has(w)));
  const df = new Map<string, number>();
  for (const ws of plain) for (const w of ws) df.set(w, (df.get(w) ?? 0) + 1);
  const rare = (limit: number) => (w: string) => df.get(w)! <= limit;
  const distinctive = Math.max(3, Math.round(corpus.length * 0.01));
  /** Words of `note` with at most `limit` notes having them, `count` of them at random, in the note's order. */
  const sample = (note: number, count: number, limit = distinctive): string[] | undefined => {
    const candidates = plain[note].filter(rare(limit));
    if (candidates.length < count) return undefined;
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(pick(candidates));
    return candidates.filter((w) => chosen.has(w));
  };
  const english = corpus.flatMap((n, i) => (n.pkg === 'international' ? [] : [i]));
  const international = corpus.flatMap((n, i) => (n.pkg === 'international' ? [i] : []));
  const titleWords = (title: string) => (title.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP.has(w.toLowerCase()));
  /** A heading a person would type: two to six words, none a number or part of a link. */
  const typable = (ws: string[]) => ws.length >= 2 && ws.length <= 6 && ws.every((w) => /\p{L}/u.test(w) && !/^(https?|www|com)$/i.test(w));
  const titles = new Map<string, number>();
  for (const n of corpus) {
    const key = titleWords(n.title).join(' ').toLowerCase();
    titles.set(key, (titles.get(key) ?? 0) + 1);
  }
  const identifiers = IDENTIFIERS.map(([, re]) => {
    const found = new Map<string, number[]>();
    words.forEach((ws, i) => {
      for (const w of new Set(ws)) if (re.test(w) && (re === FILE || !FILE.test(w))) found.set(w, [...(found.get(w) ?? []), i]);
    });
    return [...found].filter(([, at]) => at.length === 1).map(([w, [at]]) => ({ w, at }));
  });

  const makers: Record<QueryClass, (k: number) => { text: string; answer: number } | undefined> = {
    'body words': () => {
      const answer = pick(english);
      const ws = sample(answer, 3 + Math.floor(rand() * 3));
      return ws && { text: ws.join(' '), answer };
    },
    heading: () => {
      const answer = pick(english);
      const ws = titleWords(corpus[answer].title);
      return typable(ws) && titles.get(ws.join(' ').toLowerCase()) === 1 ? { text: ws.join(' '), answer } : undefined;
    },
    typo: () => {
      const answer = pick(english);
      const ws = sample(answer, 3);
      if (!ws) return undefined;
      const rarest = ws.reduce((a, b) => (df.get(b)! < df.get(a)! || (df.get(b) === df.get(a) && b.length > a.length) ? b : a));
      if (rarest.length < 5) return undefined;
      const typo = misspell(rarest, rand);
      return df.has(typo) ? undefined : { text: ws.map((w) => (w === rarest ? typo : w)).join(' '), answer };
    },
    'word stems': () => {
      const answer = pick(english);
      const ws = sample(answer, 3 + Math.floor(rand() * 2));
      if (!ws?.some((w) => w.length >= 7)) return undefined;
      return { text: ws.map((w) => (w.length >= 7 ? w.slice(0, Math.ceil(w.length * 0.6)) : w)).join(' '), answer };
    },
    identifier: (k) => {
      const found = identifiers[k % identifiers.length];
      if (found.length === 0) return undefined;
      const { w, at } = pick(found);
      return { text: k % identifiers.length === 0 && rand() < 0.5 ? w.toLowerCase() : w, answer: at };
    },
    question: () => {
      const answer = pick(english);
      const ws = sample(answer, rand() < 0.3 ? 3 : 2, Math.max(5, Math.round(corpus.length * 0.02)));
      if (!ws) return undefined;
      const [a, b, c] = ws.map((w) => (rand() < 0.5 ? inflect(w) : w));
      const templates = c
        ? [`how do I ${a} the ${b} in ${c}?`, `what is the ${a} of ${b} when ${c}?`, `why does ${a} ${b} break ${c}?`]
        : [`how do I ${a} the ${b}?`, `what is the ${a} for ${b}?`, `why does ${a} not work with ${b}?`, `where can I find the ${a} and ${b}?`, `is there a way to ${a} ${b}?`, `what happens to ${a} when ${b}?`];
      return { text: pick(templates), answer };
    },
    'non-English': () => {
      const answer = pick(international);
      const ws = sample(answer, 2 + Math.floor(rand() * 2), 2);
      return ws && { text: (rand() < 0.5 ? ws.map(foldDiacritics) : ws).join(' '), answer };
    },
  };

  const queries: Query[] = [];
  const split = random(SPLIT_SEED);
  for (const cls of CLASSES) {
    const texts = new Set<string>();
    for (let k = 0, tries = 0; texts.size < PER_CLASS && tries < PER_CLASS * 200; tries++) {
      const made = makers[cls](k);
      if (!made || texts.has(made.text)) continue;
      texts.add(made.text);
      k++;
      queries.push({ cls, ...made, tuning: false });
    }
  }
  for (const q of queries) q.tuning = split() < 0.5;
  return queries;
}

/** One edit inside the word: a letter replaced, dropped, added or swapped with the next. */
function misspell(word: string, rand: () => number): string {
  const at = 1 + Math.floor(rand() * (word.length - 2));
  const letter = 'abcdefghijklmnopqrstuvwxyz'[Math.floor(rand() * 26)];
  switch (Math.floor(rand() * 4)) {
    case 0:
      return word.slice(0, at) + letter + word.slice(at + 1);
    case 1:
      return word.slice(0, at) + word.slice(at + 1);
    case 2:
      return word.slice(0, at) + letter + word.slice(at);
    default:
      return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
  }
}

/** Another form of the word, as a question may use it: plural and singular, -ing and the verb. */
function inflect(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ing') && word.length > 6) return word.slice(0, -3);
  if (word.endsWith('ed') && word.length > 5) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  if (word.endsWith('e')) return `${word.slice(0, -1)}ing`;
  return `${word}s`;
}

/** Answers a query with the corpus indexes of the best notes, best first. */
export type Ranker = (query: string) => number[] | Promise<number[]>;

const keyOf = (n: { bot: string; path: string }) => `${n.bot}/${n.path}`;

export function docOf(note: BenchNote): NoteDoc {
  return { bot: note.bot, path: note.path, title: note.title, tags: [note.pkg], type: '', visibility: 'private', created: '', updated: '', mtimeMs: 0, size: note.body.length, body: note.body };
}

/** Roost's search index, in process, with `ranking`; every query searches every bot. */
export function roostRanker(corpus: BenchNote[], ranking: Ranking): Ranker {
  const index = new SearchIndex(new NoteCatalogue(), '', ranking);
  for (const note of corpus) index.upsert(docOf(note));
  const at = new Map(corpus.map((n, i) => [keyOf(n), i]));
  const scopes = [...new Set(corpus.map((n) => n.bot))].map((bot) => ({ bot, sharedOnly: false }));
  return (query) => index.search(query, { scopes, limit: 10 }).hits.map((h) => at.get(keyOf(h))!);
}

/**
 * Roost's hybrid search as Memory runs it: its lexical hits and the nearest note vectors, the best
 * 100 of each, fused by reciprocal rank (1 / (60 + rank)). The vectors come from `provider`, filled
 * by Roost's SemanticIndex.
 */
async function hybridRanker(corpus: BenchNote[], provider: EmbeddingProvider): Promise<Ranker> {
  const index = new SearchIndex(new NoteCatalogue(), '', RANKING);
  for (const note of corpus) index.upsert(docOf(note));
  const byKey = new Map(corpus.map((n, i) => [keyOf(n), i]));
  const bots = [...new Set(corpus.map((n) => n.bot))];
  const scopes = bots.map((bot) => ({ bot, sharedOnly: false }));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-quality-'));
  const semantic = new SemanticIndex(provider, dir, index.catalogue, async (bot, p) => {
    const note = corpus[byKey.get(`${bot}/${p}`)!];
    return `${note.title}\n\n${note.body}`;
  });
  for (const bot of bots) await semantic.resume(bot);
  while (semantic.progress().pending > 0) await new Promise((r) => setTimeout(r, 50));
  await semantic.close();
  rmSync(dir, { recursive: true, force: true });
  return async (query) => {
    const fused = new Map<number, number>();
    const add = (at: number, rank: number) => fused.set(at, (fused.get(at) ?? 0) + 1 / (60 + rank));
    index.search(query, { scopes, limit: 100 }).hits.forEach((h, rank) => add(byKey.get(keyOf(h))!, rank + 1));
    (await semantic.search(query, bots, () => true, 100)).forEach((h, rank) => add(byKey.get(keyOf(h))!, rank + 1));
    return [...fused].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10).map(([at]) => at);
  };
}

/** MiniSearch with its default options over the same fields. */
function miniSearchRanker(corpus: BenchNote[]): Ranker {
  const index = new MiniSearch({ fields: ['title', 'tags', 'path', 'body'] });
  index.addAll(corpus.map((n, id) => ({ id, title: n.title, tags: n.pkg, path: n.path.replace(/\.md$/, ''), body: n.body })));
  return (query) => index.search(query).slice(0, 10).map((r) => r.id as number);
}

export interface Scores {
  n: number;
  r1: number;
  r5: number;
  mrr: number;
}

export async function score(ranker: Ranker, queries: Query[]): Promise<Scores> {
  const s = { n: queries.length, r1: 0, r5: 0, mrr: 0 };
  for (const q of queries) {
    const rank = (await ranker(q.text)).indexOf(q.answer) + 1;
    if (rank === 1) s.r1++;
    if (rank >= 1 && rank <= 5) s.r5++;
    if (rank >= 1) s.mrr += 1 / rank;
  }
  return { n: s.n, r1: s.r1 / (s.n || 1), r5: s.r5 / (s.n || 1), mrr: s.mrr / (s.n || 1) };
}

const f2 = (x: number) => x.toFixed(2);
const cell = (s: Scores) => `${f2(s.r1)} / ${f2(s.r5)} / ${f2(s.mrr)}`;

/** A table per half: for each class and all, each ranking's recall@1 / recall@5 / MRR@10. */
export async function table(rankers: Array<[string, Ranker]>, queries: Query[], tuning: boolean): Promise<string> {
  const half = queries.filter((q) => q.tuning === tuning);
  const rows = [...CLASSES.map((cls) => [cls, half.filter((q) => q.cls === cls)] as const), ['all', half] as const];
  const lines = [
    `| ${tuning ? 'tuning' : 'held-out'} set: query class (queries) | ${rankers.map(([name]) => `${name} R@1 / R@5 / MRR@10`).join(' | ')} |`,
    `|---|${rankers.map(() => '---|').join('')}`,
  ];
  for (const [cls, qs] of rows) {
    const scored = await Promise.all(rankers.map(([, r]) => score(r, qs)));
    lines.push(`| ${cls === 'all' ? '**all**' : cls} (${qs.length}) | ${scored.map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Settings to try on the tuning half, one change at a time from Roost's. */
async function tune(corpus: BenchNote[], queries: Query[]): Promise<void> {
  const tuning = queries.filter((q) => q.tuning);
  const variants: Array<[string, Partial<Ranking>]> = [
    ['as chosen', {}],
    ["every term of a word summed (MiniSearch's way)", { expansions: 'sum' }],
    ['boosts 2.5/1/0/1', { boosts: [2.5, 1, 0, 1] }],
    ['boosts 2/1/0/1', { boosts: [2, 1, 0, 1] }],
    ['boosts 1.5/1/0/1', { boosts: [1.5, 1, 0, 1] }],
    ['boosts 1.75/1/0.5/1', { boosts: [1.75, 1, 0.5, 1] }],
    ['one edit at most', { maxEdits: (w) => Math.min(1, Math.round(w.length * 0.2)) }],
  ];
  console.log('| tuning set: variant | R@1 / R@5 / MRR@10 | ' + CLASSES.join(' | ') + ' |');
  console.log(`|---|---|${CLASSES.map(() => '---|').join('')}`);
  for (const [name, change] of variants) {
    const ranker = roostRanker(corpus, { ...RANKING, ...change });
    const perClass = await Promise.all(CLASSES.map(async (cls) => f2((await score(ranker, tuning.filter((q) => q.cls === cls))).mrr)));
    console.log(`| ${name} | ${cell(await score(ranker, tuning))} | ${perClass.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const corpus = qualityCorpus();
  const queries = makeQueries(corpus);
  const counts = CLASSES.map((cls) => `${cls} ${queries.filter((q) => q.cls === cls).length}`).join(', ');
  console.error(`quality: ${corpus.length} notes over ${BOTS} bots; ${queries.length} queries (${counts}), ${queries.filter((q) => q.tuning).length} for tuning`);
  if (process.argv.includes('--tune')) return await tune(corpus, queries);
  if (process.argv.includes('--show')) {
    for (const q of queries.slice(0, 2000)) console.log(`${q.cls}\t${q.text}\t${corpus[q.answer].bot}/${corpus[q.answer].path}`);
    return;
  }
  const rankers: Array<[string, Ranker]> = [
    ['Roost', roostRanker(corpus, RANKING)],
    ['MiniSearch defaults', miniSearchRanker(corpus)],
    ['previous Roost', roostRanker(corpus, PREVIOUS_RANKING)],
    ['Roost hybrid, toy embedding', await hybridRanker(corpus, { model: 'toy', embed: async (texts) => texts.map(toyEmbedding) })],
    ['Roost hybrid, USE-lite', await hybridRanker(corpus, await useLiteProvider())],
  ];
  console.log(`Search quality: ${corpus.length} notes (the Markdown sections under node_modules and ${corpus.filter((n) => n.pkg === 'international').length} non-English notes) over ${BOTS} bots, ${queries.length} generated queries. R@k: the note the query was made from is among the first k; MRR@10: the mean of 1/its rank (0 below 10).\n`);
  console.log(await table(rankers, queries, false));
  console.log('');
  console.log(await table(rankers, queries, true));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
