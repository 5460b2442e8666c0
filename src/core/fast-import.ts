import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** What a path is in a commit: its mode and object id, or absent. */
export type TreeEntry = { mode: string; id: string } | null;

/**
 * One long-lived `git fast-import` for a repository. Starting a process costs the daemon's event loop
 * several milliseconds; a commit through the porcelain took five of them per author. Through this
 * stream a cycle of commits from any number of authors costs none.
 *
 * `--done`: if the daemon dies mid-stream, the import ends without touching any ref.
 */
export class FastImport {
  private readonly child: ChildProcess;
  /** Lines from stdout (progress) and from the cat-blob stream (answers to `ls` and `get-mark`). */
  private readonly progress: LineReader;
  private readonly answers: LineReader;
  private exited?: Error;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('git', ['-c', 'fastimport.unpackLimit=1000', 'fast-import', '--quiet', '--done', '--cat-blob-fd=3'], {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    this.child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    this.child.stdin!.on('error', () => {}); // the exit tells
    this.progress = new LineReader(this.child.stdout!);
    this.answers = new LineReader(this.child.stdio[3] as Readable);
    const ended = (error: Error) => {
      this.exited ??= error;
      this.progress.fail(this.exited);
      this.answers.fail(this.exited);
    };
    this.child.on('error', ended);
    this.child.on('exit', (code, signal) => ended(new Error(`git fast-import exited (${signal ?? code}): ${stderr.trim() || 'no message'}`)));
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
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.write('done\n');
    this.child.stdin!.end();
    await exited;
  }

  private write(data: string | Buffer): void {
    if (this.exited) throw this.exited;
    this.child.stdin!.write(data);
  }
}

/** A path as fast-import reads it: C-style quoted, so any byte but NUL may appear in it. */
export function quote(file: string): string {
  return `"${file.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))}"`;
}

class LineReader {
  private buffer = '';
  private lines: string[] = [];
  private waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  private error?: Error;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\n')) >= 0) {
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
