import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { call, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, tempDir, type DaemonProcess } from '../helpers.js';

const ROUNDS = Number(process.env.KILL_ROUNDS ?? 20);
const CLIENTS = 10;
const BOTS = ['main', 'dev', 'research', 'monitoring'];
const TOPIC = 'storm';
/** Before this round's start, git's index lock and branch lock are left over too (the daemon lock is, after every kill). */
const PLANT_ROUND = Math.max(1, Math.floor(ROUNDS / 2));
// The storm tests durability, not the send rate.
const ENV = { ROOST_SEND_BURST: '1000000' };

const home = tempDir('roost-kill-');
let daemon: DaemonProcess | undefined;
afterAll(async () => {
  await daemon?.kill();
});

function hiddenFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === '.git' || e.name === '.roost') return [];
    if (e.isDirectory()) return hiddenFiles(path.join(dir, e.name));
    return e.name.startsWith('.') && e.name !== '.gitignore' ? [path.join(dir, e.name)] : [];
  });
}

/** A send of the storm: its idempotency key and unique word, who sent it, who must get it, and its id once acknowledged. */
interface Send {
  key: string;
  word: string;
  from: string;
  to: string[];
  recipients: string[];
  id?: string;
}

const inboxOf = async (client: Client): Promise<Array<{ id: string; body: string }>> => {
  const messages: Array<{ id: string; body: string }> = [];
  for (let cursor: string | undefined; ; ) {
    const page = await call(client, 'read_inbox', { status: 'all', peek: true, limit: 100, ...(cursor ? { cursor } : {}) });
    messages.push(...page.messages);
    cursor = page.next_cursor;
    if (!cursor) return messages;
  }
};

it(`loses no acknowledged write or send when the daemon is killed -9 at random, ${ROUNDS} times in a row`, { timeout: 900_000 }, async () => {
  const acked = new Map<string, { bot: string; word: string }>();
  const sends: Send[] = [];
  /** Sends whose answer the kill took away, per client: retried with the same key in the next round. */
  const unanswered: Send[][] = Array.from({ length: CLIENTS }, () => []);
  const refusals: string[] = [];
  let seed = 7;
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);

  for (let round = 0; round < ROUNDS; round++) {
    if (round === PLANT_ROUND) {
      // What a kill -9 in the middle of a git command leaves, next to the stale daemon lock the kill left.
      const stale = JSON.parse(readFileSync(path.join(home, '.roost/daemon.lock'), 'utf8'));
      expect(stale.pid).toBe(daemon!.pid);
      const branch = git(home, 'symbolic-ref', '--short', 'HEAD').trim();
      writeFileSync(path.join(home, '.git/index.lock'), '');
      writeFileSync(path.join(home, `.git/refs/heads/${branch}.lock`), '');
    }
    daemon = await startDaemonProcess(home, ENV);
    if (round === PLANT_ROUND) {
      // It started over the stale locks, and commits.
      const writer = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
      await call(writer, 'write_note', { path: 'after-locks.md', body: 'committed despite the leftover locks\n' });
      await writer.close();
      await eventually(() => git(home, 'log', '--format=%an|%s', '-1', '--', 'bots/dev/after-locks.md').startsWith('dev|'), 20_000);
      await eventually(() => !existsSync(path.join(home, '.git/index.lock')) && git(home, 'status', '--porcelain', '--', 'bots/dev/after-locks.md') === '', 20_000);
    }
    const clients: Client[] = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => httpClient(daemon!.url, OPERATOR_TOKEN, { 'x-roost-bot': BOTS[i % BOTS.length] })),
    );
    if (round === 0) await call(clients[0], 'create_topic', { name: TOPIC, members: BOTS });
    let stop = false;
    const answered = () => sends.filter((s) => s.id).length;
    const before = { notes: acked.size, sends: answered() };
    const storms = clients.map(async (client, i) => {
      const bot = BOTS[i % BOTS.length];
      const send = async (s: Send) => {
        const result = (await client.callTool({ name: 'send_message', arguments: { to: s.to, body: `message ${s.word}\n`, idempotency_key: s.key } })) as CallToolResult;
        if (result.isError) refusals.push(JSON.stringify(result.content));
        else s.id = (result.structuredContent as { id: string }).id;
      };
      for (let n = 0; !stop; n++) {
        const word = `w${round}x${i}x${n}q`;
        const retry = unanswered[i][0];
        try {
          if (retry) {
            await send(retry);
            unanswered[i].shift();
          } else if (n % 3 === 0) {
            const notePath = `storm/r${round}/c${i}/n${n}.md`;
            const result = (await client.callTool({ name: 'write_note', arguments: { path: notePath, body: `payload ${word}\n` } })) as CallToolResult;
            if (!result.isError) acked.set(`${bot}/${notePath}`, { bot, word });
          } else {
            const other = BOTS[(BOTS.indexOf(bot) + 1 + (n % (BOTS.length - 1))) % BOTS.length];
            const toTopic = n % 3 === 2;
            const s: Send = {
              key: `k-${word}`,
              word,
              from: bot,
              to: toTopic ? [`#${TOPIC}`] : [other],
              recipients: toTopic ? BOTS.filter((b) => b !== bot) : [other],
            };
            sends.push(s);
            unanswered[i].push(s);
            await send(s);
            unanswered[i].shift();
          }
        } catch {
          return; // the daemon is gone: this call was never acknowledged
        }
      }
    });
    // Kill mid-storm: once writes and sends are flowing, after a random extra moment.
    await eventually(() => acked.size >= before.notes + 3 && answered() >= before.sends + 3, 60_000);
    await new Promise((r) => setTimeout(r, random() * 400));
    await daemon.kill();
    stop = true;
    // Closing the clients fails the calls that were in flight when the daemon died.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(storms);
  }

  // Restart once more after the last kill; retry the sends the last kill left unanswered.
  daemon = await startDaemonProcess(home, ENV);
  const client = await httpClient(daemon.url, OPERATOR_TOKEN);
  const as = await Promise.all(BOTS.map((bot) => httpClient(daemon!.url, OPERATOR_TOKEN, { 'x-roost-bot': bot })));
  for (const s of unanswered.flat()) {
    const result = await call(as[BOTS.indexOf(s.from)], 'send_message', { to: s.to, body: `message ${s.word}\n`, idempotency_key: s.key });
    s.id = result.id;
  }
  expect(refusals).toEqual([]);

  expect(acked.size).toBeGreaterThanOrEqual(ROUNDS * 3);
  for (const [key, { word }] of acked) {
    expect(readFileSync(path.join(home, 'bots', key), 'utf8')).toContain(`payload ${word}`);
  }
  expect(hiddenFiles(home)).toEqual([]);
  expect(existsSync(path.join(home, '.git/index.lock'))).toBe(false);
  // Sends a crash cut short are finished at the start and committed a moment later; git's index follows a second after.
  await eventually(() => git(home, 'status', '--porcelain') === '', 30_000);
  const tracked = new Set(git(home, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'bots', 'mail').trim().split('\n'));
  for (const key of acked.keys()) expect(tracked.has(`bots/${key}`)).toBe(true);

  // Every send, each acknowledged now, is in each of its recipients' inboxes exactly once, under the id it was acknowledged with.
  expect(sends.length).toBeGreaterThanOrEqual(ROUNDS * 3);
  const inboxes = new Map(await Promise.all(BOTS.map(async (bot, i) => [bot, await inboxOf(as[i])] as const)));
  for (const s of sends) {
    for (const bot of s.recipients) {
      const copies = inboxes.get(bot)!.filter((m) => m.body.includes(`message ${s.word}`));
      expect(copies.map((m) => m.id), `${s.word} in ${bot}'s inbox`).toEqual([s.id]);
      expect(tracked.has(`mail/${bot}/inbox/${s.id}.md`), `${s.id} committed`).toBe(true);
    }
  }
  // And nothing else arrived: no message of the storm outside its recipients.
  const storm = [...inboxes.values()].flat().filter((m) => m.body.startsWith('message '));
  expect(storm).toHaveLength(sends.reduce((n, s) => n + s.recipients.length, 0));

  // Every send is findable by its unique word with search_messages: by each recipient in its inbox, by the sender in its sent mail.
  const lookups = sends.flatMap((s) => [...s.recipients.map((bot) => ({ s, bot, folder: 'inbox' })), { s, bot: s.from, folder: 'sent' }]);
  const misses: string[] = [];
  await Promise.all(
    BOTS.map(async (bot, i) => {
      for (const { s, folder } of lookups.filter((l) => l.bot === bot)) {
        const found = await call(as[i], 'search_messages', { query: s.word, folder, limit: 3 });
        if (found.results[0]?.id !== s.id) misses.push(`${s.word} (${s.id}) in ${bot}'s ${folder}: ${found.results.map((r: { id: string }) => r.id).join(', ')}`);
      }
    }),
  );
  expect(misses).toEqual([]);

  // Searchable after restart: a sample from every round, each found by its unique word.
  const sample = [...acked.values()].filter((_, i) => i % Math.max(1, Math.floor(acked.size / 200)) === 0);
  for (const { bot, word } of sample) {
    const found = await call(client, 'search_memory', { query: word, bot, fuzzy: false, prefix: false });
    expect(found.total, `${bot}: ${word}`).toBe(1);
  }
  await Promise.all([client, ...as].map((c) => c.close()));
});
