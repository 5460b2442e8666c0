export type RuntimeName = 'openclaw' | 'command' | 'none';
export const RUNTIMES: RuntimeName[] = ['openclaw', 'command', 'none'];

/** What a runtime needs to start a bot working on a brief. */
export interface StartRequest {
  /** The Roost bot that does the work (a new task agent, or an existing bot given a task). */
  bot: string;
  /** The task's id in Roost: runtimes use it to make a retried start idempotent. */
  task: string;
  /** The brief: the whole text the agent receives. */
  brief: string;
  /** The bot's bearer token, for runtimes whose agent connects back to Roost itself. */
  token?: string;
  /** OpenClaw: the agent that runs the session, and the session key (under `agent:<agent>:`). */
  agent?: string;
  session?: string;
  /** Command: the argument vector, placeholders already filled in. */
  command?: string[];
}

/** A started run: enough to wait for it or cancel it, also after a restart. */
export interface RunRef {
  runtime: RuntimeName;
  /** The runtime's proof that it accepted the brief: OpenClaw run id, `pid:<n>`, or `none:<bot>`. */
  runId: string;
  session?: string;
  pid?: number;
}

export interface RunEnd {
  status: 'done' | 'failed' | 'cancelled';
  /** The agent's final answer, when the runtime reports one. */
  result?: string;
  /** Why it failed. */
  error?: string;
}

/** Where task agents run. `start` throws `UserError` when the runtime refuses the brief. */
export interface AgentRuntime {
  readonly name: RuntimeName;
  /**
   * Throws `UserError` when `start` would certainly refuse this request (nothing to run it with):
   * called before anything is written for the task, so such a refusal leaves no trace.
   */
  check?(request: Pick<StartRequest, 'bot' | 'agent' | 'session' | 'command'>): void;
  start(request: StartRequest): Promise<RunRef>;
  /** The run's end, or null if it is still running after `timeoutMs` (or when `signal` aborts). */
  wait(run: RunRef, timeoutMs: number, signal: AbortSignal): Promise<RunEnd | null>;
  cancel(run: RunRef): Promise<void>;
  close(): Promise<void>;
}

/** `none`: the registry entry is all; the agent attaches later with its token and ends with complete_task. */
export const noneRuntime: AgentRuntime = {
  name: 'none',
  start: async (request) => ({ runtime: 'none', runId: `none:${request.bot}` }),
  wait: async (_run, timeoutMs, signal) => {
    await sleep(timeoutMs, signal);
    return null;
  },
  cancel: async () => undefined,
  close: async () => undefined,
};

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
