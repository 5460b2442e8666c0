import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect, it } from 'vitest';
import { readDaemonInfo } from '../../src/core/lock-file.js';
import { parseNote } from '../../src/core/notes.js';
import { CLI_PATH } from '../../src/package.js';
import { BOTS_DIR, httpClient, OPERATOR_TOKEN, random } from '../helpers.js';
import { cutPower, imagesUnavailable, makeImage, remount, sh } from './disk.js';

/**
 * Power cuts, for real: the data root on a loop-mounted ext4 image, a storm of every kind of change
 * from several bots through the MCP client, then the file system shut down at a random instant
 * (see disk.ts), the daemon killed, the image unmounted and mounted again, the daemon started,
 * and what it serves checked against the log of acknowledgments. POWERCUT_SEED=<n> replays a run.
 */

const SEED = Number(process.env.POWERCUT_SEED ?? Math.floor(Math.random() * 1e9));
const CUTS = { fresh: 14, old: 26, full: 12 };
/**
 * The whole run stops cutting after this long, and each kind of cut after its share of it, so that
 * a slow machine still cuts on a full disk (the cuts done so far are still checked).
 */
const BUDGET_MS = 9.5 * 60_000;
const SHARE = { fresh: 0.25, old: 0.75, full: 1 };
const BOTS = ['main', 'dev', 'research', 'monitoring'];
const CLIENTS = 6;
const ENV = { ROOST_SEND_BURST: '1000000' };
const TOOLS = [
  'ack_messages', 'create_topic', 'delete_note', 'edit_note', 'journal_append', 'move_note', 'read_inbox', 'register_bot', 'retire_bot',
  'send_message', 'set_fact', 'subscribe_topic', 'unsubscribe_topic', 'update_bot', 'update_topic', 'write_note',
];

const reason = imagesUnavailable();

interface Daemon {
  child: ChildProcess;
  url: Promise<string>;
  output: () => string;
  exited: Promise<void>;
}

function startDaemon(home: string): Daemon {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--home', home, '--port', '0', '--bots', BOTS_DIR], {
    env: { ...process.env, ROOST_OPERATOR_TOKEN: OPERATOR_TOKEN, ...ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = (async () => {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`roost serve exited: ${output}`);
      const info = await readDaemonInfo(path.join(home, '.roost/daemon.lock'));
      if (info?.pid === child.pid && info.url) return info.url;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  url.catch(() => undefined);
  return { child, url, output: () => output, exited };
}

async function kill(daemon: Daemon): Promise<void> {
  daemon.child.kill('SIGKILL');
  await daemon.exited;
}

/** What was acknowledged (or refused) so far on one data root. */
interface Ledger {
  /** Notes that exist, by `bot/path`, with the words their content holds. */
  notes: Map<string, string[]>;
  /** `bot/path`s that must not exist: deleted, moved away, or the target of a refused move. */
  absent: Set<string>;
  sends: Array<{ word: string; id: string; from: string; recipients: string[] }>;
  /** Facts by `bot/key`: the word of the last value set. */
  facts: Map<string, string>;
  journal: Array<{ bot: string; word: string }>;
  /** Topics by name: the word of their description, their listed members, and the bot that changed them last. */
  topics: Map<string, { word: string; members: string[]; by: string }>;
  /** Registry files by bot id: the word of the bot's description, its status, and the bot that changed it last. */
  registry: Map<string, { word: string; status: 'active' | 'retired'; by: string }>;
  /** Marks by `bot/message id`: read, or acknowledged. */
  marks: Map<string, 'read' | 'ack'>;
  /** Acknowledgments refused (`bot/id`): not acknowledged afterwards unless also acknowledged, or unanswered, by another call. */
  refusedAcks: Set<string>;
  unansweredAcks: Set<string>;
  /** Words of writes and sends the caller was told failed: they must appear nowhere. */
  refused: string[];
  refusals: number;
  acks: number;
  /** Acknowledged calls by tool. */
  byTool: Map<string, number>;
}

const newLedger = (): Ledger => ({
  notes: new Map(),
  absent: new Set(),
  sends: [],
  facts: new Map(),
  journal: [],
  topics: new Map(),
  registry: new Map(),
  marks: new Map(),
  refusedAcks: new Set(),
  unansweredAcks: new Set(),
  refused: [],
  refusals: 0,
  acks: 0,
  byTool: new Map(),
});

/** One call of the storm: what it asks, and what its answer or refusal means for the ledger. */
interface Call {
  name: string;
  args: Record<string, unknown>;
  /** The ledger entry the call may change: unknown (left out) until it is answered. */
  touches?: { table: Map<string, unknown>; key: string };
  apply: (result: CallToolResult) => void;
  refuse?: () => void;
  /** The power went before the answer. */
  lost?: () => void;
}

/**
 * Clients of every bot change notes, facts, journals, mail and its read and acknowledged marks,
 * topics and the registry until `stop()`; every acknowledgment goes into the ledger, a call in
 * flight when the power goes makes what it touches unknown (left alone afterwards).
 */
function storm(url: string, ledger: Ledger, rand: () => number, tag: string, bigBodies: boolean) {
  let stopped = false;
  const clients: Client[] = [];
  const pickOf = <T>(items: T[]): T | undefined => (items.length ? items[Math.floor(rand() * items.length)] : undefined);
  const runs = Array.from({ length: CLIENTS }, async (_, i) => {
    const bot = BOTS[i % BOTS.length];
    let client: Client;
    try {
      client = await httpClient(url, OPERATOR_TOKEN, { 'x-roost-bot': bot });
    } catch {
      return;
    }
    clients.push(client);
    /** Ids of messages this client read in its bot's inbox. */
    const seen: string[] = [];
    for (let n = 0; !stopped; n++) {
      const word = `${tag}x${i}x${n}q`;
      const notePath = `c${i}/${tag}n${n}.md`;
      const note = pickOf([...ledger.notes.keys()].filter((key) => key.startsWith(`${bot}/c${i}/`)));
      const topic = pickOf([...ledger.topics.keys()].filter((name) => name.startsWith(`c${i}t`)));
      const registered = pickOf([...ledger.registry].filter(([id, entry]) => id.startsWith(`c${i}r`) && entry.status === 'active').map(([id]) => id));
      const padding = bigBodies && rand() < 0.5 ? `${'x'.repeat(64)}\n`.repeat(1000 + Math.floor(rand() * 3000)) : '';
      const members = () => BOTS.filter(() => rand() < 0.5).sort();
      const send = (to: string[], body: string): Call => ({
        name: 'send_message',
        args: { to, body },
        apply: (result) => {
          const sent = result.structuredContent as { id: string; recipients: Array<{ bot: string }> };
          ledger.sends.push({ word, id: sent.id, from: bot, recipients: sent.recipients.map((r) => r.bot) });
        },
      });
      let call: Call;
      const kind = Math.floor(rand() * 15);
      if (kind === 1 && note) {
        call = { name: 'write_note', args: { path: note.slice(bot.length + 1), body: `payload ${word}\n${padding}` }, touches: { table: ledger.notes, key: note }, apply: () => ledger.notes.set(note, [word]) };
      } else if (kind === 2 && note) {
        const words = ledger.notes.get(note)!;
        call = { name: 'edit_note', args: { path: note.slice(bot.length + 1), operation: 'append', text: `more ${word}\n` }, touches: { table: ledger.notes, key: note }, apply: () => ledger.notes.set(note, [...words, word]) };
      } else if (kind === 3 && note) {
        call = {
          name: 'delete_note',
          args: { path: note.slice(bot.length + 1) },
          touches: { table: ledger.notes, key: note },
          apply: () => ledger.absent.add(note),
          refuse: () => undefined,
        };
      } else if (kind === 4 && note) {
        const words = ledger.notes.get(note)!;
        call = {
          name: 'move_note',
          args: { from: note.slice(bot.length + 1), to: notePath },
          touches: { table: ledger.notes, key: note },
          apply: () => {
            ledger.absent.add(note);
            ledger.notes.set(`${bot}/${notePath}`, words);
          },
          refuse: () => ledger.absent.add(`${bot}/${notePath}`),
        };
      } else if (kind === 5) {
        const key = `c${i}-k${n % 4}`;
        call = { name: 'set_fact', args: { key, value: `fact ${word}` }, touches: { table: ledger.facts, key: `${bot}/${key}` }, apply: () => ledger.facts.set(`${bot}/${key}`, word) };
      } else if (kind === 6 || (kind === 14 && i >= BOTS.length && bot !== 'main')) {
        call = { name: 'journal_append', args: { text: `entry ${word}` }, apply: () => ledger.journal.push({ bot, word }) };
      } else if (kind === 7 || kind === 8) {
        call = send(kind === 7 ? [BOTS[(i + 1) % BOTS.length]] : BOTS.filter((b) => b !== bot), `message ${word}\n${padding}`);
      } else if (kind === 9) {
        call = {
          name: 'read_inbox',
          args: { status: 'unread', limit: 1 + Math.floor(rand() * 10) },
          apply: (result) => {
            for (const { id } of (result.structuredContent as { messages: Array<{ id: string }> }).messages) {
              seen.push(id);
              if (ledger.marks.get(`${bot}/${id}`) !== 'ack') ledger.marks.set(`${bot}/${id}`, 'read');
            }
          },
          refuse: () => undefined,
        };
      } else if (kind === 10 && seen.length) {
        const ids = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pickOf(seen)!))];
        call = {
          name: 'ack_messages',
          args: { ids },
          apply: () => ids.forEach((id) => ledger.marks.set(`${bot}/${id}`, 'ack')),
          refuse: () => ids.forEach((id) => ledger.refusedAcks.add(`${bot}/${id}`)),
          lost: () => ids.forEach((id) => ledger.unansweredAcks.add(`${bot}/${id}`)),
        };
      } else if (kind === 11 && (!topic || rand() < 0.3)) {
        const name = `c${i}t${tag}n${n}`;
        const listed = members();
        call = {
          name: 'create_topic',
          args: { name, description: `topic ${word}`, members: listed },
          touches: { table: ledger.topics, key: name },
          apply: () => ledger.topics.set(name, { word, members: listed, by: bot }),
        };
      } else if (kind === 11 && topic) {
        const before = ledger.topics.get(topic)!;
        const listed = rand() < 0.5 ? members() : undefined;
        call = {
          name: 'update_topic',
          args: { topic, description: `topic ${word}`, ...(listed ? { members: listed } : {}) },
          touches: { table: ledger.topics, key: topic },
          apply: () => ledger.topics.set(topic, { word, members: listed ?? before.members, by: bot }),
        };
      } else if (kind === 12 && topic) {
        const before = ledger.topics.get(topic)!;
        const member = before.members.includes(bot);
        call = {
          name: member ? 'unsubscribe_topic' : 'subscribe_topic',
          args: { topic },
          touches: { table: ledger.topics, key: topic },
          apply: () => ledger.topics.set(topic, { ...before, members: member ? before.members.filter((b) => b !== bot) : [...before.members, bot].sort(), by: bot }),
          refuse: () => undefined,
        };
      } else if (kind === 13 && topic) {
        call = send([`#${topic}`], `post ${word}`);
      } else if (kind === 14 && bot === 'main' && registered && rand() < 0.3) {
        const before = ledger.registry.get(registered)!;
        call = {
          name: 'retire_bot',
          args: { id: registered },
          touches: { table: ledger.registry, key: registered },
          apply: () => ledger.registry.set(registered, { ...before, status: 'retired', by: bot }),
          refuse: () => undefined,
        };
      } else if (kind === 14 && bot === 'main' && (i >= BOTS.length || rand() < 0.5)) {
        const id = `c${i}r${tag}n${n}`;
        call = {
          name: 'register_bot',
          args: { id, description: `bot ${word}` },
          touches: { table: ledger.registry, key: id },
          apply: () => ledger.registry.set(id, { word, status: 'active', by: bot }),
        };
      } else if (kind === 14) {
        // Only the first client of each bot changes its profile: no two calls in flight on one file.
        call = {
          name: 'update_bot',
          args: { description: `bot ${word}` },
          touches: { table: ledger.registry, key: bot },
          apply: () => ledger.registry.set(bot, { word, status: 'active', by: bot }),
        };
      } else {
        call = { name: 'write_note', args: { path: notePath, body: `payload ${word}\n${padding}` }, touches: { table: ledger.notes, key: `${bot}/${notePath}` }, apply: () => ledger.notes.set(`${bot}/${notePath}`, [word]) };
      }
      // Unknown while in flight (no other client touches it): left out of the ledger until answered.
      const before = call.touches?.table.get(call.touches.key);
      call.touches?.table.delete(call.touches.key);
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name: call.name, arguments: call.args })) as CallToolResult;
      } catch {
        call.lost?.();
        return; // the power went: this call was never answered, what it touches stays unknown
      }
      if (result.isError) {
        ledger.refusals++;
        (call.refuse ?? (() => ledger.refused.push(word)))();
        if (before !== undefined) call.touches!.table.set(call.touches!.key, before);
      } else {
        ledger.acks++;
        ledger.byTool.set(call.name, (ledger.byTool.get(call.name) ?? 0) + 1);
        call.apply(result);
      }
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      await Promise.all(runs);
    },
  };
}

function filesUnder(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

const blobId = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

/** The marks a bot's mail state holds: what the daemon loads at start. */
function marksOf(home: string, bot: string): { read: Set<string>; acked: Set<string> } {
  const read = new Set<string>();
  const acked = new Set<string>();
  const file = path.join(home, '.roost', 'mail', 'state', `${bot}.log`);
  for (const line of existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []) {
    const [mark, ...ids] = line.split(' ');
    for (const id of ids) (mark === 'ack' ? acked : mark === 'read' ? read : new Set()).add(id);
  }
  return { read, acked };
}

/** Checks the data root against the ledger; returns what is wrong (empty when every invariant holds). */
function violations(home: string, ledger: Ledger): string[] {
  const wrong: string[] = [];
  const where = new Map<string, string[]>();
  const contents = new Map<string, Buffer>();
  for (const file of ['bots', 'mail', 'topics', 'registry'].flatMap((dir) => filesUnder(home, dir))) {
    const data = readFileSync(path.join(home, file));
    contents.set(file, data);
    for (const word of new Set(data.toString('utf8').match(/\b[a-z]\d+x\d+x\d+q\b/g) ?? [])) where.set(word, [...(where.get(word) ?? []), file]);
  }
  const exactly = (word: string, expected: string[], what: string) => {
    const found = (where.get(word) ?? []).sort();
    if (JSON.stringify(found) !== JSON.stringify([...expected].sort())) wrong.push(`${what} ${word}: expected in ${expected.join(', ')}, found in ${found.join(', ') || 'nothing'}`);
  };
  const frontmatter = (file: string) => parseNote(contents.get(file)?.toString('utf8') ?? '').frontmatter;
  for (const [key, words] of ledger.notes) for (const word of words) exactly(word, [`bots/${key}`], 'note');
  for (const key of ledger.absent) if (existsSync(path.join(home, 'bots', key))) wrong.push(`bots/${key} is back`);
  for (const s of ledger.sends) exactly(s.word, [...s.recipients.map((r) => `mail/${r}/inbox/${s.id}.md`), `mail/${s.from}/sent/${s.id}.md`], 'send');
  for (const [key, word] of ledger.facts) {
    const [bot, name] = key.split('/');
    if (!(where.get(word) ?? []).includes(`bots/${bot}/facts/${name}.md`)) wrong.push(`fact ${key} lost ${word}`);
  }
  for (const { bot, word } of ledger.journal) {
    const found = where.get(word) ?? [];
    if (found.length !== 1 || !found[0].startsWith(`bots/${bot}/journal/`)) wrong.push(`journal entry ${word} found in ${found.join(', ') || 'nothing'}`);
  }
  for (const [name, { word, members }] of ledger.topics) {
    exactly(word, [`topics/${name}.md`], 'topic');
    const listed = frontmatter(`topics/${name}.md`).members;
    if (JSON.stringify(listed ?? []) !== JSON.stringify(members)) wrong.push(`topic ${name} lists ${JSON.stringify(listed)}, not ${JSON.stringify(members)}`);
  }
  for (const [id, { word, status }] of ledger.registry) {
    exactly(word, [`registry/${id}.md`], 'registry entry');
    const now = frontmatter(`registry/${id}.md`).status;
    if (now !== status) wrong.push(`bot ${id} is ${now}, not ${status}`);
  }
  for (const word of ledger.refused) if (where.has(word)) wrong.push(`refused ${word} appears in ${where.get(word)!.join(', ')}`);

  // Read and acknowledged marks of acknowledged messages, as the daemon loads them.
  const sent = new Set(ledger.sends.map((s) => s.id));
  const state = new Map(BOTS.map((bot) => [bot, marksOf(home, bot)]));
  for (const [key, mark] of ledger.marks) {
    const [bot, id] = key.split('/');
    if (!sent.has(id)) continue;
    const { read, acked } = state.get(bot)!;
    if (!acked.has(id) && (mark === 'ack' || !read.has(id))) wrong.push(`${bot} lost its ${mark} mark of ${id}`);
  }
  for (const key of ledger.refusedAcks) {
    const [bot, id] = key.split('/');
    if (ledger.marks.get(key) !== 'ack' && !ledger.unansweredAcks.has(key) && state.get(bot)!.acked.has(id)) wrong.push(`${bot}'s refused acknowledgment of ${id} holds`);
  }

  // Git: every file as it is on disk, the last commit of each note, topic and registry file by its bot, nothing by `external`.
  const tree = new Map(
    execFileSync('git', ['-C', home, 'ls-tree', '-r', 'HEAD', '--', 'bots', 'mail', 'topics', 'registry'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('\t')[1], line.split('\t')[0].split(' ')[2]] as const),
  );
  for (const [file, data] of contents) if (tree.get(file) !== blobId(data)) wrong.push(`git lacks ${file} as it is on disk`);
  for (const file of tree.keys()) if (!contents.has(file)) wrong.push(`git has ${file}, which is gone`);
  const lastAuthor = new Map<string, string>();
  let author = '';
  for (const line of execFileSync('git', ['-C', home, 'log', '--format=@%an', '--name-only', '--no-renames'], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n')) {
    if (line.startsWith('@')) author = line.slice(1);
    else if (line && !lastAuthor.has(line)) lastAuthor.set(line, author);
  }
  for (const [file, by] of lastAuthor) if (by === 'external') wrong.push(`${file} committed as external`);
  const lastBy = (file: string, expected: string) => {
    const by = lastAuthor.get(file);
    if (by !== expected) wrong.push(`${file} last committed by ${by}, not ${expected}`);
  };
  for (const key of ledger.notes.keys()) lastBy(`bots/${key}`, key.split('/')[0]);
  for (const [name, { by }] of ledger.topics) lastBy(`topics/${name}.md`, by);
  for (const [id, { by }] of ledger.registry) lastBy(`registry/${id}.md`, by);
  return wrong;
}

/** Starts the daemon after a cut and waits until what it serves and what git holds match the ledger. */
async function startAndCheck(home: string, ledger: Ledger, label: string): Promise<Daemon> {
  const daemon = startDaemon(home);
  await daemon.url.catch((error) => {
    throw new Error(`${label}: the daemon did not start after the cut: ${(error as Error).message}`);
  });
  // Changes a cut left uncommitted are committed within moments of the start.
  let wrong: string[] = [];
  for (let tries = 0; tries < 150; tries++) {
    wrong = violations(home, ledger);
    if (!wrong.length) return daemon;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await kill(daemon);
  throw new Error(`${label}: ${wrong.length} invariants broken after the cut:\n${wrong.slice(0, 30).join('\n')}\n--- daemon output ---\n${daemon.output().slice(-3000)}`);
}

const started = Date.now();
const stats = { cuts: 0, acks: 0, refusals: 0, byTool: new Map<string, number>() };
const tally = (ledger: Ledger) => {
  stats.acks += ledger.acks;
  stats.refusals += ledger.refusals;
  for (const [tool, count] of ledger.byTool) stats.byTool.set(tool, (stats.byTool.get(tool) ?? 0) + count);
};

/** One storm on `home` cut at a random instant `atMs` after the daemon was started (maybe before it answers). */
async function stormAndCut(point: string, home: string, ledger: Ledger, rand: () => number, tag: string, atMs: number, daemon: Daemon, big = false): Promise<void> {
  const cutAt = Date.now() + atMs;
  const url = await Promise.race([daemon.url, new Promise<null>((resolve) => setTimeout(() => resolve(null), atMs))]).catch(() => null);
  const run = url ? storm(url, ledger, rand, tag, big) : undefined;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt - Date.now())));
  cutPower(point);
  await kill(daemon);
  await run?.stop();
  remount(point);
  stats.cuts++;
}

it.skipIf(reason !== null)('keeps every acknowledged change, and only those, across power cuts at random instants', { timeout: 15 * 60_000 }, async () => {
  console.log(`power-cut suite: seed ${SEED} (replay with POWERCUT_SEED=${SEED})`);
  const rand = random(SEED);
  const point = makeImage('disk', 400);
  const within = (share: number) => Date.now() - started < share * BUDGET_MS;

  // Right after the first start of a new data root: during git init and the first changes.
  for (let k = 0; k < CUTS.fresh && within(SHARE.fresh); k++) {
    const home = path.join(point, `fresh${k}`);
    const ledger = newLedger();
    const at = Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: fresh data root, ${at} ms after the first start`);
    await stormAndCut(point, home, ledger, rand, `f${k}`, at, startDaemon(home));
    const daemon = await startAndCheck(home, ledger, `fresh cut ${k} (seed ${SEED})`);
    await kill(daemon);
    tally(ledger);
  }

  // On an older data root: one ledger across every cut.
  const home = path.join(point, 'old');
  const ledger = newLedger();
  let daemon = startDaemon(home);
  for (let k = 0; k < CUTS.old && within(SHARE.old); k++) {
    await daemon.url;
    const at = 300 + Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: old data root (${ledger.acks} changes so far), ${at} ms into a storm`);
    await stormAndCut(point, home, ledger, rand, `o${k}`, at, daemon);
    daemon = await startAndCheck(home, ledger, `old cut ${k} (seed ${SEED})`);
  }
  await kill(daemon);
  tally(ledger);
  expect(ledger.sends.length + ledger.notes.size + ledger.absent.size).toBeGreaterThan(0);

  // On a nearly full disk: big notes and messages, many refused.
  const small = makeImage('full', 96);
  const fullHome = path.join(small, 'root');
  const fullLedger = newLedger();
  let fullDaemon = startDaemon(fullHome);
  await fullDaemon.url;
  const { bavail, bsize } = statfsSync(small);
  writeFileSync(path.join(small, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 6 * 1024 * 1024)));
  sh('sync');
  for (let k = 0; k < CUTS.full && within(SHARE.full); k++) {
    await fullDaemon.url;
    const at = 300 + Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: nearly full disk (${fullLedger.refusals} refused so far), ${at} ms into a storm`);
    await stormAndCut(small, fullHome, fullLedger, rand, `d${k}`, at, fullDaemon, true);
    fullDaemon = await startAndCheck(fullHome, fullLedger, `full cut ${k} (seed ${SEED})`);
  }
  await kill(fullDaemon);
  tally(fullLedger);

  console.log(`power-cut suite: ${stats.cuts} cuts in ${Math.round((Date.now() - started) / 1000)} s, ${stats.acks} acknowledged changes and ${stats.refusals} refusals checked, seed ${SEED}`);
  console.log(`acknowledged calls by tool: ${[...stats.byTool].sort().map(([tool, count]) => `${tool} ${count}`).join(', ')}`);
  expect(stats.cuts).toBeGreaterThanOrEqual(50);
  // Every kind of change was acknowledged at least once, and so checked.
  expect([...stats.byTool.keys()].sort()).toEqual(TOOLS);
  expect(fullLedger.refusals).toBeGreaterThan(0);
});
