import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, readDaemonInfo } from '../../src/core/lock-file.js';
import { call, git, httpClient, startTestDaemon, stdioClient, type TestDaemon } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('restart', () => {
  it('keeps notes, search and history, loading the index from its snapshot', async () => {
    const first = await startTestDaemon();
    const dev = await httpClient(first.url, first.tokens.dev);
    await call(dev, 'write_note', { path: 'keep.md', body: 'the persistent aardvark' });
    await dev.close();
    await first.stop();
    expect(readFileSync(path.join(first.home, '.roost/index/dev.json'), 'utf8')).toContain('aardvark');
    expect(git(first.home, 'log', '--format=%an|%s')).toContain('dev|dev: create keep.md');

    const second = await startTestDaemon({ home: first.home });
    cleanups.push(() => second.destroy());
    const again = await httpClient(second.url, second.tokens.dev);
    expect((await call(again, 'search_memory', { query: 'aardvark' })).total).toBe(1);
    expect((await call(again, 'read_note', { path: 'keep.md' })).body).toBe('the persistent aardvark');
    expect((await call(again, 'note_history', { path: 'keep.md' })).versions).toHaveLength(1);
    await again.close();
  });

  it('notices files changed while it was down', async () => {
    const first = await startTestDaemon();
    const dev = await httpClient(first.url, first.tokens.dev);
    await call(dev, 'write_note', { path: 'offline.md', body: 'before' });
    await dev.close();
    await first.stop();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(first.home, 'bots/dev/offline.md'), 'after the narwhal');

    const second = await startTestDaemon({ home: first.home });
    cleanups.push(() => second.destroy());
    const again = await httpClient(second.url, second.tokens.dev);
    expect((await call(again, 'search_memory', { query: 'narwhal' })).total).toBe(1);
    expect(git(second.home, 'status', '--porcelain')).toBe('');
    expect(git(second.home, 'log', '-1', '--format=%an')).toContain('external');
    await again.close();
  });
});

describe('stdio bridge', () => {
  let daemon: TestDaemon;

  it('serves two stdio clients through one daemon', async () => {
    daemon = await startTestDaemon();
    cleanups.push(() => daemon.destroy());
    const dev = await stdioClient('dev', daemon.tokens.dev, { url: daemon.url });
    const research = await stdioClient('research', daemon.tokens.research, { url: daemon.url });
    cleanups.push(() => dev.close(), () => research.close());

    await call(dev, 'write_note', { path: 'bridge.md', body: 'written through stdio: ocelot', visibility: 'shared' });
    expect((await call(dev, 'whoami')).bot).toBe('dev');
    expect((await call(research, 'search_memory', { query: 'ocelot', scope: 'shared' })).results[0]).toMatchObject({ bot: 'dev', path: 'bridge.md' });
    expect((await call(research, 'whoami')).bot).toBe('research');
  });

  it('refuses a bot token used for another bot', async () => {
    daemon = await startTestDaemon();
    cleanups.push(() => daemon.destroy());
    await expect(stdioClient('main', daemon.tokens.dev, { url: daemon.url })).rejects.toThrow();
  });

  it('starts the daemon when none runs, and carries on after the daemon restarts', async () => {
    const seed = await startTestDaemon();
    const token = seed.tokens.dev;
    await seed.stop();
    const home = seed.home;

    const client = await stdioClient('dev', token, { home });
    cleanups.push(async () => {
      await client.close();
      const info = await readDaemonInfo(path.join(home, '.roost/daemon.lock'));
      if (info && isAlive(info.pid)) process.kill(info.pid, 'SIGTERM');
    });
    await call(client, 'write_note', { path: 'auto.md', body: 'daemon started by the bridge' });
    const info = (await readDaemonInfo(path.join(home, '.roost/daemon.lock')))!;
    expect(isAlive(info.pid)).toBe(true);

    process.kill(info.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    // The next call finds the daemon gone, starts a new one and opens a new session.
    expect((await call(client, 'read_note', { path: 'auto.md' })).body).toBe('daemon started by the bridge');
    const next = (await readDaemonInfo(path.join(home, '.roost/daemon.lock')))!;
    expect(next.pid).not.toBe(info.pid);
  });
});

