import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  ftruncateSync,
  promises as fs,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeferredSync } from './deferred-sync.js';
import { UserError } from './errors.js';
import { KeyedLock } from './lock.js';
import { checkDataPath } from './paths.js';
import type { LogRecord } from './write-ahead-log.js';

export interface FileStat {
  path: string;
  mtimeMs: number;
  size: number;
}

/** A write under way, as the vault's write-ahead log holds it. */
interface WriteRecord extends LogRecord {
  path: string;
  content: string;
  /** The hash of the file before the write, or GONE. */
  before: string;
}

/**
 * Durable file operations under one root folder. Every write goes to a temp file that is renamed
 * into place, so a reader sees the old content or the new, never a part. Once `write` returns,
 * the content survives a crash:
 * - in a vault opened with a write-ahead log (the daemon's), the write was first recorded in the
 *   log and fsynced, with the log's fsyncs shared by concurrent writes; the files are fsynced in
 *   the background, and `open` redoes the writes a crash interrupted;
 * - otherwise the temp file is fsynced before the rename and the folder after it.
 *
 * A write with `{ sync: false }` writes the file in place, unsynced, for a caller that keeps its
 * own durable record, rewrites a file a crash cut short, and calls `sync` later (mail copies,
 * written once each).
 *
 * Links are never followed inside the data root. A file that is a symbolic link, or that lies in a
 * folder reached through one, or that has other hard links (its content is also a file elsewhere,
 * maybe one its reader may not see) reads as absent, and the operator is told once; a write there
 * is refused, and new folders are made one level at a time, never through a link. A write always
 * replaces the file's name with a new file, so it never changes what another hard link shows.
 * The data root's own path may pass through links: its real path is taken once.
 */
export class Vault {
  /**
   * What this process last made of each path (the hash of the content it wrote, or GONE), so the file
   * watcher can tell its own changes from a person's, however close together they come.
   */
  private readonly own = new Map<string, string>();
  private readonly locks = new KeyedLock();
  private log?: DeferredSync<WriteRecord>;
  /** Record ids: unique across restarts, as a log may hold records of the run before. */
  private readonly epoch = Date.now().toString(36);
  private writes = 0;
  private realRootPath?: string;
  /** Paths whose link was reported to the operator already. */
  private readonly reported = new Set<string>();

  constructor(readonly root: string) {}

  /**
   * Takes `logDir` as the vault's write-ahead log, and first redoes each write a crash interrupted
   * whose file is as before the write, or empty: the write was lost. A file that is neither was
   * changed again since, by someone else, and stays. Returns the paths it wrote again.
   */
  async open(logDir: string): Promise<string[]> {
    const log = new DeferredSync<WriteRecord>(logDir, (files) => this.sync(files));
    const records = await log.open();
    const redone: string[] = [];
    for (const record of records) {
      const now = this.hashNow(record.path);
      if (now === hash(record.content) || (now !== record.before && now !== EMPTY)) continue;
      this.mark(record.path, hash(record.content));
      await this.writeFile(record.path, record.content, 'atomic');
      redone.push(record.path);
    }
    await log.recovered(records.map((record) => record.path));
    this.log = log;
    return redone;
  }

  /** Lets the background fsyncs finish and closes the write-ahead log. */
  async close(): Promise<void> {
    await this.log?.close();
    this.log = undefined;
  }

  /**
   * Runs `work` alone on a path: a change made under it and the handling of a watcher event for the
   * path never overlap, and events for one path are handled one after the other.
   */
  locked<T>(relative: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(relative, work);
  }

  /** True when the file is now (content, or absence) what this process last made of it. */
  async isOwnChange(relative: string): Promise<boolean> {
    const mark = this.own.get(relative);
    if (mark === undefined) return false;
    const content = this.load(relative);
    if (content === undefined) return false; // a folder now, a link, or unreadable
    return mark === (content === null ? GONE : hash(content));
  }

  private mark(relative: string, state: string): void {
    this.own.delete(relative);
    this.own.set(relative, state);
    if (this.own.size > MAX_MARKS) this.own.delete(this.own.keys().next().value!);
  }

  /** The absolute path of a data-root path, which may not leave the root or name a hidden file or folder. */
  abs(relative: string): string {
    return path.join(this.root, ...checkDataPath(relative).split('/'));
  }

  /**
   * Reads synchronously: notes and messages are small and nearly always in the page cache, where
   * the libuv pool's round trips cost several times the read itself (search snippets, inbox pages).
   * null when there is no file, or only a link (see the class comment).
   */
  async read(relative: string): Promise<string | null> {
    return this.load(relative)?.toString('utf8') ?? null;
  }

  /** The file's size and time; null when there is no file, or only a link. */
  async stat(relative: string): Promise<FileStat | null> {
    const fd = this.openFile(relative);
    if (fd === null || fd === undefined) return null;
    try {
      const s = fstatSync(fd);
      return { path: relative, mtimeMs: s.mtimeMs, size: s.size };
    } finally {
      closeSync(fd);
    }
  }

  /** A file's content; null when there is none, undefined when something else is there (a folder, a link). */
  private load(relative: string): Buffer | null | undefined {
    const fd = this.openFile(relative);
    if (fd === null || fd === undefined) return fd;
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Opens a file to read it: null when there is none, undefined when something Roost does not read
   * is there (a folder, a special file, or a link, which is reported). The last name is opened
   * without following a link; the folder the file was found in must be, by its real path, the one
   * its path names.
   */
  private openFile(relative: string): number | null | undefined {
    let fd: number;
    try {
      fd = openSync(this.abs(relative), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return this.report(relative, 'is a symbolic link');
      if (isMissing(error) || code === 'ENOTDIR') return null;
      throw error;
    }
    try {
      const s = fstatSync(fd);
      const link = !s.isFile()
        ? ''
        : this.folderOf(fd, relative) !== this.realPath(parentOf(relative))
          ? 'lies in a folder reached through a symbolic link'
          : s.nlink > 1
            ? 'has other hard links'
            : null;
      if (link === null) return fd;
      closeSync(fd);
      return link ? this.report(relative, link) : undefined;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The real path of the folder an open file lies in (on Linux read from the open file itself, so no rename can slip between). */
  private folderOf(fd: number, relative: string): string {
    try {
      return path.dirname(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return realpathSync.native(path.dirname(this.abs(relative)));
    }
  }

  /** Where a data-root path is when no link is on its way. */
  private realPath(relative: string): string {
    this.realRootPath ??= realpathSync.native(this.root);
    return relative === '' ? this.realRootPath : path.join(this.realRootPath, ...relative.split('/'));
  }

  /** A link is reported to the operator once per path, and treated as absent. */
  private report(relative: string, what: string): undefined {
    if (!this.reported.has(relative)) {
      if (this.reported.size >= MAX_MARKS) this.reported.clear();
      this.reported.add(relative);
      console.warn(`roost: ${relative} ${what}; Roost follows no links in the data root, so it treats the file as absent: replace the link with a plain file, or remove it.`);
    }
    return undefined;
  }

  /** Refuses a write into a folder that is reached through a link, or onto a path that is a link or a folder. */
  private linkRefusal(relative: string, what: string): UserError {
    this.report(relative, what);
    return new UserError(
      `"${relative}" ${what}, placed by hand: Roost neither reads nor writes through links, so nothing was written. Write to another path, or ask the operator to replace the link.`,
      'forbidden',
    );
  }

  /**
   * Makes sure a folder is a real folder inside the root, with no link on its way: throws ENOENT
   * when it is missing and `create` is false; else makes the missing folders one level at a time.
   */
  private realFolder(folder: string, create: boolean, forFile: string): void {
    if (folder === '') return;
    if (!create) {
      let real: string;
      try {
        real = realpathSync.native(this.abs(folder));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw notAFolder(forFile);
        throw error;
      }
      if (real !== this.realPath(folder)) throw this.linkRefusal(forFile, 'lies in a folder that is a symbolic link');
      return;
    }
    const names = folder.split('/');
    for (let i = 1; i <= names.length; i++) {
      const level = names.slice(0, i).join('/');
      const abs = this.abs(level);
      try {
        mkdirSync(abs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const s = lstatSync(abs);
      if (s.isSymbolicLink()) throw this.linkRefusal(forFile, 'lies in a folder that is a symbolic link');
      if (!s.isDirectory()) throw notAFolder(forFile);
    }
  }

  /** Refuses a write onto something that is not a plain file: a link or a folder. */
  private checkTarget(relative: string): void {
    const s = lstatSync(this.abs(relative), { throwIfNoEntry: false });
    if (!s || s.isFile()) return;
    if (s.isSymbolicLink()) throw this.linkRefusal(relative, 'is a symbolic link');
    throw new UserError(`"${relative}" is a folder on disk: choose another path for the file.`, 'conflict');
  }

  async write(relative: string, content: string, options: { sync: boolean } = { sync: true }): Promise<FileStat> {
    this.mark(relative, hash(content));
    try {
      if (!options.sync) return await this.writeFile(relative, content, 'in place');
      if (!this.log) return await this.writeFile(relative, content, 'durable');
      return await this.writeAhead(this.log, { id: `${this.epoch}-${++this.writes}`, path: relative, content, before: this.hashNow(relative) });
    } catch (error) {
      this.own.delete(relative);
      throw error;
    }
  }

  private async writeAhead(log: DeferredSync<WriteRecord>, record: WriteRecord): Promise<FileStat> {
    await log.begin(record).catch((error) => {
      throw storageError(error);
    });
    let written: FileStat;
    try {
      written = await this.writeFile(record.path, record.content, 'atomic');
    } catch (error) {
      await log.abandon(record.id).catch(() => undefined);
      throw error;
    }
    log.written(record.id, [record.path]);
    return written;
  }

  /** The hash of a file's content now, GONE when there is none, UNREADABLE for a folder. */
  private hashNow(relative: string): string {
    const content = this.load(relative);
    return content === null ? GONE : content === undefined ? UNREADABLE : hash(content);
  }

  /** Makes files written with `{ sync: false }` durable: their content, then their folders' entries. A file gone meanwhile is skipped. */
  async sync(relatives: string[]): Promise<void> {
    const files = relatives.map((relative) => this.abs(relative));
    await eachLimited([...files, ...new Set(files.map((file) => path.dirname(file)))], SYNC_CONCURRENCY, syncPath);
  }

  /**
   * `durable` fsyncs the file before the rename and its folder after; `atomic` renames without an
   * fsync; `in place` writes straight to the file (half the cost) for a caller that rewrites what a
   * crash cut short. Only the fsyncs go to libuv's thread pool: the other steps touch the page
   * cache alone and take microseconds, where each trip through the pool costs far more on a busy daemon.
   */
  private async writeFile(relative: string, content: string, how: 'durable' | 'atomic' | 'in place'): Promise<FileStat> {
    const target = this.abs(relative);
    const dir = path.dirname(target);
    const sync = how === 'durable';
    const temp = how !== 'in place';
    for (let attempt = 1; ; attempt++) {
      const writeTo = temp ? path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`) : target; // a temp file matches TEMP_FILE
      try {
        // The folder nearly always exists already: made only once a try finds it missing.
        this.realFolder(parentOf(relative), attempt > 1, relative);
        this.checkTarget(relative);
        // A temp file is new (O_EXCL never follows a link); a file written in place is truncated only once known to be plain.
        const fd = openSync(writeTo, temp ? 'wx' : constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
        let written: FileStat;
        try {
          if (!temp) {
            if (fstatSync(fd).nlink > 1) throw this.linkRefusal(relative, 'has other hard links');
            ftruncateSync(fd);
          }
          writeFileSync(fd, content, 'utf8');
          if (sync) await fsyncFd(fd);
          // The file as this process wrote it: once renamed, a person may already change or remove it.
          const s = fstatSync(fd);
          written = { path: relative, mtimeMs: s.mtimeMs, size: s.size };
        } finally {
          closeSync(fd);
        }
        if (temp) renameSync(writeTo, target);
        if (sync) await syncPath(dir);
        return written;
      } catch (error) {
        if (temp) rmSync(writeTo, { force: true });
        // A new folder, or a person removed it meanwhile: make it.
        if (isMissing(error) && attempt < 3) continue;
        throw storageError(error);
      }
    }
  }

  /** Returns false when there was nothing to delete. Empty parent folders are removed up to `stopAt`. */
  async remove(relative: string, stopAt: string): Promise<boolean> {
    await this.settle(relative);
    this.mark(relative, GONE);
    try {
      this.realFolder(parentOf(relative), false, relative);
      await fs.unlink(this.abs(relative));
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    const dir = path.dirname(this.abs(relative));
    await syncPath(dir);
    await this.pruneEmpty(dir, this.abs(stopAt));
    return true;
  }

  /** Moves a file whose content the caller knows to be `content`. */
  async move(from: string, to: string, stopAt: string, content: string): Promise<FileStat> {
    await this.settle(from);
    const target = this.abs(to);
    this.realFolder(parentOf(from), false, from);
    this.realFolder(parentOf(to), true, to);
    if (lstatSync(target, { throwIfNoEntry: false })) throw new UserError(`"${to}" is taken on disk by a folder or a link: choose another destination.`, 'conflict');
    // The file as this process moves it (a rename keeps it): once moved, a person may already change or remove it.
    const s = lstatSync(this.abs(from));
    if (!s.isFile() || s.nlink > 1) throw this.linkRefusal(from, 'is not a plain file');
    const stat = { path: to, mtimeMs: s.mtimeMs, size: s.size };
    this.mark(from, GONE);
    this.mark(to, hash(content));
    try {
      await fs.rename(this.abs(from), target);
    } catch (error) {
      this.own.delete(from);
      this.own.delete(to);
      throw error;
    }
    await syncPath(path.dirname(target));
    await syncPath(path.dirname(this.abs(from)));
    await this.pruneEmpty(path.dirname(this.abs(from)), this.abs(stopAt));
    return stat;
  }

  /** A write of the file waiting for its fsync is made durable first, so that a crash cannot redo it after the file is gone. */
  private async settle(relative: string): Promise<void> {
    if (this.log?.pending(relative)) await this.log.flush();
  }

  /** Every file below `folder` whose name passes `accept`, skipping hidden files and folders, and links (reported). */
  async walk(folder: string, accept: (name: string) => boolean = () => true): Promise<FileStat[]> {
    const out: FileStat[] = [];
    const base = this.abs(folder);
    try {
      this.realFolder(folder, false, folder);
    } catch (error) {
      if (isMissing(error) || error instanceof UserError) return out;
      throw error;
    }
    const visit = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      // The files of a folder are stat'ed together: one after the other, 100,000 notes took seconds.
      const files: Array<Promise<void>> = [];
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        // A symbolic link is neither a folder nor a file here: readdir does not follow it.
        if (entry.isDirectory()) await visit(path.join(dir, entry.name), rel);
        else if (entry.isSymbolicLink() && accept(entry.name)) this.report(`${folder}/${rel}`, 'is a symbolic link');
        else if (entry.isFile() && accept(entry.name)) {
          files.push(
            fs.lstat(path.join(dir, entry.name)).then(
              (s) => void (s.nlink > 1 ? this.report(`${folder}/${rel}`, 'has other hard links') : out.push({ path: rel, mtimeMs: s.mtimeMs, size: s.size })),
              () => undefined,
            ),
          );
        }
      }
      await Promise.all(files);
    };
    await visit(base, '');
    return out;
  }

  /** Removes temp files left by writes that a crash cut short (they were never acknowledged). */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) {
          if (entry.name !== '.git' && entry.name !== '.roost') await visit(path.join(dir, entry.name));
        } else if (TEMP_FILE.test(entry.name)) {
          await fs.rm(path.join(dir, entry.name), { force: true });
          removed++;
        }
      }
    };
    await visit(this.root);
    return removed;
  }

  private async pruneEmpty(dir: string, stop: string): Promise<void> {
    while (dir.startsWith(stop) && dir !== stop) {
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

/** Each fsync holds a file open and a thread of libuv's pool (4 by default) busy. */
const SYNC_CONCURRENCY = 4;
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

function notAFolder(relative: string): UserError {
  return new UserError(`"${relative}" lies below a file, not a folder: choose another path.`, 'conflict');
}

/** The folder of a data-root path, '' for one at the top. */
function parentOf(relative: string): string {
  const slash = relative.lastIndexOf('/');
  return slash === -1 ? '' : relative.slice(0, slash);
}
const GONE = 'gone';
const UNREADABLE = 'unreadable';
const MAX_MARKS = 50_000;

function hash(content: string | Buffer): string {
  return createHash('sha1').update(content).digest('base64');
}

const EMPTY = hash('');

/** fsyncs a file, or a folder's entries; one removed meanwhile has nothing left to make durable. */
async function syncPath(file: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

const fsyncFd = promisify(fsync);

async function eachLimited<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A full disk or quota is something the operator can fix: say so plainly. */
export function storageError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UserError('The server\'s disk is full, so nothing was written: free some space (or ask the operator to) and try again.', 'too_large');
  }
  return error;
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}
