import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { call, callError, httpClient, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// A real full disk: a small tmpfs. Mounting needs root (CI runs as root); elsewhere this test is skipped.
const isRoot = process.getuid?.() === 0;
const mountPoint = tempDir('roost-full-');
let daemon: TestDaemon | undefined;

afterAll(async () => {
  await daemon?.stop().catch(() => undefined);
  if (isRoot) execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

function temps(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.tmp'))
    .map((e) => path.join(e.parentPath, e.name));
}

it.skipIf(!isRoot)('refuses writes with a clear error when the disk is full, and damages nothing already stored', async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
  daemon = await startTestDaemon({ home: mountPoint });
  const dev = await httpClient(daemon.url, daemon.tokens.dev);

  const stored: string[] = [];
  for (let i = 0; i < 5; i++) {
    await call(dev, 'write_note', { path: `kept/${i}.md`, body: `kept note ${i}\n` });
    stored.push(`kept note ${i}\n`);
  }
  await daemon.roost.history.flush();
  // Fill the disk from outside, leaving less room than one more note needs.
  const filler = path.join(mountPoint, 'filler.bin');
  for (let size = 4 * 1024 * 1024, n = 0; size >= 1024; n++) {
    try {
      writeFileSync(`${filler}${n}`, Buffer.alloc(size));
    } catch {
      rmSync(`${filler}${n}`, { force: true });
      size = Math.floor(size / 2);
    }
  }

  const research = await httpClient(daemon.url, daemon.tokens.research);
  const sendError = await callError(dev, 'send_message', { to: ['research'], subject: 'too big for the disk', body: 'm'.repeat(60_000) });
  expect(sendError).toMatch(/disk is full/);

  const error = await callError(dev, 'write_note', { path: 'kept/big.md', body: 'y'.repeat(200_000) });
  expect(error).toMatch(/disk is full/);
  expect(await callError(dev, 'write_note', { path: 'kept/0.md', body: 'z'.repeat(200_000) })).toMatch(/disk is full/);

  for (let i = 0; i < 5; i++) {
    expect((await call(dev, 'read_note', { path: `kept/${i}.md` })).body).toBe(stored[i]);
  }
  expect(temps(mountPoint)).toEqual([]);
  expect((await call(dev, 'search_memory', { query: 'kept' })).total).toBe(5);

  // Space comes back: writing works again.
  for (const name of readdirSync(mountPoint)) if (name.startsWith('filler.bin')) rmSync(path.join(mountPoint, name));
  await call(dev, 'write_note', { path: 'kept/after.md', body: 'room again' });
  expect((await call(dev, 'read_note', { path: 'kept/after.md' })).body).toBe('room again');
  await call(dev, 'send_message', { to: ['research'], subject: 'room again', body: 'short' });
  // The refused message reached nobody, not even after a restart.
  await Promise.all([dev.close(), research.close()]);
  await daemon.stop();
  daemon = await startTestDaemon({ home: mountPoint });
  const after = await httpClient(daemon.url, daemon.tokens.research);
  const inbox = await call(after, 'read_inbox', { status: 'all', peek: true });
  expect(inbox.messages.map((m: { subject: string }) => m.subject)).toEqual(['room again']);
  await after.close();
});
