import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { DaemonLock, readDaemonInfo, runningDaemon } from '../../src/core/lock-file.js';
import { tempDir } from '../helpers.js';

const lockModule = pathToFileURL(join(process.cwd(), 'dist/src/core/lock-file.js')).href;

/** A process that takes the lock of `file` (not before the time `at`) and holds it until killed; prints `held` or `refused`. */
function holder(file: string, at = 0) {
  const script = `const { DaemonLock } = await import(${JSON.stringify(lockModule)});
    await new Promise((resolve) => setTimeout(resolve, ${at} - Date.now()));
    try { await DaemonLock.acquire(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000); }
    catch { console.log('refused'); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answer = new Promise<string>((resolve) => child.stdout!.once('data', (data) => resolve(String(data).trim())));
  return { child, answer };
}

function lockFile(): string {
  const dir = join(tempDir(), '.roost');
  mkdirSync(dir);
  return join(dir, 'daemon.lock');
}

it('lets only one holder take a data root, even two in one process, until it lets go', async () => {
  const file = lockFile();
  const lock = await DaemonLock.acquire(file);
  await expect(DaemonLock.acquire(file)).rejects.toThrow(new RegExp(`another Roost daemon \\(pid ${process.pid}\\)`));
  await lock.release();
  const again = await DaemonLock.acquire(file);
  await again.release();
});

it('is not blocked by a lock file naming a live process that holds nothing (a pid reused after a reboot)', async () => {
  const file = lockFile();
  writeFileSync(file, JSON.stringify({ pid: 1, started: '2026-01-01T00:00:00.000Z', url: 'http://127.0.0.1:1' }));
  expect(await runningDaemon(file)).toBeNull();
  const lock = await DaemonLock.acquire(file);
  expect((await readDaemonInfo(file))?.pid).toBe(process.pid);
  expect((await runningDaemon(file))?.pid).toBe(process.pid);
  await lock.release();
});

it('is held by a live process in another data-root path to the same folder, and freed by the kernel when it is killed', async () => {
  const file = lockFile();
  const { child, answer } = holder(file);
  expect(await answer).toBe('held');
  await expect(DaemonLock.acquire(join(file, '..', '..', '.roost', 'daemon.lock'))).rejects.toThrow(/another Roost daemon/);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const lock = await DaemonLock.acquire(file);
  await lock.release();
});

it('lets exactly one of several processes racing for a lock a killed daemon left behind take it', async () => {
  const file = lockFile();
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.once('exit', resolve));
  writeFileSync(file, JSON.stringify({ pid: dead.pid, started: '2026-01-01T00:00:00.000Z' }));
  // All start at the same instant, after their imports, so they race through the take-over together.
  const at = Date.now() + 2_000;
  const racers = Array.from({ length: 6 }, () => holder(file, at));
  const answers = await Promise.all(racers.map((racer) => racer.answer));
  for (const { child } of racers) child.kill('SIGKILL');
  expect(answers.filter((answer) => answer === 'held')).toHaveLength(1);
});
