import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, startTestDaemon, stdioClient, type TestDaemon } from '../helpers.js';

// A wrong token says whose it is (its bot, never its value) and what to do, over HTTP and through the stdio bridge.
let roost: TestDaemon;
beforeAll(async () => {
  roost = await startTestDaemon();
});
afterAll(() => roost?.destroy());

async function initialize(token: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; error: string }> {
  const res = await fetch(new URL('/mcp', roost.url), {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

/** What a stdio client is told when the bridge's first call is refused. */
async function bridgeError(bot: string, token: string, url = roost.url): Promise<string> {
  const error = await stdioClient(bot, token, { url }).then(
    async (client) => {
      await client.close();
      throw new Error('the bridge connected');
    },
    (e: Error) => e.message,
  );
  return error;
}

describe('a refused token', () => {
  it('over HTTP: the 401 names the bot a replaced token was for, never the token, and how to get a new one', async () => {
    const old = roost.tokens.dev;
    roost.tokens.dev = await roost.roost.tokens.issue('dev');
    const replaced = await initialize(old);
    expect(replaced.status).toBe(401);
    expect(replaced.error).toContain('bot "dev"\'s, but not its current one');
    expect(replaced.error).toContain('roost token dev');
    expect(replaced.error).not.toContain(old.slice('roost_dev_'.length));

    expect(await initialize(undefined)).toMatchObject({ status: 401, error: expect.stringContaining('No bearer token was presented') });
    const foreign = await initialize('sk-not-roost-123');
    expect(foreign.error).toContain('not a Roost token');
    expect(foreign.error).not.toContain('sk-not-roost-123');
    expect((await initialize('roost_operator_stale')).error).toContain('an operator token, but not this daemon\'s');
  });

  it("over HTTP: another bot's token and a missing bot get a sentence saying whose token it is and what to send", async () => {
    const other = await initialize(roost.tokens.research, { 'x-roost-bot': 'dev' });
    expect(other.status).toBe(403);
    expect(other.error).toBe(
      'The token presented is bot "research"\'s, but the request asks to act as "dev" (x-roost-bot): a bot token acts only as its own bot. Use "dev"\'s own token (`roost token dev` makes one), or send x-roost-bot: research.',
    );
    const missing = await initialize(OPERATOR_TOKEN, { 'x-roost-bot': 'nobody' });
    expect(missing).toMatchObject({ status: 404, error: expect.stringContaining('The operator token was presented with x-roost-bot: nobody') });
  });

  it('through the stdio bridge: a 401 is told apart from an unreachable daemon, with the daemon\'s sentence', async () => {
    const replaced = await bridgeError('dev', `roost_dev_${'0'.repeat(48)}`);
    expect(replaced).toContain('Roost refused the token given for bot "dev" (HTTP 401, wrong or replaced token)');
    expect(replaced).toContain('roost token dev');
    expect(replaced).not.toMatch(/unreachable/);

    const other = await bridgeError('dev', roost.tokens.research);
    expect(other).toContain('Roost refused to let this token act as bot "dev" (HTTP 403)');
    expect(other).toContain('The token presented is bot "research"\'s');

    // A port nobody listens on: unreachable, and said so.
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    expect(await bridgeError('dev', roost.tokens.dev, `http://127.0.0.1:${port}`)).toContain('Roost daemon unreachable');
  });
});
