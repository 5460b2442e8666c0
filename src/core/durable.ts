import { closeSync, fsync, mkdirSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const fsyncFd = promisify(fsync);

/**
 * fsyncs a file, or a folder's entries; one removed meanwhile has nothing left to make durable.
 * An fsync error is thrown, never retried here: after a failed fsync the kernel may have dropped
 * the dirty pages, so a second fsync that succeeds proves nothing (the caller writes the data again).
 */
export async function syncPath(file: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function syncFd(fd: number): Promise<void> {
  return fsyncFd(fd);
}

/**
 * Makes `dir` (and any missing parents) and makes their entries durable: each new folder's
 * parent is fsynced, so that a power cut cannot lose a folder whose files were made durable.
 */
export async function makeDurableDir(dir: string): Promise<void> {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let made = dir; ; made = path.dirname(made)) {
    await syncPath(path.dirname(made));
    if (made === first) return;
  }
}

/** Every folder from `file`'s own up to `root` (included): the entries a new file may depend on. */
export function foldersUpTo(file: string, root: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); dir.startsWith(root); dir = path.dirname(dir)) {
    out.push(dir);
    if (dir === root) break;
  }
  return out;
}

/** Replaces a file through a temp file, fsynced, renamed, and its folder fsynced. */
export async function writeDurably(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
  await syncPath(path.dirname(file));
}
