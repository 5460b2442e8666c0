import type { SessionDelivery } from './delivery.js';
import { UserError } from './errors.js';
import type { OpenClawBinding } from './model.js';

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

export interface SessionSummary {
  key: string;
  agent: string;
  label?: string;
  /** The gateway's view of its last run: `running`, `done`, `failed`… */
  status?: string;
  updated?: string;
}

export interface SessionTurn {
  role: string;
  text: string;
  at?: string;
}

/** The OpenClaw gateway as the core uses it: a runtime, a delivery into sessions, and a view of them. */
export interface OpenClawHost extends AgentRuntime, SessionDelivery {
  /** The agent that runs task agents that have no agent of their own. */
  readonly defaultAgent?: string;
  /** The name under which the gateway offers `agent` Roost's complete_task (through Roost's plugin), if it does. */
  completeTaskTool(agent: string): Promise<string | undefined>;
  /** Creates the bound bots' sessions the gateway lacks, now and after every reconnect. */
  keepSessions(bound: () => Array<{ bot: string; binding: OpenClawBinding }>): void;
  sessions(filter: { agent?: string; search?: string; limit: number }): Promise<SessionSummary[]>;
  history(key: string, limit: number): Promise<SessionTurn[]>;
}

/** The runtimes a daemon can start agents on (built at the edge, in src/runtimes/). */
export interface AgentRuntimes {
  /** The runtime a spawn uses when it names none. */
  readonly default: RuntimeName;
  /** The `command` runtime's default template (argv; `{bot}`, `{task}` and `{parent}` are filled in). */
  readonly defaultCommand?: string[];
  readonly openclaw?: OpenClawHost;
  /** Throws `UserError` when that runtime is not configured. */
  get(name: RuntimeName): AgentRuntime;
  /** The OpenClaw gateway; throws `UserError` when none is configured. */
  requireOpenClaw(): OpenClawHost;
  close(): Promise<void>;
}

/** The embedded default: only `none`, so task agents attach themselves with their token. */
export const noneOnly: AgentRuntimes = {
  default: 'none',
  get: (name) => {
    if (name === 'none') return noneRuntime;
    throw new UserError(`The ${name} runtime is not configured on this daemon: use runtime "none", or start the daemon with it (see the README's runtimes section).`);
  },
  requireOpenClaw: noOpenClaw,
  close: async () => undefined,
};

export function noOpenClaw(): never {
  throw new UserError('No OpenClaw gateway is configured: start the daemon with ROOST_OPENCLAW_URL and ROOST_OPENCLAW_TOKEN, or use another runtime.');
}
