import { createHash } from 'node:crypto';
import { type CreateNodeOptions, type DocumentOptions, type ParseOptions, parseDocument, type SchemaOptions, stringify, type ToStringOptions } from 'yaml';
import { UserError } from './errors.js';
import type { Visibility } from './model.js';

/** Frontmatter keys the server owns; every other key is kept as written. */
export interface OwnedFrontmatter {
  title?: string;
  tags?: string[];
  type?: string;
  created?: string;
  updated?: string;
  visibility?: Visibility;
  source?: string;
}

export interface ParsedNote {
  frontmatter: Record<string, unknown>;
  body: string;
  /** Set when the frontmatter could not be read: the whole text is then treated as the body. */
  problem?: string;
}

/** The frontmatter (its opening `---` line included) is at most this many bytes… */
export const MAX_FRONTMATTER_BYTES = 64 * 1024;
/** …and its values at most this big once YAML aliases are expanded (bytes of text, about). */
const MAX_EXPANDED = MAX_FRONTMATTER_BYTES;
/** How deep values may nest. */
const MAX_DEPTH = 64;
/** How often one anchor may be used, counting the uses inside what it names (yaml's own measure). */
const MAX_ALIAS_COUNT = 100;

// YAML 1.2's core schema only: no timestamps or other types beyond JSON's, nothing that runs.
// Duplicate keys: the last one counts (yaml's uniqueness check is quadratic in the keys).
const READ: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: 'core',
  resolveKnownTags: false,
  merge: false,
  stringKeys: true,
  uniqueKeys: false,
  prettyErrors: false,
  logLevel: 'error',
};
const WRITE: CreateNodeOptions & ToStringOptions & DocumentOptions & SchemaOptions = { schema: 'core', aliasDuplicateObjects: false, lineWidth: 0 };

/** `---` alone on the first line, then a later line `---` (trailing spaces and a CR allowed on both). */
const OPENING = /^---[ \t]*\r?\n/;
const CLOSING = /\n---[ \t]*\r?(?:\n|$)/;

export function contentVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The frontmatter block that opens `text`: its YAML (from the opening line to the closing one) and its whole length. */
function findBlock(text: string): { yaml: string; length: number } | null {
  const opening = OPENING.exec(text);
  if (!opening) return null;
  const from = opening[0].length - 1;
  const closing = CLOSING.exec(text.slice(from));
  if (!closing) return null;
  return { yaml: text.slice(0, from + closing.index + 1), length: from + closing.index + closing[0].length };
}

/** Length of the frontmatter block that opens `text`, through its closing line; 0 when there is none. */
export function frontmatterLength(text: string): number {
  return findBlock(text)?.length ?? 0;
}

export function parseNote(text: string): ParsedNote {
  const block = findBlock(text);
  if (!block) return { frontmatter: {}, body: text };
  const read = readFrontmatter(block.yaml);
  if (typeof read === 'string') return { frontmatter: {}, body: text, problem: `broken frontmatter: ${read}` };
  return { frontmatter: read, body: text.slice(block.length) };
}

/** The text after the frontmatter block, without parsing the YAML: for snippets, where the parse cost more than the search. */
export function bodyOf(text: string): string {
  return text.slice(frontmatterLength(text));
}

/**
 * A block's values, or what is wrong with it (the end of a sentence). The YAML is read with its
 * opening `---` line (a document start to YAML), so its line numbers are the note's.
 */
function readFrontmatter(yaml: string): Record<string, unknown> | string {
  const bytes = Buffer.byteLength(yaml);
  if (bytes > MAX_FRONTMATTER_BYTES) return `it is ${bytes} bytes, more than the ${MAX_FRONTMATTER_BYTES} allowed; move long text into the body.`;
  const doc = parseDocument(yaml, READ);
  const error = doc.errors[0];
  if (error) {
    const line = yaml.slice(0, error.pos[0]).split('\n').length;
    if (error.code === 'MULTIPLE_DOCS') return `it holds a second YAML document from line ${line}; keep one block of "key: value" lines.`;
    return `line ${line} is not valid YAML (${reason(error.message)}); correct it, or remove the block.`;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return `its YAML aliases could not be expanded (${reason((error as Error).message)}); write the values out instead.`;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    return `it is ${Array.isArray(value) ? 'a list' : 'a single value'}, not "key: value" lines; write one "key: value" per line.`;
  }
  const shape = shapeOf(value);
  if (shape === 'deep') return `it nests more than ${MAX_DEPTH} levels deep; flatten it.`;
  if (shape === 'big') return `with its YAML aliases expanded it is more than ${MAX_EXPANDED} bytes; write the values out once, or move long text into the body.`;
  return value as Record<string, unknown>;
}

/**
 * Whether `value` nests too deep or is too big (with aliases expanded) for frontmatter. The walk
 * stops as soon as it knows, so a value whose aliases repeat the same parts costs little. Its
 * measure never exceeds the bytes of the YAML Roost writes for a value.
 */
function shapeOf(value: unknown): 'deep' | 'big' | 'ok' {
  let size = 0;
  let deepest = 0;
  const walk = (v: unknown, depth: number): void => {
    if (size > MAX_EXPANDED || deepest > MAX_DEPTH) return;
    deepest = Math.max(deepest, depth);
    size += 1;
    if (typeof v === 'string') size += v.length;
    else if (Array.isArray(v)) for (const item of v) walk(item, depth + 1);
    else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        size += key.length;
        walk(item, depth + 1);
      }
    }
  };
  walk(value, 0);
  return deepest > MAX_DEPTH ? 'deep' : size > MAX_EXPANDED ? 'big' : 'ok';
}

/** A parser's message as part of a sentence: one line, no closing punctuation. */
function reason(message: string): string {
  return message.split('\n')[0].replace(/[\s.:;,]+$/, '');
}

/**
 * The note's text: the frontmatter as YAML that `parseNote` reads back as given, then the body
 * byte for byte. No block when there are no keys, unless the body could be taken for one.
 */
export function serializeNote(frontmatter: Record<string, unknown>, body: string): string {
  // fromEntries, not assignment: a key "__proto__" stays a key.
  const clean = Object.fromEntries(Object.entries(frontmatter).filter(([, value]) => value !== undefined));
  if (Object.keys(clean).length === 0 && !OPENING.test(body)) return body;
  const shape = shapeOf(clean);
  if (shape === 'deep') throw new UserError(`The frontmatter nests more than ${MAX_DEPTH} levels deep: flatten it.`);
  const block = shape === 'ok' ? `---\n${Object.keys(clean).length ? stringify(clean, WRITE) : ''}---\n` : '';
  if (shape === 'big' || Buffer.byteLength(block) > MAX_FRONTMATTER_BYTES) {
    throw new UserError(`The frontmatter is more than ${MAX_FRONTMATTER_BYTES} bytes of YAML: move long text into the body.`, 'too_large');
  }
  return `${block}${body}`;
}

export function titleOf(frontmatter: Record<string, unknown>, body: string, path: string): string {
  if (typeof frontmatter.title === 'string' && frontmatter.title.trim()) return frontmatter.title.trim();
  const heading = /^#\s+(.+)$/m.exec(body);
  if (heading) return heading[1].trim();
  return (path.split('/').pop() ?? path).replace(/\.md$/, '');
}

export function tagsOf(frontmatter: Record<string, unknown>): string[] {
  const raw = frontmatter.tags;
  if (Array.isArray(raw)) return raw.filter((t) => typeof t === 'string' || typeof t === 'number').map(String);
  if (typeof raw === 'string') return raw.split(/[,\s]+/).filter(Boolean);
  return [];
}

export function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}
