import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Roost } from '../../src/core/roost.js';
import { importOpenClaw } from '../../src/openclaw/import.js';
import { git, tempDir } from '../helpers.js';

// An OpenClaw workspace is untrusted: a link out of it, a file too big for a note and a broken
// frontmatter sit beside the agent's memory files.
it('brings an OpenClaw workspace into a bot\'s memory: daily files into journal/ with their dates, never over a note, in one commit', async () => {
  const dir = tempDir('roost-import-');
  const home = path.join(dir, 'roost');
  const botsDir = path.join(dir, 'bots');
  mkdirSync(botsDir, { recursive: true });
  writeFileSync(path.join(botsDir, 'dev.md'), '---\nid: dev\nkind: specialist\n---\nThe dev bot.\n');
  const workspace = path.join(dir, 'workspace');
  const put = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(workspace, file)), { recursive: true });
    writeFileSync(path.join(workspace, file), text);
  };
  put('MEMORY.md', '# Memory\n\nThe user likes zebras.\n');
  put('memory/2026-11-30.md', '- shipped the zebra importer\n');
  put('memory/2026-12-01.md', '---\ntags: [daily]\n---\n- reviewed the plan\n');
  put('notes/plan.md', 'Already in Roost? No: a new note.\n');
  put('notes/existing.md', 'The workspace copy.\n');
  put('broken.md', '---\ntitle: [unclosed\n---\nThe body of a broken note.\n');
  put('huge.md', 'x'.repeat(1024 * 1024 + 10));
  put('.git/HEAD.md', 'hidden folders are not memory\n');
  put('notes/image.png', 'not Markdown');
  symlinkSync('/etc/hostname', path.join(workspace, 'leak.md'));
  utimesSync(path.join(workspace, 'MEMORY.md'), new Date('2026-10-01T12:00:00Z'), new Date('2026-10-01T12:00:00Z'));

  let roost = await Roost.open({ home, botsDir, watch: false, commitWindowMs: 20 });
  await roost.memory.write({ bot: 'dev', kind: 'specialist', operator: false }, 'notes/existing.md', 'The Roost copy.', {});
  await roost.close();
  const commitsBefore = Number(git(home, 'rev-list', '--count', 'HEAD').trim());

  roost = await Roost.open({ home, botsDir, watch: false, commitWindowMs: 3_600_000 });
  const report = await importOpenClaw(roost, workspace, 'dev');
  await roost.close();

  expect(report.brought).toEqual([
    { file: 'MEMORY.md', note: 'MEMORY.md' },
    { file: 'broken.md', note: 'broken.md' },
    { file: 'memory/2026-11-30.md', note: 'journal/2026-11-30.md' },
    { file: 'memory/2026-12-01.md', note: 'journal/2026-12-01.md' },
    { file: 'notes/plan.md', note: 'notes/plan.md' },
  ]);
  expect(report.skipped).toEqual([
    { file: 'leak.md', reason: 'a link: links are not followed' },
    { file: 'huge.md', reason: expect.stringMatching(/^1048586 bytes: larger than a note may be/) },
    { file: 'notes/existing.md', reason: 'a note of that name exists' },
  ]);

  const note = (file: string) => readFileSync(path.join(home, 'bots', 'dev', file), 'utf8');
  expect(note('journal/2026-11-30.md')).toMatch(/^---\ncreated: 2026-11-30T00:00:00.000Z\nupdated: 2026-11-30T00:00:00.000Z\nsource: openclaw:memory\/2026-11-30.md\n---\n- shipped the zebra importer\n$/);
  expect(note('journal/2026-12-01.md')).toContain('tags:\n  - daily\n');
  expect(note('MEMORY.md')).toContain('created: 2026-10-01T12:00:00.000Z');
  expect(note('MEMORY.md')).toContain('The user likes zebras.');
  expect(note('broken.md')).toBe('---\ntitle: [unclosed\n---\nThe body of a broken note.\n');
  expect(note('notes/existing.md')).toContain('The Roost copy.');

  // One commit, by the bot, with every imported note.
  expect(Number(git(home, 'rev-list', '--count', 'HEAD').trim())).toBe(commitsBefore + 1);
  expect(git(home, 'log', '-1', '--format=%an').trim()).toBe('dev');
  expect(git(home, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual(
    ['MEMORY.md', 'broken.md', 'journal/2026-11-30.md', 'journal/2026-12-01.md', 'notes/plan.md'].map((f) => `bots/dev/${f}`),
  );
});

it('refuses a bot that does not exist and a workspace that is not a folder', async () => {
  const dir = tempDir('roost-import-');
  const botsDir = path.join(dir, 'bots');
  mkdirSync(botsDir, { recursive: true });
  writeFileSync(path.join(botsDir, 'dev.md'), '---\nid: dev\nkind: specialist\n---\nThe dev bot.\n');
  const roost = await Roost.open({ home: path.join(dir, 'roost'), botsDir, watch: false });
  try {
    await expect(importOpenClaw(roost, dir, 'ghost')).rejects.toThrow(/no active bot "ghost"/);
    await expect(importOpenClaw(roost, path.join(dir, 'none'), 'dev')).rejects.toThrow(/is not a folder/);
  } finally {
    await roost.close();
  }
});
