import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokens } from '../../src/core/tokens.js';
import { call, type DaemonProcess, httpClient, OPERATOR_TOKEN, startDaemonProcess, stdioClient, tempDir } from '../helpers.js';

// One bot opening MCP sessions without end: the daemon keeps each identity to its bound.
const BOUND = 8;
const VERSION = '2025-06-18';
let home: string;
let roost: DaemonProcess;
let operator: Client;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  home = tempDir();
  // The flag wins over the environment.
  roost = await startDaemonProcess(home, { ROOST_MAX_SESSIONS: '1000' }, ['--max-sessions', String(BOUND)]);
  const store = new Tokens(path.join(home, '.roost'));
  for (const bot of ['dev', 'research']) tokens[bot] = await store.issue(bot);
  operator = await httpClient(roost.url, OPERATOR_TOKEN);
});

afterAll(async () => {
  await operator?.close();
  await roost?.stop();
  rmSync(home, { recursive: true, force: true });
});

function post(token: string, body: unknown, session?: string): Promise<Response> {
  return fetch(new URL('/mcp', roost.url), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': VERSION } : {}),
    },
    body: JSON.stringify(body),
  });
}

function initialize(token: string): Promise<Response> {
  return post(token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
}

async function open(token: string): Promise<string> {
  const res = await initialize(token);
  expect(res.status).toBe(200);
  await res.json();
  return res.headers.get('mcp-session-id')!;
}

async function liveSessions(bot: string): Promise<number> {
  return (await call(operator, 'get_bot', { id: bot })).sessions;
}

describe('MCP sessions of one bot', () => {
  it('never pass the bound: a new one closes the least recently used idle one, whose next request gets 404', async () => {
    // Real clients opened first are the least recently used: the SDK's client over HTTP, and a stdio bridge.
    const early = await httpClient(roost.url, tokens.dev);
    const bridge = await stdioClient('dev', tokens.dev, { url: roost.url });
    expect((await call(bridge, 'whoami')).bot).toBe('dev');

    const opened: string[] = [];
    for (let i = 0; i < 60; i++) {
      opened.push(await open(tokens.dev));
      expect(await liveSessions('dev')).toBeLessThanOrEqual(BOUND);
    }
    expect(await liveSessions('dev')).toBe(BOUND);
    for (const [i, session] of opened.entries()) {
      const ping = await post(tokens.dev, { jsonrpc: '2.0', id: 2, method: 'ping' }, session);
      if (i < 60 - BOUND) {
        expect(ping.status).toBe(404);
        expect((await ping.json()).error.message).toBe('Session not found: initialize a new session.');
      } else {
        expect(await ping.json()).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
      }
    }
    // The SDK's client is told its session is gone; the bridge opens a new one and carries on.
    await expect(call(early, 'whoami')).rejects.toThrow(/404|Session not found/);
    expect((await call(bridge, 'whoami')).bot).toBe('dev');
    expect(await liveSessions('dev')).toBe(BOUND);
    await early.close().catch(() => undefined);
    await bridge.close();

    // Many at once: each opens or is refused, and the count stays within the bound.
    const burst = await Promise.all(Array.from({ length: 40 }, () => initialize(tokens.dev)));
    for (const res of burst) {
      expect([200, 429]).toContain(res.status);
      await res.text();
    }
    expect(await liveSessions('dev')).toBeLessThanOrEqual(BOUND);
    expect(roost.output().match(/bot "dev" has \d+ MCP sessions, its bound/g)).toEqual([
      `bot "dev" has ${BOUND} MCP sessions, its bound`,
    ]);
  });

  it('are refused beyond the bound with 429 and what to do when each has a call under way, and another bot still opens its own', async () => {
    const busy: string[] = [];
    for (let i = 0; i < BOUND; i++) busy.push(await open(tokens.dev));
    // Asked for progress, a wait answers at once with an event stream: the call is under way.
    const waits = await Promise.all(
      busy.map((session, i) =>
        post(tokens.dev, { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'wait_for_messages', arguments: { timeout_seconds: 2 }, _meta: { progressToken: i } } }, session),
      ),
    );
    const refused = await initialize(tokens.dev);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32000,
        message: `Bot "dev" has ${BOUND} MCP sessions, the most it may have, each with a call under way: end a session it no longer uses (DELETE /mcp with its mcp-session-id) or let a call finish, then initialize again.`,
      },
    });
    expect(await liveSessions('dev')).toBe(BOUND);

    await open(tokens.research);
    expect(await liveSessions('research')).toBe(1);

    // The waits still end with their answers, and then a new session opens again.
    for (const wait of waits) expect(await wait.text()).toContain('"timed_out":true');
    await open(tokens.dev);
    expect(await liveSessions('dev')).toBe(BOUND);
    expect((await fetch(new URL('/health', roost.url))).status).toBe(200);
  });
});
