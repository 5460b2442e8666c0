import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGateway } from '../fake-gateway.js';
import { BOTS_DIR, call, callError, eventually, httpClient, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// Roost's OpenClaw integration against a stand-in gateway on 127.0.0.1 (the real gateway: npm run test:openclaw).
let gateway: FakeGateway;
let daemon: TestDaemon;
let main: Client;
let dev: Client;
const DEV_SESSION = 'agent:dev:roost:dev';

beforeAll(async () => {
  gateway = await FakeGateway.start();
  const sessions = new Map<string, { agentId: string; label?: string }>([['agent:ops:main', { agentId: 'ops' }]]);
  gateway
    .on('sessions.create', (p) => {
      if (p.agentId !== 'dev') return { error: { code: 'INVALID_REQUEST', message: `unknown agent id "${p.agentId}"` } };
      if (!sessions.has(p.key)) sessions.set(p.key, { agentId: p.agentId, label: p.label });
      return { payload: { ok: true, key: p.key } };
    })
    .on('sessions.send', (p) => (sessions.has(p.key) ? { payload: { runId: p.idempotencyKey, status: 'started' } } : { error: { code: 'INVALID_REQUEST', message: `session not found: ${p.key}` } }))
    .on('sessions.list', () => ({ payload: { sessions: [...sessions].map(([key, s]) => ({ key, agentId: s.agentId, label: s.label, updatedAt: 0 })) } }))
    .on('chat.history', (p) => ({ payload: { messages: [{ role: 'user', content: `hello ${p.sessionKey}`, timestamp: 0 }] } }))
    .on('agent', (p) => {
      if (p.agentId !== 'dev') return { error: { code: 'INVALID_REQUEST', message: `invalid agent params: unknown agent id "${p.agentId}"` } };
      sessions.set(p.sessionKey, { agentId: p.agentId });
      return { payload: { runId: p.idempotencyKey, sessionKey: p.sessionKey, status: 'accepted' } };
    })
    .on('agent.wait', () => ({ payload: { status: 'ok', terminalReply: { text: 'The answer is 42.' } } }));

  const botsDir = tempDir('roost-bots-');
  cpSync(BOTS_DIR, botsDir, { recursive: true });
  const devFile = path.join(botsDir, 'dev.md');
  writeFileSync(devFile, readFileSync(devFile, 'utf8').replace('---\n', '---\nopenclaw: { agent: dev }\n'));
  writeFileSync(path.join(botsDir, 'ghost.md'), '---\nid: ghost\nopenclaw: { agent: nope }\n---\nA bot whose OpenClaw agent does not exist.\n');
  daemon = await startTestDaemon({ botsDir, runtimes: { openclaw: { url: gateway.url, token: gateway.token } } });
  main = await httpClient(daemon.url, daemon.tokens.main);
  dev = await httpClient(daemon.url, daemon.tokens.dev);
});

afterAll(async () => {
  await Promise.all([main, dev].map((c) => c?.close()));
  await daemon?.destroy();
  await gateway?.close();
});

describe('bots bound to OpenClaw agents', () => {
  it('creates the persistent session of a bound bot when the daemon starts', async () => {
    await eventually(() => gateway.calls('sessions.create').some((p) => p.key === DEV_SESSION));
    expect(gateway.calls('sessions.create')).toContainEqual({ agentId: 'dev', key: DEV_SESSION, label: 'Roost dev' });
  });

  it('injects a message sent to a bound bot into its session, and keeps it in its inbox', async () => {
    const sent = await call(main, 'send_message', { to: ['dev'], subject: 'Deploy', body: 'Deploy at noon.' });
    expect(sent.recipients).toEqual([{ bot: 'dev', live: true, session: DEV_SESSION }]);
    const injected = gateway.calls('sessions.send').find((p) => p.idempotencyKey === `roost-msg-${sent.id}`);
    expect(injected?.key).toBe(DEV_SESSION);
    expect(injected?.message).toContain(`[Roost message: id ${sent.id}, from main, to dev`);
    expect((await call(dev, 'read_inbox')).messages.map((m: { id: string }) => m.id)).toContain(sent.id);
  });
});

describe('sessions', () => {
  it('sends into any session by key, and records it in the sender\'s sent mail', async () => {
    const sent = await call(dev, 'send_to_session', { session: 'agent:ops:main', subject: 'Heads up', body: 'The build is red.' });
    expect(sent).toMatchObject({ session: 'agent:ops:main', live: true });
    expect(sent.bot).toBeUndefined();
    expect(gateway.calls('sessions.send').find((p) => p.key === 'agent:ops:main')?.message).toContain('The build is red.');
    const file = readFileSync(path.join(daemon.home, 'mail', 'dev', 'sent', `${sent.id}.md`), 'utf8');
    expect(file).toContain('session:agent:ops:main');

    const toBot = await call(main, 'send_to_session', { session: DEV_SESSION, body: 'Into your session.' });
    expect(toBot).toMatchObject({ bot: 'dev', live: true });
    expect((await call(dev, 'read_inbox')).messages.some((m: { body: string }) => m.body === 'Into your session.')).toBe(true);
    expect(await callError(dev, 'send_to_session', { session: 'not a key', body: 'x' })).toMatch(/is not a session address/);
  });

  it('shows a bot only the sessions of Roost bots; the main bot sees them all', async () => {
    const mine = (await call(dev, 'list_sessions')).sessions;
    expect(mine).toEqual([expect.objectContaining({ key: DEV_SESSION, bot: 'dev', agent: 'dev', label: 'Roost dev' })]);
    const all = (await call(main, 'list_sessions')).sessions.map((s: { key: string }) => s.key);
    expect(all).toEqual(expect.arrayContaining([DEV_SESSION, 'agent:ops:main']));
    expect((await call(dev, 'session_history', { session: DEV_SESSION })).turns).toEqual([{ role: 'user', text: `hello ${DEV_SESSION}`, at: '1970-01-01T00:00:00.000Z' }]);
    expect(await callError(dev, 'session_history', { session: 'agent:ops:main' })).toMatch(/not the session of a Roost bot/);
    expect((await call(main, 'session_history', { session: 'agent:ops:main' })).turns).toHaveLength(1);
  });
});

describe('task agents on the openclaw runtime', () => {
  it('runs the brief in a session under the parent\'s; the run\'s reply is the result, back in the parent\'s inbox and session', async () => {
    const done = await call(dev, 'spawn_agent', { task: 'What is the answer?', runtime: 'openclaw', wait: true });
    expect(done).toMatchObject({ status: 'done', result: 'The answer is 42.', session: `${DEV_SESSION}:${done.agent}`, run_id: `roost-${done.agent}` });
    const [brief] = gateway.calls('agent').filter((p) => p.sessionKey === done.session);
    expect(brief).toMatchObject({ agentId: 'dev', deliver: false });
    expect(brief.message).toContain(`You are ${done.agent}, a task agent started by dev`);
    expect(brief.message).toContain('What is the answer?');
    // No Roost plugin on this gateway: its calls would act as dev, so it is not asked to call complete_task.
    expect(brief.message).toContain('answer with your result: your final reply is reported to dev.');
    expect(brief.message).not.toContain('complete_task');
    const report = (await call(dev, 'read_inbox')).messages.find((m: { from: string }) => m.from === done.agent);
    expect(report.body).toContain('The answer is 42.');
    expect(gateway.calls('sessions.send').find((p) => p.idempotencyKey === `roost-msg-${report.id}`)?.key).toBe(DEV_SESSION);
  });

  it('leaves nothing behind when the gateway refuses the brief', async () => {
    const bots = (await call(main, 'list_bots')).bots.length;
    const error = await callError(main, 'spawn_agent', { task: 'x', runtime: 'openclaw', role: 'research' });
    expect(error).toMatch(/has no OpenClaw agent to run on/);
    const refused = await callError(main, 'spawn_agent', { task: 'x', runtime: 'openclaw', role: 'ghost' });
    expect(refused).toMatch(/did not accept the brief for agent "nope": invalid agent params: unknown agent id "nope"/);
    expect((await call(main, 'list_bots')).bots.length).toBe(bots);
    expect((await call(main, 'list_agents')).agents.filter((a: { parent: string }) => a.parent === 'main')).toEqual([]);
    expect(readdirSync(path.join(daemon.home, 'bots')).filter((f) => f.startsWith('ghost-'))).toEqual([]);
    expect(existsSync(path.join(daemon.home, 'tasks')) ? readdirSync(path.join(daemon.home, 'tasks')).filter((f) => f.startsWith('ghost-')) : []).toEqual([]);
  });
});
