// `npm run bench` (after the MCP figures): two measurements in process, at 10k and 100k notes of the
// benchmark corpus over 50 bots.
// 1. The index designs side by side: Roost's compact index (postings in typed arrays over one
//    vocabulary, snapshots of its own) and the design the architecture first named, one MiniSearch
//    per bot saved with toJSON and loaded with loadJSON. Each: building, saving, loading, the heap
//    (with array buffers) it holds, and search latency across all bots.
// 2. Note vectors for semantic search, filled by Roost's SemanticIndex with the toy embedding
//    (2048 dimensions, int8): their resident size and the latency of a semantic search over all notes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import MiniSearch from 'minisearch';
import { NoteCatalogue } from '../../src/core/catalogue.js';
import { SemanticIndex } from '../../src/core/embeddings.js';
import { SearchIndex } from '../../src/core/search/index.js';
import { queryTerms, terms } from '../../src/core/search/tokenizer.js';
import { PACKAGE_ROOT } from '../../src/package.js';
import { notes, queries, sections } from './corpus.js';
import { percentiles } from './harness.js';
import { docOf } from './quality.js';
import { TOY_DIMENSIONS, toyEmbedding } from './toy-embedding.js';

const BOTS = 50;
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const heldMb = () => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};
const round = (n: number) => Math.round(n * 100) / 100;

async function time<T>(run: () => T | Promise<T>): Promise<[T, number]> {
  const began = performance.now();
  const value = await run();
  return [value, performance.now() - began];
}

async function latency(run: (q: string) => unknown, questions: string[]): Promise<string> {
  for (const q of questions.slice(0, 50)) await run(q);
  const times: number[] = [];
  for (const q of questions) {
    const began = performance.now();
    await run(q);
    times.push(performance.now() - began);
  }
  const { p50, p95 } = percentiles(times);
  return `${round(p50)} / ${round(p95)} ms`;
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) throw new Error('run with node --expose-gc');
  const sizes = process.argv.includes('--quick') ? [10_000] : [10_000, 100_000];
  const corpus = sections(path.join(PACKAGE_ROOT, 'node_modules'));
  const questions = queries(corpus, 200);
  const rows: string[][] = [];
  for (const size of sizes) {
    const set = notes(corpus, size, BOTS);
    const bots = [...new Set(set.map((n) => n.bot))];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-engines-'));
    try {
      // Roost's compact index.
      let built: SearchIndex | undefined;
      const [, buildMs] = await time(() => {
        built = new SearchIndex(new NoteCatalogue(), path.join(dir, 'index'));
        for (const note of set) built.upsert(docOf(note));
      });
      const [, saveMs] = await time(() => built!.saveSnapshots());
      built = undefined;
      let base = heldMb();
      const index = new SearchIndex(new NoteCatalogue(), path.join(dir, 'index'));
      const [, loadMs] = await time(async () => {
        for (const bot of bots) await index.loadSnapshot(bot);
      });
      const roostMb = heldMb() - base;
      const scopes = bots.map((bot) => ({ bot, sharedOnly: false }));
      const roostSearch = await latency((q) => index.search(q, { scopes, limit: 10 }), questions);
      rows.push([`${size / 1000}k`, 'compact index (Roost)', `${round(buildMs / 1000)} s`, `${round(saveMs / 1000)} s`, `${round(loadMs / 1000)} s`, `${Math.round(roostMb)} MB`, roostSearch]);

      // One MiniSearch per bot, with Roost's tokenizer and weights, saved with toJSON.
      const options = {
        fields: ['title', 'tags', 'body'],
        storeFields: ['title'],
        tokenize: terms,
        processTerm: (t: string) => t,
        searchOptions: { tokenize: queryTerms, boost: { title: 2 }, prefix: (t: string) => t.length >= 3, fuzzy: (t: string) => (t.length >= 3 ? 1 : false) },
      };
      const [perBot, miniBuildMs] = await time(() => {
        const indexes = new Map(bots.map((bot) => [bot, new MiniSearch(options)]));
        set.forEach((n, id) => indexes.get(n.bot)!.add({ id, title: n.title, tags: n.pkg, body: n.body }));
        return indexes;
      });
      const [, miniSaveMs] = await time(() => {
        for (const [bot, mini] of perBot) writeFileSync(path.join(dir, `${bot}.minisearch.json`), JSON.stringify(mini));
      });
      perBot.clear();
      base = heldMb();
      const [reloaded, miniLoadMs] = await time(() => new Map(bots.map((bot) => [bot, MiniSearch.loadJSON(readFileSync(path.join(dir, `${bot}.minisearch.json`), 'utf8'), options)])));
      const miniMb = heldMb() - base;
      const miniSearch = await latency((q) => [...reloaded.values()].flatMap((m) => m.search(q).slice(0, 10)).sort((a, b) => b.score - a.score).slice(0, 10), questions);
      rows.push([`${size / 1000}k`, 'one MiniSearch per bot (toJSON / loadJSON)', `${round(miniBuildMs / 1000)} s`, `${round(miniSaveMs / 1000)} s`, `${round(miniLoadMs / 1000)} s`, `${Math.round(miniMb)} MB`, miniSearch]);
      reloaded.clear();

      // Note vectors.
      base = heldMb();
      const provider = { model: 'toy', embed: async (texts: string[]) => texts.map(toyEmbedding) };
      const byKey = new Map(set.map((n) => [`${n.bot}/${n.path}`, n]));
      const semantic = new SemanticIndex(provider, path.join(dir, 'vectors'), index.catalogue, async (bot, p) => byKey.get(`${bot}/${p}`)!.body);
      const [, embedMs] = await time(async () => {
        for (const bot of bots) await semantic.resume(bot);
        while (semantic.progress().pending > 0) await new Promise((r) => setTimeout(r, 100));
      });
      const vectorsMb = heldMb() - base;
      const semanticSearch = await latency((q) => semantic.search(q, bots, () => true, 100), questions);
      await semantic.close();
      rows.push([`${size / 1000}k`, `note vectors (toy, ${TOY_DIMENSIONS} dims, int8)`, `${round(embedMs / 1000)} s (embedding included)`, '', '', `${Math.round(vectorsMb)} MB`, semanticSearch]);
      console.error(rows.slice(-3).map((r) => r.join(' | ')).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\n| notes | index | build | save | load | held after load (heap + buffers) | search all bots p50 / p95 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

await main();
