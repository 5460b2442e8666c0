import { promises as fs } from 'node:fs';
import type { RunRef, RuntimeName } from '../agent-runtime.js';
import type { History } from '../history.js';
import { parseNote, serializeNote, stringOf } from '../notes.js';
import { isId } from '../paths.js';
import { isMissing, type Vault } from '../vault.js';

export type TaskStatus = 'starting' | 'running' | 'done' | 'failed' | 'expired' | 'cancelled';
export type Cleanup = 'archive' | 'keep' | 'delete';
export const CLEANUPS: Cleanup[] = ['archive', 'keep', 'delete'];

/** A piece of work one bot asked of another: a new task agent (`spawn`) or an existing bot (`assign`). */
export interface Task {
  id: string;
  kind: 'spawn' | 'assign';
  /** Who does the work. */
  bot: string;
  /** Who asked, and gets the result. */
  parent: string;
  text: string;
  status: TaskStatus;
  runtime: RuntimeName;
  run?: RunRef;
  topic?: string;
  deadline: string;
  /** What happens to a spawned agent's memory when its task ends. */
  cleanup: Cleanup;
  /** 1 for a task of a standing bot, one more for each task agent above it. */
  depth: number;
  created: string;
  started?: string;
  ended?: string;
  result?: string;
  error?: string;
  /** Notes the agent asked to keep, copied into the parent's memory. */
  kept?: string[];
  /** Notes that were to be copied into the parent's memory but did not fit: they stay in the agent's. */
  left?: string[];
  /** The message in the parent's inbox that reported the end. */
  reported?: string;
  /** True once a spawned agent's memory was cleaned up and its token revoked. */
  cleaned?: boolean;
}

const LIVE: TaskStatus[] = ['starting', 'running'];

export function isLive(task: Task): boolean {
  return LIVE.includes(task.status);
}

/** The task files: `tasks/<id>.md`, its state in the frontmatter and the task in the body. */
export class TaskFiles {
  constructor(
    private readonly vault: Vault,
    private readonly history: Pick<History, 'settle'>,
  ) {}

  /** Every task on disk; a file that is not a task (broken, or ids that are not ids) is left out. */
  async readAll(): Promise<Task[]> {
    const tasks: Task[] = [];
    for (const file of await listTaskFiles(this.vault.abs('tasks'))) {
      const text = await this.vault.read(`tasks/${file}`);
      const task = text === null ? null : taskFromText(text);
      if (task) tasks.push(task);
    }
    return tasks;
  }

  async save(task: Task, by: string, summary: string): Promise<void> {
    const file = `tasks/${task.id}.md`;
    await this.history.settle(file);
    await this.vault.write(file, taskToText(task), { author: by, summary });
  }

  async remove(task: Task, by: string, summary: string): Promise<void> {
    await this.vault.remove(`tasks/${task.id}.md`, 'tasks', { author: by, summary });
  }
}

const FIELDS = ['id', 'kind', 'bot', 'parent', 'status', 'runtime', 'topic', 'deadline', 'cleanup', 'depth', 'created', 'started', 'ended', 'result', 'error', 'kept', 'left', 'reported', 'cleaned'] as const;

function taskToText(task: Task): string {
  const frontmatter: Record<string, unknown> = {};
  for (const key of FIELDS) frontmatter[key] = task[key];
  if (task.run) {
    frontmatter.run_id = task.run.runId;
    frontmatter.session = task.run.session;
    frontmatter.pid = task.run.pid;
  }
  return serializeNote(frontmatter, `${task.text.trim()}\n`);
}

function taskFromText(text: string): Task | null {
  const { frontmatter: fm, body, problem } = parseNote(text);
  // The ids name files (the task's, the agent's memory and mail): a task file written by hand with other ids is not a task.
  if (problem || !isId(fm.id) || !isId(fm.bot) || !isId(fm.parent)) return null;
  const runId = stringOf(fm.run_id);
  const optional = (key: string) => (stringOf(fm[key]) ? { [key]: stringOf(fm[key]) } : {});
  return {
    id: stringOf(fm.id),
    kind: fm.kind === 'assign' ? 'assign' : 'spawn',
    bot: stringOf(fm.bot),
    parent: stringOf(fm.parent),
    text: body.trim(),
    status: stringOf(fm.status) as TaskStatus,
    runtime: stringOf(fm.runtime) as RuntimeName,
    ...(runId
      ? {
          run: {
            runtime: stringOf(fm.runtime) as RuntimeName,
            runId,
            ...optional('session'),
            ...(typeof fm.pid === 'number' ? { pid: fm.pid } : {}),
          },
        }
      : {}),
    ...optional('topic'),
    deadline: stringOf(fm.deadline),
    cleanup: (stringOf(fm.cleanup) || 'archive') as Cleanup,
    depth: typeof fm.depth === 'number' ? fm.depth : 1,
    created: stringOf(fm.created),
    ...optional('started'),
    ...optional('ended'),
    ...optional('result'),
    ...optional('error'),
    ...(Array.isArray(fm.kept) ? { kept: fm.kept.map(String) } : {}),
    ...(Array.isArray(fm.left) ? { left: fm.left.map(String) } : {}),
    ...optional('reported'),
    ...(fm.cleaned === true ? { cleaned: true } : {}),
  } as Task;
}

async function listTaskFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((f) => f.endsWith('.md') && !f.startsWith('.')).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}
