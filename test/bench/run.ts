// `npm run bench [-- --quick]`: Roost, the naive single-index design and the MCP reference memory
// server, on the same notes and the same questions, through real MCP clients. Prints the tables.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Tokens } from '../../src/core/tokens.js';
import { Vault } from '../../src/core/vault.js';
import { PACKAGE_ROOT } from '../../src/package.js';
import { type BenchNote, botId, notes, queries, sections } from './corpus.js';
import { bracketed, call, httpClient, type Latency, latency, percentiles, rss, startChild, stopAll, throughput, warmUp } from './harness.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BOTS = 50;
const OPERATOR_TOKEN = 'roost_operator_bench-operator-token';
/** How long each throughput figure runs. */
const LOAD_MS = 4_000;
/** How long the no-op after a throughput figure waits for the work it left queued. */
const SETTLE_MS = 1_500;
/** Uncounted calls before each latency figure, with other arguments than the counted calls. */
const WARM_UP = 300;
/** The reference server re-reads (and on writes rewrites) its whole file per call: its figures get a time budget instead of a count. */
const PEER_BUDGET_MS = 30_000;

const quick = process.argv.includes('--quick');
const chosen = /^--sizes=([\d,]+)$/.exec(process.argv.find((a) => a.startsWith('--sizes=')) ?? '');
const sizes = chosen ? chosen[1].split(',').map(Number) : quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];

type Figures = Record<string, number | string>;

async function main(): Promise<void> {
  const corpus = sections(path.join(PACKAGE_ROOT, 'node_modules'));
  const questions = queries(corpus, 300);
  const warm = queries(corpus, WARM_UP, 11);
  console.error(`corpus: ${corpus.length} sections of Markdown under node_modules; ${questions.length} queries`);
  const results: Array<{ size: number; roost: Figures; naive: Figures; peer: Figures }> = [];
  // Every size's data root is removed at the end, not before the next size: for up to six minutes
  // after many files are deleted, ext4 passes over their inodes when it creates a file, which made
  // each new file cost 0.8 ms instead of 0.03 (measured here) and slowed the next size's writes.
  const roots: string[] = [];
  try {
    for (const size of sizes) {
      const root = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-'));
      roots.push(root);
      const set = notes(corpus, size, BOTS);
      const { home, botsDir, tokens, prepareMs } = await prepare(root, set);
      console.error(`\n== ${size} notes (${(size / corpus.length).toFixed(1)} × the corpus); data root written in ${(prepareMs / 1000).toFixed(1)} s`);
      const roost = await measureRoost(home, botsDir, tokens, questions, warm, corpus.map((s) => s.body));
      const naive = await measureNaive(home, questions, warm, corpus.map((s) => s.body));
      const peer = await measurePeer(root, set, questions, warm, corpus.map((s) => s.body));
      await stopAll();
      results.push({ size, roost, naive, peer });
      // Each size's tables as soon as they are measured: a later size may take long.
      console.error(report(results, corpus.length));
    }
  } finally {
    await stopAll();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  }
  console.log(report(results, corpus.length));
}

/** A data root as a running Roost leaves it: the notes in git, a token per bot. Plus 50 bot definitions. */
async function prepare(root: string, set: BenchNote[]) {
  const began = performance.now();
  const home = path.join(root, 'home');
  const botsDir = path.join(root, 'bots');
  mkdirSync(botsDir, { recursive: true });
  for (let i = 0; i < BOTS; i++) {
    writeFileSync(path.join(botsDir, `${botId(i)}.md`), `---\nid: ${botId(i)}\nkind: specialist\nvisibility: shared\n---\nBenchmark bot.\n`);
  }
  const stamp = '2024-05-01T12:00:00.000Z';
  for (const note of set) {
    const file = path.join(home, 'bots', note.bot, ...note.path.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    const frontmatter = `---\ntitle: ${JSON.stringify(note.title)}\ntags: [${JSON.stringify(note.pkg)}]\ncreated: ${stamp}\nupdated: ${stamp}\n---\n`;
    writeFileSync(file, `${frontmatter}${note.body}\n`);
  }
  writeFileSync(path.join(home, '.gitignore'), '.roost/\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: home, stdio: 'pipe', maxBuffer: 1 << 28 });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@roost.local', 'commit', '-q', '-m', 'notes');
  const store = new Tokens(path.join(home, '.roost'));
  const tokens: string[] = [];
  for (let i = 0; i < BOTS; i++) tokens.push(await store.issue(botId(i)));
  // Writing 100,000 files leaves the disk busy for half a minute: flushed now, it slows no measurement.
  execFileSync('sync');
  return { home, botsDir, tokens, prepareMs: performance.now() - began };
}

const commits = (home: string) => Number(execFileSync('git', ['rev-list', '--count', 'HEAD'], { cwd: home, encoding: 'utf8' }));
const mb = (n: number) => Math.round(n);
const ms = (l: Latency) => ({ p50: round(l.p50), p95: round(l.p95) });
const round = (n: number) => Math.round(n * 100) / 100;

/** A new note for write figures: a real section with a word no other note has, to check it is findable. */
const newNote = (bodies: string[], id: string) => ({ marker: `zq${id}`, body: `${bodies[Number(id.replace(/\D/g, '')) % bodies.length]}\n\nmarker zq${id}\n` });

async function measureRoost(home: string, botsDir: string, tokens: string[], questions: string[], warm: string[], bodies: string[]): Promise<Figures> {
  const script = path.join(HERE, 'daemon.js');
  const args = ['--home', home, '--bots', botsDir, '--port', '0'];
  // The per-bot send and write rates are policy, not capacity: lifted here so the figures measure Roost's own cost.
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`, ROOST_OPERATOR_TOKEN: OPERATOR_TOKEN, ROOST_SEND_BURST: '1000000', ROOST_SEND_RATE: '1000000', ROOST_WRITE_BURST: '1000000', ROOST_WRITE_RATE: '1000000' };
  const f: Figures = {};

  // First start: no snapshots, every note is read and indexed (the search across all notes waits
  // for that). Stopping saves the snapshots.
  const cold = await startChild(script, args, env);
  const first = await httpClient(cold.url, { authorization: `Bearer ${OPERATOR_TOKEN}` });
  await call(first, 'search_memory', { query: questions[0], scope: 'all' }, 600_000);
  f.coldStartS = round((performance.now() - cold.began) / 1000);
  await first.close();
  await cold.stop();

  const daemon = await startChild(script, args, env);
  const pid = daemon.process.pid!;
  f.startS = round(daemon.startMs / 1000);
  f.rssReadyMb = mb(rss(pid).now);
  const operator = await httpClient(daemon.url, { authorization: `Bearer ${OPERATOR_TOKEN}` });
  // Serving starts before every shard is loaded; this call waits for all of them.
  await call(operator, 'search_memory', { query: questions[0], scope: 'all' }, 600_000);
  f.allLoadedS = round((performance.now() - daemon.began) / 1000);
  const clients = await Promise.all(tokens.map((token) => httpClient(daemon.url, { authorization: `Bearer ${token}` })));
  f.rssConnectedMb = mb(rss(pid).now);
  console.error(`roost: cold start ${f.coldStartS} s, start ${f.startS} s, all shards ${f.allLoadedS} s, ${f.rssReadyMb} MB ready, ${f.rssConnectedMb} MB with ${BOTS} clients`);

  // The disk's share of a write: the same atomic write (temp file, fsync, rename, folder fsync), without Roost.
  const vault = new Vault(path.dirname(home));
  await warmUp(WARM_UP, (i) => vault.write(`disk/warm-${i}.md`, bodies[i % bodies.length]));
  Object.assign(f, prefixed('disk', ms(await latency(200, (i) => vault.write(`disk/disk-${i}.md`, bodies[i % bodies.length])))));
  await warmUp(WARM_UP, () => call(clients[0], 'noop'));
  Object.assign(f, prefixed('noop', ms(await latency(300, () => call(clients[0], 'noop')))));
  // The ceiling each throughput is measured against, taken just before and after it.
  const noop = (w: number) => call(clients[w], 'noop');

  await warmUp(WARM_UP, (i) => call(clients[i % BOTS], 'search_memory', { query: warm[i], scope: 'own' }));
  const own = await latency(questions.length, (i) => call(clients[i % BOTS], 'search_memory', { query: questions[i], scope: 'own' }));
  Object.assign(f, prefixed('searchOwn', ms(own)));
  await warmUp(WARM_UP, (i) => call(operator, 'search_memory', { query: warm[i], scope: 'all' }));
  const all = await latency(questions.length, (i) => call(operator, 'search_memory', { query: questions[i], scope: 'all' }));
  Object.assign(f, prefixed('searchAll', ms(all)));
  let asked = 0;
  const searches = await bracketed(10, LOAD_MS, SETTLE_MS, noop, (w) => call(clients[w], 'search_memory', { query: questions[asked++ % questions.length], scope: 'own' }));
  f.search10PerS = Math.round(searches.op.perSecond);
  f.searchNoop10PerS = Math.round(searches.baseline.perSecond);
  console.error(`roost: noop p95 ${f.noopP95} ms; search own p95 ${f.searchOwnP95} ms, all p95 ${f.searchAllP95} ms, ${f.search10PerS}/s (no-op ${f.searchNoop10PerS}/s)`);

  await warmUp(WARM_UP, (i) => call(clients[1], 'write_note', { path: `bench/warm-${i}.md`, body: newNote(bodies, `v${i}`).body }));
  let findable = 0;
  const writeTimes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const note = newNote(bodies, `w${i}`);
    const began = performance.now();
    await call(clients[1], 'write_note', { path: `bench/latency-${i}.md`, body: note.body });
    writeTimes.push(performance.now() - began);
    // Not timed: the note must be found by the very next call.
    const found = await call(clients[1], 'search_memory', { query: note.marker, prefix: false, fuzzy: false });
    if ((found.structuredContent as { total: number }).total === 1) findable++;
  }
  Object.assign(f, prefixed('write', ms(percentiles(writeTimes))));
  f.writeFindable = `${findable}/${writeTimes.length}`;
  // Let the commit queue drain before counting commits for the throughput run.
  await new Promise((r) => setTimeout(r, 1500));
  const before = commits(home);
  const writes = await bracketed(10, LOAD_MS, SETTLE_MS, noop, async (w, i) => {
    const note = newNote(bodies, `t${w}x${i}`);
    await call(clients[10 + w], 'write_note', { path: `bench/load-${w}-${i}.md`, body: note.body });
  });
  f.write10PerS = Math.round(writes.op.perSecond);
  f.write10P95 = round(writes.op.p95);
  f.writes = writes.op.calls;
  f.noop10PerS = Math.round(writes.baseline.perSecond);
  await new Promise((r) => setTimeout(r, 1500));
  f.commits = commits(home) - before;
  await warmUp(WARM_UP, (i) => call(clients[2], 'send_message', { to: [botId(3)], subject: `warm ${i}`, body: bodies[i % bodies.length].slice(0, 2000) }));
  const send = await latency(200, (i) => call(clients[2], 'send_message', { to: [botId(3)], subject: `latency ${i}`, body: bodies[i % bodies.length].slice(0, 2000) }));
  Object.assign(f, prefixed('send', ms(send)));
  const sends = await bracketed(BOTS, LOAD_MS, SETTLE_MS, noop, (w, i) =>
    call(clients[w], 'send_message', { to: [botId((w + 1) % BOTS)], subject: `load ${i}`, body: bodies[(w * 31 + i) % bodies.length].slice(0, 2000) }),
  );
  f.send50PerS = Math.round(sends.op.perSecond);
  f.send50P95 = round(sends.op.p95);
  f.noop50PerS = Math.round(sends.baseline.perSecond);
  console.error(`roost: send p95 ${f.sendP95} ms, ${f.send50PerS}/s from ${BOTS} bots (p95 ${f.send50P95} ms; no-op ${f.noop50PerS}/s)`);
  f.rssAfterMb = mb(rss(pid).now);
  f.rssPeakMb = mb(rss(pid).peak);
  f.heapAfterMb = mb(await daemon.liveHeapMb());
  await Promise.all([...clients, operator].map((c) => c.close()));
  await daemon.stop();
  console.error(`roost: write p95 ${f.writeP95} ms (findable ${f.writeFindable}), ${f.write10PerS}/s from 10 clients (no-op ${f.noop10PerS}/s), ${f.writes} writes in ${f.commits} commits; RSS peak ${f.rssPeakMb} MB, live heap ${f.heapAfterMb} MB`);
  return f;
}

async function measureNaive(home: string, questions: string[], warm: string[], bodies: string[]): Promise<Figures> {
  const server = await startChild(path.join(HERE, 'naive.js'), [home]);
  const pid = server.process.pid!;
  const f: Figures = { startS: round(server.startMs / 1000), rssReadyMb: mb(rss(pid).now) };
  const clients = await Promise.all(Array.from({ length: 10 }, () => httpClient(server.url, {})));
  await warmUp(WARM_UP, (i) => call(clients[0], 'search_memory', { query: warm[i], bot: botId(i % BOTS) }));
  const own = await latency(questions.length, (i) => call(clients[0], 'search_memory', { query: questions[i], bot: botId(i % BOTS) }));
  Object.assign(f, prefixed('searchOwn', ms(own)));
  await warmUp(WARM_UP, (i) => call(clients[0], 'search_memory', { query: warm[i] }));
  const all = await latency(questions.length, (i) => call(clients[0], 'search_memory', { query: questions[i] }));
  Object.assign(f, prefixed('searchAll', ms(all)));
  await warmUp(WARM_UP, (i) => call(clients[1], 'write_note', { bot: botId(1), path: `bench/warm-${i}.md`, body: newNote(bodies, `v${i}`).body }));
  const write = await latency(200, (i) => call(clients[1], 'write_note', { bot: botId(1), path: `bench/latency-${i}.md`, body: newNote(bodies, `w${i}`).body }));
  Object.assign(f, prefixed('write', ms(write)));
  const writes = await throughput(10, LOAD_MS, (w, i) =>
    call(clients[w], 'write_note', { bot: botId(10 + w), path: `bench/load-${w}-${i}.md`, body: newNote(bodies, `t${w}x${i}`).body }),
  );
  f.write10PerS = Math.round(writes.perSecond);
  f.rssPeakMb = mb(rss(pid).peak);
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
  console.error(`naive: start ${f.startS} s, search own p95 ${f.searchOwnP95} ms, all p95 ${f.searchAllP95} ms, write p95 ${f.writeP95} ms, RSS peak ${f.rssPeakMb} MB`);
  return f;
}

/** @modelcontextprotocol/server-memory: each note an entity with the note as its observations, in its own JSONL file. */
async function measurePeer(root: string, set: BenchNote[], questions: string[], warm: string[], bodies: string[]): Promise<Figures> {
  const file = path.join(root, 'memory.jsonl');
  const entity = (name: string, observations: string[]) => JSON.stringify({ type: 'entity', name, entityType: 'note', observations });
  writeFileSync(file, set.map((n) => entity(`${n.bot}/${n.path}`, [n.title, n.body])).join('\n'));
  const began = performance.now();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(PACKAGE_ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')],
    env: { ...(process.env as Record<string, string>), MEMORY_FILE_PATH: file },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'roost-bench', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid!;
  const f: Figures = { startS: round((performance.now() - began) / 1000) };
  let peak = 0;
  const sample = setInterval(() => {
    try {
      peak = Math.max(peak, rss(pid).peak);
    } catch {
      // exited
    }
  }, 200);
  try {
    await measurePeerCalls(client, f, questions, warm, bodies);
  } catch (error) {
    // Reported, not hidden: at 100,000 notes the reference server exits during a search.
    f.failed = (error as Error).message.split('\n')[0];
  } finally {
    clearInterval(sample);
  }
  f.rssPeakMb = mb(peak);
  await client.close();
  console.error(`server-memory: search p95 ${f.searchP95} ms (${f.searchCalls} calls), write+find p95 ${f.writeAndFindP95} ms, RSS peak ${f.rssPeakMb} MB${f.failed ? `; failed: ${f.failed}` : ''}`);
  return f;
}

async function measurePeerCalls(client: Client, f: Figures, questions: string[], warm: string[], bodies: string[]): Promise<void> {
  let calls = 0;
  await warmUp(WARM_UP, (i) => (calls++, call(client, 'search_nodes', { query: warm[i] })), PEER_BUDGET_MS / 3).catch((error: Error) => {
    throw new Error(`${error.message} (search call ${calls})`);
  });
  const search = await latency(questions.length, (i) => (calls++, call(client, 'search_nodes', { query: questions[i] })), PEER_BUDGET_MS).catch((error: Error) => {
    throw new Error(`${error.message} (search call ${calls})`);
  });
  Object.assign(f, prefixed('search', ms(search)));
  f.searchCalls = search.count;
  await warmUp(
    WARM_UP,
    (i) => call(client, 'create_entities', { entities: [{ name: `b01/bench/warm-${i}.md`, entityType: 'note', observations: [newNote(bodies, `v${i}`).body] }] }),
    PEER_BUDGET_MS / 3,
  );
  let findable = 0;
  const write = await latency(
    200,
    async (i) => {
      const note = newNote(bodies, `w${i}`);
      await call(client, 'create_entities', { entities: [{ name: `b01/bench/latency-${i}.md`, entityType: 'note', observations: [note.body] }] });
      const found = await call(client, 'search_nodes', { query: note.marker });
      if ((found.structuredContent as { entities: unknown[] }).entities.length === 1) findable++;
    },
    PEER_BUDGET_MS,
  );
  // Timed with the check, as one client over stdio is all this server serves: the write alone is about half.
  Object.assign(f, prefixed('writeAndFind', ms(write)));
  f.writeFindable = `${findable}/${write.count}`;
}

function prefixed(name: string, values: Record<string, number>): Figures {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${name}${k[0].toUpperCase()}${k.slice(1)}`, v]));
}

function report(results: Array<{ size: number; roost: Figures; naive: Figures; peer: Figures }>, corpusSize: number): string {
  const cols = results.map((r) => `${r.size / 1000}k notes`);
  const row = (label: string, goal: string, value: (r: (typeof results)[number]) => string) => `| ${label} | ${goal} | ${results.map(value).join(' | ')} |`;
  const pct = (a: number | string, b: number | string) => `${Math.round((Number(a) / Number(b)) * 100)} %`;
  const ratio = (a: number | string, b: number | string) => (Number(a) / Number(b)).toFixed(2);
  // Scaling with the notes: each size's rate against the first size's, in the same run.
  const first = results[0];
  const x = (a: number | string, b: number | string) => `${(Number(a) / Number(b)).toFixed(Number(a) / Number(b) < 10 ? 1 : 0)}×`;
  const lines = [
    `Corpus: ${corpusSize} sections of the Markdown under node_modules, used ${results.map((r) => (r.size / corpusSize).toFixed(1)).join(' / ')} times over, spread over ${BOTS} bots.`,
    '',
    `| Roost | goal | ${cols.join(' | ')} |`,
    `|---|---|${cols.map(() => '---|').join('')}`,
    row('write_note round trip p50 / p95', 'p95 ≤ 10 ms', (r) => `${r.roost.writeP50} / ${r.roost.writeP95} ms`),
    row('findable by the next search_memory', 'all', (r) => `${r.roost.writeFindable}`),
    row('writes/s, 10 clients (of no-op)', '≥ 500/s, ≥ 50 %', (r) => `${r.roost.write10PerS}/s (${pct(r.roost.write10PerS, r.roost.noop10PerS)})`),
    row('git commits for those writes', '≪ writes', (r) => `${r.roost.commits} for ${r.roost.writes}`),
    row('search own (2k at 100k) p50 / p95', 'p95 ≤ 5 ms', (r) => `${r.roost.searchOwnP50} / ${r.roost.searchOwnP95} ms`),
    row('search all notes p50 / p95', 'p95 ≤ 50 ms', (r) => `${r.roost.searchAllP50} / ${r.roost.searchAllP95} ms`),
    row('searches/s, 10 clients (of no-op)', '', (r) => `${r.roost.search10PerS}/s (${pct(r.roost.search10PerS, r.roost.searchNoop10PerS)})`),
    row('send_message round trip p50 / p95', 'p95 ≤ 10 ms', (r) => `${r.roost.sendP50} / ${r.roost.sendP95} ms`),
    row('messages/s, 50 bots (of no-op); their p95', '≥ 1,000/s, ≥ 70 %; ≤ 50 ms', (r) => `${r.roost.send50PerS}/s (${pct(r.roost.send50PerS, r.roost.noop50PerS)}); ${r.roost.send50P95} ms`),
    row(`messages/s ÷ messages/s at ${first.size / 1000}k (no-op's)`, '≈ 1', (r) => `${ratio(r.roost.send50PerS, first.roost.send50PerS)} (${ratio(r.roost.noop50PerS, first.roost.noop50PerS)})`),
    row('start, snapshots on disk', '≤ 5 s', (r) => `${r.roost.startS} s`),
    row('… until a search across all notes is answered', '', (r) => `${r.roost.allLoadedS} s`),
    row('first start (no snapshots) until all notes are searchable', '', (r) => `${r.roost.coldStartS} s`),
    row('RSS ready / 50 bots connected', '', (r) => `${r.roost.rssReadyMb} / ${r.roost.rssConnectedMb} MB`),
    row('RSS after the run / peak', '≤ 400 MB', (r) => `${r.roost.rssAfterMb} / ${r.roost.rssPeakMb} MB`),
    row('live heap after the run (after a full garbage collection)', '', (r) => `${r.roost.heapAfterMb} MB`),
    row('ceiling: no-op p50 / p95', '', (r) => `${r.roost.noopP50} / ${r.roost.noopP95} ms`),
    row('floor: atomic file write (fsync) p50 / p95', '', (r) => `${r.roost.diskP50} / ${r.roost.diskP95} ms`),
    row('ceiling: no-op calls/s, 10 clients (with searches / writes) / 50 (with sends)', '', (r) => `${r.roost.searchNoop10PerS} / ${r.roost.noop10PerS} / ${r.roost.noop50PerS}`),
    '',
    `| side by side (Roost ÷ other) | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---|').join('')}`,
    `| **naive single index** | ${cols.map(() => '').join(' | ')} |`,
    `| start (rebuild) | ${results.map((r) => `${r.naive.startS} s (Roost ${x(r.naive.startS, r.roost.startS)} faster)`).join(' | ')} |`,
    `| RSS peak | ${results.map((r) => `${r.naive.rssPeakMb} MB (Roost ${x(r.roost.rssPeakMb, r.naive.rssPeakMb)})`).join(' | ')} |`,
    `| search own p95 | ${results.map((r) => `${r.naive.searchOwnP95} ms (Roost ${x(r.naive.searchOwnP95, r.roost.searchOwnP95)} faster)`).join(' | ')} |`,
    `| search all p95 | ${results.map((r) => `${r.naive.searchAllP95} ms (Roost ${x(r.naive.searchAllP95, r.roost.searchAllP95)} faster)`).join(' | ')} |`,
    `| write p95 (no git) | ${results.map((r) => `${r.naive.writeP95} ms`).join(' | ')} |`,
    `| writes/s, 10 clients (no git) | ${results.map((r) => `${r.naive.write10PerS}/s`).join(' | ')} |`,
    `| **@modelcontextprotocol/server-memory** | ${cols.map(() => '').join(' | ')} |`,
    `| search_nodes p50 / p95 | ${results.map((r) => (r.peer.failed ? `failed: ${r.peer.failed}` : `${r.peer.searchP50} / ${r.peer.searchP95} ms (Roost ${x(r.peer.searchP95, r.roost.searchAllP95)} faster)`)).join(' | ')} |`,
    `| create_entities + search_nodes p95 | ${results.map((r) => (r.peer.failed ? '—' : `${r.peer.writeAndFindP95} ms (${r.peer.writeFindable} found)`)).join(' | ')} |`,
    `| RSS peak | ${results.map((r) => `${r.peer.rssPeakMb} MB`).join(' | ')} |`,
  ];
  return lines.join('\n');
}

await main();
