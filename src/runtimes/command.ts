import { type ChildProcess, spawn } from 'node:child_process';
import { type AgentRuntime, type RunEnd, type RunRef, sleep, type StartRequest } from '../core/agent-runtime.js';
import { UserError } from '../core/errors.js';
import { isAlive } from '../core/lock-file.js';

/** How much of a process's output is kept (its tail) for the task's result or error. */
const OUTPUT_TAIL = 8_000;
const KILL_GRACE_MS = 5_000;
const POLL_MS = 500;

interface Child {
  process: ChildProcess;
  exit: Promise<RunEnd>;
}

/**
 * The `command` runtime: a local process per task. It gets `ROOST_URL`, `ROOST_BOT`, `ROOST_TOKEN`
 * (and the brief in `ROOST_TASK`) so it can connect back as an MCP client; its exit ends the task.
 */
export class CommandRuntime implements AgentRuntime {
  readonly name = 'command';
  private readonly children = new Map<number, Child>();

  /** `url` is where Roost listens, known once the daemon serves. */
  constructor(private readonly url: () => string | undefined) {}

  check(request: Pick<StartRequest, 'bot' | 'command'>): void {
    if (!request.command?.[0]) {
      throw new UserError(`There is no command to run for "${request.bot}": give its definition \`command: [program, args…]\`, set ROOST_COMMAND, or choose another runtime.`);
    }
  }

  async start(request: StartRequest): Promise<RunRef> {
    this.check(request);
    const [command, ...args] = request.command!;
    const child = spawn(command, args, {
      env: {
        ...process.env,
        ROOST_URL: this.url() ?? '',
        ROOST_BOT: request.bot,
        ROOST_TOKEN: request.token ?? '',
        ROOST_TASK: request.brief,
        ROOST_TASK_ID: request.task,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', resolve);
    });
    if (started || child.pid === undefined) {
      throw new UserError(`The command "${command}" could not start: ${started?.message ?? 'no process id'}. Check the command template.`);
    }
    const stdout = tail(child.stdout!);
    const stderr = tail(child.stderr!);
    const exit = new Promise<RunEnd>((resolve) => {
      child.once('close', (code, signal) => {
        this.children.delete(child.pid!);
        if (code === 0) resolve({ status: 'done', result: stdout().trim() });
        else resolve({ status: 'failed', error: `the process exited with ${code ?? signal}${stderr().trim() ? `: ${stderr().trim()}` : ''}` });
      });
    });
    this.children.set(child.pid, { process: child, exit });
    return { runtime: 'command', runId: `pid:${child.pid}`, pid: child.pid };
  }

  async wait(run: RunRef, timeoutMs: number, signal: AbortSignal): Promise<RunEnd | null> {
    const child = run.pid === undefined ? undefined : this.children.get(run.pid);
    if (child) return Promise.race([child.exit, sleep(timeoutMs, signal).then(() => null)]);
    // Started by an earlier daemon: all we can watch is whether the process is still there.
    const deadline = Date.now() + timeoutMs;
    while (run.pid !== undefined && isAlive(run.pid)) {
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) return null;
      await sleep(Math.min(POLL_MS, left), signal);
    }
    return { status: 'failed', error: 'the process ended while Roost was not running, without completing the task' };
  }

  async cancel(run: RunRef): Promise<void> {
    if (run.pid === undefined) return;
    const child = this.children.get(run.pid);
    if (!child) {
      if (isAlive(run.pid)) process.kill(run.pid, 'SIGTERM');
      return;
    }
    child.process.kill('SIGTERM');
    const ended = await Promise.race([child.exit.then(() => true), sleep(KILL_GRACE_MS).then(() => false)]);
    if (!ended) child.process.kill('SIGKILL');
  }

  /** Stops every process this runtime started. */
  async close(): Promise<void> {
    await Promise.all([...this.children.values()].map((c) => this.cancel({ runtime: 'command', runId: `pid:${c.process.pid}`, pid: c.process.pid })));
  }
}

function tail(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text = (text + chunk).slice(-OUTPUT_TAIL);
  });
  return () => text;
}
