import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, git, httpClient, OPERATOR_TOKEN, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// One bot must never reach beyond itself: whatever path it sends, through whichever entry point,
// and whatever links a person placed on disk, it reads only what it may, and changes only its own folder.

const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
const SECRETS = { roost: secret('roost-state'), private: secret('research-private'), outside: secret('outside-root') };

let daemon: TestDaemon;
/** A folder outside the data root, with a secret in it. */
const outside = tempDir('roost-outside-');
let dev: Client;
let cookie: string;
/** A commit of dev's own note, for note_diff and restore_note. */
let commit: string;

/** Every regular file under `dir` with its size and content hash, skipping the listed top folders. */
function snapshot(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((file) => !skip.some((s) => file === s || file.startsWith(`${s}/`)))
    .map((file) => {
      const full = path.join(dir, file);
      return `${file} ${lstatSync(full).isFile() ? readFileSync(full, 'utf8') : 'link'}`;
    })
    .sort();
}

/** Links a person placed by hand in dev's folder, before the daemon starts and while it runs. */
function plantLinks(home: string, suffix: string): void {
  const notes = path.join(home, 'bots/dev/notes');
  mkdirSync(notes, { recursive: true });
  symlinkSync('../../research/notes/private.md', path.join(notes, `link-private${suffix}.md`));
  symlinkSync('../../../.roost/planted.md', path.join(notes, `link-roost${suffix}.md`));
  symlinkSync(path.join(outside, 'secret.md'), path.join(notes, `link-outside${suffix}.md`));
  symlinkSync(outside, path.join(home, `bots/dev/linkdir${suffix}`));
  linkSync(path.join(outside, 'secret.md'), path.join(notes, `hard-outside${suffix}.md`));
}

beforeAll(async () => {
  writeFileSync(path.join(outside, 'secret.md'), `# Outside\n\n${SECRETS.outside}\n`);
  const home = tempDir('roost-paths-');
  mkdirSync(path.join(home, '.roost'), { recursive: true });
  writeFileSync(path.join(home, '.roost/planted.md'), `# State\n\n${SECRETS.roost}\n`);
  mkdirSync(path.join(home, 'bots/research/notes'), { recursive: true });
  writeFileSync(path.join(home, 'bots/research/notes/private.md'), `---\nvisibility: private\n---\n# Private\n\n${SECRETS.private}\n`);
  plantLinks(home, '-a');
  daemon = await startTestDaemon({ home, limits: { writeBurst: 100_000, writesPerSecond: 1000 } });
  plantLinks(home, '-b');
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  await call(dev, 'write_note', { path: 'notes/plain.md', body: 'plain words' });
  const login = await fetch(new URL('/api/login', daemon.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-roost-console': '1' },
    body: JSON.stringify({ token: OPERATOR_TOKEN }),
  });
  cookie = login.headers.get('set-cookie')!.split(';')[0];
});

afterAll(async () => {
  await daemon?.destroy();
  rmSync(outside, { recursive: true, force: true });
});

interface Answer {
  ok: boolean;
  text: string;
}

/** A tool called as dev, or with `tool.call` as another client. */
const tool = Object.assign((name: string, args: Record<string, unknown>) => tool.call(dev, name, args), {
  async call(client: Client, name: string, args: Record<string, unknown>): Promise<Answer> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    return { ok: !result.isError, text: result.content.map((c) => (c.type === 'text' ? c.text : '')).join('') };
  },
});

async function resource(uri: string): Promise<Answer> {
  try {
    return { ok: true, text: JSON.stringify(await dev.readResource({ uri })) };
  } catch (error) {
    return { ok: false, text: (error as Error).message };
  }
}

async function rest(method: 'GET' | 'PUT' | 'DELETE', bot: string, notePath: string): Promise<Answer> {
  const url = new URL(`/api/bots/${bot}/note`, daemon.url);
  url.searchParams.set('path', notePath);
  const res = await fetch(url, {
    method,
    headers: { cookie, 'x-roost-console': '1', 'content-type': 'application/json' },
    ...(method === 'PUT' ? { body: JSON.stringify({ path: notePath, body: 'written by the operator' }) } : {}),
  });
  const text = await res.text();
  if (res.status >= 500) return { ok: false, text: `HTTP ${res.status}: ${text} (Roost could not complete)` };
  return { ok: res.ok, text };
}

/** Any console route, as the logged-in operator. */
async function api(method: 'GET' | 'PUT' | 'POST' | 'DELETE', route: string, body?: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(new URL(route, daemon.url), {
    method,
    headers: { cookie, 'x-roost-console': '1', 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 500) return { ok: false, text: `HTTP ${res.status}: ${text} (Roost could not complete)` };
  return { ok: res.ok, text };
}

/** No planted secret ever comes back, and a refusal says what to fix (no failure of Roost's own, no raw system error). */
function checkAnswer(what: string, answer: Answer): void {
  for (const value of Object.values(SECRETS)) expect(answer.text, what).not.toContain(value);
  if (!answer.ok) {
    expect(answer.text, what).not.toMatch(/Roost could not complete|\bE[A-Z]{3,}\b|Internal error|is not a function|undefined/);
    expect(answer.text.length, what).toBeGreaterThan(10);
  }
}

describe('each hole found, closed', () => {
  it('a note resource cannot climb out of the bot\'s folder with encoded dot segments', async () => {
    for (const uri of [
      'roost://bots/dev/notes/..%2F..%2F.roost%2Fplanted.md',
      'roost://bots/dev/notes/..%2Fresearch%2Fnotes%2Fprivate.md',
      `roost://bots/dev/notes/..%2F..%2F..%2F${path.basename(outside)}%2Fsecret.md`,
    ]) {
      const answer = await resource(uri);
      expect(answer.ok, uri).toBe(false);
      checkAnswer(uri, answer);
    }
  });

  it('a symbolic link out of the bot\'s folder is not followed, by read_note, the resource or search', async () => {
    for (const suffix of ['-a', '-b']) {
      const answer = await tool('read_note', { path: `notes/link-private${suffix}.md` });
      expect(answer.ok).toBe(false);
      expect(answer.text).toMatch(/no note/);
      checkAnswer('read_note', answer);
      checkAnswer('resource', await resource(`roost://bots/dev/notes/notes/link-private${suffix}.md`));
    }
    const found = await call(dev, 'search_memory', { query: SECRETS.private, prefix: false, fuzzy: false });
    expect(found.results).toEqual([]);
    const listed = await call(dev, 'list_notes', { recursive: true });
    expect(listed.notes.map((n: { path: string }) => n.path)).toEqual(['notes/plain.md']);
  });

  it('a symbolic link out of the data root is not followed, nor a folder linked there, nor a hard link to a file there', async () => {
    for (const notePath of ['notes/link-outside-a.md', 'notes/link-outside-b.md', 'linkdir-a/secret.md', 'linkdir-b/secret.md', 'notes/hard-outside-a.md', 'notes/hard-outside-b.md', 'notes/link-roost-b.md']) {
      const answer = await tool('read_note', { path: notePath });
      expect(answer.ok, notePath).toBe(false);
      checkAnswer(notePath, answer);
    }
    const before = snapshot(outside);
    const written = await tool('write_note', { path: 'linkdir-b/secret.md', body: 'overwritten' });
    expect(written.ok).toBe(false);
    expect(written.text).toMatch(/link/);
    expect(await tool('write_note', { path: 'linkdir-b/new/deeper.md', body: 'new folder through a link' })).toMatchObject({ ok: false });
    expect(snapshot(outside)).toEqual(before);
  });
});

describe('other names that become paths', () => {
  it('a topic name a bot lists in its profile cannot name a file outside topics/, through a tool or the console', async () => {
    const main = await httpClient(daemon.url, daemon.tokens.main);
    const name = '../bots/dev/notes/pwn';
    const listed = await tool.call(main, 'update_bot', { topics: ['general', name] });
    const updated = await tool.call(main, 'update_topic', { topic: name, description: 'planted' });
    const res = await fetch(new URL(`/api/topics/${encodeURIComponent(name)}`, daemon.url), {
      method: 'PUT',
      headers: { cookie, 'x-roost-console': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'planted' }),
    });
    await main.close();
    expect(existsSync(path.join(daemon.home, 'bots/dev/notes/pwn.md'))).toBe(false);
    expect(listed.ok).toBe(false);
    expect(listed.text).toMatch(/not a valid topic name/);
    expect(updated.ok).toBe(false);
    checkAnswer('update_topic', updated);
    expect(res.status).toBe(400);
  });
});

describe('every entry point, under generated paths', () => {
  const targets = [
    '../research/notes/private.md',
    '../../.roost/planted.md',
    '../../.roost/operator.token',
    '../../.git/config',
    `../../../${path.basename(outside)}/secret.md`,
    path.join(outside, 'secret.md'),
    '.roost/planted.md',
    'notes/link-private-a.md',
    'notes/link-roost-b.md',
    'notes/link-outside-a.md',
    'notes/hard-outside-b.md',
    'linkdir-a/secret.md',
    'linkdir-b',
    'notes/plain.md',
    'notes',
  ];
  const changes: Array<(p: string) => string> = [
    (p) => encodeURIComponent(p),
    (p) => encodeURIComponent(encodeURIComponent(p)),
    (p) => p.replaceAll('.', '%2e').replaceAll('/', '%2f'),
    (p) => p.replaceAll('/', '\\'),
    (p) => p.replaceAll('/', '\u2215'),
    (p) => p.replaceAll('/', '\uFF0F'),
    (p) => p.replaceAll('.', '\uFF0E'),
    (p) => p.replaceAll('..', '\u2024\u2024'),
    (p) => `./${p}`,
    (p) => `notes/../${p}`,
    (p) => `//${p}`,
    (p) => `/${p}`,
    (p) => `C:${p}`,
    (p) => p.replaceAll('../', '....//'),
    (p) => `${p}\u0000.md`,
    (p) => `${p}\n`,
    (p) => `\u001b${p}`,
    (p) => `${p}.`,
    (p) => `${p} `,
    (p) => `${p}/.`,
    (p) => p.replace(/\.md$/, '.md. '),
    (p) => `${'x'.repeat(300)}/${p}`,
    (p) => p.replaceAll('/', '//'),
    (p) => `${p}\u200b`,
  ];
  const hostilePath = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...targets), fc.array(fc.constantFrom(...changes), { maxLength: 3 })).map(([p, cs]) => cs.reduce((q, c) => c(q), p)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  );
  const hostileBot = fc.constantFrom('dev', 'research', '..', '../research', 'dev/../research', '.roost', '%2e%2e', 'dev%2F..%2Fresearch', '', 'DEV', 'dev\u0000');

  const entries: Record<string, (p: string, bot: string) => Promise<Answer>> = {
    read_note: (p) => tool('read_note', { path: p }),
    'read_note bot': (p, bot) => tool('read_note', { path: p, bot }),
    write_note: (p) => tool('write_note', { path: p, body: 'written' }),
    edit_note: (p) => tool('edit_note', { path: p, operation: 'append', text: 'appended' }),
    delete_note: (p) => tool('delete_note', { path: p }),
    'move_note from': (p) => tool('move_note', { from: p, to: `moved/${randomBytes(4).toString('hex')}.md` }),
    'move_note to': (p) => tool('move_note', { from: 'notes/plain.md', to: p }),
    list_notes: (p, bot) => tool('list_notes', { folder: p, bot, recursive: true }),
    note_history: (p, bot) => tool('note_history', { path: p, bot }),
    note_diff: (p) => tool('note_diff', { path: p, from: commit }),
    restore_note: (p) => tool('restore_note', { path: p, version: commit }),
    'note resource': (p) => resource(`roost://bots/dev/notes/${p}`),
    'note resource encoded': (p) => resource(`roost://bots/dev/notes/${encodeURIComponent(p)}`),
    'note resource bot': (p, bot) => resource(`roost://bots/${encodeURIComponent(bot)}/notes/${encodeURIComponent(p)}`),
    'GET note': (p) => rest('GET', 'dev', p),
    'PUT note': (p) => rest('PUT', 'dev', p),
    'DELETE note': (p) => rest('DELETE', 'dev', p),
    'GET note bot': (p, bot) => rest('GET', encodeURIComponent(bot), p),
    'GET notes folder': (p, bot) => api('GET', `/api/bots/${encodeURIComponent(bot)}/notes?folder=${encodeURIComponent(p)}`),
    'GET history': (p, bot) => api('GET', `/api/bots/${encodeURIComponent(bot)}/history?path=${encodeURIComponent(p)}`),
    'GET diff': (p, bot) => api('GET', `/api/bots/${encodeURIComponent(bot)}/diff?path=${encodeURIComponent(p)}&from=${commit}`),
    'POST restore': (p) => api('POST', '/api/bots/dev/restore', { path: p, version: commit }),
    // Names and ids that become file names: bots, topics, messages, threads, tasks, facts.
    get_bot: (p) => tool('get_bot', { id: p }),
    read_journal: (p) => tool('read_journal', { bot: p }),
    'get_fact key': (p) => tool('get_fact', { key: p }),
    'set_fact key': (p) => tool('set_fact', { key: p, value: 'v' }),
    get_thread: (p) => tool('get_thread', { thread: p }),
    ack_messages: (p) => tool('ack_messages', { ids: [p] }),
    'read_inbox cursor': (p) => tool('read_inbox', { cursor: p, thread: p, peek: true }),
    topic_history: (p) => tool('topic_history', { topic: p }),
    subscribe_topic: (p) => tool('subscribe_topic', { topic: p }),
    update_topic: (p) => tool('update_topic', { topic: p, description: 'changed' }),
    agent_status: (p) => tool('agent_status', { id: p }),
    cancel_agent: (p) => tool('cancel_agent', { id: p }),
    'topic resource': (p) => resource(`roost://topics/${encodeURIComponent(p)}`),
    'topic resource raw': (p) => resource(`roost://topics/${p}`),
    'GET topic messages': (p) => api('GET', `/api/topics/${encodeURIComponent(p)}/messages`),
    'PUT topic': (p) => api('PUT', `/api/topics/${encodeURIComponent(p)}`, { description: 'changed' }),
    'GET thread': (p, bot) => api('GET', `/api/bots/${encodeURIComponent(bot)}/threads/${encodeURIComponent(p)}`),
    'GET mail cursor': (p, bot) => api('GET', `/api/bots/${encodeURIComponent(bot)}/mail?cursor=${encodeURIComponent(p)}`),
    'GET bot': (p) => api('GET', `/api/bots/${encodeURIComponent(p)}`),
  };

  it('never give out a planted secret, never change anything outside the caller\'s folder, and refuse with a clear error', { timeout: 240_000 }, async () => {
    const home = daemon.home;
    await daemon.roost.history.flush();
    commit = git(home, 'rev-parse', 'HEAD').trim();
    const others = () => snapshot(home, ['.git', '.roost', 'bots/dev']);
    const before = { others: others(), outside: snapshot(outside), state: readFileSync(path.join(home, '.roost/planted.md'), 'utf8') };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(entries)), hostilePath, hostileBot, async (entry, p, bot) => {
        const answer = await entries[entry](p, bot);
        // The operator reads every bot's own notes through the console: only what no one may read is a leak there.
        const forbidden = entry.startsWith('GET') ? [SECRETS.roost, SECRETS.outside] : Object.values(SECRETS);
        for (const value of forbidden) expect(answer.text, `${entry} ${JSON.stringify(p)} ${bot}`).not.toContain(value);
        if (!entry.startsWith('GET') || !answer.ok) checkAnswer(`${entry} ${JSON.stringify(p)} ${bot}`, answer);
      }),
      { numRuns: 1200, seed: Number(process.env.PATHS_SEED ?? 7) },
    );
    await daemon.roost.history.flush();
    expect(others()).toEqual(before.others);
    expect(snapshot(outside)).toEqual(before.outside);
    expect(readFileSync(path.join(home, '.roost/planted.md'), 'utf8')).toBe(before.state);
    // What dev's memory holds came only from dev: no secret was copied in, by a move, a restore or a link.
    const own = snapshot(path.join(home, 'bots/dev')).filter((line) => !line.startsWith('notes/hard-outside'));
    for (const value of Object.values(SECRETS)) expect(own.join('\n')).not.toContain(value);
    const history = git(home, 'log', '--all', '-p', '--', 'bots/dev');
    for (const value of Object.values(SECRETS)) expect(history).not.toContain(value);
  });
});
