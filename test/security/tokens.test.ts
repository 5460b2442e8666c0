import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOTS_DIR, call, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';
import { CLI_PATH } from '../../src/package.js';

// A token that was rotated or revoked stops working on the next request, on every open session.
let daemon: TestDaemon;
const clients: Client[] = [];

beforeAll(async () => {
  daemon = await startTestDaemon();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await daemon?.destroy();
});

async function connect(token: string): Promise<Client> {
  const client = await httpClient(daemon.url, token);
  clients.push(client);
  return client;
}

/** `roost token <bot>` while the daemon runs: the new token. */
async function rotate(bot: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI_PATH, 'token', bot, '--home', daemon.home, '--bots', BOTS_DIR]);
  return stdout.trim();
}

describe('a bot token', () => {
  it('rotated with `roost token` is refused at once: on the session it opened and for a new one; the new token works', async () => {
    const old = daemon.tokens.research;
    const open = await connect(old);
    expect((await call(open, 'whoami')).bot).toBe('research');

    const fresh = await rotate('research');
    expect(fresh).toMatch(/^roost_research_[0-9a-f]{48}$/);
    await expect(call(open, 'whoami')).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);
    await expect(connect(old)).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);

    const renewed = await connect(fresh);
    expect((await call(renewed, 'whoami')).bot).toBe('research');
    await expect(connect(old)).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);
  });

  it('whose file is removed by hand is refused on the next request', async () => {
    const open = await connect(daemon.tokens.monitoring);
    expect((await call(open, 'whoami')).bot).toBe('monitoring');
    rmSync(path.join(daemon.home, '.roost', 'tokens', 'monitoring'));
    await expect(call(open, 'whoami')).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);
  });

  it('of a bot retired by retire_bot is refused on the next request of its open session', async () => {
    const operator = await connect(OPERATOR_TOKEN);
    await call(operator, 'register_bot', { id: 'temp', name: 'Temporary' });
    const token = await rotate('temp');
    const open = await connect(token);
    expect((await call(open, 'whoami')).bot).toBe('temp');
    await call(operator, 'retire_bot', { id: 'temp' });
    await expect(call(open, 'whoami')).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);
    await expect(connect(token)).rejects.toThrow(/The token presented is bot \W+[a-z-]+\W+'s, (but not its current one|and that bot is retired)/);
  });
});
