import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers.js';

// The Streamable HTTP transport on the wire, as a client without the SDK sees it.
let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await startTestDaemon();
});

afterAll(async () => {
  await daemon?.destroy();
});

const VERSION = '2025-06-18';
const BOTH = 'application/json, text/event-stream';

function request(method: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return fetch(new URL('/mcp', daemon.url), {
    method,
    headers: { authorization: `Bearer ${daemon.tokens.dev}`, 'content-type': 'application/json', accept: BOTH, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The JSON-RPC messages of an event stream that has ended. */
async function events(res: Response): Promise<Array<Record<string, any>>> {
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: message\n'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)));
}

/** The JSON answer to a POST whose requests asked for no progress. */
async function json(res: Response): Promise<any> {
  expect(res.headers.get('content-type')).toBe('application/json');
  return res.json();
}

async function openSession(): Promise<string> {
  const res = await request('POST', {}, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  expect(res.status).toBe(200);
  const session = res.headers.get('mcp-session-id')!;
  const answer = await json(res);
  expect(answer).toMatchObject({ id: 1, result: { protocolVersion: VERSION, serverInfo: { name: 'roost' } } });
  const initialized = await request('POST', { 'mcp-session-id': session, 'mcp-protocol-version': VERSION }, { jsonrpc: '2.0', method: 'notifications/initialized' });
  expect(initialized.status).toBe(202);
  expect(await initialized.text()).toBe('');
  return session;
}

describe('MCP over Streamable HTTP', () => {
  it('answers a batch of requests with one JSON batch of their responses', async () => {
    const session = await openSession();
    const res = await request('POST', { 'mcp-session-id': session, 'mcp-protocol-version': VERSION }, [
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'write_note', arguments: { path: 'wire/batch.md', body: 'sent raw' } } },
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBe(session);
    const answers: Array<Record<string, any>> = await json(res);
    expect(answers.map((a) => a.id).sort()).toEqual(['a', 'b']);
    expect(answers.find((a) => a.id === 'b')!.result.structuredContent).toMatchObject({ path: 'wire/batch.md', created: true });
  });

  it('answers a batch on one event stream that ends with the last response when a request in it asks for progress', async () => {
    const session = await openSession();
    const res = await request('POST', { 'mcp-session-id': session, 'mcp-protocol-version': VERSION }, [
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'wait_for_messages', arguments: { timeout_seconds: 1 }, _meta: { progressToken: 'pb' } } },
    ]);
    expect(res.status).toBe(200);
    const order = (await events(res)).map((m) => m.id ?? m.method);
    // The ping's answer and b's progress may come in either order; b's answer ends the stream.
    expect(order.toSorted()).toEqual(['a', 'b', 'notifications/progress']);
    expect(order.at(-1)).toBe('b');
  });

  it("sends a request's progress on that request's stream, before its response", async () => {
    const session = await openSession();
    const res = await request('POST', { 'mcp-session-id': session, 'mcp-protocol-version': VERSION }, {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'wait_for_messages', arguments: { timeout_seconds: 1 }, _meta: { progressToken: 'p1' } },
    });
    const [progress, answer] = await events(res);
    expect(progress).toMatchObject({ method: 'notifications/progress', params: { progressToken: 'p1', progress: 0, total: 1000 } });
    expect(answer).toMatchObject({ id: 3, result: { structuredContent: { timed_out: true, messages: [] } } });
  });

  it('refuses what a client must not send, with the status and a sentence, and the session goes on', async () => {
    const session = await openSession();
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': VERSION };
    const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };
    const refused = [
      [await request('POST', { ...headers, accept: 'application/json' }, ping), 406, /Accept header must list both/],
      [await request('POST', { ...headers, 'content-type': 'text/plain' }, ping), 415, /Content-Type must be application\/json/],
      [await request('POST', { ...headers, 'mcp-protocol-version': '1999-01-01' }, ping), 400, /unsupported protocol version 1999-01-01/],
      [await request('POST', headers, { hello: 'world' }), 400, /must be a JSON-RPC message/],
      [await request('POST', headers, []), 400, /must be a JSON-RPC message/],
      [await request('POST', headers, { ...ping, method: 'initialize' }), 400, /initialized already/],
      [await request('PUT', headers, ping), 405, /use POST, GET or DELETE/],
    ] as const;
    for (const [res, status, sentence] of refused) {
      expect(res.status).toBe(status);
      expect((await res.json()).error.message).toMatch(sentence);
    }
    const pong = await json(await request('POST', headers, ping));
    expect(pong).toEqual({ jsonrpc: '2.0', id: 7, result: {} });
  });

  it('answers a request still running when its session ends with an error that says so', async () => {
    const session = await openSession();
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': VERSION };
    const waiting = request('POST', headers, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'wait_for_messages', arguments: { timeout_seconds: 20 } } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await request('DELETE', headers)).status).toBe(200);
    const answer = await json(await waiting);
    expect(answer).toMatchObject({ id: 9, error: { message: expect.stringMatching(/session ended before this request was answered/) } });
  });

  it('keeps one GET event stream per session, and ends the session on DELETE', async () => {
    const session = await openSession();
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': VERSION };
    const stream = await request('GET', { ...headers, accept: 'text/event-stream' }, undefined);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const second = await request('GET', { ...headers, accept: 'text/event-stream' }, undefined);
    expect(second.status).toBe(409);

    const deleted = await request('DELETE', headers);
    expect(deleted.status).toBe(200);
    // The open stream ends with the session.
    expect(await stream.text()).toBe('');
    const after = await request('POST', headers, { jsonrpc: '2.0', id: 8, method: 'ping' });
    expect(after.status).toBe(404);
  });
});
