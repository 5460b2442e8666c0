import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

// Presence counts a session while its client is attached (its event stream open) or called within the last minute.
let roost: TestDaemon;
beforeAll(async () => {
  // The daemon's defaults: what an operator sees.
  roost = await startTestDaemon();
});
afterAll(() => roost?.destroy());

async function devPresence(): Promise<{ online: boolean; sessions: number }> {
  const operator = await httpClient(roost.url, OPERATOR_TOKEN);
  try {
    return (await call(operator, 'list_bots')).bots.find((b: { id: string }) => b.id === 'dev');
  } finally {
    await operator.close();
  }
}

describe('presence', () => {
  it('does not count one-shot clients that went away without ending their session, only an attached one', { timeout: 180_000 }, async () => {
    const attached = await httpClient(roost.url, roost.tokens.dev);
    const gone: string[] = [];
    for (let i = 0; i < 20; i++) {
      // A one-shot client as mcporter or a script: connect, call, close the connection, never DELETE the session.
      const once = await httpClient(roost.url, roost.tokens.dev);
      expect((await call(once, 'whoami')).bot).toBe('dev');
      gone.push((once.transport as StreamableHTTPClientTransport).sessionId!);
      await once.close();
    }
    expect(await devPresence()).toMatchObject({ online: true });
    // Past the minute, only the attached client counts, and the abandoned sessions are closed.
    await eventually(async () => (await devPresence()).sessions === 1, 150_000);
    expect(await devPresence()).toEqual(expect.objectContaining({ online: true, sessions: 1 }));
    expect((await call(attached, 'whoami')).bot).toBe('dev');
    // Asked with another bot's token, which does not touch the session: 403 while it exists, 404 once closed.
    const res = await eventually(async () => {
      const answer = await fetch(new URL('/mcp', roost.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${roost.tokens.research}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': gone[0] },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      return answer.status === 404 ? answer : null;
    }, 60_000);
    expect(res.status).toBe(404);

    await attached.close();
  });

  it('shows a retired bot offline at once, though its client is still attached', async () => {
    const operator = await httpClient(roost.url, OPERATOR_TOKEN);
    const { token } = await call(operator, 'register_bot', { id: 'leaving', kind: 'specialist', name: 'Leaving' });
    const leaving = await httpClient(roost.url, token);
    const presence = async () => (await call(operator, 'list_bots', {})).bots.find((b: { id: string }) => b.id === 'leaving');
    expect(await presence()).toMatchObject({ online: true, sessions: 1 });
    await call(operator, 'retire_bot', { id: 'leaving' });
    expect(await presence()).toMatchObject({ status: 'retired', online: false, sessions: 0 });
    await leaving.close().catch(() => undefined);
    await operator.close();
  });
});
