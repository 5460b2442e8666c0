import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Vault } from '../../src/core/vault.js';
import { cutPower, imagesUnavailable, makeImage, remount, sh } from './disk.js';

/**
 * A file's content made durable is not enough: its name is an entry in its folder, and a new
 * folder's in its parent. Here the power is cut right after each change of a vault without a
 * write-ahead log returns (it fsyncs as it goes, as the daemon's vault does before it closes a
 * record): what it acknowledged must be there after the cut, under the new name and not the old.
 */

const reason = imagesUnavailable();

it.skipIf(reason !== null)('a file created, renamed or removed just before a power cut stays so: its folders were fsynced first', async () => {
  const point = makeImage('entries', 64);
  const root = path.join(point, 'root');
  const file = (relative: string) => path.join(root, ...relative.split('/'));
  const content = (relative: string) => (existsSync(file(relative)) ? readFileSync(file(relative), 'utf8') : null);

  // Made durable beforehand, whatever the vault does.
  mkdirSync(root);
  let vault = new Vault(root);
  await vault.write('bots/dev/old.md', 'old\n');
  await vault.write('bots/dev/from/moved.md', 'moved\n');
  await vault.write('bots/dev/doomed/gone.md', 'gone\n');
  sh('sync');

  const changes: Array<{ change: (vault: Vault) => Promise<unknown>; expected: Record<string, string | null> }> = [
    { change: (v) => v.write('bots/dev/new/deep/note.md', 'new\n'), expected: { 'bots/dev/new/deep/note.md': 'new\n' } },
    { change: (v) => v.write('bots/dev/old.md', 'changed\n'), expected: { 'bots/dev/old.md': 'changed\n' } },
    {
      change: (v) => v.move('bots/dev/from/moved.md', 'bots/dev/to/deeper/moved.md', 'bots/dev', 'moved\n'),
      expected: { 'bots/dev/from/moved.md': null, 'bots/dev/to/deeper/moved.md': 'moved\n' },
    },
    { change: (v) => v.remove('bots/dev/doomed/gone.md', 'bots/dev'), expected: { 'bots/dev/doomed/gone.md': null } },
    { change: (v) => v.post(['mail/dev/inbox/m1.md', 'mail/research/sent/m1.md'], 'message\n', { author: 'research', summary: 'send m1' }), expected: { 'mail/dev/inbox/m1.md': 'message\n', 'mail/research/sent/m1.md': 'message\n' } },
  ];
  for (const { change, expected } of changes) {
    await change(vault);
    cutPower(point);
    remount(point);
    vault = new Vault(root);
    expect(Object.fromEntries(Object.keys(expected).map((relative) => [relative, content(relative)]))).toEqual(expected);
  }
});
