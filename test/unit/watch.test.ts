import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TreeWatcher } from '../../src/core/watch.js';
import { eventually } from '../helpers.js';

let root: string;
let watcher: TreeWatcher;
let seen: Set<string>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'roost-watch-'));
  await mkdir(join(root, 'bots', 'dev'), { recursive: true });
  seen = new Set();
  watcher = new TreeWatcher(root, (rel) => rel.split('/').some((s) => s.startsWith('.')), (rel) => seen.add(rel));
  await watcher.start();
});

afterEach(async () => {
  watcher.close();
  await rm(root, { recursive: true, force: true });
});

it('reports files written, changed and deleted in folders present at start', async () => {
  await writeFile(join(root, 'bots', 'dev', 'a.md'), 'one');
  await eventually(() => seen.has('bots/dev/a.md'));
  seen.clear();
  await rm(join(root, 'bots', 'dev', 'a.md'));
  await eventually(() => seen.has('bots/dev/a.md'));
});

it('watches new folders, reports the files already in a folder moved in, and a folder moved out', async () => {
  const outside = join(root, '..', `${root.split('/').pop()}-outside`);
  await mkdir(join(outside, 'deep'), { recursive: true });
  await writeFile(join(outside, 'deep', 'b.md'), 'two');
  await rename(outside, join(root, 'bots', 'dev', 'moved'));
  await eventually(() => seen.has('bots/dev/moved/deep/b.md'));

  await writeFile(join(root, 'bots', 'dev', 'moved', 'deep', 'c.md'), 'three');
  await eventually(() => seen.has('bots/dev/moved/deep/c.md'));

  await rename(join(root, 'bots', 'dev', 'moved'), outside);
  await eventually(() => seen.has('bots/dev/moved'));
  await rm(outside, { recursive: true, force: true });
});

it('ignores hidden files and folders', async () => {
  await mkdir(join(root, '.roost'), { recursive: true });
  await writeFile(join(root, '.roost', 'x'), 'machine state');
  await writeFile(join(root, 'bots', 'dev', '.a.md.tmp'), 'temp');
  await writeFile(join(root, 'bots', 'dev', 'visible.md'), 'note');
  await eventually(() => seen.has('bots/dev/visible.md'));
  expect([...seen].filter((p) => p.includes('.roost') || p.includes('.tmp'))).toEqual([]);
});
