import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statfsSync, utimesSync, writeFileSync } from 'node:fs';
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
  // By hand while the daemon was down: well after the write.
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(edited, 'notes/a.md'), later, later);
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

/** What a power cut can do to a log: the `done` lines, written but never fsynced before it, are lost. */
function loseDoneLines(root: string): void {
  const dir = join(root, LOG);
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    writeFileSync(join(dir, name), text.split('\n').filter((line) => !/(^| )done /.test(line)).join('\n'));
  }
}

/** The data root as a power cut leaves it after the steps of `run`: their files as they are, every `done` line lost. */
async function cutAfter(run: (vault: Vault) => Promise<void>): Promise<string> {
  const root = tempDir();
  const vault = new Vault(root);
  await vault.open(join(root, LOG));
  await run(vault);
  await vault.close();
  loseDoneLines(root);
  return root;
}

it('never brings back a deleted or moved note when the records of its earlier writes were not closed durably', async () => {
  const root = await cutAfter(async (vault) => {
    await vault.write('notes/deleted.md', 'gone soon');
    await vault.write('notes/moved.md', 'moved soon');
    // The background fsync has run and the records were closed, by lines a power cut loses.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await vault.remove('notes/deleted.md', 'notes');
    await vault.move('notes/moved.md', 'notes/there.md', 'notes', 'moved soon');
  });
  const { vault } = await reopen(root);
  expect(existsSync(join(root, 'notes/deleted.md'))).toBe(false);
  expect(existsSync(join(root, 'notes/moved.md'))).toBe(false);
  expect(readFileSync(join(root, 'notes/there.md'), 'utf8')).toBe('moved soon');
  await vault.close();
});

// A real full disk: a small tmpfs. Mounting needs root (CI runs as root); elsewhere this test is skipped.
// Under CI=true it runs (and fails) whoever runs it: CI must not skip it silently.
it.skipIf(process.getuid?.() !== 0 && process.env.CI !== 'true')('never applies after a restart a write the caller was told failed for a full disk', async () => {
  const mountPoint = tempDir('roost-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  try {
    const root = join(mountPoint, 'root');
    const vault = new Vault(root);
    await vault.open(join(root, LOG));
    await vault.write('notes/kept.md', 'kept');
    // Room for the write's record (its 100,000 bytes), not for the note's temp file as well.
    const { bavail, bsize } = statfsSync(mountPoint);
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(bavail * bsize - 150_000));
    await expect(vault.write('notes/refused.md', 'x'.repeat(100_000))).rejects.toThrow(/disk is full/);
    await vault.close();
    loseDoneLines(root);
    rmSync(join(mountPoint, 'filler'));
    const { vault: after, redone } = await reopen(root);
    expect(redone).toEqual([]);
    expect(existsSync(join(root, 'notes/refused.md'))).toBe(false);
    expect(readFileSync(join(root, 'notes/kept.md'), 'utf8')).toBe('kept');
    await after.close();
  } finally {
    execFileSync('umount', ['-l', mountPoint]);
  }
});

it('writes again an acknowledged note that a power cut left torn or full of NUL bytes', async () => {
  const torn = await crashAfterWrite('notes/a.md', 'old');
  writeFileSync(join(torn, 'notes/a.md'), '\0'.repeat(265));
  const stale = await crashAfterWrite('notes/a.md', 'old');
  writeFileSync(join(stale, 'notes/a.md'), 'ol');
  for (const root of [torn, stale]) {
    const { vault, redone } = await reopen(root);
    expect(redone).toEqual(['notes/a.md']);
    expect(readFileSync(join(root, 'notes/a.md'), 'utf8')).toBe('new');
    await vault.close();
  }
});

it('starts when a recorded change cannot be applied again, and applies the others', async () => {
  const root = await cutAfter(async (vault) => {
    await vault.write('notes/a.md', 'a');
    await vault.write('blocked/b.md', 'b');
  });
  rmSync(join(root, 'notes/a.md'));
  // A file where the folder of b.md was: b.md cannot be written again.
  rmSync(join(root, 'blocked'), { recursive: true });
  writeFileSync(join(root, 'blocked'), 'a file now');
  const { vault, redone } = await reopen(root);
  expect(redone).toEqual(['notes/a.md']);
  expect(readFileSync(join(root, 'notes/a.md'), 'utf8')).toBe('a');
  // Shown under Problems in the console.
  expect(vault.unfinished).toEqual([{ file: 'blocked/b.md', problem: expect.stringMatching(/could not be finished.*lies below a file/) }]);
  await vault.close();
});
