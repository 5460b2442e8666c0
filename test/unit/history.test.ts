import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { History } from '../../src/core/history.js';

// Every test runs git as on a CI machine with no identity configured: the data root must still commit.
const savedEnv = { ...process.env };
const dirs: string[] = [];
const opened: History[] = [];

beforeAll(() => {
  process.env.HOME = tempDir();
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  process.env.GIT_CONFIG_GLOBAL = '/dev/null';
  for (const key of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'EMAIL']) delete process.env[key];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((history) => history.close().catch(() => {})));
});

afterAll(() => {
  process.env = savedEnv;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-history-'));
  dirs.push(dir);
  return dir;
}

async function openHistory(root = tempDir(), windowMs = 20): Promise<{ root: string; history: History }> {
  const history = await History.open(root, { windowMs });
  opened.push(history);
  return { root, history };
}

function git(root: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' });
}

function commitCount(root: string): number {
  return Number(git(root, 'rev-list', '--count', 'HEAD').trim());
}

/** `author|committer|subject` of the newest `n` commits, newest first. */
function recent(root: string, n: number): string[] {
  return git(root, 'log', `-${n}`, '--format=%an <%ae>|%cn <%ce>|%s').trim().split('\n');
}

function write(root: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

describe('History.open', () => {
  it('creates a repository on main with .roost/ ignored, commits its .gitignore as its own and what is there as external', async () => {
    const root = tempDir();
    write(root, 'README.md', 'data\n');
    write(root, '.roost/index.json', '{}');
    await openHistory(root);
    expect(git(root, 'branch', '--show-current').trim()).toBe('main');
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('.roost/\n.*.tmp\n');
    expect(recent(root, 5)).toEqual([
      'external <external@roost.local>|roost <roost@roost.local>|external: recover 1 uncommitted change',
      'roost <roost@roost.local>|roost <roost@roost.local>|roost: set up .gitignore',
    ]);
    expect(git(root, 'ls-files').trim().split('\n').sort()).toEqual(['.gitignore', 'README.md']);
  });

  it('creates its own repository inside another one', async () => {
    const outer = tempDir();
    git(outer, 'init', '-q');
    const root = path.join(outer, 'memory');
    await openHistory(root);
    expect(existsSync(path.join(root, '.git'))).toBe(true);
    expect(git(root, 'rev-parse', '--show-toplevel').trim()).toBe(execFileSync('realpath', [root], { encoding: 'utf8' }).trim());
  });

  it('removes a stale index.lock and commits uncommitted changes as external', async () => {
    const root = tempDir();
    git(root, 'init', '-q', '-b', 'main');
    write(root, '.gitignore', 'node_modules/\n');
    write(root, 'bots/dev/a.md', 'a1\n');
    write(root, 'bots/dev/b.md', 'b\n');
    git(root, 'add', '-A');
    git(root, '-c', 'user.name=someone', '-c', 'user.email=someone@example.com', 'commit', '-q', '-m', 'start');
    write(root, 'bots/dev/a.md', 'a2\n');
    rmSync(path.join(root, 'bots/dev/b.md'));
    write(root, 'bots/dev/c.md', 'c\n');
    writeFileSync(path.join(root, '.git/index.lock'), '');

    await openHistory(root);

    expect(existsSync(path.join(root, '.git/index.lock'))).toBe(false);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('node_modules/\n.roost/\n.*.tmp\n');
    expect(recent(root, 2)).toEqual([
      'external <external@roost.local>|roost <roost@roost.local>|external: recover 3 uncommitted changes',
      'roost <roost@roost.local>|roost <roost@roost.local>|roost: set up .gitignore',
    ]);
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('makes no commit when nothing is uncommitted', async () => {
    const { root, history } = await openHistory();
    await history.close();
    const before = commitCount(root);
    await openHistory(root);
    expect(commitCount(root)).toBe(before);
  });
});

describe('grouped commits', () => {
  it('commits 20 changes from 2 authors in one window as 2 commits, one per author', async () => {
    const { root, history } = await openHistory(tempDir(), 200);
    const before = commitCount(root);
    for (let i = 0; i < 20; i++) {
      const author = i % 2 ? 'research' : 'dev';
      write(root, `bots/${author}/notes/n${i}.md`, `${i}\n`);
      history.enqueue({ author, paths: [`bots/${author}/notes/n${i}.md`], summary: `write notes/n${i}.md` });
    }
    await history.flush();

    expect(commitCount(root)).toBe(before + 2);
    expect(recent(root, 2)).toEqual([
      'research <research@roost.local>|roost <roost@roost.local>|research: write notes/n1.md, write notes/n3.md, write notes/n5.md and 7 more',
      'dev <dev@roost.local>|roost <roost@roost.local>|dev: write notes/n0.md, write notes/n2.md, write notes/n4.md and 7 more',
    ]);
    const body = git(root, 'log', '-1', '--format=%b', 'HEAD~1').trim().split('\n');
    expect(body).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18].map((i) => `- write notes/n${i}.md`));
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n')).toHaveLength(10);
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').includes('bots/dev/')).toBe(false);
  });

  it('writes a one-change commit as "<author>: <summary>"', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/notes/plan.md', 'plan\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/notes/plan.md'], summary: 'write notes/plan.md' });
    await history.flush();
    expect(git(root, 'log', '-1', '--format=%B').trim()).toBe('dev: write notes/plan.md');
  });

  it('commits deletes and renames', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'a\n');
    write(root, 'bots/dev/b.md', 'b\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md', 'bots/dev/b.md'], summary: 'write a.md and b.md' });
    await history.flush();

    renameSync(path.join(root, 'bots/dev/a.md'), path.join(root, 'bots/dev/moved.md'));
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md', 'bots/dev/moved.md'], summary: 'move a.md to moved.md' });
    await history.flush();
    expect(git(root, 'show', '-M', '--name-status', '--format=%s', 'HEAD').trim().split('\n')).toEqual([
      'dev: move a.md to moved.md',
      '',
      'R100\tbots/dev/a.md\tbots/dev/moved.md',
    ]);

    rmSync(path.join(root, 'bots/dev/b.md'));
    history.enqueue({ author: 'dev', paths: ['bots/dev/b.md'], summary: 'delete b.md' });
    await history.flush();
    expect(git(root, 'show', '--name-status', '--format=%s', 'HEAD').trim().split('\n')).toEqual(['dev: delete b.md', '', 'D\tbots/dev/b.md']);
    // git's index catches up a moment after the commit.
    await vi.waitFor(() => expect(git(root, 'status', '--porcelain')).toBe(''), { timeout: 5_000 });
  });

  it('commits a deleted folder given as one path', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/task-1/x.md', 'x\n');
    write(root, 'bots/task-1/deep/y.md', 'y\n');
    history.enqueue({ author: 'main', paths: ['bots/task-1'], summary: 'create task-1' });
    await history.flush();
    rmSync(path.join(root, 'bots/task-1'), { recursive: true });
    history.enqueue({ author: 'main', paths: ['bots/task-1'], summary: 'delete task-1' });
    await history.flush();
    expect(git(root, 'show', '--name-status', '--format=', 'HEAD').trim().split('\n').sort()).toEqual(['D\tbots/task-1/deep/y.md', 'D\tbots/task-1/x.md']);
  });

  it('makes no empty commit for unchanged paths, or for a file written and deleted in one window', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    const before = commitCount(root);

    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    write(root, 'bots/dev/tmp.md', 'tmp\n');
    history.enqueue({ author: 'research', paths: ['bots/dev/tmp.md'], summary: 'write tmp.md' });
    rmSync(path.join(root, 'bots/dev/tmp.md'));
    history.enqueue({ author: 'research', paths: ['bots/dev/tmp.md'], summary: 'delete tmp.md' });
    await history.flush();
    expect(commitCount(root)).toBe(before);
  });

  it('skips git-ignored paths and commits the others', async () => {
    const { root, history } = await openHistory();
    write(root, '.gitignore', '.roost/\n*.tmp\n');
    write(root, 'bots/dev/a.md', 'a\n');
    write(root, 'bots/dev/scratch.tmp', 'scratch\n');
    history.enqueue({ author: 'external', paths: ['.gitignore', 'bots/dev/scratch.tmp', 'bots/dev/a.md'], summary: 'edit files' });
    await history.flush();
    expect(git(root, 'show', '--name-only', '--format=%s', 'HEAD').trim().split('\n')).toEqual(['external: edit files', '', '.gitignore', 'bots/dev/a.md']);
  });

  it('follows changes to .gitignore, including a rule that lets a path back in', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.log', 'one\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.log'], summary: 'write a.log' });
    await history.flush();
    expect(git(root, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots')).toBe('bots/dev/a.log\n');

    write(root, 'bots/.gitignore', '*.log\n!keep.log\n');
    write(root, 'bots/dev/b.log', 'b\n');
    write(root, 'bots/dev/keep.log', 'keep\n');
    history.enqueue({ author: 'external', paths: ['bots/.gitignore'], summary: 'edit bots/.gitignore' });
    await history.flush();
    history.enqueue({ author: 'dev', paths: ['bots/dev/b.log', 'bots/dev/keep.log'], summary: 'write logs' });
    await history.flush();
    // a.log stays tracked (ignore rules do not apply to tracked files); b.log is ignored.
    expect(git(root, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots').trim().split('\n')).toEqual(['bots/.gitignore', 'bots/dev/a.log', 'bots/dev/keep.log']);
  });

  it('commits a path claimed by two authors in one window with the first', async () => {
    const { root, history } = await openHistory(tempDir(), 200);
    const before = commitCount(root);
    write(root, 'topics/ops.md', 'v2\n');
    write(root, 'bots/research/r.md', 'r\n');
    history.enqueue({ author: 'dev', paths: ['topics/ops.md'], summary: 'edit topics/ops.md' });
    history.enqueue({ author: 'research', paths: ['topics/ops.md', 'bots/research/r.md'], summary: 'edit topics/ops.md and r.md' });
    await history.flush();
    expect(commitCount(root)).toBe(before + 2);
    expect(git(root, 'log', '-2', '--name-only', '--format=%an').trim().split('\n').filter(Boolean)).toEqual([
      'research',
      'bots/research/r.md',
      'dev',
      'topics/ops.md',
    ]);
  });

  it('builds on a commit a person made by hand meanwhile, and keeps git status clean', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    write(root, 'people/readme.md', 'by hand\n');
    git(root, 'add', 'people/readme.md');
    git(root, '-c', 'user.name=someone', '-c', 'user.email=someone@example.com', 'commit', '-q', '-m', 'by hand');
    write(root, 'bots/dev/a.md', 'a2\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'edit a.md' });
    await history.flush();
    expect(git(root, 'log', '-3', '--format=%an %s').trim().split('\n')).toEqual(['dev dev: edit a.md', 'someone by hand', 'dev dev: write a.md']);
    expect(git(root, 'show', 'HEAD:bots/dev/a.md')).toBe('a2\n');
    // git's index catches up a moment after the commit.
    await vi.waitFor(() => expect(git(root, 'status', '--porcelain')).toBe(''), { timeout: 5_000 });
  });

  it('takes paths literally: spaces, glob characters, non-ASCII', async () => {
    const { root, history } = await openHistory();
    const files = ['bots/dev/a b*.md', 'bots/dev/[x].md', 'bots/dev/ünïcödé.md', 'bots/dev/:colon.md'];
    write(root, 'bots/dev/a bc.md', 'must not be committed\n');
    for (const file of files) write(root, file, `${file}\n`);
    history.enqueue({ author: 'dev', paths: files, summary: 'write odd names' });
    await history.flush();
    const committed = git(root, '-c', 'core.quotePath=false', 'show', '--name-only', '--format=', 'HEAD').trim().split('\n');
    expect(committed.sort()).toEqual([...files].sort());
  });

  it('commits 2,000 paths in one batch', async () => {
    const { root, history } = await openHistory(tempDir(), 200);
    const before = commitCount(root);
    for (let i = 0; i < 2000; i++) {
      const file = `bots/dev/notes/${'deep-folder-name/'.repeat(4)}note-${String(i).padStart(4, '0')}.md`;
      write(root, file, `note ${i}\n`);
      history.enqueue({ author: 'dev', paths: [file], summary: `write note-${i}.md` });
    }
    await history.flush();
    expect(commitCount(root)).toBe(before + 1);
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n')).toHaveLength(2000);
    expect(git(root, 'log', '-1', '--format=%s')).toMatch(/^dev: write note-0\.md, write note-1\.md, .* and \d+ more\n$/);
    expect(git(root, 'log', '-1', '--format=%b').trim().split('\n')).toHaveLength(2000);
  });

  it('groups a sustained stream of writes into a few commits', async () => {
    const { root, history } = await openHistory(tempDir(), 50);
    const before = commitCount(root);
    for (let tick = 0; tick < 10; tick++) {
      for (let i = 0; i < 50; i++) {
        const file = `bots/dev/stream/${tick}-${i}.md`;
        write(root, file, 'x\n');
        history.enqueue({ author: 'dev', paths: [file], summary: `write stream/${tick}-${i}.md` });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await history.flush();
    expect(git(root, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots/dev/stream').trim().split('\n')).toHaveLength(500);
    expect(commitCount(root) - before).toBeLessThanOrEqual(20);
  });
});

describe('flush', () => {
  it('resolves at once when nothing is queued', async () => {
    const { history } = await openHistory();
    await history.flush();
  });

  it('commits without waiting for the window, including what was enqueued during a commit', async () => {
    const { root, history } = await openHistory(tempDir(), 60_000);
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    const first = history.flush();
    await new Promise((resolve) => setImmediate(resolve));
    write(root, 'bots/dev/b.md', 'b\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/b.md'], summary: 'write b.md' });
    const second = history.flush();
    await first;
    expect(git(root, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots/dev').trim().split('\n')).toContain('bots/dev/a.md');
    await second;
    expect(git(root, 'ls-tree', '-r', '--name-only', 'HEAD', 'bots/dev').trim().split('\n')).toEqual(['bots/dev/a.md', 'bots/dev/b.md']);
  });

  it('commits on the window without a flush', async () => {
    const { root, history } = await openHistory(tempDir(), 20);
    const before = commitCount(root);
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await vi.waitFor(() => expect(commitCount(root)).toBe(before + 1), { timeout: 5_000 });
  });

  it('retries a failed commit on the next window', async () => {
    const { root, history } = await openHistory();
    // git cannot move a branch another process has locked.
    const lock = path.join(root, '.git/refs/heads/main.lock');
    writeFileSync(lock, '');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => rmSync(lock, { force: true }));
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    expect(errors).toHaveBeenCalledTimes(1);
    expect(recent(root, 1)).toEqual(['dev <dev@roost.local>|roost <roost@roost.local>|dev: write a.md']);
  });

  it('rejects when the retry fails too, and the queue keeps working', async () => {
    const { root, history } = await openHistory();
    // git cannot move a branch another process has locked.
    const lock = path.join(root, '.git/refs/heads/main.lock');
    writeFileSync(lock, '');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await expect(history.flush()).rejects.toThrow(/failed twice/);
    expect(errors.mock.calls.flat().join('\n')).toContain('bots/dev/a.md');

    rmSync(lock);
    write(root, 'bots/dev/b.md', 'b\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/b.md'], summary: 'write b.md' });
    await history.flush();
    expect(recent(root, 1)).toEqual(['dev <dev@roost.local>|roost <roost@roost.local>|dev: write b.md']);
  });
});

describe('log, show, diff', () => {
  async function threeVersions() {
    const { root, history } = await openHistory();
    const start = git(root, 'rev-parse', 'HEAD').trim();
    const commitAs = async (author: string, summary: string, paths: string[]) => {
      history.enqueue({ author, paths, summary });
      await history.flush();
      return git(root, 'rev-parse', 'HEAD').trim();
    };
    write(root, 'bots/dev/plan.md', 'one\n');
    const v1 = await commitAs('dev', 'write plan.md', ['bots/dev/plan.md']);
    write(root, 'bots/dev/plan.md', 'one\ntwo\n');
    const v2 = await commitAs('main', 'edit plan.md', ['bots/dev/plan.md']);
    renameSync(path.join(root, 'bots/dev/plan.md'), path.join(root, 'bots/dev/roadmap.md'));
    const v3 = await commitAs('dev', 'move plan.md to roadmap.md', ['bots/dev/plan.md', 'bots/dev/roadmap.md']);
    return { root, history, start, v1, v2, v3 };
  }

  it('lists the commits of a file newest first, following renames, with paging', async () => {
    const { history, v1, v2, v3 } = await threeVersions();
    const entries = await history.log('bots/dev/roadmap.md');
    expect(entries.map(({ commit, author, message }) => ({ commit, author, message }))).toEqual([
      { commit: v3, author: 'dev', message: 'dev: move plan.md to roadmap.md' },
      { commit: v2, author: 'main', message: 'main: edit plan.md' },
      { commit: v1, author: 'dev', message: 'dev: write plan.md' },
    ]);
    for (const { date } of entries) expect(new Date(date).toISOString()).toBeTruthy();
    expect(entries[0].date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$/);
    expect((await history.log('bots/dev/roadmap.md', { limit: 1, skip: 1 })).map((e) => e.commit)).toEqual([v2]);
    expect((await history.log('bots/dev/roadmap.md', { skip: 2 })).map((e) => e.commit)).toEqual([v1]);
    expect((await history.log('bots/dev/roadmap.md', { limit: 2 })).map((e) => e.commit)).toEqual([v3, v2]);
    expect(await history.log('bots/dev/never.md')).toEqual([]);
  });

  it('shows a file at a version, null where it did not exist, and an error for an unknown commit', async () => {
    const { history, start, v1, v2, v3 } = await threeVersions();
    expect(await history.show('bots/dev/plan.md', v1)).toBe('one\n');
    expect(await history.show('bots/dev/plan.md', v2.slice(0, 8))).toBe('one\ntwo\n');
    expect(await history.show('bots/dev/plan.md', v3)).toBeNull();
    expect(await history.show('bots/dev/roadmap.md', start)).toBeNull();
    expect(await history.show('bots/dev', v1)).toBeNull();
    await expect(history.show('bots/dev/plan.md', 'deadbeef')).rejects.toThrow(/no version "deadbeef"/);
  });

  it('diffs two versions, a version where the file was absent, and the work tree', async () => {
    const { root, history, start, v1, v2, v3 } = await threeVersions();
    const changed = await history.diff('bots/dev/plan.md', v1, v2);
    expect(changed).toContain('--- a/bots/dev/plan.md\n+++ b/bots/dev/plan.md');
    expect(changed).toContain(' one\n+two\n');

    const added = await history.diff('bots/dev/plan.md', start, v1);
    expect(added).toContain('new file mode');
    expect(added).toContain('+one\n');
    expect(await history.diff('bots/dev/plan.md', v2, v3)).toContain('deleted file mode');

    write(root, 'bots/dev/roadmap.md', 'one\ntwo\nthree\n');
    expect(await history.diff('bots/dev/roadmap.md', v3)).toContain(' two\n+three\n');
    expect(await history.diff('bots/dev/roadmap.md', v3, v3)).toBe('');
    await expect(history.diff('bots/dev/plan.md', v1, 'abcdef12')).rejects.toThrow(/no version "abcdef12"/);
  });
});

describe('versions and heads', () => {
  it('lists each version with its blob and changes, and reads the heads of blobs in whole lines', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'one\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    write(root, 'bots/dev/a.md', `${'line of text\n'.repeat(10_000)}`);
    write(root, 'bots/dev/b.md', 'other\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    history.enqueue({ author: 'dev', paths: ['bots/dev/b.md'], summary: 'write b.md' });
    await history.flush();
    rmSync(path.join(root, 'bots/dev/a.md'));
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'delete a.md' });
    await history.flush();

    const versions = await history.versions('bots/dev/a.md', 10);
    expect(versions.map(({ message, changes, blob }) => ({ message, changes, blob: blob && blob.length }))).toEqual([
      { message: 'dev: delete a.md', changes: ['delete a.md'], blob: null },
      { message: 'dev: write a.md, write b.md', changes: ['write a.md', 'write b.md'], blob: 40 },
      { message: 'dev: write a.md', changes: ['write a.md'], blob: 40 },
    ]);
    expect(await history.versions('bots/dev/a.md', 1)).toHaveLength(1);

    const heads = await history.heads([versions[1].blob!, versions[2].blob!, '0'.repeat(40)], 100);
    expect(heads.get(versions[2].blob!)).toBe('one\n');
    expect(heads.get(versions[1].blob!)).toBe('line of text\n'.repeat(7));
    expect(heads.size).toBe(2);
    expect(await history.blobAt('bots/dev/a.md', versions[0].commit)).toBeNull();
    expect(await history.blobAt('bots/dev/a.md', versions[2].commit)).toBe(versions[2].blob);
  });
});

describe('inside a git hook', () => {
  it('ignores GIT_DIR and GIT_INDEX_FILE of the surrounding repository', async () => {
    const outer = tempDir();
    process.env.GIT_DIR = path.join(outer, 'git');
    process.env.GIT_INDEX_FILE = path.join(outer, 'index');
    try {
      const { root, history } = await openHistory();
      write(root, 'bots/dev/a.md', 'a\n');
      history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
      await history.flush();
      expect(existsSync(path.join(outer, 'index'))).toBe(false);
      delete process.env.GIT_DIR;
      delete process.env.GIT_INDEX_FILE;
      expect(recent(root, 1)).toEqual(['dev <dev@roost.local>|roost <roost@roost.local>|dev: write a.md']);
    } finally {
      delete process.env.GIT_DIR;
      delete process.env.GIT_INDEX_FILE;
    }
  });
});

describe('without a git identity', () => {
  it('still commits, as roost', async () => {
    const { root, history } = await openHistory();
    expect(() => git(root, 'config', 'user.email')).toThrow();
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    expect(recent(root, 1)).toEqual(['dev <dev@roost.local>|roost <roost@roost.local>|dev: write a.md']);
  });
});

describe('pack files', () => {
  it('merges the pack files of many commit cycles, so they do not pile up, and keeps every version readable', async () => {
    const { root, history } = await openHistory();
    const cycles = 120;
    for (let i = 0; i < cycles; i++) {
      write(root, 'bots/dev/note.md', `version ${i}\n`);
      history.enqueue({ author: 'dev', paths: ['bots/dev/note.md'], summary: `write note.md (${i})` });
      await history.flush();
    }
    const packDir = path.join(root, '.git', 'objects', 'pack');
    const files = execFileSync('ls', [packDir], { encoding: 'utf8' }).split('\n');
    expect(files.filter((name) => name.endsWith('.pack')).length).toBeLessThan(cycles / 2);
    expect((await history.log('bots/dev/note.md')).length).toBe(cycles);
    expect(await history.show('bots/dev/note.md', 'HEAD~100')).toBe('version 19\n');
    expect(git(root, 'fsck', '--no-progress').trim()).toBe('');
  }, 240_000); // 120 commit cycles of real git: slow on a loaded machine
});

describe('after a power cut', () => {
  it('starts on a data root whose .git/HEAD came back empty, on main', async () => {
    const { root, history } = await openHistory();
    await history.close();
    writeFileSync(path.join(root, '.git/HEAD'), '');
    const { history: again } = await openHistory(root);
    expect(git(root, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    write(root, 'bots/dev/a.md', 'a\n');
    again.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await again.flush();
    expect(recent(root, 1)[0]).toMatch(/\|dev: write a\.md$/);
  });

  it('sets a branch that came back as NUL bytes to the newest commit its log names, and commits on it', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'a\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    await history.close();
    const tip = git(root, 'rev-parse', 'HEAD').trim();
    writeFileSync(path.join(root, '.git/refs/heads/main'), Buffer.alloc(41));
    const { history: again } = await openHistory(root);
    expect(git(root, 'rev-parse', 'main').trim()).toBe(tip);
    write(root, 'bots/dev/b.md', 'b\n');
    again.enqueue({ author: 'dev', paths: ['bots/dev/b.md'], summary: 'write b.md' });
    await again.flush();
    expect(git(root, 'rev-parse', 'HEAD~1').trim()).toBe(tip);
  });

  it('commits recorded changes git lacks under their own authors, each with its recorded content, and none twice', async () => {
    const { root, history } = await openHistory();
    write(root, 'bots/dev/a.md', 'one\n');
    history.enqueue({ author: 'dev', paths: ['bots/dev/a.md'], summary: 'write a.md' });
    await history.flush();
    const before = commitCount(root);
    // Two changes to a.md (the first one already in git), then a.md moved; on disk only the last state.
    rmSync(path.join(root, 'bots/dev/a.md'));
    write(root, 'bots/research/b.md', 'two\n');
    await history.commitRecorded([
      { author: 'dev', summary: 'write a.md', files: [{ path: 'bots/dev/a.md', content: 'one\n' }] },
      { author: 'main', summary: 'edit a.md', files: [{ path: 'bots/dev/a.md', content: 'two\n' }] },
      { author: 'dev', summary: 'move a.md', files: [{ path: 'bots/dev/a.md', content: null }, { path: 'bots/research/b.md', content: 'two\n' }] },
    ]);
    expect(commitCount(root)).toBe(before + 2);
    expect(recent(root, 2).map((line) => line.split('|')[2])).toEqual(['dev: move a.md', 'main: edit a.md']);
    expect(git(root, 'show', 'HEAD~1:bots/dev/a.md')).toBe('two\n');
    await history.close(); // git's index catches up
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('gives a note only its own versions: no history of another note git guesses it was renamed from', async () => {
    const { root, history } = await openHistory();
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join('');
    write(root, 'bots/dev/old.md', lines);
    history.enqueue({ author: 'dev', paths: ['bots/dev/old.md'], summary: 'write old.md' });
    await history.flush();
    rmSync(path.join(root, 'bots/dev/old.md'));
    write(root, 'bots/dev/new.md', `${lines}one more\n`);
    history.enqueue({ author: 'dev', paths: ['bots/dev/old.md', 'bots/dev/new.md'], summary: 'delete old.md, write new.md' });
    await history.flush();
    expect((await history.log('bots/dev/new.md')).map((entry) => entry.message)).toEqual(['dev: delete old.md, write new.md']);
  });
});
