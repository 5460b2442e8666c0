import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, eventually, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await startTestDaemon();
});

afterAll(async () => {
  await daemon?.destroy();
});

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function post(headers: Record<string, string>, body: unknown = initialize): Promise<Response> {
  return fetch(new URL('/mcp', daemon.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

describe('HTTP identity and origin checks', () => {
  it('answers 401 without a token or with a wrong one', async () => {
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer roost_dev_wrong' })).status).toBe(401);
    expect((await post({ authorization: 'Basic abc' })).status).toBe(401);
  });

  it('answers 403 when a bot token asks to act as another bot', async () => {
    expect((await post({ authorization: `Bearer ${daemon.tokens.dev}`, 'x-roost-bot': 'main' })).status).toBe(403);
  });

  it('answers 403 for a foreign Origin or Host', async () => {
    const auth = { authorization: `Bearer ${daemon.tokens.dev}` };
    expect((await post({ ...auth, origin: 'http://evil.example' })).status).toBe(403);
    const port = new URL(daemon.url).port;
    const res = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { ...auth, host: `evil.example:${port}`, 'content-type': 'application/json' } },
          (r) => resolve(r.statusCode ?? 0),
        );
        req.on('error', reject);
        req.end(JSON.stringify(initialize));
      });
    });
    expect(res).toBe(403);
    expect((await post({ ...auth, origin: daemon.url })).status).toBe(200);
  });

  it('binds a session to the identity that opened it', async () => {
    const res = await post({ authorization: `Bearer ${daemon.tokens.dev}` });
    const session = res.headers.get('mcp-session-id')!;
    expect(session).toBeTruthy();
    const hijack = await post(
      { authorization: `Bearer ${daemon.tokens.research}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    );
    expect(hijack.status).toBe(403);
  });

  it('lets the operator act as any bot, and as itself', async () => {
    const asDev = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
    expect(await call(asDev, 'whoami')).toMatchObject({ bot: 'dev', operator: true });
    await asDev.close();
    const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
    expect(await call(operator, 'whoami')).toMatchObject({ bot: 'operator', operator: true, reads_everything: true });
    await operator.close();
  });

  it('keeps the operator acting as itself from writing notes of a bot that does not exist, and says how to act as a bot', async () => {
    const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
    const refused = await callError(operator, 'write_note', { path: 'notes/mine.md', body: 'The operator\'s own note.' });
    expect(refused).toContain('The operator has no notes of its own');
    expect(refused).toContain('x-roost-bot: <bot>');
    expect(await callError(operator, 'journal_append', { text: 'a day' })).toContain('The operator has no notes of its own');
    expect(await callError(operator, 'set_fact', { key: 'colour', value: 'blue' })).toContain('The operator has no notes of its own');
    expect(existsSync(path.join(daemon.home, 'bots', 'operator'))).toBe(false);
    expect((await call(operator, 'list_notes', { bot: 'dev' })).notes).toBeDefined();
    await operator.close();

    // As the sentence says: with the header, the operator writes the bot's notes.
    const asDev = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
    await call(asDev, 'write_note', { path: 'notes/by-operator.md', body: 'Written by the operator as dev.' });
    expect(existsSync(path.join(daemon.home, 'bots', 'dev', 'notes', 'by-operator.md'))).toBe(true);
    await asDev.close();
  });
});

describe('registry', () => {
  it('lists, gets and updates bots; only main and operator register; a retired bot is locked out', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    const main = await httpClient(daemon.url, daemon.tokens.main);

    const { bots } = await call(dev, 'list_bots', {});
    expect(bots.map((b: any) => b.id)).toEqual(['dev', 'main', 'monitoring', 'research']);
    expect(bots.find((b: any) => b.id === 'dev').online).toBe(true);
    expect((await call(dev, 'list_bots', { topic: 'research' })).bots.map((b: any) => b.id)).toEqual(['research']);
    expect((await call(dev, 'get_bot', { id: 'research' })).role).toMatch(/research specialist/);

    const devTools = (await dev.listTools()).tools.map((t) => t.name);
    expect(devTools).not.toContain('register_bot');
    expect(await callError(dev, 'register_bot', { id: 'x' })).toMatch(/not found/);

    const updated = await call(dev, 'update_bot', { description: 'Ships code daily.' });
    expect(updated.description).toBe('Ships code daily.');
    expect(await callError(dev, 'update_bot', { id: 'research', description: 'no' })).toMatch(/only your own profile/);

    const created = await call(main, 'register_bot', { id: 'scribe', name: 'Scribe', tools: ['memory'], topics: ['docs'] });
    expect(created.token).toMatch(/^roost_scribe_/);
    const scribe = await httpClient(daemon.url, created.token);
    const scribeTools = (await scribe.listTools()).tools.map((t) => t.name);
    expect(scribeTools).toContain('write_note');
    expect(scribeTools).not.toContain('list_bots');
    expect(await callError(scribe, 'list_bots')).toMatch(/not found/);
    await call(scribe, 'write_note', { path: 'hello.md', body: 'hello' });
    await scribe.close();

    await call(main, 'retire_bot', { id: 'scribe' });
    const refused = await post({ authorization: `Bearer ${created.token}` });
    expect(refused.status).toBe(401);

    await Promise.all([dev.close(), main.close()]);
  });
});

describe('resources follow the toolsets', () => {
  it('serve the inbox only with messaging, topics only with topics, notes only with memory and the registry only with registry', async () => {
    const main = await httpClient(daemon.url, daemon.tokens.main);
    const make = async (id: string, tools: string[]) => httpClient(daemon.url, (await call(main, 'register_bot', { id, tools, topics: ['dev'] })).token);
    const [keeper, herald, crier] = await Promise.all([make('keeper', ['memory']), make('herald', ['messaging']), make('crier', ['topics'])]);
    await call(main, 'send_message', { to: ['keeper', 'herald', 'crier'], subject: 'For your eyes', body: 'the inbox resource shows this subject' });
    const dev = await httpClient(daemon.url, daemon.tokens.dev);

    const surface = async (client: typeof dev) => {
      const resources = await client.listResources().then((r) => r.resources.map((x) => x.uri), () => null);
      const templates = await client.listResourceTemplates().then((r) => r.resourceTemplates.map((x) => x.uriTemplate), () => null);
      const reads = async (uri: string) => client.readResource({ uri }).then(() => true, () => false);
      const subscribes = async (uri: string) => client.subscribeResource({ uri }).then(() => true, () => false);
      return {
        inbox: resources?.includes('roost://inbox') ?? false,
        bots: resources?.includes('roost://bots') ?? false,
        topicList: resources?.includes('roost://topics/dev') ?? false,
        templates: templates ?? [],
        readsInbox: await reads('roost://inbox'),
        readsTopic: await reads('roost://topics/dev'),
        readsNote: await reads('roost://bots/dev/notes/shared.md'),
        subscribesInbox: await subscribes('roost://inbox'),
        subscribesTopic: await subscribes('roost://topics/dev'),
      };
    };
    await call(dev, 'write_note', { path: 'shared.md', body: 'shared with everyone', visibility: 'shared' });

    expect(await surface(keeper)).toEqual({
      inbox: false, bots: false, topicList: false, templates: ['roost://bots/{bot}/notes/{+path}'],
      readsInbox: false, readsTopic: false, readsNote: true, subscribesInbox: false, subscribesTopic: false,
    });
    expect(await surface(herald)).toEqual({
      inbox: true, bots: false, topicList: false, templates: [],
      readsInbox: true, readsTopic: false, readsNote: false, subscribesInbox: true, subscribesTopic: false,
    });
    expect(await surface(crier)).toEqual({
      inbox: false, bots: false, topicList: true, templates: ['roost://topics/{topic}'],
      readsInbox: false, readsTopic: true, readsNote: false, subscribesInbox: false, subscribesTopic: true,
    });
    expect(await surface(dev)).toEqual({
      inbox: true, bots: true, topicList: true, templates: ['roost://bots/{bot}/notes/{+path}', 'roost://topics/{topic}'],
      readsInbox: true, readsTopic: true, readsNote: true, subscribesInbox: true, subscribesTopic: true,
    });
    // What the herald's inbox resource shows is its own mail.
    const inbox = JSON.parse(((await herald.readResource({ uri: 'roost://inbox' })).contents[0] as { text: string }).text);
    expect(inbox).toMatchObject({ bot: 'herald', unread: 1, newest_unread: [expect.objectContaining({ subject: 'For your eyes', from: 'main' })] });

    for (const id of ['keeper', 'herald', 'crier']) await call(main, 'retire_bot', { id });
    await Promise.all([main, keeper, herald, crier, dev].map((c) => c.close()));
  });
});

describe('read-only daemon', () => {
  it('serves only tools that change nothing', async () => {
    const readOnly = await startTestDaemon({ readOnly: true });
    try {
      const client = await httpClient(readOnly.url, readOnly.tokens.dev);
      const tools = (await client.listTools()).tools;
      expect(tools.length).toBeGreaterThan(5);
      expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(tools.map((t) => t.name)).not.toContain('write_note');
      await client.close();
    } finally {
      await readOnly.destroy();
    }
  });
});

describe('abandoned sessions', () => {
  it('are closed when idle, so the bot no longer shows as online', async () => {
    const idle = await startTestDaemon({ sessionIdleMs: 300 });
    try {
      const res = await fetch(new URL('/mcp', idle.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${idle.tokens.research}` },
        body: JSON.stringify(initialize),
      });
      expect(res.status).toBe(200);
      expect(idle.roost.registry.presenceOf('research').sessions).toBe(1);
      await eventually(() => idle.roost.registry.presenceOf('research').sessions === 0);
    } finally {
      await idle.destroy();
    }
  });
});
