import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Vault } from '../../src/core/vault.js';
import { tempDir } from '../helpers.js';

const LOG = '.roost/writes';

/**
 * A vault with `a.md` durable at "old", then written again with "new" and the process killed at
 * once: the copy returned is the data root as the crash left it, the write acknowledged and its
 * record still open. Copied in the same turn of the event loop, before the background fsync can run.
 */
async function crashAfterWrite(path: string, before: string | null): Promise<string> {
  const root = tempDir();
  const vault = new Vault(root);
  await vault.open(join(root, LOG));
  if (before !== null) {
    await vault.write(path, before);
    await vault.close();
    await vault.open(join(root, LOG));
  }
  await vault.write(path, 'new');
  const crashed = tempDir();
  cpSync(root, crashed, { recursive: true });
  await vault.close();
  return crashed;
}

async function reopen(root: string): Promise<{ vault: Vault; redone: string[] }> {
  const vault = new Vault(root);
  return { vault, redone: await vault.open(join(root, LOG)) };
}

it('redoes an acknowledged write that a crash lost: the file is as before, empty, or missing', async () => {
  const lost = await crashAfterWrite('notes/a.md', 'old');
  writeFileSync(join(lost, 'notes/a.md'), 'old');
  const empty = await crashAfterWrite('notes/a.md', 'old');
  writeFileSync(join(empty, 'notes/a.md'), '');
  const missing = await crashAfterWrite('notes/a.md', null);
  rmSync(join(missing, 'notes/a.md'));

  for (const root of [lost, empty, missing]) {
    const { vault, redone } = await reopen(root);
    expect(redone).toEqual(['notes/a.md']);
    expect(readFileSync(join(root, 'notes/a.md'), 'utf8')).toBe('new');
    await vault.close();
    // Redone once: the records are closed, so the next start has nothing to do.
    const again = await reopen(root);
    expect(again.redone).toEqual([]);
    await again.vault.close();
  }
});

it('keeps a file that someone changed after the write, and one the write reached', async () => {
  const edited = await crashAfterWrite('notes/a.md', 'old');
  writeFileSync(join(edited, 'notes/a.md'), 'a person wrote this after Roost');
  const intact = await crashAfterWrite('notes/a.md', 'old');

  const first = await reopen(edited);
  expect(first.redone).toEqual([]);
  expect(readFileSync(join(edited, 'notes/a.md'), 'utf8')).toBe('a person wrote this after Roost');
  await first.vault.close();
  const second = await reopen(intact);
  expect(second.redone).toEqual([]);
  expect(readFileSync(join(intact, 'notes/a.md'), 'utf8')).toBe('new');
  await second.vault.close();
});

it('does not bring back a file removed after its write, and leaves only the newest log segment', async () => {
  const root = tempDir();
  const vault = new Vault(root);
  await vault.open(join(root, LOG));
  await Promise.all(Array.from({ length: 20 }, (_, i) => vault.write(`notes/${i}.md`, `note ${i}`)));
  // Removed while its write still waits for the background fsync.
  await vault.remove('notes/3.md', 'notes');
  const crashed = tempDir();
  cpSync(root, crashed, { recursive: true });
  await vault.close();

  const { vault: after, redone } = await reopen(crashed);
  expect(existsSync(join(crashed, 'notes/3.md'))).toBe(false);
  expect(redone).not.toContain('notes/3.md');
  expect(readFileSync(join(crashed, 'notes/7.md'), 'utf8')).toBe('note 7');
  expect(readdirSync(join(crashed, LOG))).toHaveLength(1);
  await after.close();
});
