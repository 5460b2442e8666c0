import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consoleLogin, dataFiles, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// Hostile requests on the wire: bodies too large, request ids reused, clients that vanish, errors that would show the data root.
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

const VERSION = '2025-06-18';
const BOTH = 'application/json, text/event-stream';
const CONSOLE = { 'x-roost-console': '1', 'content-type': 'application/json' };

function mcp(headers: Record<string, string>, body: string): Promise<Response> {
  return fetch(new URL('/mcp', daemon.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${daemon.tokens.dev}`, 'content-type': 'application/json', accept: BOTH, ...headers },
    body,
  });
}

/** A raw MCP session of dev: its id and the headers that go with it. */
async function openSession(): Promise<Record<string, string>> {
  const res = await mcp({}, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }));
  expect(res.status).toBe(200);
  await res.json();
  const headers = { 'mcp-session-id': res.headers.get('mcp-session-id')!, 'mcp-protocol-version': VERSION };
  expect((await mcp(headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))).status).toBe(202);
  return headers;
}

function writeNote(id: number, path: string, content: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'write_note', arguments: { path, body: content } } });
}

function putNote(path: string, content: string): Promise<Response> {
  return fetch(new URL('/api/bots/dev/note', daemon.url), { method: 'PUT', headers: { cookie, ...CONSOLE }, body: JSON.stringify({ path, body: content }) });
}

describe('request bodies', () => {
  // 2.5 MB of quotes: 5 MB as JSON, over the one limit of 4 MB.
  const oversized = '"'.repeat(2.5 * 1024 * 1024);

  it('over 4 MB are refused with 413 and a sentence, at /mcp (with or without a session) and at /api, and change nothing', async () => {
    const files = dataFiles(daemon.home);
    const head = git(daemon.home, 'rev-parse', 'HEAD');
    const session = await openSession();

    const answers = [await mcp(session, writeNote(2, 'big.md', oversized)), await mcp({}, writeNote(1, 'big.md', oversized))];
    for (const res of answers) {
      expect(res.status).toBe(413);
      expect((await res.json()).error.message).toMatch(/^The request body is \d+ bytes, over the limit of 4194304 \(4 MB\): send less at once/);
    }
    const put = await putNote('big.md', oversized);
    expect(put.status).toBe(413);
    expect((await put.json()).error).toMatch(/over the limit of 4194304 \(4 MB\)/);

    // The session goes on, and nothing was written.
    const list = await mcp(session, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }));
    expect(list.status).toBe(200);
    expect((await list.json()).result.tools.length).toBeGreaterThan(0);
    expect(git(daemon.home, 'rev-parse', 'HEAD')).toBe(head);
    expect(dataFiles(daemon.home)).toEqual(files);
  });

  it('hold the largest note a bot may write, whose every character JSON escapes in two, at /mcp and at /api', async () => {
    const largest = '"\\\n'.repeat(340_000);
    expect((await call(dev, 'write_note', { path: 'quotes.md', body: largest })).size).toBeGreaterThan(1_000_000);
    const put = await putNote('quotes-console.md', largest);
    expect(put.status).toBe(200);
  });
});

function toolCall(id: number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
}

describe('a request id still being answered', () => {
  it('is refused for a second request in the same session, and the first still gets its answer', async () => {
    const session = await openSession();
    // Asked for progress, the answer is an event stream whose first progress comes as the wait starts.
    const first = await mcp(session, toolCall(7, 'wait_for_messages', { timeout_seconds: 2 }, { progressToken: 'waiting' }));
    expect(first.status).toBe(200);

    const second = await mcp(session, toolCall(7, 'whoami'));
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32600, message: 'Invalid Request: request id 7 is still being answered in this session: give each request an id of its own.' },
    });
    const batch = await mcp(session, `[${toolCall(8, 'whoami')}, ${toolCall(8, 'whoami')}]`);
    expect(batch.status).toBe(400);
    expect((await batch.json()).id).toBe(8);

    const events = (await first.text()).split('\n\n').filter((e) => e.startsWith('event: message\n')).map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)));
    expect(events.at(-1)).toMatchObject({ jsonrpc: '2.0', id: 7, result: { structuredContent: { timed_out: true } } });
    // Once answered, or cancelled by its client, the id is free again.
    const again = await mcp(session, toolCall(7, 'whoami'));
    expect(await again.json()).toMatchObject({ id: 7, result: { structuredContent: { bot: 'dev' } } });
    await mcp(session, toolCall(9, 'wait_for_messages', { timeout_seconds: 30 }, { progressToken: 'cancelled' }));
    const cancel = await mcp(session, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } }));
    expect(cancel.status).toBe(202);
    const reused = await mcp(session, toolCall(9, 'whoami'));
    expect(await reused.json()).toMatchObject({ id: 9, result: { structuredContent: { bot: 'dev' } } });
  });
});

/** Sends a request's headers and half of the body they announce, then goes away. */
async function abortMidBody(url: string, path: string, headers: Record<string, string>): Promise<void> {
  const req = http.request(new URL(path, url), { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': '1000' } });
  req.on('error', () => undefined);
  req.flushHeaders();
  await new Promise<void>((resolve) => req.write('{"token": "' + 'x'.repeat(480), () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  req.destroy();
}

describe('a client that goes away mid-request', () => {
  it('leaves no stack trace in the daemon\'s output, at /mcp and at /api/login', { timeout: 60_000 }, async () => {
    const home = tempDir();
    const roost = await startDaemonProcess(home);
    try {
      const health = await fetch(new URL('/health', roost.url));
      expect(health.status).toBe(200);
      const before = roost.output();
      for (let i = 0; i < 3; i++) {
        await abortMidBody(roost.url, '/mcp', { authorization: `Bearer ${OPERATOR_TOKEN}`, accept: BOTH });
        await abortMidBody(roost.url, '/api/login', { 'x-roost-console': '1' });
      }
      // Time for the daemon to notice that the connections closed.
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(new URL('/health', roost.url))).status).toBe(200);
      const logged = roost.output().slice(before.length);
      expect(logged).not.toMatch(/^\s+at /m);
      expect(logged.split('\n').filter(Boolean).length).toBeLessThanOrEqual(6);
    } finally {
      await roost.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('an error a bot provokes', () => {
  it('names files relative to the data root, never where the data root lies on disk, in tool results and resource reads', async () => {
    // By hand: a folder where a note would be, and a note where a folder would be.
    const own = join(daemon.home, 'bots', 'dev');
    mkdirSync(join(own, 'folder.md'), { recursive: true });
    writeFileSync(join(own, 'plain.md'), 'plain\n');
    const texts: string[] = [];
    for (const [name, args] of [
      ['read_note', { path: 'folder.md' }],
      ['write_note', { path: 'plain.md/inside.md', body: 'x' }],
      ['move_note', { from: 'plain.md', to: 'plain.md/moved.md' }],
    ] as const) {
      const result = await dev.callTool({ name, arguments: args });
      expect(result.isError).toBe(true);
      texts.push((result.content as Array<{ text: string }>)[0].text);
    }
    for (const uri of ['roost://bots/dev/notes/folder.md', 'roost://bots/dev/notes/plain.md/inside.md']) {
      texts.push(await dev.readResource({ uri }).then(() => 'read', (error: Error) => error.message));
    }
    // Each is a sentence that names the path as the caller knows it (the vault reads a folder or a file's child as absent).
    expect(texts).toEqual([
      expect.stringMatching(/^There is no note "folder.md" in dev's memory/),
      '"bots/dev/plain.md/inside.md" lies below a file, not a folder: choose another path.',
      '"bots/dev/plain.md/moved.md" lies below a file, not a folder: choose another path.',
      expect.stringMatching(/^MCP error -32603: There is no note "folder.md"/),
      expect.stringMatching(/^MCP error -32603: There is no note "plain.md\/inside.md"/),
    ]);
    for (const text of texts) expect(text).not.toContain(daemon.home);

    expect(readFileSync(join(own, 'plain.md'), 'utf8')).toBe('plain\n');
  });
});
