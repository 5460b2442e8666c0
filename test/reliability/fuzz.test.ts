import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, httpClient, random, startTestDaemon, type TestDaemon } from '../helpers.js';

// Every call here is invalid: the daemon must answer each with a clear error and change nothing.
const CALLS = 10_000;
const CLIENTS = 4;

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startTestDaemon();
  const dev = await httpClient(daemon.url, daemon.tokens.dev);
  await call(dev, 'write_note', { path: 'existing.md', body: 'an existing note' });
  await dev.close();
  await daemon.roost.history.flush();
});
afterAll(async () => {
  await daemon?.destroy();
});

const badPaths: unknown[] = [
  '../escape.md', '/abs.md', 'a/../../b.md', 'x\u0000.md', 'x.txt', 'x.md.exe', '.hidden.md', 'dir/.git/x.md', '', '   ',
  'C:\\x.md', 'a\\b.md', `${'x'.repeat(600)}.md`, `${'é'.repeat(150)}.md`, 'a\u202Eb.md', 'a\u200Bb.md', 'a\ud800.md',
  '.md', 'dir/.md', ' lead.md', 'trail /x.md', 'a/./b.md', 'tab\there.md', 'nl\nx.md', 42, null, {}, [], true,
];
const badIds: unknown[] = ['../dev', 'Dev', '', 'a b', 'x'.repeat(65), '-dash', 'dev/x', 7, null];
const badKeys: unknown[] = ['', '../x', 'a b', '/lead', 'trail/', 'x'.repeat(101), 'a//b', '.hidden', 'ü', 3];
const badDates: unknown[] = ['yesterday', '2026-13-01', '2026-02-30x', '', 20260101, '2026/01/01'];
const weird = ['\u0000', '\ud800', '\u202E', '💥'.repeat(3), 'x'.repeat(70_000)];

type Gen = (r: () => number) => { name: string; args: unknown };
const pick = <T>(r: () => number, list: T[]): T => list[Math.floor(r() * list.length)];

const generators: Gen[] = [
  (r) => ({ name: 'write_note', args: { path: pick(r, badPaths), body: 'x' } }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: pick(r, [42, null, {}, ['x'], true]) } }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', [pick(r, ['bot', 'author', 'as', 'owner', '__proto__x'])]: 'main' } }),
  () => ({ name: 'write_note', args: { path: 'big.md', body: 'x'.repeat(1024 * 1024 + 10) } }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', frontmatter: { [pick(r, ['title', 'created', 'updated', 'visibility'])]: 'x' } } }),
  (r) => ({ name: 'write_note', args: { path: 'existing.md', body: 'x', expected_version: pick(r, ['0000000000000000', 'new', 'stale']) } }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', visibility: pick(r, ['public', 'SHARED', 1]) } }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', tags: pick(r, ['a,b', 5, [1, 2], [{}]]) } }),
  (r) => ({ name: 'write_note', args: pick(r, [{}, { path: 'ok.md' }, { body: 'x' }, null, 'string', []]) }),
  (r) => ({ name: 'edit_note', args: { path: pick(r, badPaths), operation: 'append', text: 'x' } }),
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: pick(r, ['append', 'prepend', 'replace_section', 'find_replace']) } }),
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: pick(r, ['delete', 'APPEND', '', 3]), text: 'x' } }),
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: 'find_replace', find: pick(r, ['', 'not there', ...weird]), replace: 'y' } }),
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: 'replace_section', heading: pick(r, ['Nope', '## Nope', ...weird]), text: 'y' } }),
  (r) => ({ name: 'edit_note', args: { path: 'missing.md', operation: 'append', text: pick(r, weird) } }),
  (r) => ({ name: 'read_note', args: { path: pick(r, badPaths) } }),
  (r) => ({ name: 'read_note', args: { path: 'existing.md', bot: pick(r, badIds) } }),
  (r) => ({ name: 'read_note', args: { path: 'existing.md', from_line: pick(r, [0, -1, 1.5, 'one', 99]) } }),
  () => ({ name: 'read_note', args: { path: 'existing.md', from_line: 3, to_line: 1 } }),
  (r) => ({ name: 'read_note', args: { path: 'secret.md', bot: pick(r, ['main', 'research', 'nobody']) } }),
  (r) => ({ name: 'delete_note', args: { path: pick(r, [...badPaths, 'missing.md']) } }),
  (r) => ({ name: 'move_note', args: { from: pick(r, badPaths), to: 'ok.md' } }),
  (r) => ({ name: 'move_note', args: { from: 'existing.md', to: pick(r, [...badPaths, 'existing.md']) } }),
  (r) => ({ name: 'list_notes', args: { folder: pick(r, ['../', '/etc', 'a/../..', '.git', '\u0000']) } }),
  (r) => ({ name: 'list_notes', args: { limit: pick(r, [0, -5, 501, 1.5, 'ten']) } }),
  (r) => ({ name: 'list_notes', args: { offset: pick(r, [-1, 'zero', 0.5]) } }),
  (r) => ({ name: 'search_memory', args: { query: pick(r, [5, null, 'x'.repeat(1001)]) } }),
  (r) => ({ name: 'search_memory', args: { query: 'x', scope: pick(r, ['all', 'everything', 'ALL', 1]) } }),
  (r) => ({ name: 'search_memory', args: { query: 'x', updated_after: pick(r, badDates) } }),
  (r) => ({ name: 'search_memory', args: { query: 'x', limit: pick(r, [0, 101, -1]) } }),
  (r) => ({ name: 'search_memory', args: { query: 'x', bot: pick(r, badIds.filter((b) => typeof b !== 'string' || b === '')) } }),
  (r) => ({ name: 'note_history', args: { path: pick(r, badPaths) } }),
  (r) => ({ name: 'note_history', args: { path: 'existing.md', limit: pick(r, [0, 201]) } }),
  (r) => ({ name: 'note_diff', args: { path: 'existing.md', from: pick(r, ['HEAD', 'HEAD~1', '--output=/tmp/x', 'zz', '', 'a'.repeat(41)]) } }),
  (r) => ({ name: 'restore_note', args: { path: 'existing.md', version: pick(r, ['HEAD', '-p', '0000000', 'xyz']) } }),
  (r) => ({ name: 'restore_note', args: { path: pick(r, badPaths), version: 'abcdef0' } }),
  (r) => ({ name: 'set_fact', args: { key: pick(r, badKeys), value: 1 } }),
  () => ({ name: 'set_fact', args: { key: 'ok' } }),
  (r) => ({ name: 'get_fact', args: { key: pick(r, [...badKeys, 'missing']) } }),
  (r) => ({ name: 'delete_fact', args: { key: pick(r, [...badKeys, 'missing']) } }),
  (r) => ({ name: 'list_facts', args: { limit: pick(r, [0, 501]) } }),
  (r) => ({ name: 'journal_append', args: { text: pick(r, ['', '   \n ', 5, null]) } }),
  (r) => ({ name: 'read_journal', args: { from: pick(r, badDates) } }),
  () => ({ name: 'read_journal', args: { from: '2026-02-01', to: '2026-01-01' } }),
  () => ({ name: 'read_journal', args: { from: '2020-01-01', to: '2026-01-01' } }),
  (r) => ({ name: 'get_bot', args: { id: pick(r, [...badIds, 'nobody']) } }),
  (r) => ({ name: 'update_bot', args: { id: pick(r, ['main', 'research']), description: 'taken over' } }),
  () => ({ name: 'update_bot', args: {} }),
  (r) => ({ name: 'update_bot', args: { status: pick(r, ['retired', 'active']) } }),
  (r) => ({ name: 'retire_bot', args: { id: pick(r, ['main', 'research', 'nobody']) } }),
  (r) => ({ name: 'list_bots', args: { kind: pick(r, ['boss', 1, null]) } }),
  (r) => ({ name: pick(r, ['register_bot', 'spawn_everything', 'write-note', '', 'WRITE_NOTE']), args: { id: 'x' } }),
];

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === '.git' || e.name === '.roost') return [];
    const rel = path.posix.join(prefix, e.name);
    return e.isDirectory() ? files(path.join(dir, e.name), rel) : [rel];
  });
}

it(`answers ${CALLS} bad tool calls with clear errors, never crashes, and writes nothing`, { timeout: 300_000 }, async () => {
  const before = files(daemon.home).sort();
  const clients: Client[] = await Promise.all(Array.from({ length: CLIENTS }, () => httpClient(daemon.url, daemon.tokens.dev)));
  const unclear: string[] = [];
  await Promise.all(
    clients.map(async (client, c) => {
      const r = random(1000 + c);
      for (let i = c; i < CALLS; i += CLIENTS) {
        const { name, args } = pick(r, generators)(r);
        let text: string;
        try {
          const result = (await client.callTool({ name, arguments: args as Record<string, unknown> })) as CallToolResult;
          if (!result.isError) {
            unclear.push(`${name} ${JSON.stringify(args).slice(0, 120)} succeeded`);
            continue;
          }
          text = result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
        } catch (error) {
          // A protocol-level error (e.g. arguments that are not an object) is a clear refusal too.
          text = (error as Error).message;
        }
        if (text.length < 15 || /internal error|could not complete|\[object Object\]/i.test(text)) {
          unclear.push(`${name} ${JSON.stringify(args).slice(0, 120)} -> ${text.slice(0, 200)}`);
        }
      }
    }),
  );
  expect(unclear.slice(0, 20)).toEqual([]);

  // Still alive and well.
  expect((await call(clients[0], 'read_note', { path: 'existing.md' })).body).toBe('an existing note');
  await Promise.all(clients.map((c) => c.close()));
  await daemon.roost.history.flush();
  expect(files(daemon.home).sort()).toEqual(before);
});
