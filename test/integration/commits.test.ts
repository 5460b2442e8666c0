import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, eventually, git, httpClient, startTestDaemon, type TestDaemon } from '../helpers.js';

// Every change reaches git: a hand edit a bot overwrites at once, and a write made while someone
// has checked out an old commit in the data root.

describe('every change reaches git', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon();
  });
  afterAll(async () => {
    await daemon.destroy();
  });

  /** The content of `file` at each commit that touched it, oldest first, with its author. */
  function versionsInGit(file: string): Array<{ author: string; text: string }> {
    const commits = git(daemon.home, 'log', '--reverse', '--format=%H %an', '--', file).trim().split('\n');
    return commits.map((line) => {
      const [commit, author] = line.split(' ');
      return { author, text: git(daemon.home, 'show', `${commit}:${file}`) };
    });
  }

  it('commits the README and .gitignore it puts in a new data root under its own name', () => {
    expect(git(daemon.home, 'log', '--format=%an|%s', '--', 'README.md', '.gitignore').trim()).toBe('roost|roost: set up README.md, .gitignore');
  });

  it('commits a hand edit as external before the bot write that overwrites it at once', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    const notes = Array.from({ length: 10 }, (_, i) => `race/n${i}.md`);
    for (const note of notes) await call(dev, 'write_note', { path: note, body: 'by the bot\n' });
    // Each hand edit is followed at once by a bot write, before the watcher can tell them apart.
    for (const [i, note] of notes.entries()) {
      writeFileSync(path.join(daemon.home, 'bots/dev', note), `by hand ${i}\n`);
      await call(dev, 'write_note', { path: note, body: 'by the bot again\n' });
    }
    await dev.close();
    await daemon.roost.history.flush();
    for (const [i, note] of notes.entries()) {
      const versions = versionsInGit(`bots/dev/${note}`);
      expect(versions.map((v) => v.author)).toEqual(['dev', 'external', 'dev']);
      expect(versions[1].text).toBe(`by hand ${i}\n`);
      expect(versions[2].text).toMatch(/by the bot again\n$/);
    }
  });

  it('holds a write made while HEAD is detached and commits it once HEAD is back on main', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    await call(dev, 'write_note', { path: 'detached.md', body: 'one\n' });
    await daemon.roost.history.flush();
    const tip = git(daemon.home, 'rev-parse', 'main').trim();
    git(daemon.home, 'checkout', '-q', '--detach');

    // Acknowledged: on disk, and held for git.
    await call(dev, 'write_note', { path: 'detached.md', body: 'two\n' });
    // A change to a note whose last write still waits for git is refused, with a way out, and changes nothing.
    await eventually(async () => {
      const error = await callError(dev, 'write_note', { path: 'detached.md', body: 'three\n' });
      expect(error).toMatch(/HEAD is detached .+ run "git checkout main" in the data root, then retry\.$/);
      return true;
    });
    expect((await call(dev, 'read_note', { path: 'detached.md' })).body).toBe('two\n');
    expect(git(daemon.home, 'rev-parse', 'main').trim()).toBe(tip);

    git(daemon.home, 'checkout', '-q', 'main');
    await eventually(() => versionsInGit('bots/dev/detached.md').length === 2);
    expect(versionsInGit('bots/dev/detached.md').at(-1)!.text).toMatch(/two\n$/);
    await call(dev, 'write_note', { path: 'detached.md', body: 'three\n' });
    await daemon.roost.history.flush();
    expect(versionsInGit('bots/dev/detached.md').map((v) => v.author)).toEqual(['dev', 'dev', 'dev']);
    await dev.close();
  });

  it('commits the moves and deletes that empty a folder under the bot that made them, never as external', { timeout: 120_000 }, async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    for (let i = 0; i < 10; i++) {
      await call(dev, 'write_note', { path: `emptied/a${i}/n.md`, body: `note ${i}\n` });
      await call(dev, 'move_note', { from: `emptied/a${i}/n.md`, to: `emptied/b${i}/n.md` });
      await call(dev, 'delete_note', { path: `emptied/b${i}/n.md` });
    }
    // A hand edit after them: once it is committed, the watcher has handled the events of the folders removed before.
    writeFileSync(path.join(daemon.home, 'bots/dev/after-emptied.md'), 'by hand\n');
    await eventually(() => git(daemon.home, 'log', '--format=%an', '--', 'bots/dev/after-emptied.md').trim() === 'external');
    await daemon.roost.history.flush();
    const commits = git(daemon.home, 'log', '--format=%an|%s', '--', 'bots/dev/emptied').trim().split('\n');
    expect(commits.filter((line) => !line.startsWith('dev|'))).toEqual([]);
    await dev.close();
  });
});
