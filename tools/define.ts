import type { z } from 'zod';
import type { Caller } from '../src/core/access.js';
import type { Roost } from '../src/core/roost.js';

/** `readOnly` changes nothing; `action` adds or changes data; `destructive` may remove data. */
export type ToolType = 'readOnly' | 'action' | 'destructive';

export const TOOLSETS = ['memory', 'registry', 'messaging', 'topics', 'spawn', 'admin'] as const;
export type Toolset = (typeof TOOLSETS)[number];

export interface ToolContext {
  roost: Roost;
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

export const mainOrOperator = (caller: Caller) => caller.operator || caller.kind === 'main';
