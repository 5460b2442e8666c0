import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { CLI_PATH } from '../../src/package.js';
import { BOTS_DIR, call, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, tempDir } from '../helpers.js';

const run = promisify(execFile);

it('pushes the data root to a backup remote and restores every bot on a new machine with one command', async () => {
  const remote = path.join(tempDir('roost-backup-'), 'backup.git');
  await run('git', ['init', '--quiet', '--bare', remote]);

  const home = tempDir();
  const daemon = await startDaemonProcess(home, { ROOST_BACKUP: remote });
  const dev = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
  const main = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'main' });
  await call(dev, 'write_note', { path: 'notes/backed-up.md', body: 'survives the machine' });
  await call(dev, 'set_fact', { key: 'region', value: 'eu' });
  await call(main, 'register_bot', { id: 'scout', topics: ['research'] });
  const remoteLog = async () => (await run('git', ['--git-dir', remote, 'log', '--format=%an: %s', 'main']).catch(() => ({ stdout: '' }))).stdout;
  // Pushed after its commits, while the daemon runs.
  await eventually(async () => (await remoteLog()).includes('main: register bot scout'), 30_000);
  const sent = await call(dev, 'send_message', { to: ['research'], subject: 'Hand-over', body: 'The plan is in notes/backed-up.md.' });
  await Promise.all([dev.close(), main.close()]);
  await daemon.stop(); // a clean stop pushes what is left

  const pushed = await remoteLog();
  expect(pushed).toContain('dev: create notes/backed-up.md');
  expect(pushed).toContain('dev: send "Hand-over" to research (1 recipient)');

  // The new machine.
  const restored = path.join(tempDir('roost-new-'), 'memory');
  const { stdout } = await run(process.execPath, [CLI_PATH, 'restore', remote, '--home', restored, '--bots', BOTS_DIR]);
  expect(stdout).toMatch(/^dev\s+roost_dev_/m);
  expect(stdout).toMatch(/^scout\s+roost_scout_/m);
  expect(readFileSync(path.join(restored, 'bots/dev/notes/backed-up.md'), 'utf8')).toContain('survives the machine');
  expect(git(restored, 'log', '--format=%an', '-1', '--', 'bots/dev/facts/region.md').trim()).toBe('dev');

  const again = await startDaemonProcess(restored);
  try {
    const client = await httpClient(again.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
    expect((await call(client, 'search_memory', { query: 'survives' })).total).toBe(1);
    expect((await call(client, 'get_fact', { key: 'region' })).value).toBe('eu');
    expect((await call(client, 'get_bot', { id: 'scout' })).topics).toEqual(['research']);
    const research = await httpClient(again.url, OPERATOR_TOKEN, { 'x-roost-bot': 'research' });
    const inbox = await call(research, 'read_inbox', {});
    expect(inbox.messages.map((m: { id: string; from: string; subject: string }) => [m.id, m.from, m.subject])).toEqual([[sent.id, 'dev', 'Hand-over']]);
    await Promise.all([client.close(), research.close()]);
  } finally {
    await again.stop();
  }
});
