import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../../openclaw-plugin/index.js';
import { SESSION_HEADER } from '../../src/protocol.js';
import { FakeGateway } from '../fake-gateway.js';
import { call, eventually, git, httpClient, OPERATOR_TOKEN, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// Calls that name the OpenClaw session they come from, as Roost's OpenClaw plugin makes them:
// a bot's token acts as the task agent working in a session its own agent runs, and nothing else.
let gateway: FakeGateway;
let daemon: TestDaemon;
let dev: Client;
let botsDir: string;
const DEV_SESSION = 'agent:dev:roost:dev';
const TWIN_SESSION = 'agent:dev:twin';
/** Gives each brief this long before the gateway accepts it (a run's first tool calls may come before that). */
let acceptAfterMs = 0;

beforeAll(async () => {
  gateway = await FakeGateway.start();
  gateway
    .on('sessions.create', (p) => ({ payload: { ok: true, key: p.key } }))
    .on('sessions.send', (p) => ({ payload: { runId: p.idempotencyKey, status: 'started' } }))
    .on('sessions.abort', () => ({ payload: { ok: true } }))
    .on('tools.catalog', () => ({ payload: { groups: [{ id: 'plugin:roost', source: 'plugin', tools: [{ id: 'roost_complete_task', source: 'plugin', pluginId: 'roost' }] }] } }))
    .on('agent', async (p) => {
      await new Promise((resolve) => setTimeout(resolve, acceptAfterMs));
      return { payload: { runId: p.idempotencyKey, sessionKey: p.sessionKey, status: 'accepted' } };
    })
    .on('agent.wait', () => 'silent'); // runs go on until their task ends otherwise

  botsDir = tempDir('roost-bots-');
  const define = (id: string, frontmatter: string) => writeFileSync(path.join(botsDir, `${id}.md`), `---\nid: ${id}\n${frontmatter}---\nThe ${id} bot.\n`);
  define('main', 'kind: main\n');
  define('dev', 'kind: specialist\nopenclaw: { agent: dev }\n');
  define('twin', `kind: specialist\nopenclaw: { agent: dev, session: "${TWIN_SESSION}" }\n`);
  define('research', 'kind: specialist\nopenclaw: { agent: research }\n');
  daemon = await startTestDaemon({ botsDir, runtimes: { openclaw: { url: gateway.url, token: gateway.token } } });
  dev = await httpClient(daemon.url, daemon.tokens.dev);
});

afterAll(async () => {
  await dev?.close();
  await daemon?.destroy();
  await gateway?.close();
});

/** Spawns a task agent of dev's on the openclaw runtime; its run goes on until the task ends. */
async function spawnTask(): Promise<{ agent: string; session: string }> {
  const spawned = await call(dev, 'spawn_agent', { task: 'Count the zebras.', runtime: 'openclaw', cleanup: 'archive' });
  expect(spawned.session).toBe(`${DEV_SESSION}:${spawned.agent}`);
  return { agent: spawned.agent, session: spawned.session };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function inSession(bot: string, session: string): Promise<Client> {
  return httpClient(daemon.url, daemon.tokens[bot], { [SESSION_HEADER]: session });
}

/** The HTTP status and Roost's sentence with which a request (by default: connecting as `bot` from `session`) is refused. */
async function refusal(bot: string, session: string, request = () => inSession(bot, session)): Promise<{ status: number; error: string }> {
  const error = await request().then(
    () => undefined,
    (e: StreamableHTTPError) => e,
  );
  if (!error) throw new Error(`${bot} was not refused in ${session}`);
  return { status: error.code!, error: JSON.parse(error.message.slice(error.message.indexOf('{'))).error };
}

describe('a bot token calling from an OpenClaw session', () => {
  it('acts as the live task agent working in a session of its own agent: its notes are its own, and it completes its task itself', async () => {
    const { agent, session } = await spawnTask();
    expect(gateway.calls('agent').find((p) => p.sessionKey === session)?.message).toContain('call roost_complete_task with your result');
    const child = await inSession('dev', session);
    expect((await call(child, 'whoami')).bot).toBe(agent);
    await call(child, 'write_note', { path: 'notes/count.md', body: 'There are 7 zebras.' });
    expect(existsSync(path.join(daemon.home, 'bots', agent, 'notes', 'count.md'))).toBe(true);
    expect(existsSync(path.join(daemon.home, 'bots', 'dev', 'notes', 'count.md'))).toBe(false);
    await eventually(() => git(daemon.home, 'log', '--format=%an', '--', `bots/${agent}/notes/count.md`).trim() === agent);

    const ended = await call(child, 'complete_task', { result: 'the count is 7' });
    expect(ended).toMatchObject({ status: 'done', result: 'the count is 7' });
    const report = (await call(dev, 'read_inbox')).messages.find((m: { from: string }) => m.from === agent);
    expect(report.body).toContain('the count is 7');
    expect(readFileSync(path.join(daemon.home, 'bots', 'dev', 'tasks', agent, 'notes', 'count.md'), 'utf8')).toContain('There are 7 zebras.');

    // The connection was made as the task agent, which has ended: it is refused, not turned into dev.
    expect(await refusal('dev', session, () => child.callTool({ name: 'whoami', arguments: {} }))).toEqual({
      status: 403,
      error: `Session "${session}" is task agent ${agent}'s, whose task has ended (done): it acts as no bot any more.`,
    });
    await child.close();
  });

  it('runs the task agents a task agent spawns on its own agent, where the same token acts as them', async () => {
    const { agent, session } = await spawnTask();
    const child = await inSession('dev', session);
    const grandchild = await call(child, 'spawn_agent', { task: 'Count the foals.', runtime: 'openclaw' });
    expect(grandchild).toMatchObject({ parent: agent, depth: 2, session: `agent:dev:roost:${agent}:${grandchild.agent}` });
    const inner = await inSession('dev', grandchild.session);
    expect((await call(inner, 'whoami')).bot).toBe(grandchild.agent);
    await call(inner, 'complete_task', { result: 'two foals' });
    await call(child, 'complete_task', { result: 'seven zebras, two foals' });
    await Promise.all([inner.close(), child.close()]);
  });

  it('acts as a task agent whose first call comes before the gateway has accepted its brief', async () => {
    acceptAfterMs = 1_500;
    try {
      const spawning = call(dev, 'spawn_agent', { task: 'Be quick.', runtime: 'openclaw' });
      const session = await eventually(() => gateway.calls('agent').find((p) => String(p.message).includes('Be quick.'))?.sessionKey as string | undefined);
      const child = await inSession('dev', session);
      const me = (await call(child, 'whoami')).bot;
      expect(me).toBe(session.split(':').at(-1));
      expect((await spawning).agent).toBe(me);
      await call(child, 'complete_task', { result: 'quick' });
      await child.close();
    } finally {
      acceptAfterMs = 0;
    }
  });

  it('acts as its own bot in its own session and in sessions of its agent that are nobody\'s', async () => {
    for (const session of [DEV_SESSION, 'agent:dev:main', 'agent:dev:scratch']) {
      const client = await inSession('dev', session);
      expect((await call(client, 'whoami')).bot).toBe('dev');
      await client.close();
    }
  });

  it('is refused for a session of another agent, of another bot, or of a task agent whose task has ended', async () => {
    const { agent, session } = await spawnTask();
    expect(await refusal('research', session)).toEqual({
      status: 403,
      error: `Session "${session}" is not run by agent "research", whose token this is: use the token of the bot bound to that session's agent.`,
    });
    expect((await refusal('dev', 'agent:research:roost:research')).error).toMatch(/is not run by agent "dev"/);
    expect((await refusal('dev', 'not-a-session-key')).error).toMatch(/is not run by agent "dev"/);
    expect(await refusal('dev', TWIN_SESSION)).toEqual({ status: 403, error: `Session "${TWIN_SESSION}" is bot twin's, not dev's: only its own token acts in it.` });
    expect((await refusal('main', session)).error).toMatch(/^Bot "main" is bound to no OpenClaw agent, so it acts in no OpenClaw session/);

    await call(dev, 'cancel_agent', { id: agent });
    expect((await refusal('dev', session)).error).toBe(`Session "${session}" is task agent ${agent}'s, whose task has ended (cancelled): it acts as no bot any more.`);
  });

  it('lets another bot bound to the same agent act as that agent\'s task agents', async () => {
    const { agent, session } = await spawnTask();
    const child = await inSession('twin', session);
    expect((await call(child, 'whoami')).bot).toBe(agent);
    await child.close();
    await call(dev, 'cancel_agent', { id: agent });
  });

  it('is for bot tokens only: the operator picks its bot with X-Roost-Bot', async () => {
    expect(await refusal('operator', DEV_SESSION, () => httpClient(daemon.url, OPERATOR_TOKEN, { [SESSION_HEADER]: DEV_SESSION }))).toEqual({
      status: 400,
      error: 'x-roost-session is for bot tokens; the operator token picks its bot with x-roost-bot.',
    });
  });
});

describe('Roost\'s OpenClaw plugin, outside a gateway', () => {
  type PluginTool = { name: string; execute: (id: string, params: unknown, signal?: AbortSignal) => Promise<{ content: Array<{ text: string }>; details: Record<string, any> }> };
  type Factory = (context: { agentId?: string; sessionKey?: string }) => PluginTool[] | null;

  /** Registers the plugin with `config` as OpenClaw would, and returns its tool factory and the names it declared. */
  function load(config: unknown): { factory: Factory; names: string[] } {
    let registered: { factory: Factory; names: string[] } | undefined;
    plugin.register({ pluginConfig: config, registerTool: (factory: Factory, options: { names: string[] }) => (registered = { factory, names: options.names }) });
    return registered!;
  }

  const tool = (tools: PluginTool[] | null, name: string) => tools!.find((t) => t.name === name)!;
  const run = async (tools: PluginTool[] | null, name: string, params: unknown = {}) => tool(tools, name).execute('call-1', params);

  it('declares the tools its manifest lists, all of Roost\'s, and offers its lean profile only to agents it has a token for', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../openclaw-plugin/openclaw.plugin.json', import.meta.url), 'utf8'));
    const { factory, names } = load({ url: daemon.url, agents: { dev: { token: daemon.tokens.dev } } });
    expect(names).toEqual(manifest.contracts.tools);
    expect(names).toContain('roost_note_history');
    const { LEAN_TOOLS } = await import('../../src/openclaw/plugin.js');
    expect(factory({ agentId: 'dev', sessionKey: DEV_SESSION })?.map((t) => t.name)).toEqual(names.filter((n) => LEAN_TOOLS.includes(n.slice('roost_'.length))));
    expect(factory({ agentId: 'ops', sessionKey: 'agent:ops:main' })).toBeNull();
  });

  it('calls Roost as the agent\'s bot, and as the task agent in that agent\'s session; a token file works as well', async () => {
    const tokenFile = path.join(tempDir('roost-token-'), 'dev.token');
    writeFileSync(tokenFile, `${daemon.tokens.dev}\n`);
    const { factory } = load({ url: daemon.url, agents: { dev: { tokenFile } } });
    const own = await run(factory({ agentId: 'dev', sessionKey: DEV_SESSION }), 'roost_whoami');
    expect(own.details.roost.bot).toBe('dev');

    const { agent, session } = await spawnTask();
    const child = factory({ agentId: 'dev', sessionKey: session });
    expect(JSON.parse((await run(child, 'roost_whoami')).content[0].text).bot).toBe(agent);
    await run(child, 'roost_write_note', { path: 'notes/plugin.md', body: 'Written through the plugin.' });
    expect(existsSync(path.join(daemon.home, 'bots', agent, 'notes', 'plugin.md'))).toBe(true);
    // One Roost session per agent and OpenClaw session: both calls of the task agent went through one.
    expect(daemon.roost.registry.presenceOf(agent).sessions).toBe(1);
    expect((await run(child, 'roost_complete_task', { result: 'done through the plugin' })).details.roost.status).toBe('done');
  });

  it('turns Roost\'s refusals and errors into failed tool results that say how to fix them', async () => {
    const { factory } = load({ url: daemon.url, agents: { dev: { token: daemon.tokens.dev }, research: { token: daemon.tokens.research }, nobody: {} } });
    const foreign = await run(factory({ agentId: 'research', sessionKey: DEV_SESSION }), 'roost_whoami');
    expect(foreign.details).toMatchObject({ ok: false });
    expect(foreign.content[0].text).toMatch(/HTTP 403.*is not run by agent "research"/);

    const invalid = await run(factory({ agentId: 'dev', sessionKey: DEV_SESSION }), 'roost_read_note', { path: 'notes/none.md' });
    expect(invalid.details).toMatchObject({ ok: false });
    expect(invalid.content[0].text).toMatch(/notes\/none\.md/);

    expect((await run(factory({ agentId: 'nobody' }), 'roost_whoami')).content[0].text).toMatch(/no token for agent nobody: set "token" or "tokenFile"/);
    const missingFile = load({ url: daemon.url, agents: { dev: { tokenFile: '/nonexistent/dev.token' } } }).factory;
    expect((await run(missingFile({ agentId: 'dev' }), 'roost_whoami')).content[0].text).toMatch(/token file of agent dev cannot be read \(ENOENT\)/);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const away = load({ url: closed, agents: { dev: { token: daemon.tokens.dev } } }).factory;
    expect((await run(away({ agentId: 'dev' }), 'roost_whoami')).content[0].text).toBe(`Roost is not reachable at ${closed} (ECONNREFUSED): start its daemon, or set the plugin's "url".`);
  });

  it('opens a new Roost session when the daemon no longer knows its old one', async () => {
    const idle = await startTestDaemon({ botsDir, sessionIdleMs: 200 });
    try {
      const { factory } = load({ url: idle.url, agents: { dev: { token: idle.tokens.dev } } });
      const tools = factory({ agentId: 'dev', sessionKey: 'agent:dev:idle' });
      expect((await run(tools, 'roost_whoami')).details.roost.bot).toBe('dev');
      await eventually(() => idle.roost.registry.presenceOf('dev').sessions === 0); // closed as idle
      expect((await run(tools, 'roost_whoami')).details.roost.bot).toBe('dev');
      expect(idle.roost.registry.presenceOf('dev').sessions).toBe(1);
    } finally {
      await idle.destroy();
    }
  });
});

// Keep the plugin's tool list current with Roost's tools: `npm run plugin:tools` writes it.
describe('the plugin\'s tool list', () => {
  it('is Roost\'s tools as the build writes them', async () => {
    const { pluginTools, PLUGIN_DIR } = await import('../../src/openclaw/plugin.js');
    const written = JSON.parse(readFileSync(path.join(PLUGIN_DIR, 'tools.json'), 'utf8'));
    expect(written, 'run npm run plugin:tools').toEqual(pluginTools());
  });
});
