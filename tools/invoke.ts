import { z } from 'zod';
import { messageWithin, UserError } from '../src/core/errors.js';
import { annotationsOf, type Tool, type ToolContext } from './define.js';

/** A tool as clients list it: what MCP's tools/list answers and the OpenClaw plugin offers. */
export interface ToolListing {
  name: string;
  title: string;
  description: string;
  /** JSON Schema (draft 7) of the arguments. */
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  annotations: ReturnType<typeof annotationsOf>;
  execution: { taskSupport: 'forbidden' };
}

export type ToolOutcome =
  | { ok: true; output: Record<string, unknown> }
  /** `internal`: not the caller's doing (logged; the caller may try again). */
  | { ok: false; code: UserError['code'] | 'internal'; message: string };

/** Each tool's parsers and listing, built once and shared by every session and request. */
interface Compiled {
  input: z.ZodObject;
  output: z.ZodObject;
  listing: ToolListing;
}
const compiled = new Map<Tool, Compiled>();

function compile(tool: Tool): Compiled {
  let entry = compiled.get(tool);
  if (!entry) {
    const input = z.strictObject(tool.input);
    const output = z.object(tool.output);
    entry = {
      input,
      output,
      listing: {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: z.toJSONSchema(input, { target: 'draft-7', io: 'input' }) as Record<string, unknown>,
        outputSchema: z.toJSONSchema(output, { target: 'draft-7', io: 'output' }) as Record<string, unknown>,
        annotations: annotationsOf(tool),
        execution: { taskSupport: 'forbidden' },
      },
    };
    compiled.set(tool, entry);
  }
  return entry;
}

export function listingOf(tool: Tool): ToolListing {
  return compile(tool).listing;
}

/**
 * The one way a tool runs, for MCP and the console's REST alike: validate the arguments, run the
 * handler as the caller, and turn a failure into a sentence the caller can act on. Which tools a
 * caller may run at all is `toolsFor`'s to say, before this.
 */
export async function invokeTool(tool: Tool, args: unknown, context: ToolContext): Promise<ToolOutcome> {
  const { input, output } = compile(tool);
  const parsed = input.safeParse(args ?? {}, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, code: 'invalid', message: `Invalid arguments for ${tool.name}: ${parsed.error.issues.map(describeIssue).join(' ')} Fix them and call again; nothing was changed.` };
  }
  context.roost.registry.touch(context.caller.bot);
  try {
    const result = (await tool.handler(parsed.data as never, context)) as Record<string, unknown>;
    const checked = output.safeParse(result);
    if (!checked.success) throw new Error(`its answer does not match its output schema (${checked.error.issues.map(describeIssue).join(' ')})`);
    return { ok: true, output: result };
  } catch (error) {
    if (error instanceof UserError) return { ok: false, code: error.code, message: error.message };
    console.error(`roost: ${tool.name} failed:`, error);
    return {
      ok: false,
      code: 'internal',
      message: `Roost could not complete ${tool.name}: ${messageWithin(context.roost.options.home, error)}. Nothing was acknowledged; try again.`,
    };
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // "to[0]", "frontmatter.owner": the path as the caller wrote the arguments.
  const field = issue.path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i ? `.${String(key)}` : String(key))).join('');
  if (!field) return `${issue.message}.`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `"${field}" is required.`;
  return `${issue.message} at ${field}.`;
}
