import type { z } from 'zod';
import type { Caller } from '../src/core/access.js';
import { DEFAULT_MAIL_LIMITS } from '../src/core/mail.js';
import { DEFAULT_LIMITS } from '../src/core/memory.js';
import type { Roost } from '../src/core/roost.js';

/** `readOnly` changes nothing; `action` adds or changes data; `destructive` may remove data. */
export type ToolType = 'readOnly' | 'action' | 'destructive';

export const TOOLSETS = ['memory', 'registry', 'messaging', 'topics', 'spawn', 'admin'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/**
 * What a tool may use of the engine: its services, and none of its life cycle (opening, closing,
 * watching the data root). Read-only: a tool cannot swap a service.
 */
export type Services = Readonly<
  Pick<Roost, 'options' | 'registry' | 'memory' | 'facts' | 'journal' | 'topics' | 'mail' | 'tasks' | 'sessions' | 'runtimes' | 'tokens' | 'index' | 'vault' | 'events'>
>;

export interface ToolContext {
  roost: Services;
  caller: Caller;
  signal: AbortSignal;
  /** Reports progress to a client that asked for it (no-op otherwise). */
  progress: (progress: number, total?: number, message?: string) => Promise<void>;
}

export interface Tool<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  type: ToolType;
  input: I;
  output: O;
  /** Who may see and call the tool beyond the toolset rules (e.g. only the main bot and the operator). */
  allow?: (caller: Caller) => boolean;
  handler: (args: z.infer<z.ZodObject<I>>, context: ToolContext) => Promise<z.infer<z.ZodObject<O>>>;
}

/** One declaration per tool: its type decides its annotations, so they cannot drift. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: Tool<I, O>): Tool<I, O> {
  return tool;
}

export function annotationsOf(tool: Tool) {
  return {
    title: tool.title,
    readOnlyHint: tool.type === 'readOnly',
    destructiveHint: tool.type === 'destructive',
    idempotentHint: tool.type === 'readOnly',
    openWorldHint: false,
  };
}

/**
 * Caps on the size of what a tool takes: every string and list in every tool's input has one (a test
 * checks that), so no call makes Roost hold, parse or write more than it is for. The exact rules (an
 * id's form, a note's bytes) are core's; these only bound the size, above any legitimate use.
 */
export const CAP = {
  /** Ids, names of topics, keys, versions, cursors, dates, tags: a word or so. */
  id: 200,
  /** Note paths, folders and fact keys (their rule allows 512 and 807 characters). */
  path: 1024,
  /** One line: a title, a subject, a heading, a query, an address, a session key. */
  line: 1000,
  /** A paragraph: the description of a bot or a topic, a source. */
  paragraph: 4000,
  /** A bot's role, in Markdown. */
  role: 64 * 1024,
  /** The text of a note: the size limit of a note. */
  note: DEFAULT_LIMITS.maxNoteBytes,
  /** The body of a message, and a task's brief (an assigned one is sent as a message): the size limit of a message. */
  message: DEFAULT_MAIL_LIMITS.maxBodyBytes,
  /** Items of a list: tags, members, topics, addresses, note paths. */
  list: 1000,
};
