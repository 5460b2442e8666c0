import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consoleLogin, eventually, git, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
let dev: Client;
let cookie: string;

beforeAll(async () => {
  daemon = await startTestDaemon();
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  cookie = await consoleLogin(daemon.url);
});

afterAll(async () => {
  await dev?.close();
  await daemon?.destroy();
});

const CONSOLE = { 'x-roost-console': '1' };

/** A console API request with the session cookie and the console header, unless overridden. */
async function request(method: string, pathAndQuery: string, options: { body?: unknown; headers?: Record<string, string>; url?: string } = {}) {
  const res = await fetch(new URL(pathAndQuery, options.url ?? daemon.url), {
    method,
    headers: { cookie, ...CONSOLE, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

function commitCount(): number {
  return Number(git(daemon.home, 'rev-list', '--count', 'HEAD').trim());
}

describe('console login', () => {
  it('refuses every API call and the event stream without a session', async () => {
    for (const p of ['/api/session', '/api/overview', '/api/bots/dev', '/api/search?query=x', '/events']) {
      const res = await fetch(new URL(p, daemon.url));
      expect(res.status, p).toBe(401);
      expect(await res.json()).toEqual({ error: 'Log in with the operator token first.' });
    }
    const forged = await request('GET', '/api/overview', { headers: { cookie: 'roost_console=forged' } });
    expect(forged.status).toBe(401);
  });

  it('exchanges the operator token, and only that, for an HttpOnly SameSite=Strict cookie', async () => {
    const res = await fetch(new URL('/api/login', daemon.url), {
      method: 'POST',
      headers: { ...CONSOLE, 'content-type': 'application/json' },
      body: JSON.stringify({ token: OPERATOR_TOKEN }),
    });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^roost_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(setCookie).not.toContain(OPERATOR_TOKEN);

    const wrong = await request('POST', '/api/login', { body: { token: 'roost_operator_wrong' }, headers: { cookie: '' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/not a valid token/);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const bot = await request('POST', '/api/login', { body: { token: daemon.tokens.dev }, headers: { cookie: '' } });
    expect(bot.status).toBe(403);
    expect(bot.body.error).toMatch(/bot token/);
  });

  it('ends the session on logout', async () => {
    const own = await consoleLogin(daemon.url);
    expect((await request('GET', '/api/session', { headers: { cookie: own } })).status).toBe(200);
    const out = await request('POST', '/api/logout', { headers: { cookie: own } });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await request('GET', '/api/session', { headers: { cookie: own } })).status).toBe(401);
  });
});

describe('cross-site protection', () => {
  it('refuses state changes from another site, or without the console header, and changes nothing', async () => {
    await call(dev, 'write_note', { path: 'notes/guarded.md', body: 'original' });
    await daemon.roost.history.flush();
    const file = path.join(daemon.home, 'bots/dev/notes/guarded.md');
    const before = readFileSync(file, 'utf8');
    const commits = commitCount();
    const write = { path: 'notes/guarded.md', body: 'changed' };

    const noHeader = await request('PUT', '/api/bots/dev/note', { body: write, headers: { 'x-roost-console': '' } });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error).toMatch(/x-roost-console/);
    expect((await request('PUT', '/api/bots/dev/note', { body: write, headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request('PUT', '/api/bots/dev/note', { body: write, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const crossLogin = await request('POST', '/api/login', { body: { token: OPERATOR_TOKEN }, headers: { 'x-roost-console': '' } });
    expect(crossLogin.status).toBe(403);
    expect(crossLogin.headers.get('set-cookie')).toBeNull();
    expect((await request('GET', '/api/overview', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);

    await daemon.roost.history.flush();
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(commitCount()).toBe(commits);
  });
});

describe('console API over the same tools', () => {
  it('lists every bot with its memory size, and tells what is unknown', async () => {
    await call(dev, 'write_note', { path: 'notes/size.md', body: 'x'.repeat(1000) });
    const { status, body } = await request('GET', '/api/overview');
    expect(status).toBe(200);
    expect(body.bots.map((b: any) => b.id)).toEqual(['dev', 'main', 'monitoring', 'research']);
    const devBot = body.bots.find((b: any) => b.id === 'dev');
    expect(devBot).toMatchObject({ kind: 'specialist', online: true, status: 'active' });
    expect(devBot.memory.notes).toBeGreaterThanOrEqual(1);
    expect(devBot.memory.bytes).toBeGreaterThan(1000);
    expect(Date.parse(devBot.last_activity)).toBeGreaterThan(Date.now() - 60_000);

    const missing = await request('GET', '/api/bots/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/There is no bot "nobody"/);
    expect((await request('GET', '/api/nothing')).status).toBe(404);
    expect((await request('DELETE', '/api/overview')).status).toBe(405);
  });

  it('writes a note as the bot: on disk, committed with the bot as author, and refuses a stale version', async () => {
    const put = await request('PUT', '/api/bots/research/note', {
      body: { path: 'notes/from-console.md', body: 'Read the **paper**.', title: 'From the console', tags: ['todo'], expected_version: 'new' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ bot: 'research', path: 'notes/from-console.md', created: true });
    const text = readFileSync(path.join(daemon.home, 'bots/research/notes/from-console.md'), 'utf8');
    expect(text).toContain('title: From the console');
    expect(text).toContain('Read the **paper**.');
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'bots/research/notes/from-console.md').trim()).toBe(
      'research research: create notes/from-console.md',
    );

    const read = await request('GET', '/api/bots/research/note?path=notes/from-console.md');
    expect(read.body).toMatchObject({ title: 'From the console', body: 'Read the **paper**.', version: put.body.version });

    const stale = await request('PUT', '/api/bots/research/note', {
      body: { path: 'notes/from-console.md', body: 'lost', expected_version: 'new' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatch(/already exists/);
    expect(readFileSync(path.join(daemon.home, 'bots/research/notes/from-console.md'), 'utf8')).toBe(text);
  });

  it('answers bad input with 400 and a sentence saying what to fix, and changes nothing', async () => {
    await daemon.roost.history.flush();
    const commits = commitCount();
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['PUT', '/api/bots/dev/note', { path: '../escape.md', body: 'x' }, /path/],
      ['PUT', '/api/bots/dev/note', { path: 'notes/a.md', body: 'x', owner: 'main' }, /owner/],
      ['PUT', '/api/bots/dev/note', { path: 'notes/a.md' }, /body/],
      ['PUT', '/api/bots/dev/note', '{not json', /not JSON/],
      ['PUT', '/api/bots/dev/note', '[1]', /JSON object/],
      ['POST', '/api/bots/dev/restore', { path: 'notes/guarded.md', version: 'HEAD~1' }, /not a commit id/],
      ['GET', '/api/bots/dev/history?path=notes/guarded.md&offset=soon', undefined, /offset/],
      ['GET', '/api/search?query=x&updated_after=yesterday', undefined, /updated_after/],
    ];
    for (const [method, url, body, message] of cases) {
      const res = await request(method, url, { body });
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    expect(existsIn('bots/dev/notes/a.md')).toBe(false);
    await daemon.roost.history.flush();
    expect(commitCount()).toBe(commits);
  });

  it('shows a note\'s history and a diff, and restores an old version as a new commit', async () => {
    await call(dev, 'write_note', { path: 'notes/plan.md', body: 'Ship on Monday.\n' });
    await daemon.roost.history.flush();
    await call(dev, 'write_note', { path: 'notes/plan.md', body: 'Ship on Friday.\n' });
    await daemon.roost.history.flush();

    const { body: history } = await request('GET', '/api/bots/dev/history?path=notes/plan.md');
    expect(history.versions).toHaveLength(2);
    const [newest, oldest] = history.versions;
    expect(newest).toMatchObject({ author: 'dev', message: 'dev: write notes/plan.md' });

    const { body: diff } = await request('GET', `/api/bots/dev/diff?path=notes/plan.md&from=${oldest.commit}&to=${newest.commit}`);
    expect(diff.diff).toContain('-Ship on Monday.');
    expect(diff.diff).toContain('+Ship on Friday.');

    const current = await request('GET', '/api/bots/dev/note?path=notes/plan.md');
    const restored = await request('POST', '/api/bots/dev/restore', {
      body: { path: 'notes/plan.md', version: oldest.commit, expected_version: current.body.version },
    });
    expect(restored.status).toBe(200);
    expect(readFileSync(path.join(daemon.home, 'bots/dev/notes/plan.md'), 'utf8')).toContain('Ship on Monday.');
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'bots/dev/notes/plan.md').trim()).toBe(
      `dev dev: restore notes/plan.md to ${oldest.commit.slice(0, 10)}`,
    );
  });

  it('lists a folder, searches all memory with filters, and deletes a note as the bot', async () => {
    await call(dev, 'write_note', { path: 'notes/deep/kube.md', body: 'Kubernetes rollout steps.', tags: ['ops'], type: 'howto' });
    const folder = await request('GET', '/api/bots/dev/notes?folder=notes');
    expect(folder.body.folders).toEqual([{ path: 'notes/deep', notes: 1 }]);
    expect(folder.body.notes.map((n: any) => n.path)).toContain('notes/plan.md');

    const hits = await request('GET', '/api/search?query=kubernetes&bot=dev&tags=ops&type=howto');
    expect(hits.body.results.map((r: any) => `${r.bot}/${r.path}`)).toEqual(['dev/notes/deep/kube.md']);
    expect((await request('GET', '/api/search?query=kubernetes&tags=nope')).body.total).toBe(0);
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await request('GET', `/api/search?query=kubernetes&updated_after=${future}`)).body.total).toBe(0);

    const note = await request('GET', '/api/bots/dev/note?path=notes/deep/kube.md');
    const removed = await request('DELETE', `/api/bots/dev/note?path=notes/deep/kube.md&expected_version=${note.body.version}`);
    expect(removed.status).toBe(200);
    expect(existsIn('bots/dev/notes/deep/kube.md')).toBe(false);
  });

  it('reports notes with broken frontmatter and bot definitions that do not load', async () => {
    mkdirSync(path.join(daemon.home, 'bots/research/inbox'), { recursive: true });
    writeFileSync(path.join(daemon.home, 'bots/research/inbox/broken.md'), '---\ntitle: [unclosed\n---\nbody\n');
    mkdirSync(path.join(daemon.home, 'registry'), { recursive: true });
    writeFileSync(path.join(daemon.home, 'registry/bad.md'), '---\nkind: wizard\n---\n');
    await daemon.roost.registry.load();
    const problems = await eventually(async () => {
      const { body } = await request('GET', '/api/problems');
      return body.notes.length > 0 ? body : null;
    });
    expect(problems.notes).toEqual([
      { bot: 'research', path: 'inbox/broken.md', file: 'bots/research/inbox/broken.md', problem: expect.stringMatching(/broken frontmatter/) },
    ]);
    expect(problems.bots).toEqual([{ file: 'registry/bad.md', problem: expect.stringMatching(/kind "wizard"/) }]);
  });

  it('streams activity as Server-Sent Events', async () => {
    const controller = new AbortController();
    const res = await fetch(new URL('/events', daemon.url), { headers: { cookie }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await call(dev, 'write_note', { path: 'notes/streamed.md', body: 'live' });
    let received = '';
    while (!received.includes('notes/streamed.md')) received += (await reader.read()).value;
    controller.abort();
    const frame = received.split('\n\n').find((f) => f.includes('notes/streamed.md'))!;
    expect(frame).toMatch(/^event: activity\ndata: /);
    expect(JSON.parse(frame.split('data: ')[1])).toMatchObject({ kind: 'note.write', bot: 'dev', by: 'dev', path: 'notes/streamed.md' });
    const recent = await request('GET', '/api/activity');
    expect(recent.body.activity[0]).toMatchObject({ kind: 'note.write', path: 'notes/streamed.md' });
  });
});

describe('console API over the messaging and topic tools', () => {
  it('sends as the operator; the bot\'s inbox shows it without marking it read', async () => {
    const sent = await request('POST', '/api/messages', { body: { to: ['research'], subject: 'Survey', body: 'Compare three vector stores.', priority: 'high' } });
    expect(sent.status).toBe(200);
    expect(sent.body.recipients).toEqual([{ bot: 'research', live: false, reason: expect.any(String) }]);
    const file = path.join(daemon.home, `mail/research/inbox/${sent.body.id}.md`);
    expect(readFileSync(file, 'utf8')).toContain('Compare three vector stores.');

    for (let look = 0; look < 2; look++) {
      const inbox = await request('GET', '/api/bots/research/mail');
      expect(inbox.body.messages[0]).toMatchObject({ id: sent.body.id, from: 'operator', subject: 'Survey', priority: 'high', status: 'unread' });
      expect(inbox.body.unread).toBe(1);
    }
    const outbox = await request('GET', '/api/bots/operator/mail?folder=sent');
    expect(outbox.body.messages[0]).toMatchObject({ id: sent.body.id, folder: 'sent', recipients: ['research'] });
    const thread = await request('GET', `/api/bots/research/threads/${sent.body.id}`);
    expect(thread.body.messages.map((m: any) => m.id)).toEqual([sent.body.id]);
    const overview = await request('GET', '/api/overview');
    expect(overview.body.bots.find((b: any) => b.id === 'research').mail).toEqual({ unread: 1, total: 1 });
  });

  it('refuses a bad send or mailbox request with 400 and sends nothing', async () => {
    const before = (await request('GET', '/api/bots/operator/mail?folder=sent')).body.total;
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/api/messages', { to: [], body: 'x' }, /"to" is empty/],
      ['POST', '/api/messages', { to: ['nobody'], body: 'x' }, /no bot "nobody"/],
      ['POST', '/api/messages', { to: ['dev'], body: 'x', priority: 'asap' }, /priority/],
      ['POST', '/api/messages', { to: ['dev'] }, /"body" is required/],
      ['GET', '/api/bots/dev/mail?folder=trash', undefined, /neither "inbox" nor "sent"/],
      ['GET', '/api/bots/dev/mail?cursor=..%2F..', undefined, /cursor/],
    ];
    for (const [method, url, body, message] of cases) {
      const res = await request(method, url, { body });
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    expect((await request('GET', '/api/bots/operator/mail?folder=sent')).body.total).toBe(before);
  });

  it('creates a topic, adds and removes members as themselves, changes and archives it', async () => {
    const created = await request('POST', '/api/topics', { body: { name: 'ops', description: 'Deploys', members: ['dev'] } });
    expect(created.body).toMatchObject({ name: 'ops', members: ['dev'], created_by: 'operator' });
    await daemon.roost.history.flush();
    const joined = await request('PUT', '/api/topics/ops/members/research');
    expect(joined.body.topic.members).toEqual(['dev', 'research']);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'topics/ops.md').trim()).toBe('research research: subscribe to #ops');
    expect((await request('DELETE', '/api/topics/ops/members/dev')).body.topic.members).toEqual(['research']);

    const posted = await request('POST', '/api/messages', { body: { to: ['#ops'], body: 'Deploy at noon.' } });
    expect(posted.body.recipients.map((r: any) => r.bot)).toEqual(['research']);
    const stream = await request('GET', '/api/topics/ops/messages');
    expect(stream.body.messages.map((m: any) => m.body)).toEqual(['Deploy at noon.']);

    const badRetention = await request('PUT', '/api/topics/ops', { body: { retention_days: 'soon' } });
    expect(badRetention.status).toBe(400);
    expect(badRetention.body.error).toMatch(/retention_days/);
    expect((await request('PUT', '/api/topics/ops', { body: { post_policy: 'members', retention_days: 30 } })).body).toMatchObject({ post_policy: 'members', retention_days: 30 });
    expect((await request('POST', '/api/topics/ops/archive')).body.archived).toBe(true);
    const refused = await request('POST', '/api/messages', { body: { to: ['#ops'], body: 'Too late.' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/archived/);
    const { body } = await request('GET', '/api/topics');
    expect(body.topics.find((t: any) => t.name === 'ops')).toMatchObject({ archived: true, messages: 1 });
  });
});

describe('console API over the spawn tools', () => {
  it('lists task agents, shows what a bot works on, cancels a task once, and reports expired ones', async () => {
    const main = await httpClient(daemon.url, daemon.tokens.main);
    try {
      const spawned = await call(main, 'spawn_agent', { task: 'Summarize the logs.', runtime: 'none', deadline: '30m' });
      const { body: listed } = await request('GET', '/api/agents?live=true');
      expect(listed.agents.find((a: any) => a.task === spawned.task)).toMatchObject({ agent: spawned.agent, parent: 'main', status: 'running', level: 0 });
      const { body: overview } = await request('GET', '/api/overview');
      expect(overview.bots.find((b: any) => b.id === spawned.agent)).toMatchObject({ kind: 'task', parent: 'main', task: { task: spawned.task, status: 'running' } });

      const cancelled = await request('POST', `/api/agents/${spawned.task}/cancel`);
      expect(cancelled.body).toMatchObject({ task: spawned.task, status: 'cancelled', error: 'cancelled by operator' });
      const again = await request('POST', `/api/agents/${spawned.task}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(/already ended \(cancelled\)/);
      expect((await request('POST', '/api/agents/nobody/cancel')).status).toBe(404);

      const late = await call(main, 'spawn_agent', { task: 'Too slow.', runtime: 'none', deadline: '1s' });
      const problems = await eventually(async () => {
        const { body } = await request('GET', '/api/problems');
        return body.agents.some((a: any) => a.task === late.task) ? body : null;
      });
      expect(problems.agents.find((a: any) => a.task === late.task)).toMatchObject({ status: 'expired' });
    } finally {
      await main.close();
    }
  });

  it('says why there are no sessions when no OpenClaw gateway is configured', async () => {
    const res = await request('GET', '/api/sessions');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/No OpenClaw gateway is configured/);
  });
});

describe('console files', () => {
  it('serves the page with a strict content security policy, and the libraries from the package', async () => {
    const page = await fetch(new URL('/', daemon.url));
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(await page.text()).toContain('<script type="module" src="/console/app.js">');
    for (const lib of ['preact', 'preact-hooks', 'htm', 'marked', 'dompurify']) {
      const res = await fetch(new URL(`/vendor/${lib}.js`, daemon.url));
      expect(res.status, lib).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }
    expect((await fetch(new URL('/console/app.js', daemon.url))).status).toBe(200);
    expect((await fetch(new URL('/console/..%2f..%2fpackage.json', daemon.url))).status).toBe(404);
    expect((await fetch(new URL('/vendor/zod.js', daemon.url))).status).toBe(404);
  });
});

describe('read-only daemon', () => {
  it('serves the console but refuses changes', async () => {
    const readOnly = await startTestDaemon({ readOnly: true });
    try {
      const own = await consoleLogin(readOnly.url);
      const res = await request('PUT', '/api/bots/dev/note', { url: readOnly.url, headers: { cookie: own }, body: { path: 'a.md', body: 'x' } });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatch(/read-only/);
      expect((await request('GET', '/api/session', { url: readOnly.url, headers: { cookie: own } })).body.read_only).toBe(true);
      expect(existsIn('bots/dev/a.md', readOnly.home)).toBe(false);
    } finally {
      await readOnly.destroy();
    }
  });
});

function existsIn(file: string, home = daemon.home): boolean {
  return existsSync(path.join(home, file));
}
