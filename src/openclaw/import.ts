import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { NEW_NOTE } from '../core/memory.js';
import { parseNote, serializeNote } from '../core/notes.js';
import { checkNotePath } from '../core/paths.js';
import type { Roost } from '../core/roost.js';

export interface ImportReport {
  bot: string;
  /** Note paths written, each from the workspace file of the same name (daily files into journal/). */
  brought: Array<{ file: string; note: string }>;
  /** Workspace files left out, and why. */
  skipped: Array<{ file: string; reason: string }>;
}

/** How many Markdown files one import reads at most; the rest are reported as skipped. */
const MAX_FILES = 10_000;
const MAX_DEPTH = 16;
/** Folders an agent's workspace holds that are not its memory. */
const SKIPPED_FOLDERS = new Set(['node_modules']);
const DAILY = /^memory\/(\d{4}-\d{2}-\d{2})\.md$/;

/**
 * `roost import openclaw <workspace> --bot <id>`: an OpenClaw agent's memory into its bot's: MEMORY.md,
 * the daily files `memory/YYYY-MM-DD.md` into `journal/YYYY-MM-DD.md`, and every other Markdown file
 * under its own path, each dated as the original (the daily file's date, else the file's time). It
 * never replaces a note that exists. The workspace is untrusted: links are not followed, files
 * larger than a note may be are not read, paths go through the note path rule, and a file whose
 * frontmatter is broken comes in as it is. The writes are the bot's, through the memory's write
 * path; the caller commits them at once (one commit).
 */
export async function importOpenClaw(roost: Roost, workspace: string, bot: string): Promise<ImportReport> {
  const known = roost.registry.get(bot);
  if (!known || known.status !== 'active') throw new UserError(`There is no active bot "${bot}": \`roost bots\` lists them.`);
  const root = path.resolve(workspace);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat?.isDirectory()) throw new UserError(`${root} is not a folder: give the agent's workspace (where its MEMORY.md is).`);

  const report: ImportReport = { bot, brought: [], skipped: [] };
  const files: string[] = [];
  await walk(root, '', 0, files, report);
  for (const file of files.sort()) {
    try {
      const note = checkNotePath(DAILY.test(file) ? file.replace(DAILY, 'journal/$1.md') : file);
      const text = await readBounded(path.join(root, file), roost.memory.limits.maxNoteBytes);
      const date = DAILY.exec(file)?.[1];
      const when = date ? `${date}T00:00:00.000Z` : text.mtime;
      await roost.memory.writeWith(bot, note, () => dated(text.content, when, file), `import ${file} from OpenClaw`, NEW_NOTE, 'roost');
      report.brought.push({ file, note });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      report.skipped.push({ file, reason: error.code === 'conflict' ? 'a note of that name exists' : error.message });
    }
  }
  return report;
}

async function walk(root: string, dir: string, depth: number, files: string[], report: ImportReport): Promise<void> {
  const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) {
      if (entry.name.endsWith('.md')) report.skipped.push({ file: relative, reason: 'a link: links are not followed' });
    } else if (entry.isDirectory()) {
      if (entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name)) continue;
      if (depth >= MAX_DEPTH) report.skipped.push({ file: relative, reason: `deeper than ${MAX_DEPTH} folders` });
      else await walk(root, relative, depth + 1, files, report);
    } else if (entry.isFile() && entry.name.endsWith('.md')) {
      if (files.length < MAX_FILES) files.push(relative);
      else report.skipped.push({ file: relative, reason: `more than ${MAX_FILES} files in one import` });
    }
  }
}

/** A regular file's text, without following a link and without reading more than `max` bytes. */
async function readBounded(file: string, max: number): Promise<{ content: string; mtime: string }> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(error.code === 'ELOOP' ? 'a link: links are not followed' : `it cannot be read (${error.code})`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UserError('not a regular file');
    if (stat.size > max) throw new UserError(`${stat.size} bytes: larger than a note may be (${max})`);
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(buffer, 0, stat.size, 0);
    return { content: buffer.subarray(0, bytesRead).toString('utf8'), mtime: stat.mtime.toISOString() };
  } finally {
    await handle.close();
  }
}

/** The file's text with its dates and source in the frontmatter; a file whose frontmatter is broken comes in byte for byte. */
function dated(text: string, when: string, file: string): string {
  const parsed = parseNote(text);
  if (parsed.problem) return text;
  const { created, updated, source } = parsed.frontmatter;
  return serializeNote({ ...parsed.frontmatter, created: created ?? when, updated: updated ?? when, source: source ?? `openclaw:${file}` }, parsed.body);
}
