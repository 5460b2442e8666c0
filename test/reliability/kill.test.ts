import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { call, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, tempDir, type DaemonProcess } from '../helpers.js';

const ROUNDS = Number(process.env.KILL_ROUNDS ?? 20);
const CLIENTS = 10;
const BOTS = ['main', 'dev', 'research', 'monitoring'];

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

it(`loses no acknowledged write when the daemon is killed -9 at random, ${ROUNDS} times in a row`, { timeout: 600_000 }, async () => {
  const acked = new Map<string, { bot: string; word: string }>();
  let seed = 7;
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);

  for (let round = 0; round < ROUNDS; round++) {
    daemon = await startDaemonProcess(home);
    const clients: Client[] = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => httpClient(daemon!.url, OPERATOR_TOKEN, { 'x-roost-bot': BOTS[i % BOTS.length] })),
    );
    let stop = false;
    const before = acked.size;
    const storms = clients.map(async (client, i) => {
      const bot = BOTS[i % BOTS.length];
      for (let n = 0; !stop; n++) {
        const word = `w${round}x${i}x${n}q`;
        const notePath = `storm/r${round}/c${i}/n${n}.md`;
        try {
          const result = (await client.callTool({ name: 'write_note', arguments: { path: notePath, body: `payload ${word}\n` } })) as CallToolResult;
          if (!result.isError) acked.set(`${bot}/${notePath}`, { bot, word });
        } catch {
          return; // the daemon is gone: this call was never acknowledged
        }
      }
    });
    // Kill mid-storm: once writes are flowing, after a random extra moment.
    await eventually(() => acked.size >= before + 5, 60_000);
    await new Promise((r) => setTimeout(r, random() * 400));
    await daemon.kill();
    stop = true;
    // Closing the clients fails the calls that were in flight when the daemon died.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(storms);
  }

  // Restart once more after the last kill, and check everything acknowledged.
  daemon = await startDaemonProcess(home);
  expect(acked.size).toBeGreaterThanOrEqual(ROUNDS * 5);
  for (const [key, { word }] of acked) {
    expect(readFileSync(path.join(home, 'bots', key), 'utf8')).toContain(`payload ${word}`);
  }
  expect(hiddenFiles(home)).toEqual([]);
  expect(existsSync(path.join(home, '.git/index.lock'))).toBe(false);
  expect(git(home, 'status', '--porcelain')).toBe('');
  const tracked = new Set(git(home, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots').trim().split('\n'));
  for (const key of acked.keys()) expect(tracked.has(`bots/${key}`)).toBe(true);

  // Searchable after restart: a sample from every round, each found by its unique word.
  const client = await httpClient(daemon.url, OPERATOR_TOKEN);
  const sample = [...acked.values()].filter((_, i) => i % Math.max(1, Math.floor(acked.size / 200)) === 0);
  for (const { bot, word } of sample) {
    const found = await call(client, 'search_memory', { query: word, bot, fuzzy: false, prefix: false });
    expect(found.total, `${bot}: ${word}`).toBe(1);
  }
  await client.close();
});
