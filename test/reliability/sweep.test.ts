import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Roost } from '../../src/core/roost.js';
import { BOTS_DIR, call, eventually, git, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon, tempDir } from '../helpers.js';

// Hand edits the file watcher never reported (inotify drops events once its queue overflows, and
// Node does not say so) are found by a sweep that compares the data root with git.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const lastAuthor = (home: string, file: string) => git(home, 'log', '-1', '--format=%an', '--', file).trim();

it('a sweep commits as external and indexes the hand edits no watcher saw, and leaves a bot change under way to its bot', async () => {
  const home = tempDir();
  // No watcher: every hand edit below happens behind its back.
  const roost = await Roost.open({ home, botsDir: BOTS_DIR, operatorToken: OPERATOR_TOKEN, commitWindowMs: 20, watch: false });
  cleanups.push(async () => {
    await roost.close();
    rmSync(home, { recursive: true, force: true });
  });
  const dev = { bot: 'dev', kind: 'specialist' as const, operator: false };
  await roost.memory.write(dev, 'kept.md', 'kept\n', {});
  await roost.memory.write(dev, 'gone.md', 'gone\n', {});
  await roost.history.flush();

  writeFileSync(path.join(home, 'bots/dev/kept.md'), 'kept, with a wombat added by hand\n');
  rmSync(path.join(home, 'bots/dev/gone.md'));
  writeFileSync(path.join(home, 'bots/dev/new.md'), 'a new note about a quokka\n');
  writeFileSync(path.join(home, '.hidden'), 'machine state\n');
  // A bot's write whose commit is still queued when the sweep runs.
  await roost.memory.write(dev, 'queued.md', 'queued\n', {});
  await roost.sweep();
  await roost.history.flush();

  expect(['kept.md', 'gone.md', 'new.md'].map((note) => lastAuthor(home, `bots/dev/${note}`))).toEqual(['external', 'external', 'external']);
  expect(lastAuthor(home, 'bots/dev/queued.md')).toBe('dev');
  expect(git(home, 'ls-files', '.hidden')).toBe('');
  const found = async (word: string) => (await roost.memory.search(dev, word, { scope: 'own', limit: 10, offset: 0 })).hits.map((hit) => hit.path);
  expect(await found('wombat')).toEqual(['kept.md']);
  expect(await found('quokka')).toEqual(['new.md']);
  expect(await found('gone')).toEqual([]);
  // Nothing left to find: a second sweep commits nothing.
  const commits = git(home, 'rev-list', '--count', 'HEAD');
  await roost.sweep();
  await roost.history.flush();
  expect(git(home, 'rev-list', '--count', 'HEAD')).toBe(commits);
});

it('the daemon commits and indexes hand edits made while its watcher overflowed', async () => {
  const daemon: TestDaemon = await startTestDaemon({ sweepEveryMs: 300 });
  cleanups.push(() => daemon.destroy());
  const dev = await httpClient(daemon.url, daemon.tokens.dev);
  cleanups.push(() => dev.close());
  await call(dev, 'write_note', { path: 'kept.md', body: 'kept\n' });
  await daemon.roost.history.flush();

  // The daemon runs in this process: while the shell runs, its event loop reads no inotify events,
  // and more come than inotify queues (16,384 by default), so it drops the ones after, the edits among them.
  execFileSync('sh', [
    '-c',
    'i=0; while [ $i -lt 20000 ]; do : > .flood$i; i=$((i+1)); done; echo "an echidna by hand" > bots/dev/missed.md; echo "kept, and a numbat" >> bots/dev/kept.md; rm .flood*',
  ], { cwd: daemon.home });

  await eventually(() => lastAuthor(daemon.home, 'bots/dev/missed.md') === 'external' && lastAuthor(daemon.home, 'bots/dev/kept.md') === 'external', 30_000);
  expect((await call(dev, 'search_memory', { query: 'echidna' })).results.map((r: { path: string }) => r.path)).toEqual(['missed.md']);
  expect((await call(dev, 'search_memory', { query: 'numbat' })).results.map((r: { path: string }) => r.path)).toEqual(['kept.md']);
  // git's index catches up with the commits a second after they stop: then it shows nothing left to commit.
  await eventually(() => git(daemon.home, 'diff', 'HEAD', '--name-only') === '', 10_000);
});
