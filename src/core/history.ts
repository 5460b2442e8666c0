import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDurableDir, syncPath, writeDurably } from './durable.js';
import { UserError } from './errors.js';
import { FastImport, IgnoreCheck, quote, readHeads, type TreeEntry } from './git-streams.js';

export interface HistoryEntry {
  commit: string;
  /** ISO 8601 */
  date: string;
  author: string;
  message: string;
}

/** A version of one file: the commit, and what the file was there. */
export interface Version extends HistoryEntry {
  /** The file's content at this commit (its blob id); null when the commit removed it or git does not say. */
  blob: string | null;
  /** What the commit did, one line per change (a grouped commit lists several). */
  changes: string[];
}

export interface Change {
  author: string;
  /** Data-root-relative posix paths, e.g. 'bots/dev/notes/plan.md'. */
  paths: string[];
  /** What happened, e.g. 'write notes/plan.md'. */
  summary: string;
  /** Called once the change is committed and the branch durably points at the commit (or has it already). */
  committed?: () => void;
}

/** A file Roost writes into the data root (its README), and its content. */
export interface OwnFile {
  path: string;
  content: string;
}

/** A change as a write-ahead log recorded it: what it made of each path (null: gone), and who made it. */
export interface RecordedChange {
  author: string;
  summary: string;
  files: Array<{ path: string; content: string | null }>;
}

interface Queued {
  change: Change;
  seq: number;
  retried: boolean;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
  error?: Error;
}

const COMMITTER = 'roost <roost@roost.local>';
const SUBJECT_WIDTH = 60;
/**
 * git's index (what `git status` compares with) catches up with the commits once they pause this
 * long, and at least this often under steady load: each catch-up rewrites the whole index file
 * (megabytes at 100,000 notes), whose writing slowed the fsyncs of the writes going on.
 */
const INDEX_SYNC_QUIET_MS = 1_000;
const INDEX_SYNC_MAX_MS = 30_000;
/** After this many commit cycles (one pack file each), fast-import is restarted and the small packs are merged. */
const CYCLES_PER_REPACK = 50;
/**
 * A cycle that committed this many changes means load: the next window is BUSY_WINDOW_FACTOR times
 * longer, for fewer and larger cycles (each costs tree writes in git whatever its size).
 */
const BUSY_CHANGES = 10;
const BUSY_WINDOW_FACTOR = 5;
/** How often held changes are tried again while HEAD is detached. */
const DETACHED_RETRY_MS = 2_000;
/** The mode git gives a folder (a tree) in a tree, and the id that stands for no object. */
const FOLDER_MODE = '040000';
const NO_OBJECT = '0'.repeat(40);
const FIELD = '\x1f';
const RECORD = '\x1e';

/** Git for the data root: grouped commits of what was written, and per-file history. */
export class History {
  private pending: Queued[] = [];
  private inFlight: Queued[] = [];
  /** The last cycle committed many changes. */
  private busy = false;
  /** How many pending and in-flight changes touch each path. */
  private readonly queuedPaths = new Map<string, number>();
  private waiters: Waiter[] = [];
  private seq = 0;
  private timer?: NodeJS.Timeout;
  /** The serial commit queue: each run starts when the previous one ended. */
  private tail = Promise.resolve();
  private importer?: FastImport;
  private ignores?: IgnoreCheck;
  private marks = 0;
  /** The branch HEAD names, e.g. `refs/heads/main`. */
  private ref = '';
  private cyclesSinceRepack = 0;
  /** HEAD was detached at the last commit: changes are held until it is back on a branch. */
  private detached = false;
  /** Paths whose entry in git's index may differ from HEAD. */
  private unsynced = new Set<string>();
  private indexTimer?: NodeJS.Timeout;
  /** When the index must catch up at the latest. */
  private indexDue?: number;

  /** Backup: a git remote pushed to after commits, at most once per `pushEveryMs`. */
  private remote?: { url: string; everyMs: number; timer?: NodeJS.Timeout; pushing: Promise<void> };

  private constructor(
    private readonly root: string,
    private readonly windowMs: number,
  ) {}

  /**
   * Opens (or creates) the repository at `root`, first repairing what a power cut can leave
   * (an empty HEAD, a branch that names no commit). With `commitLeftovers` (the default), commits
   * what is on disk and not in git as `external`; a daemon does that itself once it watches the files.
   */
  static async open(
    root: string,
    options: { windowMs?: number; remote?: string; pushEveryMs?: number; commitLeftovers?: boolean; ownFiles?: OwnFile[] } = {},
  ): Promise<History> {
    const history = new History(root, options.windowMs ?? 50);
    await makeDurableDir(root);
    await history.repair();
    const ignore = await ensureIgnored(path.join(root, '.gitignore'));
    // A commit git cannot write now (a full disk) must not keep the daemon from starting: the files stay, and are committed later.
    await history.commitOwn([...(options.ownFiles ?? []), { path: '.gitignore', content: ignore }]).catch(startCommitFailed);
    // Only this process uses the repository (the daemon lock), so lock files and crash reports are a killed git's leftovers.
    const gitDir = path.join(root, '.git');
    const leftovers = (await fs.readdir(gitDir)).filter((name) => name.startsWith('fast_import_crash_'));
    for (const file of ['index.lock', `${history.ref}.lock`, ...leftovers]) await fs.rm(path.join(gitDir, file), { force: true });
    if (options.commitLeftovers !== false) await history.commitLeftovers().catch(startCommitFailed);
    if (options.remote) {
      history.remote = { url: options.remote, everyMs: options.pushEveryMs ?? 10_000, pushing: Promise.resolve() };
      history.schedulePush();
    }
    return history;
  }

  /**
   * Commits under Roost's own name the files Roost put in the data root that are still as it wrote
   * them (the branch may have them already, or lack them after a power cut): they are no one's hand edit.
   */
  private async commitOwn(files: OwnFile[]): Promise<void> {
    const own: string[] = [];
    for (const file of files) if ((await fs.readFile(path.join(this.root, file.path), 'utf8').catch(() => null)) === file.content) own.push(file.path);
    if (!own.length) return;
    this.enqueue({ author: 'roost', paths: own, summary: `set up ${own.join(', ')}` });
    await this.flush();
  }

  /** Commits as `external` what is on disk and not in git: changes made by hand while no daemon watched. */
  async commitLeftovers(): Promise<void> {
    // The index knows what git saw last, so this compares only files whose size or time changed.
    await this.git(['add', '-A']);
    const staged = (await this.git(['diff', '--cached', '--no-renames', '--name-only', '-z'])).split('\0').filter(Boolean);
    if (!staged.length) return;
    this.enqueue({ author: 'external', paths: staged, summary: `recover ${staged.length} uncommitted change${staged.length === 1 ? '' : 's'}` });
    await this.flush();
  }

  /**
   * Makes the repository usable after a power cut. A missing `.git` is created and made durable
   * whole; an empty or damaged HEAD names main again; a branch that names no commit is set back to
   * the newest commit its reflog names that git has, or removed when there is none (the next commit
   * starts it anew). What was repaired is reported on stderr.
   */
  private async repair(): Promise<void> {
    const gitDir = path.join(this.root, '.git');
    // git init completes a .git that a power cut left incomplete, and changes nothing in a whole one.
    if (!['HEAD', 'objects', 'refs'].every((name) => existsSync(path.join(gitDir, name)))) {
      await this.git(['init', '-q', '-b', 'main']);
      await syncTree(gitDir);
    }
    const headFile = path.join(gitDir, 'HEAD');
    const head = await fs.readFile(headFile, 'utf8').catch(() => '');
    if (!/^ref: refs\/\S+\n?$/.test(head) && !/^[0-9a-f]{40}\n?$/.test(head)) {
      console.error(`roost: the data root's .git/HEAD was damaged (by a power cut?): it names refs/heads/main again`);
      await writeDurably(headFile, 'ref: refs/heads/main\n');
    }
    // --no-recurse: the ref HEAD names, even when that ref itself is damaged.
    this.ref = (await this.git(['symbolic-ref', '-q', '--no-recurse', 'HEAD']).catch(() => '')).trim();
    if (!this.ref) throw new Error('the data root\'s git HEAD is detached: check out main');
    if (await this.readTip()) return;
    const refFile = path.join(gitDir, ...this.ref.split('/'));
    const log = await fs.readFile(path.join(gitDir, 'logs', ...this.ref.split('/')), 'utf8').catch(() => '');
    const named = [...log.matchAll(/^[0-9a-f]{40} ([0-9a-f]{40}) /gm)].map((match) => match[1]).reverse();
    const exists = existsSync(refFile) || (await fs.readFile(path.join(gitDir, 'packed-refs'), 'utf8').catch(() => '')).includes(` ${this.ref}\n`);
    if (!exists && !named.length) return; // a new repository: no commit yet
    await fs.rm(refFile, { force: true });
    for (const id of named) {
      if (!(await this.git(['cat-file', '-e', `${id}^{commit}`]).then(() => true, () => false))) continue;
      await this.git(['update-ref', this.ref, id]);
      await syncPath(path.dirname(refFile));
      console.error(`roost: ${this.ref} named no commit (after a power cut?): set back to ${id}, the newest commit its log names`);
      return;
    }
    if (await this.readTip()) return; // packed-refs had it
    console.error(`roost: ${this.ref} named no commit and its log none that git has: the next commit starts it anew`);
  }

  /**
   * Commits, in order and under their own authors, the recorded changes that git does not have
   * yet, each with the content its record holds (not what is on disk now, which a later change may
   * have made). A change counts as in git when, for each of its paths, it comes at or before the
   * last recorded change whose content the branch has there.
   */
  async commitRecorded(changes: RecordedChange[]): Promise<void> {
    await this.flush();
    const committed = this.tail.then(async () => {
      const tip = await this.readTip();
      if (!this.importer?.alive) this.importer = new FastImport(this.root, gitEnv(this.root));
      const paths = [...new Set(changes.flatMap((change) => change.files.map((file) => file.path)))];
      const inGit = new Map<string, string | null>(paths.map((file) => [file, null]));
      if (tip) (await this.importer.ls(tip, paths)).forEach((entry, i) => inGit.set(paths[i], entry?.id ?? null));
      const lastInGit = new Map<string, number>();
      changes.forEach((change, i) => {
        for (const file of change.files) if ((file.content === null ? null : blobId(Buffer.from(file.content))) === inGit.get(file.path)) lastInGit.set(file.path, i);
      });
      const missing = changes.filter((change, i) => change.files.some((file) => (lastInGit.get(file.path) ?? -1) < i));
      const commands: Buffer[] = tip ? [] : [Buffer.from(`reset ${this.ref}\n`)];
      let parent = tip;
      let mark = 0;
      for (const change of missing) {
        mark = ++this.marks;
        const ops = change.files.flatMap((file) => {
          if (file.content === null) return [Buffer.from(`D ${quote(file.path)}\n`)];
          const content = Buffer.from(file.content);
          return [Buffer.from(`M 100644 inline ${quote(file.path)}\ndata ${content.length}\n`), content, Buffer.from('\n')];
        });
        commands.push(...this.commitHeader(mark, change.author, [change.summary], parent), ...ops, Buffer.from('\n'));
        parent = `:${mark}`;
      }
      if (!mark) return;
      await this.checkpoint(commands, mark);
      for (const file of paths) this.unsynced.add(file);
      this.scheduleIndexSync();
    });
    // The queue goes on after a failure here: the caller hears of it, the next step in the queue does not.
    this.tail = committed.catch(() => undefined);
    await committed;
  }

  /** Pushes `main` to the backup remote now (after the commits queued so far). */
  async push(): Promise<void> {
    const remote = this.remote;
    if (!remote) return;
    clearTimeout(remote.timer);
    remote.timer = undefined;
    await this.flush();
    remote.pushing = remote.pushing.then(() => this.git(['push', '--quiet', remote.url, 'HEAD:refs/heads/main']).then(() => undefined));
    await remote.pushing;
  }

  private schedulePush(): void {
    const remote = this.remote;
    if (!remote || remote.timer) return;
    remote.timer = setTimeout(() => {
      remote.timer = undefined;
      this.push().catch((error: Error) => console.error(`roost: backup push failed (will retry): ${error.message}`));
    }, remote.everyMs);
    remote.timer.unref();
  }

  /** Queues paths to commit in the next grouped commit. */
  enqueue(change: Change): void {
    this.pending.push({ change, seq: ++this.seq, retried: false });
    for (const file of change.paths) this.queuedPaths.set(file, (this.queuedPaths.get(file) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.run(), this.busy ? this.windowMs * BUSY_WINDOW_FACTOR : this.windowMs);
  }

  /** The files on disk that differ from the branch: changed or gone, and new ones not ignored. */
  async uncommitted(): Promise<string[]> {
    // `git diff HEAD` knows a file only through git's index, which lags behind the commits: catch it up
    // first, or a file committed since would look deleted, and its name would keep the catch-up waiting.
    await (this.tail = this.tail.then(() => this.syncIndex()));
    const [changed, added] = await Promise.all([
      (await this.readTip()) ? this.git(['diff', 'HEAD', '--no-renames', '--name-only', '-z']) : '',
      this.git(['ls-files', '--others', '--exclude-standard', '-z']),
    ]);
    return `${changed}${added}`.split('\0').filter(Boolean);
  }

  /** True while a change to `file` is queued or being committed. */
  isPending(file: string): boolean {
    return this.queuedPaths.has(file);
  }

  /** Changes committed or given up on. */
  private release(done: Queued[]): void {
    for (const file of done.flatMap((item) => item.change.paths)) {
      const left = this.queuedPaths.get(file)! - 1;
      if (left) this.queuedPaths.set(file, left);
      else this.queuedPaths.delete(file);
    }
  }

  /** Commits a queued change to `file` before it changes again, so every version keeps its own author in git. */
  async settle(file: string): Promise<void> {
    if (this.isPending(file)) await this.flush();
  }

  /** Resolves when everything enqueued before the call is committed; rejects if some of it could not be, even on retry. */
  flush(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ seq: this.seq, resolve, reject }));
    if (this.pending.length) this.run();
    else this.settleWaiters();
    return done;
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    await this.syncIndex();
    await Promise.all([this.importer?.close(), this.ignores?.close()]);
    await this.push().catch((error: Error) => console.error(`roost: backup push failed: ${error.message}`));
  }

  /**
   * Commits touching `file` newest first, following it through moves: only renames whose content
   * is the same (a move keeps a note's text), not git's guesses from similar content, which would
   * give a note the versions of another one.
   */
  async log(file: string, options: { limit?: number; skip?: number } = {}): Promise<HistoryEntry[]> {
    const skip = options.skip ?? 0;
    const args = ['log', '--follow', '--find-renames=100%', `--format=%H${FIELD}%aI${FIELD}%an${FIELD}%s${RECORD}`];
    // git's --skip breaks --follow (it skips the commit that reveals the rename), so skip here.
    if (options.limit !== undefined) args.push(`--max-count=${skip + options.limit}`);
    const out = await this.git([...args, '--', file]);
    return out
      .split(RECORD)
      .slice(skip)
      .map((record) => record.replace(/^\n/, ''))
      .filter(Boolean)
      .map((record) => {
        const [commit, date, author, message] = record.split(FIELD);
        return { commit, date, author, message };
      });
  }

  /** The newest `max` versions of `file` (following renames), newest first, with the content each one has. */
  async versions(file: string, max: number): Promise<Version[]> {
    // The message, then a blank line and one "--raw" line for the file: ":<mode> <mode> <old blob> <new blob> <status>\t<path>".
    const out = await this.git(['log', '--follow', '--find-renames=100%', '--raw', '--no-abbrev', `--max-count=${max}`, `--format=${RECORD}%H${FIELD}%aI${FIELD}%an${FIELD}%B${FIELD}`, '--', file]);
    return out
      .split(RECORD)
      .filter(Boolean)
      .map((record) => {
        const [commit, date, author, text, raw] = record.split(FIELD);
        const [, , , blob, status] = (raw.trim().split('\n')[0] ?? '').split('\t')[0].split(' ');
        const [subject, , ...list] = text.trim().split('\n');
        const changes = list.length ? list.map((line) => line.replace(/^- /, '')) : [subject.slice(author.length + 2)];
        return { commit, date, author, message: subject, blob: status && status !== 'D' && !/^0+$/.test(blob) ? blob : null, changes };
      });
  }

  /** The first `bytes` bytes of each blob, in whole lines. */
  heads(blobs: string[], bytes: number): Promise<Map<string, string>> {
    return readHeads(this.root, gitEnv(this.root), [...new Set(blobs)], bytes);
  }

  /** The blob `file` has at `commit`, or null if it did not exist there. */
  async blobAt(file: string, commit: string): Promise<string | null> {
    const id = await this.resolve(commit);
    // "<mode> <type> <object>\t<path>\0", or nothing when the path is absent.
    const [, type, object] = (await this.git(['ls-tree', '-z', id, '--', file])).split('\t')[0].split(' ');
    return type === 'blob' ? object : null;
  }

  /** Content of `file` at `commit`, or null if it did not exist there. */
  async show(file: string, commit: string): Promise<string | null> {
    const blob = await this.blobAt(file, commit);
    return blob ? this.git(['cat-file', 'blob', blob]) : null;
  }

  /** Unified diff of `file` from one version to another (`to` undefined: the work tree). */
  async diff(file: string, from: string, to?: string): Promise<string> {
    const versions = await Promise.all([from, ...(to === undefined ? [] : [to])].map((commit) => this.resolve(commit)));
    // git finds the work tree's files through its index.
    if (to === undefined) await (this.tail = this.tail.then(() => this.syncIndex()));
    return this.git(['diff', '--no-color', '--no-ext-diff', ...versions, '--', file]);
  }

  private run(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.tail = this.tail.then(() => this.commitPending());
  }

  private async commitPending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.inFlight = batch;
    this.busy = batch.length >= BUSY_CHANGES;
    try {
      if (batch.length) await this.commitBatch(batch);
      if (batch.length) this.schedulePush();
      this.detached = false;
      this.release(batch);
      for (const item of batch) item.change.committed?.();
    } catch (error) {
      this.fail(batch, error as Error);
    }
    this.inFlight = [];
    this.settleWaiters();
  }

  /**
   * A commit failed: retry its changes once on the next window, then give up on them loudly. While
   * HEAD is detached they are held instead, tried again every few seconds and committed once HEAD
   * is on a branch again; whoever waits for them meanwhile is told why.
   */
  private fail(failed: Queued[], error: Error): void {
    if (error instanceof DetachedHead) {
      if (!this.detached) console.error(`roost: the data root's git HEAD is detached: ${failed.length} changes wait to be committed until "git checkout main"`);
      this.detached = true;
      this.pending.unshift(...failed);
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      this.timer ??= setTimeout(() => this.run(), DETACHED_RETRY_MS);
      return;
    }
    console.error(`roost: committing ${failed.length} changes failed: ${error.message}`);
    const retry = failed.filter((item) => !item.retried);
    const dropped = failed.filter((item) => item.retried);
    if (retry.length) {
      for (const item of retry) item.retried = true;
      this.pending.unshift(...retry);
      this.timer ??= setTimeout(() => this.run(), this.windowMs);
    }
    if (dropped.length) {
      this.release(dropped);
      const paths = dropped.flatMap((item) => item.change.paths);
      console.error(`roost: gave up committing ${paths.join(', ')}; they stay uncommitted in the work tree`);
      const failure = new Error(`git commit failed twice for ${dropped.length} changes: ${error.message}`);
      for (const waiter of this.waiters) if (waiter.seq >= dropped[0].seq) waiter.error ??= failure;
    }
  }

  /** Settles the flushes whose changes are all committed or given up. Pending and in-flight changes stay in enqueue order. */
  private settleWaiters(): void {
    const open = (this.inFlight[0] ?? this.pending[0])?.seq ?? Infinity;
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.seq >= open) return true;
      if (waiter.error) waiter.reject(waiter.error);
      else waiter.resolve();
      return false;
    });
  }

  /**
   * One commit per author, all through one fast-import stream, then one checkpoint that moves the
   * branch. A path absent from disk is a delete; a path whose content is what the branch already has
   * is left out, and an author with nothing left makes no commit.
   */
  private async commitBatch(batch: Queued[]): Promise<void> {
    const groups = groupByAuthor(batch);
    const all = groups.flatMap((group) => group.paths);
    // The check reads the ignore files and the index (tracked files are never ignored) once: a changed ignore file needs a new check.
    if (all.some((file) => file === '.gitignore' || file.endsWith('/.gitignore'))) {
      await this.syncIndex();
      await this.ignores?.close();
    }
    const [ignored, tip] = await Promise.all([this.ignored(all), this.readTip(), this.checkAttached()]);
    if (!this.importer?.alive) this.importer = new FastImport(this.root, gitEnv(this.root));
    const paths = groups.flatMap((group) => group.paths).filter((file) => !ignored.has(file));
    const before = new Map<string, TreeEntry>();
    if (tip) (await this.importer.ls(tip, paths)).forEach((entry, i) => before.set(paths[i], entry));

    const commands: Buffer[] = tip ? [] : [Buffer.from(`reset ${this.ref}\n`)];
    let parent = tip;
    let mark = 0;
    for (const group of groups) {
      const changes = await this.changes(group.paths.filter((file) => !ignored.has(file)), before);
      if (!changes.length) continue;
      mark = ++this.marks;
      commands.push(...this.commitHeader(mark, group.author, group.items.map((item) => item.change.summary), parent), ...changes, Buffer.from('\n'));
      parent = `:${mark}`;
    }
    // git's index follows, also for a path with nothing to commit (a file staged at start that is not committed, such as a hard link),
    // and file by file below a folder given as one path: the files it had, and (added by `changes`) those it has.
    for (const file of paths) this.unsynced.add(file);
    const folders = paths.filter((file) => before.get(file)?.mode === FOLDER_MODE);
    if (folders.length) for (const file of (await this.git(['ls-tree', '-r', '-z', '--name-only', tip!, '--', ...folders])).split('\0').filter(Boolean)) this.unsynced.add(file);
    this.scheduleIndexSync();
    if (!mark) return;
    await this.checkpoint(commands, mark);
    if (++this.cyclesSinceRepack >= CYCLES_PER_REPACK) await this.repack();
  }

  private commitHeader(mark: number, author: string, summaries: string[], parent: string | undefined): Buffer[] {
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const text = Buffer.from(message(author, summaries));
    return [
      Buffer.from(`commit ${this.ref}\nmark :${mark}\nauthor ${author} <${author}@roost.local> ${when}\ncommitter ${COMMITTER} ${when}\ndata ${text.length}\n`),
      text,
      Buffer.from(`\n${parent ? `from ${parent}\n` : ''}`),
    ];
  }

  /**
   * Sends the commits and moves the branch, then makes the move durable: git fsyncs the objects and
   * the ref file (core.fsync), and the folders of the new pack and of the ref are fsynced here.
   */
  private async checkpoint(commands: Buffer[], mark: number): Promise<void> {
    const id = await this.importer!.commitAndCheckpoint(commands, mark);
    if ((await this.readTip()) !== id) throw new Error(`git could not move ${this.ref} to ${id} (is ${this.ref}.lock left over?)`);
    const gitDir = path.join(this.root, '.git');
    await syncPath(path.join(gitDir, 'objects', 'pack'));
    await syncPath(path.dirname(path.join(gitDir, ...this.ref.split('/'))));
  }

  /**
   * Merges the small packs of recent cycles (geometrically: few and small merges, never the
   * whole repository), once fast-import has ended and no longer keeps them.
   */
  private async repack(): Promise<void> {
    this.cyclesSinceRepack = 0;
    await this.importer?.close();
    this.importer = undefined;
    await this.git(['repack', '-d', '-q', '--geometric=2']).catch((error: Error) => console.error(`roost: repacking git's objects failed: ${error.message}`));
  }

  /** fast-import commands for the paths that differ from `before`. */
  private async changes(paths: string[], before: Map<string, TreeEntry>): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const file of paths) {
      const old = before.get(file) ?? null;
      const full = path.join(this.root, file);
      const stat = await fs.lstat(full).catch(() => null);
      if (!stat) {
        if (old) out.push(Buffer.from(`D ${quote(file)}\n`));
      } else if (stat.isDirectory()) {
        // A folder given as one path: replace what the branch has under it with what is on disk.
        out.push(Buffer.from(`D ${quote(file)}\n`));
        for (const inner of await filesUnder(this.root, file)) {
          this.unsynced.add(inner);
          out.push(...(await this.changes([inner], new Map())));
        }
      } else {
        const mode = stat.isSymbolicLink() ? '120000' : stat.mode & 0o111 ? '100755' : '100644';
        // A symbolic link is committed as the link it is. A file with other hard links is not committed at
        // all: its content is also a file elsewhere, which the history of a note must not show (the vault reads it as absent).
        const content =
          stat.nlink > 1 && stat.isFile()
            ? null
            : await (stat.isSymbolicLink() ? fs.readlink(full).then((target) => Buffer.from(target)) : fs.readFile(full)).catch(() => null);
        if (!content) {
          if (old) out.push(Buffer.from(`D ${quote(file)}\n`));
        } else if (!old || old.mode !== mode || old.id !== blobId(content)) {
          out.push(Buffer.from(`M ${mode} inline ${quote(file)}\ndata ${content.length}\n`), content, Buffer.from('\n'));
        }
      }
    }
    return out;
  }

  /** The paths of `paths` that .gitignore excludes (tracked files never are). */
  private ignored(paths: string[]): Promise<Set<string>> {
    if (!this.ignores?.alive) this.ignores = new IgnoreCheck(this.root, gitEnv(this.root));
    return this.ignores.ignored(paths);
  }

  /** Soon after commits, in the commit queue: one git process for many cycles. */
  private scheduleIndexSync(): void {
    this.indexDue ??= Date.now() + INDEX_SYNC_MAX_MS;
    clearTimeout(this.indexTimer);
    this.indexTimer = setTimeout(
      () => {
        this.indexTimer = undefined;
        this.tail = this.tail.then(() => this.syncIndex());
      },
      Math.max(0, Math.min(INDEX_SYNC_QUIET_MS, this.indexDue - Date.now())),
    );
    this.indexTimer.unref();
  }

  /**
   * Brings git's index in line with the commits, so `git status` in the data root shows only what is
   * not committed yet: each path's entry becomes what the branch has there, given to git as entries
   * (`update-index --index-info`). `git reset -- <paths>` did the same at a cost that grew with the
   * notes times the paths (it matched every path against the whole tree, then stat'ed every file):
   * at 100,000 notes a catch-up after a few thousand messages took seconds of CPU.
   */
  private async syncIndex(): Promise<void> {
    this.indexDue = undefined;
    const paths = [...this.unsynced];
    this.unsynced.clear();
    if (!paths.length) return;
    try {
      const tip = await this.readTip();
      if (!this.importer?.alive) this.importer = new FastImport(this.root, gitEnv(this.root));
      const entries = tip ? await this.importer.ls(tip, paths) : paths.map(() => null);
      // A folder's own name has no entry (its files were given one by one); mode 0 removes an entry.
      const lines = paths.map((file, i) => {
        const entry = entries[i];
        return entry && entry.mode !== FOLDER_MODE ? `${entry.mode} ${entry.id}\t${file}\0` : `0 ${NO_OBJECT}\t${file}\0`;
      });
      await this.git(['update-index', '-z', '--index-info'], lines.join(''));
    } catch (error) {
      for (const file of paths) this.unsynced.add(file);
      this.scheduleIndexSync();
      console.error(`roost: updating git's index failed (will retry): ${(error as Error).message}`);
    }
  }

  /** The commit the branch points at, as git reads it; undefined before the first commit. */
  private async readTip(): Promise<string | undefined> {
    const id = await this.git(['rev-parse', '-q', '--verify', `${this.ref}^{commit}`]).catch(() => '');
    return id.trim() || undefined;
  }

  /** HEAD must still name the branch the daemon commits to: a commit checked out by hand holds the commits back. */
  private async checkAttached(): Promise<void> {
    const ref = (await this.git(['symbolic-ref', '-q', 'HEAD']).catch(() => '')).trim();
    if (ref !== this.ref) throw new DetachedHead();
  }

  /** The full id of a commit, or a clear error. */
  private async resolve(commit: string): Promise<string> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${commit}^{commit}`])).trim();
    } catch {
      throw new UserError(`There is no version "${commit}": take a commit id from note_history.`, 'not_found');
    }
  }

  private git(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('git', args, { cwd: this.root, env: { ...gitEnv(this.root), ...env }, maxBuffer: 1 << 30 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args.join(' ')} failed: ${(stderr + stdout).trim() || error.message}`));
        else resolve(stdout);
      });
      child.stdin?.on('error', () => {}); // git may exit before reading all of its input; its exit code tells
      child.stdin?.end(input);
    });
  }
}

/** Someone checked out a commit by hand in the data root: there is no branch to commit to. */
class DetachedHead extends UserError {
  constructor() {
    super(`The data root's git HEAD is detached (a commit was checked out by hand), so changes cannot be committed: the operator must run "git checkout main" in the data root, then retry.`, 'conflict');
  }
}

/**
 * Environment for git: English messages (parsed for "nothing to commit"), literal paths, no optional locks (so a
 * diff never holds the index lock a commit needs), and never another repository's location (as inside a git hook).
 */
function gitEnv(root: string): NodeJS.ProcessEnv {
  // The ceiling: a .git a power cut left incomplete must not send git looking for a repository above the data root.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', GIT_LITERAL_PATHSPECS: '1', GIT_OPTIONAL_LOCKS: '0', GIT_CEILING_DIRECTORIES: path.dirname(path.resolve(root)) };
  for (const key of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX']) delete env[key];
  // Objects, packs and refs fsynced as git writes them (git's default leaves refs to the page cache), on top of any config of the caller's.
  const count = Number(env.GIT_CONFIG_COUNT) || 0;
  Object.assign(env, {
    GIT_CONFIG_COUNT: String(count + 2),
    [`GIT_CONFIG_KEY_${count}`]: 'core.fsync',
    [`GIT_CONFIG_VALUE_${count}`]: 'all',
    [`GIT_CONFIG_KEY_${count + 1}`]: 'core.fsyncMethod',
    [`GIT_CONFIG_VALUE_${count + 1}`]: 'fsync',
  });
  return env;
}

/** The id git gives a file's content. */
function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** Every file below `folder` (data-root relative), skipping hidden names as the watcher does. */
async function filesUnder(root: string, folder: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(root, folder), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const child = `${folder}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(root, child)));
    else out.push(child);
  }
  return out;
}

/** Machine state, and temp files of writes cut short by a crash, never go into git. */
const IGNORED = ['.roost/', '.*.tmp'];

/**
 * Adds to `file` the patterns of IGNORED that it lacks. Returns the file as Roost leaves it when it
 * changes it, or else as Roost makes it in a new data root (a power cut may have kept it from git).
 */
async function ensureIgnored(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const present = new Set(text.split('\n').map((line) => line.trim()));
  const missing = IGNORED.filter((pattern) => !present.has(pattern));
  if (missing.length === 0) return `${IGNORED.join('\n')}\n`;
  const content = `${text}${text && !text.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`;
  await writeDurably(file, content);
  return content;
}

/** fsyncs every file and folder below `dir`, and `dir`'s own entry (a new repository: a few dozen small files). */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const inner = path.join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(inner);
    else await syncPath(inner);
  }
  await syncPath(dir);
  await syncPath(path.dirname(dir));
}

/** One group per author, in order of first appearance; a path goes to the first author that claims it. */
function groupByAuthor(batch: Queued[]): Array<{ author: string; items: Queued[]; paths: string[] }> {
  const groups = new Map<string, { author: string; items: Queued[]; paths: string[] }>();
  const claimed = new Set<string>();
  for (const item of batch) {
    const { author, paths } = item.change;
    const group = groups.get(author) ?? { author, items: [], paths: [] };
    groups.set(author, group);
    group.items.push(item);
    for (const file of paths) {
      if (claimed.has(file)) continue;
      claimed.add(file);
      group.paths.push(file);
    }
  }
  return [...groups.values()];
}

/** `dev: write notes/plan.md`, or for several changes a subject naming the first few and a body listing all. */
function message(author: string, summaries: string[]): string {
  const unique = [...new Set(summaries.map((summary) => summary.replace(/\s+/g, ' ').trim()))];
  if (unique.length === 1) return `${author}: ${unique[0]}`;
  let shown = 1;
  while (shown < unique.length && unique.slice(0, shown + 1).join(', ').length <= SUBJECT_WIDTH) shown++;
  const more = unique.length - shown;
  const subject = `${author}: ${unique.slice(0, shown).join(', ')}${more ? ` and ${more} more` : ''}`;
  return `${subject}\n\n${unique.map((summary) => `- ${summary}`).join('\n')}\n`;
}

function startCommitFailed(error: Error): void {
  console.error(`roost: a commit at start failed (${error.message}); its files stay in the work tree and are committed once git can write`);
}
