import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { readDaemonInfo } from '../../src/core/lock-file.js';
import { CLI_PATH } from '../../src/package.js';
import { BOTS_DIR, httpClient, OPERATOR_TOKEN, random, tempDir } from '../helpers.js';

/**
 * Power cuts, for real: the data root on a loop-mounted ext4 image, a storm of every kind of change
 * from several bots through the MCP client, then the file system shut down at a random instant
 * without flushing its journal (EXT4_IOC_SHUTDOWN with NOLOGFLUSH: what the disk holds is what a
 * power cut leaves), the daemon killed, the image unmounted and mounted again, the daemon started,
 * and what it serves checked against the log of acknowledgments. POWERCUT_SEED=<n> replays a run.
 */

const SEED = Number(process.env.POWERCUT_SEED ?? Math.floor(Math.random() * 1e9));
const CUTS = { fresh: 14, old: 26, full: 12 };
/** The whole run stops cutting after this long (the cuts done so far are still checked). */
const BUDGET_MS = 11.5 * 60_000;
const BOTS = ['main', 'dev', 'research', 'monitoring'];
const CLIENTS = 6;
const ENV = { ROOST_SEND_BURST: '1000000' };

const work = tempDir('roost-powercut-');
const mounted: string[] = [];

function sh(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why loop-mounted images cannot be used here, or null when they can. */
function unavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (mounting an image needs root)';
  try {
    sh('mkfs.ext4', '-V');
    sh('losetup', '-f');
    return null;
  } catch (error) {
    return `no mkfs.ext4 or free loop device (${(error as Error).message.split('\n')[0]})`;
  }
}

const reason = unavailable();
if (reason && process.env.CI === 'true') throw new Error(`the power-cut suite needs loop devices under CI: ${reason}`);
if (reason) console.warn(`power-cut suite skipped: ${reason}`);

afterAll(() => {
  for (const point of mounted) {
    try {
      sh('umount', point);
    } catch {
      // already unmounted
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** A new ext4 image of `megabytes`, mounted; returns the mount point. */
function makeImage(name: string, megabytes: number): string {
  const image = path.join(work, `${name}.img`);
  const point = path.join(work, name);
  mkdirSync(point);
  sh('truncate', '-s', `${megabytes}M`, image);
  sh('mkfs.ext4', '-q', '-F', image);
  sh('mount', '-o', 'loop', image, point);
  mounted.push(point);
  return point;
}

/** The power cut: nothing more reaches the disk, not even the journal's last transactions. */
function cutPower(point: string): void {
  sh('python3', '-c', `import fcntl,os,struct; fd=os.open(${JSON.stringify(point)},os.O_RDONLY); fcntl.ioctl(fd,0x8004587D,struct.pack('I',2))`);
}

function remount(point: string): void {
  sh('umount', point);
  sh('mount', '-o', 'loop', path.join(work, `${path.basename(point)}.img`), point);
}

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
  /** Words of writes and sends the caller was told failed: they must appear nowhere. */
  refused: string[];
  refusals: number;
  acks: number;
}

const newLedger = (): Ledger => ({ notes: new Map(), absent: new Set(), sends: [], facts: new Map(), journal: [], refused: [], refusals: 0, acks: 0 });

/**
 * Clients of every bot change notes, facts, journals and mail until `stop()`; every acknowledgment
 * goes into the ledger, a call in flight when the power goes makes its note or fact unknown (left alone afterwards).
 */
function storm(url: string, ledger: Ledger, rand: () => number, tag: string, bigBodies: boolean) {
  let stopped = false;
  const clients: Client[] = [];
  const runs = Array.from({ length: CLIENTS }, async (_, i) => {
    const bot = BOTS[i % BOTS.length];
    let client: Client;
    try {
      client = await httpClient(url, OPERATOR_TOKEN, { 'x-roost-bot': bot });
    } catch {
      return;
    }
    clients.push(client);
    const own = () => [...ledger.notes.keys()].filter((key) => key.startsWith(`${bot}/c${i}/`));
    for (let n = 0; !stopped; n++) {
      const word = `${tag}x${i}x${n}q`;
      const notePath = `c${i}/${tag}n${n}.md`;
      const mine = own();
      const pick = mine.length ? mine[Math.floor(rand() * mine.length)] : undefined;
      const kind = Math.floor(rand() * 9);
      const padding = bigBodies && rand() < 0.5 ? `${'x'.repeat(64)}\n`.repeat(1000 + Math.floor(rand() * 3000)) : '';
      let args: Record<string, unknown>;
      let name: string;
      /** The note or fact the call may change: unknown until it is answered. */
      let touched: string | undefined;
      let apply: (result: CallToolResult) => void;
      let refuse: () => void = () => ledger.refused.push(word);
      if (kind === 1 && pick) {
        name = 'write_note';
        args = { path: pick.slice(bot.length + 1), body: `payload ${word}\n${padding}` };
        touched = pick;
        apply = () => ledger.notes.set(pick, [word]);
      } else if (kind === 2 && pick) {
        name = 'edit_note';
        args = { path: pick.slice(bot.length + 1), operation: 'append', text: `more ${word}\n` };
        touched = pick;
        const words = ledger.notes.get(pick)!;
        apply = () => ledger.notes.set(pick, [...words, word]);
      } else if (kind === 3 && pick) {
        name = 'delete_note';
        args = { path: pick.slice(bot.length + 1) };
        touched = pick;
        apply = () => {
          ledger.notes.delete(pick);
          ledger.absent.add(pick);
        };
        refuse = () => undefined;
      } else if (kind === 4 && pick) {
        name = 'move_note';
        args = { from: pick.slice(bot.length + 1), to: notePath };
        touched = pick;
        const words = ledger.notes.get(pick)!;
        apply = () => {
          ledger.notes.delete(pick);
          ledger.absent.add(pick);
          ledger.notes.set(`${bot}/${notePath}`, words);
        };
        refuse = () => ledger.absent.add(`${bot}/${notePath}`);
      } else if (kind === 5) {
        const key = `c${i}-k${n % 4}`;
        name = 'set_fact';
        args = { key, value: `fact ${word}` };
        touched = `fact:${bot}/${key}`;
        apply = () => ledger.facts.set(`${bot}/${key}`, word);
      } else if (kind === 6) {
        name = 'journal_append';
        args = { text: `entry ${word}` };
        apply = () => ledger.journal.push({ bot, word });
      } else if (kind === 7 || kind === 8) {
        const recipients = kind === 7 ? [BOTS[(i + 1) % BOTS.length]] : BOTS.filter((b) => b !== bot);
        name = 'send_message';
        args = { to: recipients, body: `message ${word}\n${padding}` };
        apply = (result) => ledger.sends.push({ word, id: (result.structuredContent as { id: string }).id, from: bot, recipients });
      } else {
        name = 'write_note';
        args = { path: notePath, body: `payload ${word}\n${padding}` };
        touched = `${bot}/${notePath}`;
        apply = () => ledger.notes.set(`${bot}/${notePath}`, [word]);
      }
      // Unknown while in flight (no other client touches it): left out of the ledger until answered.
      const table: Map<string, unknown> = touched?.startsWith('fact:') ? ledger.facts : ledger.notes;
      const key = touched?.replace(/^fact:/, '');
      const before = key === undefined ? undefined : table.get(key);
      if (key !== undefined) table.delete(key);
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      } catch {
        return; // the power went: this call was never answered, its note or fact stays unknown
      }
      if (result.isError) {
        ledger.refusals++;
        refuse();
        if (before !== undefined) table.set(key!, before);
      } else {
        ledger.acks++;
        apply(result);
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

/** Checks the data root against the ledger; returns what is wrong (empty when every invariant holds). */
function violations(home: string, ledger: Ledger): string[] {
  const wrong: string[] = [];
  const where = new Map<string, string[]>();
  const contents = new Map<string, Buffer>();
  for (const file of [...filesUnder(home, 'bots'), ...filesUnder(home, 'mail')]) {
    const data = readFileSync(path.join(home, file));
    contents.set(file, data);
    for (const word of new Set(data.toString('utf8').match(/\b[a-z]\d+x\d+x\d+q\b/g) ?? [])) where.set(word, [...(where.get(word) ?? []), file]);
  }
  const exactly = (word: string, expected: string[], what: string) => {
    const found = (where.get(word) ?? []).sort();
    if (JSON.stringify(found) !== JSON.stringify([...expected].sort())) wrong.push(`${what} ${word}: expected in ${expected.join(', ')}, found in ${found.join(', ') || 'nothing'}`);
  };
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
  for (const word of ledger.refused) if (where.has(word)) wrong.push(`refused ${word} appears in ${where.get(word)!.join(', ')}`);

  // Git: every file as it is on disk, the last commit of each note by its bot, nothing by `external`.
  const tree = new Map(
    execFileSync('git', ['-C', home, 'ls-tree', '-r', 'HEAD', '--', 'bots', 'mail'], { encoding: 'utf8' })
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
  for (const [file, by] of lastAuthor) if (by === 'external' && /^(bots|mail)\//.test(file)) wrong.push(`${file} committed as external`);
  for (const key of ledger.notes.keys()) {
    const by = lastAuthor.get(`bots/${key}`);
    if (by !== key.split('/')[0]) wrong.push(`bots/${key} last committed by ${by}`);
  }
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
const stats = { cuts: 0, acks: 0, refusals: 0 };

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
  const within = () => Date.now() - started < BUDGET_MS;

  // Right after the first start of a new data root: during git init and the first changes.
  for (let k = 0; k < CUTS.fresh && within(); k++) {
    const home = path.join(point, `fresh${k}`);
    const ledger = newLedger();
    const at = Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: fresh data root, ${at} ms after the first start`);
    await stormAndCut(point, home, ledger, rand, `f${k}`, at, startDaemon(home));
    const daemon = await startAndCheck(home, ledger, `fresh cut ${k} (seed ${SEED})`);
    await kill(daemon);
    stats.acks += ledger.acks;
  }

  // On an older data root: one ledger across every cut.
  const home = path.join(point, 'old');
  const ledger = newLedger();
  let daemon = startDaemon(home);
  for (let k = 0; k < CUTS.old && within(); k++) {
    await daemon.url;
    const at = 300 + Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: old data root (${ledger.acks} changes so far), ${at} ms into a storm`);
    await stormAndCut(point, home, ledger, rand, `o${k}`, at, daemon);
    daemon = await startAndCheck(home, ledger, `old cut ${k} (seed ${SEED})`);
  }
  await kill(daemon);
  stats.acks += ledger.acks;
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
  for (let k = 0; k < CUTS.full && within(); k++) {
    await fullDaemon.url;
    const at = 300 + Math.floor(rand() * 2500);
    console.log(`cut ${stats.cuts + 1}: nearly full disk (${fullLedger.refusals} refused so far), ${at} ms into a storm`);
    await stormAndCut(small, fullHome, fullLedger, rand, `d${k}`, at, fullDaemon, true);
    fullDaemon = await startAndCheck(fullHome, fullLedger, `full cut ${k} (seed ${SEED})`);
  }
  await kill(fullDaemon);
  stats.acks += fullLedger.acks;
  stats.refusals += fullLedger.refusals;

  console.log(`power-cut suite: ${stats.cuts} cuts in ${Math.round((Date.now() - started) / 1000)} s, ${stats.acks} acknowledged changes and ${stats.refusals} refusals checked, seed ${SEED}`);
  expect(stats.cuts).toBeGreaterThanOrEqual(50);
  expect(fullLedger.refusals).toBeGreaterThan(0);
});
