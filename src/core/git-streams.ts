import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

// Long-lived git processes the commit queue talks to over pipes. Starting a process costs the
// daemon's event loop several milliseconds; these cost it none per commit.

/** What a path is in a commit: its mode and object id, or absent. */
export type TreeEntry = { mode: string; id: string } | null;

/**
 * `git fast-import`: a cycle of commits from any number of authors in one stream (through the
 * porcelain, a commit took five processes per author).
 *
 * `--done`: if the daemon dies mid-stream, the import ends without touching any ref.
 * Each checkpoint leaves one pack file (`unpackLimit=0`: writing each object as a loose file
 * cost three times more), marked kept until the process ends; the caller ends it now and then
 * and repacks.
 */
export class FastImport {
  private readonly child: ChildProcess;
  /** Lines from stdout (progress) and from the cat-blob stream (answers to `ls` and `get-mark`). */
  private readonly progress: RecordReader;
  private readonly answers: RecordReader;
  private exited?: Error;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.child = startGit(cwd, env, ['-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', '--done', '--cat-blob-fd=3'], (error) => {
      this.exited ??= error;
      this.progress.fail(this.exited);
      this.answers.fail(this.exited);
    });
    this.progress = new RecordReader(this.child.stdout!, '\n');
    this.answers = new RecordReader(this.child.stdio[3] as Readable, '\n');
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** What each path is in `commit`. */
  async ls(commit: string, paths: string[]): Promise<TreeEntry[]> {
    if (!paths.length) return [];
    this.write(paths.map((file) => `ls ${commit} ${quote(file)}\n`).join(''));
    const lines = await Promise.all(paths.map(() => this.answers.next()));
    // "<mode> <type> <id>\t<path>", or "missing <path>"
    return lines.map((line) => {
      if (line.startsWith('missing ')) return null;
      const [mode, , id] = line.split('\t')[0].split(' ');
      return { mode, id };
    });
  }

  /** Sends a stream of commands, then waits until git has processed them and updated the refs. Returns the id of `mark`. */
  async commitAndCheckpoint(commands: Buffer[], mark: number): Promise<string> {
    const token = `roost-${mark}`;
    for (const chunk of commands) this.write(chunk);
    this.write(`checkpoint\nprogress ${token}\nget-mark :${mark}\n`);
    const line = await this.progress.next();
    if (line !== `progress ${token}`) throw new Error(`git fast-import answered "${line}"`);
    return (await this.answers.next()).trim();
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.write('done\n');
    await endInput(this.child);
  }

  private write(data: string | Buffer): void {
    if (this.exited) throw this.exited;
    this.child.stdin!.write(data);
  }
}

/**
 * `git check-ignore --stdin`: which paths .gitignore excludes. It reads the ignore files and the
 * index once, so it is replaced when either may have changed (`stale()`).
 */
export class IgnoreCheck {
  private readonly child: ChildProcess;
  private readonly answers: RecordReader;
  private exited?: Error;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    // check-ignore takes names, not pathspecs, and refuses the literal-pathspec setting.
    this.child = startGit(cwd, { ...env, GIT_LITERAL_PATHSPECS: '0', GIT_FLUSH: '1' }, ['check-ignore', '--stdin', '-z', '-v', '-n'], (error) => {
      this.exited ??= error;
      this.answers.fail(this.exited);
    });
    this.answers = new RecordReader(this.child.stdout!, '\0');
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** The paths of `paths` that are ignored (tracked files never are). */
  async ignored(paths: string[]): Promise<Set<string>> {
    if (this.exited) throw this.exited;
    this.child.stdin!.write(paths.map((file) => `${file}\0`).join(''));
    const out = new Set<string>();
    for (const file of paths) {
      // "<source>\0<line>\0<pattern>\0<path>\0"; the fields are empty when nothing matched.
      const [source, , pattern] = await Promise.all([0, 1, 2, 3].map(() => this.answers.next()));
      // A matching "!pattern" re-includes the path.
      if (source && !pattern.startsWith('!')) out.add(file);
    }
    return out;
  }

  async close(): Promise<void> {
    if (!this.exited) await endInput(this.child);
  }
}

/**
 * The first `bytes` bytes of each blob, cut back to whole lines (a cut line could read as
 * something it is not), through one `git cat-file --batch`; a blob git lacks is left out.
 */
export function readHeads(cwd: string, env: NodeJS.ProcessEnv, ids: string[], bytes: number): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  if (!ids.length) return Promise.resolve(heads);
  return new Promise((resolve, reject) => {
    const child = startGit(cwd, env, ['cat-file', '--batch'], reject);
    let pending = Buffer.alloc(0);
    // The blob being read: its id, the bytes of content still to come, and those kept.
    let blob: { id: string; left: number; kept: Buffer[]; keptBytes: number; size: number } | null = null;
    let answered = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length) {
        if (!blob) {
          const end = pending.indexOf('\n');
          if (end < 0) return;
          // "<id> blob <size>", or "<id> missing"
          const [id, type, size] = pending.subarray(0, end).toString().split(' ');
          pending = pending.subarray(end + 1);
          if (type === 'missing') answered++;
          // The content, then one newline.
          else blob = { id, left: Number(size) + 1, kept: [], keptBytes: 0, size: Number(size) };
        } else {
          const take = pending.subarray(0, blob.left);
          pending = pending.subarray(take.length);
          blob.left -= take.length;
          if (blob.keptBytes < bytes) {
            const keep = take.subarray(0, bytes - blob.keptBytes);
            blob.kept.push(keep);
            blob.keptBytes += keep.length;
          }
          if (blob.left > 0) return;
          let head = Buffer.concat(blob.kept).subarray(0, Math.min(blob.size, bytes));
          if (blob.size > bytes) head = head.subarray(0, head.lastIndexOf('\n') + 1);
          heads.set(blob.id, head.toString());
          answered++;
          blob = null;
        }
        if (answered === ids.length) {
          child.stdin!.end();
          resolve(heads);
        }
      }
    });
    child.stdin!.write(`${ids.join('\n')}\n`);
  });
}

function startGit(cwd: string, env: NodeJS.ProcessEnv, args: string[], ended: (error: Error) => void): ChildProcess {
  const child = spawn('git', args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdin!.on('error', () => {}); // the exit tells
  child.on('error', ended);
  child.on('exit', (code, signal) => ended(new Error(`git ${args.find((a) => !a.startsWith('-') && !a.includes('='))} exited (${signal ?? code}): ${stderr.trim() || 'no message'}`)));
  return child;
}

async function endInput(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end();
  await exited;
}

/** A path as fast-import reads it: C-style quoted, so any byte but NUL may appear in it. */
export function quote(file: string): string {
  return `"${file.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))}"`;
}

/** Records from a stream, split at `separator`, handed out in order. */
class RecordReader {
  private buffer = '';
  private lines: string[] = [];
  private waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  private error?: Error;

  constructor(
    stream: Readable,
    private readonly separator: string,
  ) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf(this.separator)) >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter.resolve(line);
        else this.lines.push(line);
      }
    });
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  fail(error: Error): void {
    this.error = error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
