import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  promises as fs,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { DeferredSync } from './deferred-sync.js';
import { foldersUpTo, syncFd, syncPath } from './durable.js';
import { UserError } from './errors.js';
import type { Change, RecordedChange } from './history.js';
import { KeyedLock } from './lock.js';
import { checkDataPath } from './paths.js';
import type { LogRecord } from './write-ahead-log.js';

export interface FileStat {
  path: string;
  mtimeMs: number;
  size: number;
}

/** Who made a change and what it was: the author and line of its git commit. */
export interface Authored {
  author: string;
  summary: string;
}

/** Where the vault's changes are committed: git's commit queue. */
export interface Committer {
  enqueue(change: Change): void;
  /** Commits, in order, the recorded changes git does not have yet (after a crash). */
  commitRecorded(changes: RecordedChange[]): Promise<void>;
}

/** An acknowledged change as the vault's write-ahead log holds it: enough to apply it again and commit it. */
interface ChangeRecord extends LogRecord, RecordedChange {
  /** When it was recorded (ms since the epoch). */
  at: number;
}

/**
 * A file changed this long after its change was recorded was changed by someone else since (by
 * hand while the daemon was down): a restart leaves it. Our own write follows its record by at most
 * the record's fsync; a file that a power cut left torn still has the time of our write, or older.
 */
const LATER_EDIT_MS = 10_000;

/**
 * Durable file operations under one root folder. Every write goes to a temp file that is renamed
 * into place, so a reader sees the old content or the new, never a part. Once a change returns,
 * it survives a crash or a power cut:
 * - in a vault opened with a write-ahead log (the daemon's), every change (write, delete, move,
 *   mail copies) is first recorded in the log with what it makes of each path and who made it,
 *   and fsynced, with the log's fsyncs shared by concurrent changes; the files and their folders
 *   are fsynced in the background, the change is committed to git, and only then is its record
 *   closed. `open` applies again, per path, the last change recorded whose record is open, and
 *   commits the changes git does not have;
 * - otherwise the temp file is fsynced before the rename and the folder after it.
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
  private log?: DeferredSync<ChangeRecord>;
  private history?: Committer;
  /** Record ids: unique across restarts, as a log may hold records of the run before. */
  private readonly epoch = Date.now().toString(36);
  private writes = 0;
  /** Changes a crash interrupted that could not be finished at start: the file is left as it is, for a person to look at. */
  readonly unfinished: Array<{ file: string; problem: string }> = [];
  private realRootPath?: string;
  /** Paths whose link was reported to the operator already. */
  private readonly reported = new Set<string>();

  constructor(readonly root: string) {}

  /**
   * Takes `logDir` as the vault's write-ahead log and `history` as where changes are committed,
   * and first finishes the changes a crash interrupted: for each path, the last change recorded is
   * applied again unless the path already is what it made, or was changed later by someone else.
   * The changes git does not have yet are committed under their authors. Returns the paths it changed.
   */
  async open(logDir: string, history?: Committer): Promise<string[]> {
    const log = new DeferredSync<ChangeRecord>(logDir, (files) => this.sync(files), (record) => this.rewrite(record));
    const found = await log.open();
    const last = new Map<string, { content: string | null; at: number; finished: boolean }>();
    for (const { record, finished } of found) for (const file of record.files) last.set(file.path, { content: file.content, at: record.at, finished });
    const redone: string[] = [];
    for (const [file, change] of last) {
      if (change.finished) continue;
      try {
        if (await this.redo(file, change.content, change.at)) redone.push(file);
      } catch (error) {
        const problem = `a change a crash interrupted could not be finished, so the file is left as it is: ${(error as Error).message}`;
        console.error(`roost: ${file}: ${problem}`);
        this.unfinished.push({ file, problem });
      }
    }
    const unfinished = found.filter((entry) => !entry.finished).map((entry) => entry.record);
    await this.sync([...new Set(unfinished.flatMap((record) => record.files.map((file) => file.path)))]);
    if (unfinished.length && history) {
      try {
        await history.commitRecorded(unfinished.map(({ author, summary, files }) => ({ author, summary, files })));
      } catch (error) {
        // A full disk must not keep the daemon from starting: the files are durable (synced above), and
        // their commits, under the same authors, wait in the commit queue until git can write again.
        console.error(`roost: committing the changes a crash interrupted failed (${(error as Error).message}); they are queued and committed once git can write`);
        for (const { author, summary, files } of unfinished) history.enqueue({ author, paths: files.map((file) => file.path), summary });
      }
    }
    await log.recovered();
    this.log = log;
    this.history = history;
    return redone;
  }

  /** Makes `file` what a recorded change made of it; false when it already is, or was changed later by someone else. */
  private async redo(file: string, content: string | null, at: number): Promise<boolean> {
    const now = this.load(file);
    if (now === undefined) return false; // a folder or a link now: not ours to touch
    if (content === null ? now === null : now?.equals(Buffer.from(content))) return false;
    if (now !== null && lstatSync(this.abs(file)).mtimeMs > at + LATER_EDIT_MS) return false;
    this.mark(file, content === null ? GONE : hash(content));
    if (content === null) unlinkSync(this.abs(file));
    else await this.writeFile(file, content, 'atomic');
    return true;
  }

  /** After an fsync of a change's files failed: writes again each of them this process has not changed since. */
  private async rewrite(record: ChangeRecord): Promise<void> {
    for (const { path: file, content } of record.files) {
      if (content !== null && this.own.get(file) === hash(content)) await this.writeFile(file, content, 'atomic');
    }
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
  /** Writes a note-like file; `change` names the author and commit line (the daemon's vault commits it). */
  async write(relative: string, content: string, change?: Authored): Promise<FileStat> {
    this.mark(relative, hash(content));
    try {
      if (!this.log) return await this.writeFile(relative, content, 'durable');
      return await this.recorded(this.log, [{ path: relative, content }], change, () => this.writeFile(relative, content, 'atomic'));
    } catch (error) {
      this.own.delete(relative);
      throw error;
    }
  }

  /**
   * Writes new files of one content at once (a message's copies), straight to the files: half the
   * cost of temp files, for files no one reads before they are acknowledged. A post that fails
   * leaves none of them.
   */
  async post(relatives: string[], content: string, change: Authored): Promise<void> {
    for (const file of relatives) this.mark(file, hash(content));
    const write = async () => {
      try {
        await Promise.all(relatives.map((file) => this.writeFile(file, content, 'in place')));
      } catch (error) {
        for (const file of relatives) {
          this.mark(file, GONE);
          rmSync(this.abs(file), { force: true });
        }
        await this.sync(relatives);
        throw error;
      }
    };
    if (!this.log) {
      await write();
      return this.sync(relatives);
    }
    await this.recorded(this.log, relatives.map((file) => ({ path: file, content })), change, write);
  }

  /** Returns false when there was nothing to delete. Empty parent folders are removed up to `stopAt`. */
  async remove(relative: string, stopAt: string, change?: Authored): Promise<boolean> {
    this.mark(relative, GONE);
    const unlink = async () => {
      try {
        this.realFolder(parentOf(relative), false, relative);
        await fs.unlink(this.abs(relative));
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
      await this.pruneEmpty(path.dirname(this.abs(relative)), this.abs(stopAt));
      return true;
    };
    if (!this.log) {
      const removed = await unlink();
      if (removed) await this.sync([relative]);
      return removed;
    }
    return this.recorded(this.log, [{ path: relative, content: null }], change, unlink);
  }

  /** Moves a file whose content the caller knows to be `content`. */
  async move(from: string, to: string, stopAt: string, content: string, change?: Authored): Promise<FileStat> {
    const target = this.abs(to);
    const rename = async () => {
      this.realFolder(parentOf(from), false, from);
      this.realFolder(parentOf(to), true, to);
      if (lstatSync(target, { throwIfNoEntry: false })) throw new UserError(`"${to}" is taken on disk by a folder or a link: choose another destination.`, 'conflict');
      // The file as this process moves it (a rename keeps it): once moved, a person may already change or remove it.
      const s = lstatSync(this.abs(from));
      if (!s.isFile() || s.nlink > 1) throw this.linkRefusal(from, 'is not a plain file');
      this.mark(from, GONE);
      this.mark(to, hash(content));
      try {
        await fs.rename(this.abs(from), target);
      } catch (error) {
        this.own.delete(from);
        this.own.delete(to);
        throw error;
      }
      await this.pruneEmpty(path.dirname(this.abs(from)), this.abs(stopAt));
      return { path: to, mtimeMs: s.mtimeMs, size: s.size };
    };
    if (!this.log) {
      const stat = await rename();
      await this.sync([to, from]);
      return stat;
    }
    return this.recorded(
      this.log,
      [
        { path: from, content: null },
        { path: to, content },
      ],
      change,
      rename,
    );
  }

  /**
   * A change made durable by its record: recorded and fsynced first, then applied; acknowledged
   * once applied, its files fsynced in the background and the change committed, and then its
   * record closed. A change that fails to apply is cancelled in the log before the error returns.
   */
  private async recorded<R>(log: DeferredSync<ChangeRecord>, files: RecordedChange['files'], change: Authored | undefined, apply: () => Promise<R>): Promise<R> {
    const id = `${this.epoch}-${++this.writes}`;
    const authored = change ?? { author: 'roost', summary: `change ${files.map((file) => file.path).join(', ')}` };
    await log.begin(() => ({ id, at: Date.now(), ...authored, files })).catch((error) => {
      throw storageError(error);
    });
    let result: R;
    try {
      result = await apply();
    } catch (error) {
      await log.abandon(id);
      throw storageError(error);
    }
    const paths = files.map((file) => file.path);
    log.written(id, paths);
    if (this.history) this.history.enqueue({ ...authored, paths, committed: () => log.committed(id) });
    else log.committed(id);
    return result;
  }

  /**
   * Makes changed files durable: their content, then the entries of their folders and of every
   * folder above up to the root (a new folder's entry is in its parent). A path gone meanwhile is
   * skipped, and so is a folder removed.
   */
  async sync(relatives: string[]): Promise<void> {
    const files = relatives.map((relative) => this.abs(relative));
    const folders = new Set(files.flatMap((file) => foldersUpTo(file, this.root)));
    await eachLimited(files, SYNC_CONCURRENCY, syncPath);
    await eachLimited([...folders], SYNC_CONCURRENCY, syncPath);
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
          if (sync) await syncFd(fd);
          // The file as this process wrote it: once renamed, a person may already change or remove it.
          const s = fstatSync(fd);
          written = { path: relative, mtimeMs: s.mtimeMs, size: s.size };
        } finally {
          closeSync(fd);
        }
        if (temp) renameSync(writeTo, target);
        if (sync) await this.sync([relative]);
        return written;
      } catch (error) {
        // A temp file below a file (ENOTDIR) was never made.
        if (temp && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') rmSync(writeTo, { force: true });
        // A new folder, or a person removed it meanwhile: make it.
        if (isMissing(error) && attempt < 3) continue;
        if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw notAFolder(relative);
        throw storageError(error);
      }
    }
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

  /** Removes empty folders from `dir` up to `stop`, each marked as this process's own change for the watcher. */
  private async pruneEmpty(dir: string, stop: string): Promise<void> {
    while (dir.startsWith(stop) && dir !== stop) {
      const relative = path.relative(this.root, dir).split(path.sep).join('/');
      this.mark(relative, GONE);
      try {
        await fs.rmdir(dir);
      } catch {
        this.own.delete(relative);
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

/** Each fsync holds a file open and a thread of libuv's pool (4 by default) busy. */
const SYNC_CONCURRENCY = 4;
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;
const GONE = 'gone';
const MAX_MARKS = 50_000;

function hash(content: string | Buffer): string {
  return createHash('sha1').update(content).digest('base64');
}

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

function notAFolder(relative: string): UserError {
  return new UserError(`"${relative}" lies below a file, not a folder: choose another path.`, 'conflict');
}

/** The folder of a data-root path, '' for one at the top. */
function parentOf(relative: string): string {
  const slash = relative.lastIndexOf('/');
  return slash === -1 ? '' : relative.slice(0, slash);
}
