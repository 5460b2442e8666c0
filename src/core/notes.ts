import { createHash } from 'node:crypto';
import matter from 'gray-matter';
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
  /** Set when the frontmatter could not be parsed: the whole text is then treated as the body. */
  problem?: string;
}

export function contentVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function parseNote(text: string): ParsedNote {
  try {
    // Passing options (even empty) turns off gray-matter's unbounded content cache.
    const parsed = matter(text, {});
    const frontmatter = parsed.data && typeof parsed.data === 'object' ? normalizeValues(parsed.data) : {};
    return { frontmatter, body: parsed.content };
  } catch (error) {
    return { frontmatter: {}, body: text, problem: `broken frontmatter: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * The text after the frontmatter block, found without parsing the YAML: for snippets, where the
 * parse cost more than the search. A note whose frontmatter is broken loses the block here too.
 */
export function bodyOf(text: string): string {
  return text.replace(FRONTMATTER_BLOCK, '');
}

const FRONTMATTER_BLOCK = /^---[ \t]*\r?\n(?:[\s\S]*?\r?\n)?---[ \t]*(?:\r?\n|$)/;

export function serializeNote(frontmatter: Record<string, unknown>, body: string): string {
  const keys = Object.keys(frontmatter).filter((k) => frontmatter[k] !== undefined);
  if (keys.length === 0) return body;
  const clean: Record<string, unknown> = {};
  for (const k of keys) clean[k] = frontmatter[k];
  // gray-matter would add a newline to a body without one; the body is the writer's, byte for byte.
  return `${matter.stringify('', clean).replace(/\n+$/, '')}\n${body}`;
}

/** YAML turns bare timestamps into Date objects; keep them as ISO strings. */
function normalizeValues(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) out[key] = normalizeValue(value);
  return out;
}

function normalizeValue(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (value && typeof value === 'object') return normalizeValues(value as Record<string, unknown>);
  return value;
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
