import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from './errors.js';

export interface HistoryEntry {
  commit: string;
  /** ISO 8601 */
  date: string;
  author: string;
  message: string;
}

export interface Change {
  author: string;
  /** Data-root-relative posix paths, e.g. 'bots/dev/notes/plan.md'. */
  paths: string[];
  /** What happened, e.g. 'write notes/plan.md'. */
  summary: string;
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

const COMMITTER = ['-c', 'user.name=roost', '-c', 'user.email=roost@roost.local', '-c', 'commit.gpgsign=false'];
const SUBJECT_WIDTH = 60;
const FIELD = '\x1f';
const RECORD = '\x1e';

/** Git for the data root: grouped commits of what was written, and per-file history. */
export class History {
  private pending: Queued[] = [];
  private inFlight: Queued[] = [];
  private waiters: Waiter[] = [];
  private seq = 0;
  private timer?: NodeJS.Timeout;
  /** The serial commit queue: each run starts when the previous one ended. */
  private tail = Promise.resolve();

  private constructor(
    private readonly root: string,
    private readonly windowMs: number,
  ) {}

  /** Opens (or creates) the repository at `root` and commits what a crash left uncommitted, as `external`. */
  static async open(root: string, options: { windowMs?: number } = {}): Promise<History> {
    const history = new History(root, options.windowMs ?? 50);
    await fs.mkdir(root, { recursive: true });
    // Check for root/.git itself: the data root may sit inside another repository (memory/ in a checkout).
    if (!existsSync(path.join(root, '.git'))) await history.git(['init', '-q', '-b', 'main']);
    await ensureIgnored(path.join(root, '.gitignore'));
    // Only this process uses the repository (the daemon lock), so a lock file is a killed git's leftover.
    await fs.rm(path.join(root, '.git', 'index.lock'), { force: true });
    await history.git(['add', '-A']);
    const staged = (await history.git(['diff', '--cached', '--name-only', '-z'])).split('\0').filter(Boolean).length;
    if (staged) await history.commit('external', `external: recover ${staged} uncommitted change${staged === 1 ? '' : 's'}`);
    return history;
  }

  /** Queues paths to commit in the next grouped commit. */
  enqueue(change: Change): void {
    this.pending.push({ change, seq: ++this.seq, retried: false });
    this.timer ??= setTimeout(() => this.run(), this.windowMs);
  }

  /** True while a change to `file` is queued or being committed. */
  isPending(file: string): boolean {
    return [...this.pending, ...this.inFlight].some((queued) => queued.change.paths.includes(file));
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
  }

  /** Commits touching `file` (following renames), newest first. */
  async log(file: string, options: { limit?: number; skip?: number } = {}): Promise<HistoryEntry[]> {
    const skip = options.skip ?? 0;
    const args = ['log', '--follow', `--format=%H${FIELD}%aI${FIELD}%an${FIELD}%s${RECORD}`];
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

  /** Content of `file` at `commit`, or null if it did not exist there. */
  async show(file: string, commit: string): Promise<string | null> {
    const id = await this.resolve(commit);
    // "<mode> <type> <object>\t<path>\0", or nothing when the path is absent.
    const [, type, object] = (await this.git(['ls-tree', '-z', id, '--', file])).split('\t')[0].split(' ');
    return type === 'blob' ? this.git(['cat-file', 'blob', object]) : null;
  }

  /** Unified diff of `file` from one version to another (`to` undefined: the work tree). */
  async diff(file: string, from: string, to?: string): Promise<string> {
    const versions = await Promise.all([from, ...(to === undefined ? [] : [to])].map((commit) => this.resolve(commit)));
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
    const committed = new Set<Queued>();
    try {
      for (const group of groupByAuthor(batch)) {
        await this.stage(group.paths);
        await this.commit(group.author, message(group.author, group.items.map((item) => item.change.summary)));
        for (const item of group.items) committed.add(item);
      }
    } catch (error) {
      // Unstage what the attempt staged, so it cannot end up in another author's commit.
      await this.git(['reset', '-q']).catch(() => {});
      this.fail(batch.filter((item) => !committed.has(item)), error as Error);
    }
    this.inFlight = [];
    this.settleWaiters();
  }

  /** A commit failed: retry its changes once on the next window, then give up on them loudly. */
  private fail(failed: Queued[], error: Error): void {
    console.error(`roost: committing ${failed.length} changes failed: ${error.message}`);
    const retry = failed.filter((item) => !item.retried);
    const dropped = failed.filter((item) => item.retried);
    if (retry.length) {
      for (const item of retry) item.retried = true;
      this.pending.unshift(...retry);
      this.timer ??= setTimeout(() => this.run(), this.windowMs);
    }
    if (dropped.length) {
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

  /** `git add -A -- paths`, except that git-ignored paths and paths absent from disk and index (written then deleted) are no error. */
  private async stage(paths: string[]): Promise<void> {
    const onDisk = await Promise.all(paths.map((file) => fs.lstat(path.join(this.root, file)).then(() => true, () => false)));
    const present = paths.filter((_, i) => onDisk[i]);
    const missing = paths.filter((_, i) => !onDisk[i]);
    const fromStdin = ['--pathspec-from-file=-', '--pathspec-file-nul'];
    if (missing.length) await this.git(['rm', '--cached', '-r', '-q', '--ignore-unmatch', ...fromStdin], missing.join('\0'));
    if (present.length) {
      await this.git(['add', '-A', ...fromStdin], present.join('\0')).catch((error: Error) => {
        // git stages the other paths and skips the git-ignored ones; skipping them is what we want too.
        if (!/paths are ignored by one of your \.gitignore files/.test(error.message)) throw error;
      });
    }
  }

  /** Commits the index; nothing staged is no error and makes no commit. */
  private async commit(author: string, text: string): Promise<void> {
    try {
      await this.git([...COMMITTER, 'commit', '-q', '--no-verify', `--author=${author} <${author}@roost.local>`, '-F', '-'], text);
    } catch (error) {
      if (!/nothing (added )?to commit|no changes added to commit/.test((error as Error).message)) throw error;
    }
  }

  /** The full id of a commit, or a clear error. */
  private async resolve(commit: string): Promise<string> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${commit}^{commit}`])).trim();
    } catch {
      throw new UserError(`There is no version "${commit}": take a commit id from note_history.`, 'not_found');
    }
  }

  private git(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('git', args, { cwd: this.root, env: gitEnv(), maxBuffer: 1 << 30 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args.join(' ')} failed: ${(stderr + stdout).trim() || error.message}`));
        else resolve(stdout);
      });
      child.stdin?.on('error', () => {}); // git may exit before reading all of its input; its exit code tells
      child.stdin?.end(input);
    });
  }
}

/**
 * Environment for git: English messages (parsed for "nothing to commit"), literal paths, no optional locks (so a
 * diff never holds the index lock a commit needs), and never another repository's location (as inside a git hook).
 */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', GIT_LITERAL_PATHSPECS: '1', GIT_OPTIONAL_LOCKS: '0' };
  for (const key of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX']) delete env[key];
  return env;
}

/** Machine state, and temp files of writes cut short by a crash, never go into git. */
const IGNORED = ['.roost/', '.*.tmp'];

async function ensureIgnored(file: string): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const present = new Set(text.split('\n').map((line) => line.trim()));
  const missing = IGNORED.filter((pattern) => !present.has(pattern));
  if (missing.length === 0) return;
  await fs.writeFile(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`);
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
