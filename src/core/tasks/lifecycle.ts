import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Caller, callerOf, checkMayCancelTask, checkMayCompleteTask, mayViewTask, seesAllTasks } from '../access.js';
import { UserError } from '../errors.js';
import type { RoostEvents } from '../events.js';
import { KeyedLock } from '../lock.js';
import type { Memory } from '../memory.js';
import { RateLimit } from '../rate-limit.js';
import type { Bot, Registry } from '../registry.js';
import type { AgentRuntimes, RunEnd, RuntimeName } from '../agent-runtime.js';
import type { Sessions } from '../sessions.js';
import type { Tokens } from '../tokens.js';
import { type Cleanup, isLive, type Task, type TaskFiles } from './store.js';

export interface SpawnLimits {
  /** Live tasks one bot may have asked for at once (spawned and assigned). */
  maxChildren: number;
  /** Live tasks a standing bot and every task agent below it, at any depth, may have asked for at once. */
  maxLivePerTree: number;
  /** How deep task agents may spawn task agents. */
  maxDepth: number;
  /** Live tasks in the whole daemon. */
  maxLive: number;
  defaultDeadlineMs: number;
  maxDeadlineMs: number;
  /** Tasks a bot may start at once (spawned and assigned)… */
  spawnBurst: number;
  /** …and how many the allowance grows by per second. */
  spawnsPerSecond: number;
}

export const DEFAULT_SPAWN_LIMITS: SpawnLimits = {
  maxChildren: 5,
  maxLivePerTree: 10,
  maxDepth: 3,
  maxLive: 50,
  defaultDeadlineMs: 60 * 60_000,
  maxDeadlineMs: 7 * 24 * 60 * 60_000,
  spawnBurst: 30,
  spawnsPerSecond: 0.5,
};

/** The part of messaging that tasks use: a durable message, also delivered live where the recipient has a session. */
export interface TaskMail {
  send(
    sender: Caller,
    request: { to: string[]; subject: string; body: string; idempotency_key: string },
  ): Promise<{ id: string; recipients: Array<{ bot: string; live: boolean; session?: string; reason?: string }> }>;
}

export interface SpawnRequest {
  task: string;
  role?: string;
  topic?: string;
  runtime?: RuntimeName;
  deadline?: string;
  cleanup?: Cleanup;
}

export interface AssignRequest {
  bot: string;
  task: string;
  deadline?: string;
}

/** How a new task was handed over: the runtime's proof, or the message that carried it. */
export interface Handover {
  task: Task;
  /** Runtime `none`: the new agent's token, for whoever starts it (shown once). */
  token?: string;
  message?: { id: string; live: boolean; session?: string; reason?: string };
}

export interface TaskNode extends Task {
  last_activity?: string;
  children: TaskNode[];
}

const REAP_EVERY_MS = 1_000;
/** Each wait on a runtime lasts at most this long, so a deadline or a shutdown is noticed in time. */
const WAIT_SLICE_MS = 30_000;
/** Results longer than this reach the parent's inbox cut short; the whole result stays in the task file. */
const REPORTED_RESULT_CHARS = 32_000;
/** The longest result a task keeps. */
export const RESULT_CHARS = 256_000;

/**
 * Task agents and assigned tasks: registry entry, token and memory folder of a spawned agent,
 * its run on a runtime, the deadline reaper, quotas, the result to the parent's inbox, cleanup.
 * Each task is a file (see `TaskFiles`), so it survives restarts.
 */
export class Tasks {
  private readonly tasks = new Map<string, Task>();
  private readonly locks = new KeyedLock();
  private readonly ended = new EventEmitter<{ end: [Task] }>();
  private readonly stopping = new AbortController();
  private reaper?: NodeJS.Timeout;
  private reaping = false;
  private readonly starts: RateLimit;

  constructor(
    private readonly files: TaskFiles,
    private readonly registry: Registry,
    private readonly tokens: Tokens,
    private readonly memory: Memory,
    private readonly runtimes: AgentRuntimes,
    private readonly sessions: Sessions,
    private readonly mail: TaskMail,
    private readonly events: RoostEvents,
    private readonly limits: SpawnLimits = DEFAULT_SPAWN_LIMITS,
  ) {
    this.ended.setMaxListeners(0);
    this.starts = new RateLimit(limits.spawnBurst, limits.spawnsPerSecond, 'starting tasks', 'started');
  }

  /** Loads every task; resumes watching live runs and finishes reporting any that ended unreported. */
  async load(): Promise<void> {
    for (const task of await this.files.readAll()) this.remember(task);
    for (const task of this.tasks.values()) {
      if (isLive(task)) void this.watch(task.id);
      else if (!task.reported || (task.kind === 'spawn' && !task.cleaned)) void this.locks.run(task.id, () => this.settle(task)).catch(logError);
    }
    this.reaper = setInterval(() => void this.reap().catch(logError), REAP_EVERY_MS);
    this.reaper.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    this.stopping.abort();
  }

  get(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  // ---- starting ------------------------------------------------------------------------

  /** Starts a new task agent. If the runtime refuses the brief, everything made for it is undone. */
  async spawn(caller: Caller, request: SpawnRequest): Promise<Handover> {
    const parent = this.requireBot(caller);
    const depth = this.depthOf(parent.id) + 1;
    if (depth > this.limits.maxDepth) {
      throw new UserError(`Task agents may nest only ${this.limits.maxDepth} deep and you are at depth ${depth - 1}: do this task yourself or hand it back to your parent.`, 'forbidden');
    }
    this.checkQuota(parent.id);
    const roleBot = request.role ? this.registry.get(request.role) : undefined;
    const runtime = request.runtime ?? roleBot?.runtime ?? this.runtimes.default;
    const deadline = this.deadlineOf(request.deadline);
    const cleanup = request.cleanup ?? 'archive';
    const id = this.newId(roleBot?.id ?? 'task');
    const now = new Date().toISOString();
    const task: Task = {
      id,
      kind: 'spawn',
      bot: id,
      parent: parent.id,
      text: request.task,
      status: 'starting',
      runtime,
      ...(request.topic ? { topic: request.topic } : {}),
      deadline,
      cleanup,
      depth,
      created: now,
    };
    const runtimeImpl = this.runtimes.get(runtime);
    // A task agent's own agent is the one running its session.
    const agent = roleBot?.openclaw?.agent ?? this.sessions.bindingOf(parent.id)?.agent ?? this.runtimes.openclaw?.defaultAgent;
    const session = agent ? `agent:${agent}:roost:${parent.id}:${id}` : undefined;
    const command = (roleBot?.command ?? this.runtimes.defaultCommand)?.map((arg) => fill(arg, { bot: id, task: request.task, parent: parent.id }));
    // A runtime with nothing to run the agent on refuses now, before anything is written or counted.
    runtimeImpl.check?.({ bot: id, agent, session, command });
    this.starts.take(parent.id);
    this.tasks.set(id, task); // counted against the quotas from now on

    return this.locks.run(id, async () => {
      let token: string;
      try {
        await this.save(task, parent.id, `spawn ${id}`);
        await this.registry.add(
          {
            id,
            kind: 'task',
            parent: parent.id,
            name: id,
            description: firstLine(request.task),
            topics: request.topic ? [request.topic] : [],
            tools: roleBot?.tools ? [...roleBot.tools, 'complete_task'] : undefined,
            visibility: roleBot?.visibility ?? 'private',
            role: roleBot?.role ?? request.role ?? '',
          },
          parent.id,
          'roost',
        );
        token = await this.tokens.issue(id);
        const brief = briefOf(task, roleBot ? roleBot.role : request.role, await this.endingOf(task, agent));
        await this.memory.write(callerOf({ id, kind: 'task' }), 'TASK.md', brief, { title: `Task from ${parent.id}`, type: 'task' }, undefined, 'roost');
        // Its first tool calls may come from its session before the start returns.
        if (session) this.sessions.track(id, session, true, task.status);
        task.run = await runtimeImpl.start({ bot: id, task: id, brief, token, agent, session, command });
      } catch (error) {
        await this.undoSpawn(task, parent.id);
        throw error;
      }
      task.status = 'running';
      this.remember(task);
      task.started = new Date().toISOString();
      await this.save(task, parent.id, `start ${id} on ${runtime}`);
      this.events.emitActivity({ kind: 'task.spawn', bot: id, by: parent.id, detail: { task: id, runtime, run: task.run.runId } });
      void this.watch(id);
      return { task: { ...task }, ...(runtime === 'none' ? { token } : {}) };
    });
  }

  /** Gives an existing bot a task: a message to its inbox (and live into its session), tracked like a spawn. */
  async assign(caller: Caller, request: AssignRequest): Promise<Handover> {
    const parent = this.requireBot(caller);
    const target = this.registry.require(request.bot);
    if (target.id === parent.id) throw new UserError('You cannot assign a task to yourself: just do it.');
    if (target.status !== 'active') throw new UserError(`Bot "${target.id}" is retired: assign the task to an active bot (list_bots).`);
    this.checkQuota(parent.id);
    const deadline = this.deadlineOf(request.deadline);
    const id = this.newId(`${target.id}-task`);
    const task: Task = {
      id,
      kind: 'assign',
      bot: target.id,
      parent: parent.id,
      text: request.task,
      status: 'starting',
      runtime: 'none',
      deadline,
      cleanup: 'keep',
      depth: this.depthOf(parent.id) + 1,
      created: new Date().toISOString(),
    };
    this.starts.take(parent.id);
    this.tasks.set(id, task); // counted against the quotas from now on
    return this.locks.run(id, async () => {
      let sent: Awaited<ReturnType<TaskMail['send']>>;
      try {
        await this.save(task, parent.id, `assign ${id} to ${target.id}`);
        sent = await this.mail.send(callerOf(parent), {
          to: [target.id],
          subject: `Task ${id}: ${firstLine(request.task)}`,
          body: `${request.task}\n\n---\nTask ${id} from ${parent.id}, due ${deadline}. When it is done, call complete_task with task "${id}" and your result.`,
          idempotency_key: `${id}-brief`,
        });
      } catch (error) {
        this.tasks.delete(id);
        await this.files.remove(task, parent.id, `undo assign ${id}`);
        throw error;
      }
      const delivery = sent.recipients.find((r) => r.bot === target.id);
      task.status = 'running';
      task.started = new Date().toISOString();
      task.run = { runtime: 'none', runId: sent.id, ...(delivery?.session ? { session: delivery.session } : {}) };
      await this.save(task, parent.id, `start ${id}`);
      this.events.emitActivity({ kind: 'task.assign', bot: target.id, by: parent.id, detail: { task: id } });
      return { task: { ...task }, message: { id: sent.id, live: delivery?.live ?? false, session: delivery?.session, reason: delivery?.reason } };
    });
  }

  // ---- ending --------------------------------------------------------------------------

  /** The working bot reports its result. `id` may be left out when the caller has exactly one live task. */
  async complete(caller: Caller, input: { id?: string; result: string; outcome?: 'done' | 'failed'; keep?: string[] }): Promise<Task> {
    const live = [...this.tasks.values()].filter((t) => t.bot === caller.bot && isLive(t));
    const task = input.id ? this.tasks.get(input.id) : live.length === 1 ? live[0] : undefined;
    if (!task) {
      if (input.id) throw new UserError(`There is no task "${input.id}": call agent_status to see your tasks.`, 'not_found');
      throw new UserError(
        live.length ? `You have ${live.length} live tasks (${live.map((t) => t.id).join(', ')}): say which one with "task".` : 'You have no live task to complete.',
        live.length ? 'invalid' : 'not_found',
      );
    }
    checkMayCompleteTask(caller, task);
    if (!isLive(task)) throw new UserError(`Task "${task.id}" already ended (${task.status}); nothing was changed.`, 'conflict');
    const keep = input.keep ?? [];
    if (keep.length && task.kind !== 'spawn') throw new UserError('"keep" is for task agents, whose memory is cleaned up; your notes stay yours anyway.');
    for (const path of keep) await this.memory.read(caller, caller.bot, path);
    return this.finish(task.id, { status: input.outcome ?? 'done', result: input.result }, caller.bot, keep);
  }

  async cancel(caller: Caller, id: string): Promise<Task> {
    const task = this.require(caller, id);
    checkMayCancelTask(caller, task, this.isAncestor(caller.bot, task));
    if (!isLive(task)) throw new UserError(`Task "${task.id}" already ended (${task.status}); nothing was changed.`, 'conflict');
    // Ended first, so the run's own end (e.g. the killed process exiting) is not taken for the outcome.
    const ended = await this.finish(task.id, { status: 'cancelled', error: `cancelled by ${caller.bot}` }, caller.bot);
    await this.stopRun(task);
    return ended;
  }

  /**
   * Ends a live task once: records the end, reports it to the parent, cleans up a spawned agent.
   * Others see the task ended only once it has been reported, so its status and the parent's inbox agree.
   */
  private async finish(id: string, end: RunEnd | { status: 'expired'; error: string }, by: string, keep: string[] = []): Promise<Task> {
    return this.locks.run(id, async () => {
      const current = this.tasks.get(id)!;
      if (!isLive(current)) throw new UserError(`Task "${id}" already ended (${current.status}); nothing was changed.`, 'conflict');
      const task: Task = { ...current, status: end.status, ended: new Date().toISOString() };
      if ('result' in end && end.result !== undefined) task.result = end.result.slice(0, RESULT_CHARS);
      if (end.error) task.error = end.error;
      if (keep.length) task.kept = keep;
      await this.save(task, by, `${task.id} ${task.status}`);
      await this.settle(task);
      this.remember(task);
      this.events.emitActivity({ kind: 'task.end', bot: task.bot, by, detail: { task: task.id, status: task.status } });
      this.ended.emit('end', { ...task });
      return { ...task };
    });
  }

  /** Cleans up after a spawned agent and reports an ended task to its parent; safe to repeat. */
  private async settle(task: Task): Promise<void> {
    // First the cleanup, so the report can say which notes did not fit into the parent's memory.
    if (task.kind === 'spawn' && !task.cleaned) {
      await this.cleanUp(task);
      task.cleaned = true;
    }
    if (!task.reported) {
      try {
        const sent = await this.mail.send(callerOf({ id: task.bot, kind: 'task' }), {
          to: [task.parent],
          subject: `Task ${task.id} ${task.status}: ${firstLine(task.text)}`,
          body: reportOf(task),
          idempotency_key: `${task.id}-end`,
        });
        task.reported = sent.id;
      } catch (error) {
        logError(`the end of task ${task.id} could not be reported to ${task.parent}: ${(error as Error).message}`);
      }
    }
    await this.save(task, task.parent, `settle ${task.id}`);
  }

  /**
   * Archives, keeps or deletes a spawned agent's memory (kept notes always go to the parent), then
   * retires it. Archiving moves the notes within the quota the agent and its parent share; a copy that
   * does not fit (a kept note whose original stays, or a note over the size limit) is not made, and the
   * note stays in the agent's memory, listed in `left` for the report.
   */
  private async cleanUp(task: Task): Promise<void> {
    const self = callerOf({ id: task.bot, kind: 'task' });
    const notes = (await this.memory.list(self, task.bot, '', true)).notes.map((n) => n.path);
    const copied = task.cleanup === 'archive' ? notes : (task.kept ?? []).filter((p) => notes.includes(p));
    const left: string[] = [];
    for (const path of copied) {
      await this.memory
        .copyNote(task.bot, path, task.parent, `tasks/${task.bot}/${path}`, task.cleanup !== 'keep', `archive ${task.bot}/${path}`)
        .catch((error: unknown) => {
          if (!(error instanceof UserError)) throw error;
          left.push(path);
        });
    }
    if (left.length) task.left = left;
    if (task.cleanup === 'delete') {
      for (const path of notes.filter((p) => !copied.includes(p))) await this.memory.remove(self, path, undefined, 'roost').catch(logError);
    }
    if (this.registry.get(task.bot)?.status === 'active') {
      await this.registry.update(task.bot, { status: 'retired' }, task.parent, `retire task agent ${task.bot}`, 'roost');
    }
    await this.tokens.revoke(task.bot);
  }

  // ---- watching ------------------------------------------------------------------------

  /** Waits on a live task's run until it ends (the runtime reports it), the task ends otherwise, or Roost closes. */
  private async watch(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (!task?.run || task.runtime === 'none') return;
    let runtime;
    try {
      runtime = this.runtimes.get(task.runtime);
    } catch (error) {
      return logError(`task ${id} runs on ${task.runtime}, which is not configured now: ${(error as Error).message}`);
    }
    const signal = this.stopping.signal;
    while (!signal.aborted && isLive(this.tasks.get(id)!)) {
      const left = Date.parse(task.deadline) - Date.now();
      const end = await runtime.wait(task.run, Math.max(1, Math.min(WAIT_SLICE_MS, left)), signal).catch((error: Error) => {
        logError(`waiting on task ${id}: ${error.message}`);
        return null;
      });
      if (end && !signal.aborted) await this.finish(id, end, task.bot).catch(ignoreEnded);
      if (left <= 0) await new Promise((r) => setTimeout(r, REAP_EVERY_MS));
    }
  }

  /** Ends the live tasks past their deadline and tells their parents. */
  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      const now = Date.now();
      for (const task of [...this.tasks.values()]) {
        if (task.status !== 'running' || Date.parse(task.deadline) > now) continue;
        await this.finish(task.id, { status: 'expired', error: `it passed its deadline ${task.deadline}` }, 'roost').catch(ignoreEnded);
        await this.stopRun(task);
      }
    } finally {
      this.reaping = false;
    }
  }

  private async stopRun(task: Task): Promise<void> {
    if (!task.run || task.runtime === 'none') return;
    try {
      await this.runtimes.get(task.runtime).cancel(task.run);
    } catch (error) {
      logError(`stopping the run of task ${task.id}: ${(error as Error).message}`);
    }
  }

  /** Resolves when the task ends, or with its state so far when `signal` aborts; reports progress meanwhile. */
  async waitFor(id: string, signal: AbortSignal, progress: (task: Task, elapsedMs: number) => Promise<void>, everyMs = 5_000): Promise<Task> {
    const started = Date.now();
    while (isLive(this.tasks.get(id)!) && !signal.aborted) {
      const ended = new Promise<void>((resolve) => {
        const done = (task: Task) => task.id === id && finish();
        const finish = () => {
          clearTimeout(timer);
          this.ended.off('end', done);
          signal.removeEventListener('abort', finish);
          resolve();
        };
        const timer = setTimeout(finish, everyMs);
        this.ended.on('end', done);
        signal.addEventListener('abort', finish, { once: true });
      });
      await ended;
      const task = this.tasks.get(id)!;
      if (isLive(task)) await progress({ ...task }, Date.now() - started).catch(() => undefined);
    }
    return { ...this.tasks.get(id)! };
  }

  // ---- viewing -------------------------------------------------------------------------

  /** A task by id, or a bot's latest task; visible to its parent, its worker, their ancestors, main and the operator. */
  require(caller: Caller, id: string): Task {
    const task = this.tasks.get(id) ?? this.latestOf(id);
    if (!task) throw new UserError(`There is no task or task agent "${id}": call list_agents to see yours.`, 'not_found');
    if (!this.mayView(caller, task)) throw new UserError(`Task "${task.id}" is not yours to see.`, 'forbidden');
    return { ...task };
  }

  /** The caller's tasks as a tree (what it asked for, and what those agents asked for); everything for main and the operator. */
  tree(caller: Caller, options: { live?: boolean } = {}): TaskNode[] {
    const all = [...this.tasks.values()].filter((t) => !options.live || isLive(t));
    const node = (task: Task): TaskNode => ({
      ...task,
      ...this.activityOf(task),
      children: task.kind === 'spawn' ? all.filter((c) => c.parent === task.bot).sort(byCreated).map(node) : [],
    });
    const roots = seesAllTasks(caller) ? all.filter((t) => !this.tasks.has(t.parent)) : all.filter((t) => t.parent === caller.bot);
    return roots.sort(byCreated).map(node);
  }

  /** The live tasks `bot` works on, and the ended tasks it asked for, newest first. */
  ofBot(bot: string): { working: Task[]; asked: Task[] } {
    const newest = (a: Task, b: Task) => (b.ended ?? b.created).localeCompare(a.ended ?? a.created);
    const all = [...this.tasks.values()];
    return {
      working: all.filter((t) => t.bot === bot && isLive(t)).sort(newest),
      asked: all.filter((t) => t.parent === bot && !isLive(t)).sort(newest),
    };
  }

  lastActivity(task: Task): string | undefined {
    return this.activityOf(task).last_activity;
  }

  private activityOf(task: Task): { last_activity?: string } {
    const seen = this.registry.presenceOf(task.bot).lastSeen;
    const times = [seen, task.started, task.ended].filter((t): t is string => !!t).sort();
    return times.length ? { last_activity: times.at(-1) } : {};
  }

  private mayView(caller: Caller, task: Task): boolean {
    return mayViewTask(caller, task, this.isAncestor(caller.bot, task));
  }

  /** True when `bot` asked, directly or through its task agents, for `task`. */
  private isAncestor(bot: string, task: Task): boolean {
    let parent = this.tasks.get(task.parent);
    for (let hops = 0; parent && hops < 100; hops++) {
      if (parent.parent === bot) return true;
      parent = this.tasks.get(parent.parent);
    }
    return false;
  }

  private latestOf(bot: string): Task | undefined {
    return [...this.tasks.values()].filter((t) => t.bot === bot).sort(byCreated).at(-1);
  }

  // ---- rules ---------------------------------------------------------------------------

  private requireBot(caller: Caller): Bot {
    const bot = this.registry.get(caller.bot);
    if (!bot) throw new UserError('Tasks are asked for by a bot: connect as one (the operator token with the X-Roost-Bot header acts as any bot).', 'forbidden');
    return bot;
  }

  /**
   * How the brief tells the agent to hand in its result. On OpenClaw only Roost's plugin gives a task
   * agent Roost's tools as itself: without it, its calls would act as the bot of the agent that runs it.
   */
  private async endingOf(task: Task, agent: string | undefined): Promise<string> {
    if (task.runtime !== 'openclaw') return `When you are done, call complete_task with your result (it goes to ${task.parent}).`;
    const reported = `your final reply is reported to ${task.parent}`;
    const tool = agent ? await this.runtimes.openclaw?.completeTaskTool(agent) : undefined;
    if (tool) {
      return `When you are done, call ${tool} with your result (it goes to ${task.parent}); if you have no tool of that name, answer with your result instead: ${reported}.`;
    }
    return `When you are done, answer with your result: ${reported}.`;
  }

  private checkQuota(parent: string): void {
    const live = [...this.tasks.values()].filter(isLive);
    const mine = live.filter((t) => t.parent === parent).length;
    if (mine >= this.limits.maxChildren) {
      throw new UserError(`You already have ${mine} live tasks, the most one bot may have: wait for one to end, or cancel one (list_agents, cancel_agent).`, 'rate_limited');
    }
    // A standing bot and its task agents share one allowance of live tasks, so nesting cannot take the slots of others.
    const root = this.registry.rootOf(parent);
    const tree = live.filter((t) => this.registry.rootOf(t.parent) === root).length;
    if (tree >= this.limits.maxLivePerTree) {
      const whose = root === parent ? 'You and your task agents' : `${root} and its task agents, you among them,`;
      throw new UserError(
        `${whose} already have ${tree} live tasks, the most one bot's tree may have: wait for some to end, or cancel some (list_agents, cancel_agent).`,
        'rate_limited',
      );
    }
    if (live.length >= this.limits.maxLive) {
      throw new UserError(`Roost already runs ${live.length} live tasks, its limit: try again when some have ended.`, 'rate_limited');
    }
  }

  private depthOf(bot: string): number {
    const own = this.tasks.get(bot);
    return own?.kind === 'spawn' ? own.depth : 0;
  }

  /** `30s`, `15m`, `2h`, `1d`, or an ISO time; within the limits. */
  private deadlineOf(input: string | undefined): string {
    const now = Date.now();
    let at: number;
    if (input === undefined) at = now + this.limits.defaultDeadlineMs;
    else {
      const duration = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(input.trim());
      at = duration ? now + Number(duration[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 's']! : Date.parse(input);
      if (Number.isNaN(at)) throw new UserError(`deadline "${input}" is neither a duration (30s, 15m, 2h, 1d) nor an ISO time.`);
    }
    if (at <= now) throw new UserError(`deadline "${input}" is already past: give a time in the future.`);
    if (at - now > this.limits.maxDeadlineMs) {
      throw new UserError(`deadline "${input}" is further away than the ${this.limits.maxDeadlineMs / 86_400_000}-day limit: give a nearer one.`);
    }
    return new Date(at).toISOString();
  }

  private newId(base: string): string {
    const stem = base.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+/, '').slice(0, 40) || 'task';
    for (;;) {
      const id = `${stem}-${randomBytes(3).toString('hex')}`;
      if (!this.tasks.has(id) && !this.registry.get(id)) return id;
    }
  }

  // ---- files ---------------------------------------------------------------------------

  /** Keeps a task's latest state, and tells the sessions where a spawned agent works and whether it still may. */
  private remember(task: Task): void {
    this.tasks.set(task.id, task);
    if (task.kind === 'spawn' && task.run?.session) this.sessions.track(task.bot, task.run.session, isLive(task), task.status);
  }

  private save(task: Task, by: string, summary: string): Promise<void> {
    return this.files.save(task, by, summary);
  }

  /** Removes what a refused spawn made: the agent's note, token, registry entry and task file. */
  private async undoSpawn(task: Task, by: string): Promise<void> {
    this.tasks.delete(task.id);
    this.sessions.forget(task.bot);
    const steps = [
      () => this.memory.remove(callerOf({ id: task.bot, kind: 'task' }), 'TASK.md', undefined, 'roost'),
      () => this.memory.forgetEmptyBot(task.bot),
      () => this.tokens.revoke(task.bot),
      () => this.registry.remove(task.bot, by),
      () => this.files.remove(task, by, `undo spawn ${task.id}`),
    ];
    for (const step of steps) await step().catch((error: Error) => (error instanceof UserError ? undefined : logError(error.message)));
  }
}

function briefOf(task: Task, role: string | undefined, ending: string): string {
  return [
    `You are ${task.bot}, a task agent started by ${task.parent} through Roost.`,
    role ? `\nYour role:\n${role.trim()}` : '',
    `\nYour task:\n${task.text.trim()}`,
    `\nDeadline: ${task.deadline}. ${ending}`,
  ]
    .filter(Boolean)
    .join('\n')
    .concat('\n');
}

function reportOf(task: Task): string {
  const result = task.result ?? '';
  const kept = (task.kept ?? []).filter((p) => !task.left?.includes(p));
  const shown = result.length > REPORTED_RESULT_CHARS ? `${result.slice(0, REPORTED_RESULT_CHARS)}\n\n[cut: the whole result is in tasks/${task.id}.md]` : result;
  const lines = [
    shown || (task.error ? '' : '(no result text)'),
    task.error ? `Why: ${task.error}` : '',
    '',
    '---',
    `Task ${task.id} (${task.kind === 'spawn' ? 'task agent' : 'assigned to'} ${task.bot}) ${task.status} at ${task.ended}.`,
    kept.length ? `Kept notes, now in your memory: ${kept.map((p) => `tasks/${task.bot}/${p}`).join(', ')}.` : '',
    task.kind === 'spawn' && task.cleanup === 'archive' ? `Its memory is archived in your memory under tasks/${task.bot}/.` : '',
    task.left?.length
      ? `Not copied into your memory, as they did not fit (its quota, which your task agents share, or the size limit of a note): ${task.left.join(', ')}. They stay in ${task.bot}'s memory.`
      : '',
  ];
  return lines.filter((line, i) => line !== '' || i === 2).join('\n').trim();
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(bot|task|parent)\}/g, (_, key: string) => values[key]);
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

function byCreated(a: Task, b: Task): number {
  return a.created.localeCompare(b.created);
}

/** A task that ended meanwhile (another path finished it first) is no error for the one that came second. */
function ignoreEnded(error: unknown): void {
  if (!(error instanceof UserError && error.code === 'conflict')) logError(error);
}

function logError(error: unknown): void {
  console.error('roost:', error instanceof Error ? error.message : error);
}
