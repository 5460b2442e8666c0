import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, eventually, git, httpClient, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// A person renames, replaces and removes whole folders of a bot's memory by hand, at any depth.
// After each change the search index and git say what the disk says, without a restart.

let daemon: TestDaemon;
let dev: Client;
const outside = tempDir('roost-folders-outside-');
let count = 0;

beforeAll(async () => {
  daemon = await startTestDaemon();
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  for (const file of ['notes/a.md', 'notes/deep/b.md', 'notes/deep/deeper/c.md', 'journal/keep.md']) {
    await call(dev, 'write_note', { path: file, body: `${marker()} written through the tool` });
  }
});

afterAll(async () => {
  await daemon?.destroy();
  rmSync(outside, { recursive: true, force: true });
});

/** A word found in one note only. */
function marker(): string {
  return `mark${++count}x${Date.now().toString(36)}`;
}

const dir = (...parts: string[]) => path.join(daemon.home, 'bots/dev', ...parts);

/** A folder of notes written by hand outside the data root, to be moved in. */
function folderOutside(name: string, files: string[]): string {
  const root = path.join(outside, name);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), `# ${file}\n\n${marker()} written by hand\n`);
  }
  return root;
}

/** dev's files on disk, relative to its folder, with their content. */
function onDisk(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir(), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.relative(dir(), path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    files.set(file, readFileSync(path.join(entry.parentPath, entry.name), 'utf8'));
  }
  return files;
}

/** list_notes and search_memory through the client, and git's tree, index and status, all equal the disk. */
async function settled(): Promise<void> {
  await eventually(async () => {
    const disk = onDisk();
    const notes = [...disk.keys()].filter((f) => f.endsWith('.md')).sort();
    const listed = (await call(dev, 'list_notes', { recursive: true, limit: 500 })).notes.map((n: { path: string }) => n.path);
    expect(listed).toEqual(notes);
    for (const [file, text] of disk) {
      const word = /mark\d+x\w+/.exec(text)![0];
      const found = await call(dev, 'search_memory', { query: word, prefix: false, fuzzy: false });
      expect(found.results.map((r: { path: string }) => r.path), word).toEqual([file]);
    }
    await daemon.roost.history.flush();
    const tracked = git(daemon.home, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'bots/dev').trim().split('\n').filter(Boolean);
    expect(tracked.map((f) => f.slice('bots/dev/'.length)).sort()).toEqual([...disk.keys()].sort());
    expect(git(daemon.home, 'ls-files', '--', 'bots/dev').trim().split('\n').filter(Boolean).length).toBe(disk.size);
    expect(git(daemon.home, 'status', '--porcelain', '--', 'bots/dev')).toBe('');
    for (const [file, text] of disk) expect(git(daemon.home, 'show', `HEAD:bots/dev/${file}`)).toBe(text);
    return true;
  }, 20_000);
}

/** Who last changed a file of dev's in git, and how: "external D" for a deletion by hand. */
function lastChange(file: string): string {
  return git(daemon.home, 'log', '-1', '--format=%an', '--name-status', '--', `bots/dev/${file}`).trim().replace(/\s+/g, ' ').split(' ').slice(0, 2).join(' ');
}

it('follows a folder renamed and a new one made under its old name', async () => {
  await settled();
  renameSync(dir('notes'), dir('notes-old'));
  mkdirSync(dir('notes'));
  writeFileSync(dir('notes/new.md'), `# New\n\n${marker()} in the new folder\n`);
  await settled();
  expect(lastChange('notes/a.md')).toBe('external D');
  expect(lastChange('notes/deep/deeper/c.md')).toBe('external D');
  expect(lastChange('notes-old/deep/deeper/c.md')).toBe('external A');
  expect(lastChange('notes/new.md')).toBe('external A');
  // The old folder's watch went with it: a change there is seen under its new name.
  writeFileSync(dir('notes-old/deep/b.md'), `# B\n\n${marker()} changed after the rename\n`);
  await settled();
});

it('follows a folder replaced by one moved in from outside the data root', async () => {
  rmSync(dir('notes'), { recursive: true });
  renameSync(folderOutside('incoming', ['x.md', 'sub/y.md']), dir('notes'));
  await settled();
  expect(lastChange('notes/new.md')).toBe('external D');
  expect(lastChange('notes/sub/y.md')).toBe('external A');
  writeFileSync(dir('notes/sub/z.md'), `# Z\n\n${marker()} in the folder moved in\n`);
  await settled();
});

it('follows renames, swaps and removals of folders deeper down', async () => {
  renameSync(dir('notes-old/deep'), dir('notes-old/deep2'));
  await settled();
  // Two folders swap names: each name now holds the other's notes.
  renameSync(dir('notes-old/deep2/deeper'), dir('tmp-swap'));
  renameSync(dir('notes/sub'), dir('notes-old/deep2/deeper'));
  renameSync(dir('tmp-swap'), dir('notes/sub'));
  await settled();
  rmSync(dir('notes-old/deep2'), { recursive: true });
  await settled();
  expect(lastChange('notes-old/deep2/deeper/y.md')).toBe('external D');
});

it('follows a folder moved out of the data root, and one moved in under a new name', async () => {
  renameSync(dir('notes-old'), path.join(outside, 'parked'));
  await settled();
  renameSync(folderOutside('more', ['one.md', 'two/three.md']), dir('imported'));
  await settled();
  writeFileSync(dir('imported/two/four.md'), `# Four\n\n${marker()} written in the folder moved in\n`);
  await settled();
});
