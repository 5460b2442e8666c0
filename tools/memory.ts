import { z } from 'zod';
import { UserError } from '../src/core/errors.js';
import { NEW_NOTE, type Edit } from '../src/core/memory.js';
import { nextOffset, offsetPage } from '../src/core/paging.js';
import { CAP, defineTool } from './define.js';

const path = z.string().max(CAP.path).describe('Note path inside the memory, ending in .md, e.g. "notes/plan.md".');
const otherBot = z.string().max(CAP.id).optional().describe("Another bot's id, to read its shared notes (main bot and operator: any note). Default: your own memory.");
const expectedVersion = z
  .string()
  .max(CAP.id)
  .optional()
  .describe(`The version you last read. The change is refused if the note changed since. "${NEW_NOTE}" = the note must not exist yet.`);
const visibility = z.enum(['private', 'shared']);
const writeResult = {
  bot: z.string(),
  path: z.string(),
  version: z.string().describe('Content hash of the note as written; pass it as expected_version next time.'),
  size: z.number().describe('Bytes on disk.'),
  created: z.boolean(),
};
const noteMeta = z.object({
  bot: z.string(),
  path: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  type: z.string(),
  visibility,
  updated: z.string(),
  size: z.number(),
});
const tags = z.array(z.string().max(CAP.id)).max(CAP.list);
const limit = (max: number, fallback: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(`How many to return, at most ${max}.`);
const offset = z.number().int().min(0).default(0).describe('How many to skip: the next_offset of the page before.');

export const writeNote = defineTool({
  name: 'write_note',
  title: 'Write a note',
  description:
    'Create a note in your memory, or replace its body. Frontmatter you do not pass is kept; "created" and "updated" are set for you. Searchable as soon as this returns.',
  toolset: 'memory',
  type: 'action',
  input: {
    path,
    body: z.string().max(CAP.note).describe('Markdown body (without frontmatter).'),
    title: z.string().max(CAP.line).optional().describe('The note\'s title. Default: its first heading or its file name.'),
    tags: tags.optional().describe('Tags, e.g. ["plan", "zebra"].'),
    type: z.string().max(CAP.id).optional().describe('What kind of note this is, e.g. "decision", "howto".'),
    visibility: visibility.optional().describe('"shared" lets other bots read it. Default: your bot\'s setting.'),
    source: z.string().max(CAP.paragraph).optional().describe('Where the content came from (URL, message id…).'),
    frontmatter: z.record(z.string().max(CAP.id), z.unknown()).optional().describe('Any other frontmatter keys.'),
    expected_version: expectedVersion,
  },
  output: writeResult,
  handler: async (a, { roost, caller }) =>
    roost.memory.write(
      caller,
      a.path,
      a.body,
      { title: a.title, tags: a.tags, type: a.type, visibility: a.visibility, source: a.source, extra: a.frontmatter },
      a.expected_version,
    ),
});

export const editNote = defineTool({
  name: 'edit_note',
  title: 'Edit a note',
  description:
    'Change part of a note: append or prepend text, replace the section under a heading, or replace an exact piece of text. Frontmatter stays; "updated" is set.',
  toolset: 'memory',
  type: 'action',
  input: {
    path,
    operation: z.enum(['append', 'prepend', 'replace_section', 'find_replace']).describe('What to change; each needs the fields named after it below.'),
    text: z.string().max(CAP.note).optional().describe('The text to add (append, prepend) or the new section content (replace_section).'),
    heading: z.string().max(CAP.line).optional().describe('replace_section: the heading whose section is replaced, e.g. "Next steps".'),
    find: z.string().max(CAP.note).optional().describe('find_replace: the exact text to find.'),
    replace: z.string().max(CAP.note).optional().describe('find_replace: what to put instead.'),
    all: z.boolean().optional().describe('find_replace: replace every occurrence (default: it must occur once).'),
    expected_version: expectedVersion,
  },
  output: writeResult,
  handler: async (a, { roost, caller }) => roost.memory.edit(caller, a.path, editOf(a), a.expected_version),
});

function editOf(a: { operation: Edit['op']; text?: string; heading?: string; find?: string; replace?: string; all?: boolean }): Edit {
  const need = (value: string | undefined, name: string) => {
    if (value === undefined) throw new UserError(`The "${a.operation}" operation needs "${name}".`);
    return value;
  };
  switch (a.operation) {
    case 'append':
    case 'prepend':
      return { op: a.operation, text: need(a.text, 'text') };
    case 'replace_section':
      return { op: 'replace_section', heading: need(a.heading, 'heading'), text: need(a.text, 'text') };
    case 'find_replace':
      return { op: 'find_replace', find: need(a.find, 'find'), replace: need(a.replace, 'replace'), all: a.all };
  }
}

export const readNote = defineTool({
  name: 'read_note',
  title: 'Read a note',
  description:
    'Read a note: its size and line count first, its frontmatter, and its body. A big note comes back in chunks: ask for the rest with from_line/to_line.',
  toolset: 'memory',
  type: 'readOnly',
  input: {
    path,
    bot: otherBot,
    from_line: z.number().int().min(1).optional().describe('First body line to return (1-based).'),
    to_line: z.number().int().min(1).optional().describe('Last body line to return.'),
  },
  output: {
    bot: z.string(),
    path: z.string(),
    size: z.number().describe('Bytes of the whole file.'),
    lines: z.number().describe('Lines in the body.'),
    version: z.string(),
    title: z.string(),
    frontmatter: z.record(z.string(), z.unknown()),
    from_line: z.number(),
    to_line: z.number(),
    truncated: z.boolean().describe('True when more lines follow: read on from to_line + 1.'),
    body: z.string(),
    problem: z.string().optional().describe('Set when the frontmatter is broken; the body then holds the whole text.'),
  },
  handler: async (a, { roost, caller }) => {
    if (a.from_line && a.to_line && a.to_line < a.from_line) throw new UserError('to_line is before from_line: swap them.');
    return roost.memory.read(caller, a.bot ?? caller.bot, a.path, { from: a.from_line, to: a.to_line });
  },
});

export const deleteNote = defineTool({
  name: 'delete_note',
  title: 'Delete a note',
  description: 'Delete a note from your memory. Its history stays in git: restore_note brings it back.',
  toolset: 'memory',
  type: 'destructive',
  input: { path, expected_version: expectedVersion },
  output: { bot: z.string(), path: z.string(), deleted_version: z.string() },
  handler: async (a, { roost, caller }) => roost.memory.remove(caller, a.path, a.expected_version),
});

export const moveNote = defineTool({
  name: 'move_note',
  title: 'Move or rename a note',
  description: 'Move or rename a note inside your memory. Refused if the destination exists.',
  toolset: 'memory',
  type: 'action',
  input: { from: path, to: path, expected_version: expectedVersion },
  output: { ...writeResult, from: z.string() },
  handler: async (a, { roost, caller }) => roost.memory.move(caller, a.from, a.to, a.expected_version),
});

export const listNotes = defineTool({
  name: 'list_notes',
  title: 'List notes',
  description: 'List the notes and sub-folders in a folder of a memory (yours by default), paged.',
  toolset: 'memory',
  type: 'readOnly',
  input: {
    bot: otherBot,
    folder: z.string().max(CAP.path).optional().describe('Folder to list, e.g. "notes". Default: the top.'),
    recursive: z.boolean().default(false).describe('Include notes in every sub-folder.'),
    limit: limit(500, 100),
    offset,
  },
  output: {
    bot: z.string(),
    folder: z.string(),
    folders: z.array(z.object({ path: z.string(), notes: z.number() })),
    notes: z.array(noteMeta),
    total: z.number(),
    next_offset: z.number().optional(),
  },
  handler: async (a, { roost, caller }) => {
    const bot = a.bot ?? caller.bot;
    const { folders, notes } = await roost.memory.list(caller, bot, a.folder, a.recursive);
    const page = offsetPage(notes, a.offset, a.limit);
    return {
      bot,
      folder: a.folder ?? '',
      folders,
      notes: page.map(metaOf),
      total: notes.length,
      ...nextOffset(a.offset, a.limit, notes.length),
    };
  },
});

export const searchMemory = defineTool({
  name: 'search_memory',
  title: 'Search memory',
  description:
    'Full-text search with prefix and fuzzy matching (the title counts twice the tags and body; identifiers match whole and by their parts, e.g. cacheDir, "cache dir", cache_dir; case and diacritics do not matter). Each result has a 0–1 relevance, the terms it matched and a snippet of its best passage. scope "own": your notes; "shared": yours plus other bots\' shared notes; "all": everything (main bot and operator). An empty query lists the newest notes matching the filters.',
  toolset: 'memory',
  type: 'readOnly',
  input: {
    query: z.string().max(CAP.line).describe('Words to find; empty lists the newest notes.'),
    scope: z.enum(['own', 'shared', 'all']).default('own').describe('own: your notes; shared: also other bots\' shared notes; all: everything (main bot and operator).'),
    bot: z.string().max(CAP.id).optional().describe('Search only this bot\'s memory (its shared notes unless you read everything).'),
    tags: tags.optional().describe('Only notes with all these tags.'),
    type: z.string().max(CAP.id).optional().describe('Only notes of this type.'),
    updated_after: z.string().max(CAP.id).datetime({ offset: true }).optional().describe('Only notes updated after this ISO time.'),
    updated_before: z.string().max(CAP.id).datetime({ offset: true }).optional().describe('Only notes updated before this ISO time.'),
    prefix: z.boolean().default(true).describe('Let the last letters of a word be missing ("migr" finds "migration").'),
    fuzzy: z.boolean().default(true).describe('Let a word be misspelt by a letter or two.'),
    mode: z
      .enum(['lexical', 'semantic', 'hybrid'])
      .optional()
      .describe('lexical: words; semantic: meaning (nearest note vectors); hybrid: both, fused by rank. Default: hybrid when the server has an embedding provider, else lexical.'),
    limit: limit(100, 10),
    offset,
  },
  output: {
    total: z.number(),
    mode: z.enum(['lexical', 'semantic', 'hybrid']).describe('The mode that answered: hybrid answers lexically when the query cannot be embedded.'),
    results: z.array(
      z.object({
        bot: z.string(),
        path: z.string(),
        title: z.string(),
        snippet: z.string().describe('The passage of the note holding most of the matched terms.'),
        relevance: z.number().describe('0–1: 1 for the best hit when it matched every word of the query; 0 when listing.'),
        matched: z
          .array(z.object({ query: z.string(), term: z.string(), match: z.enum(['exact', 'prefix', 'fuzzy']) }))
          .describe("Which word of the query (as folded: lowercase, no diacritics) matched which of the note's terms, and how."),
        tags: z.array(z.string()),
        type: z.string(),
        updated: z.string(),
      }),
    ),
    next_offset: z.number().optional(),
  },
  handler: async (a, { roost, caller }) => {
    const r = await roost.memory.search(caller, a.query, {
      scope: a.scope,
      bot: a.bot,
      tags: a.tags,
      type: a.type,
      updatedAfter: a.updated_after,
      updatedBefore: a.updated_before,
      prefix: a.prefix,
      fuzzy: a.fuzzy,
      mode: a.mode,
      limit: a.limit,
      offset: a.offset,
    });
    return {
      total: r.total,
      mode: r.mode,
      results: r.hits.map((h) => ({
        bot: h.bot,
        path: h.path,
        title: h.title,
        snippet: h.snippet,
        relevance: h.relevance,
        matched: h.matches,
        tags: h.tags,
        type: h.type,
        updated: h.updated,
      })),
      ...nextOffset(a.offset, a.limit, r.total),
    };
  },
});

export const noteHistory = defineTool({
  name: 'note_history',
  title: 'Note history',
  description: 'The versions of a note, newest first: commit id, date, author and what happened. Use a commit id with note_diff or restore_note.',
  toolset: 'memory',
  type: 'readOnly',
  input: { path, bot: otherBot, limit: limit(200, 20), offset },
  output: {
    bot: z.string(),
    path: z.string(),
    versions: z.array(z.object({ commit: z.string(), date: z.string(), author: z.string(), message: z.string() })),
  },
  handler: async (a, { roost, caller }) => {
    const bot = a.bot ?? caller.bot;
    return { bot, path: a.path, versions: await roost.memory.noteHistory(caller, bot, a.path, a.limit, a.offset) };
  },
});

export const noteDiff = defineTool({
  name: 'note_diff',
  title: 'Compare two versions of a note',
  description: 'Unified diff of a note between two versions (commit ids from note_history). Without "to", compares with the note as it is now.',
  toolset: 'memory',
  type: 'readOnly',
  input: { path, bot: otherBot, from: z.string().max(CAP.id).describe('Older commit id.'), to: z.string().max(CAP.id).optional().describe('Newer commit id; default: now.') },
  output: { bot: z.string(), path: z.string(), from: z.string(), to: z.string(), diff: z.string() },
  handler: async (a, { roost, caller }) => {
    const bot = a.bot ?? caller.bot;
    const diff = await roost.memory.noteDiff(caller, bot, a.path, a.from, a.to);
    return { bot, path: a.path, from: a.from, to: a.to ?? 'current', diff };
  },
});

export const restoreNote = defineTool({
  name: 'restore_note',
  title: 'Restore an old version of a note',
  description: 'Bring back a note as it was at a version (commit id from note_history). The restore is a new version; nothing is rewritten in history.',
  toolset: 'memory',
  type: 'action',
  input: { path, version: z.string().max(CAP.id).describe('Commit id to restore.'), expected_version: expectedVersion },
  output: writeResult,
  handler: async (a, { roost, caller }) => roost.memory.restore(caller, a.path, a.version, a.expected_version),
});

const json = z.json().describe('Any JSON value.');
type Json = z.infer<typeof json>;
/** A fact's value as a call gives it: any JSON, its strings and lists capped (the note it is stored in is capped as a whole). */
const jsonIn: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string().max(CAP.note), z.number(), z.boolean(), z.null(), z.array(jsonIn).max(CAP.list * 10), z.record(z.string().max(CAP.id), jsonIn)]),
);
const factKey = z.string().max(CAP.path).describe('The fact\'s key, e.g. "user/timezone".');
const factOut = { key: z.string(), value: json, updated: z.string(), version: z.string() };

export const setFact = defineTool({
  name: 'set_fact',
  title: 'Set a fact',
  description: 'Store a small value under a key (e.g. "user/timezone") in your memory, readable as facts/<key>.md; every change is a git version.',
  toolset: 'memory',
  type: 'action',
  input: { key: factKey, value: jsonIn.describe('Any JSON value.'), expected_version: expectedVersion },
  output: factOut,
  handler: async (a, { roost, caller }) => {
    const fact = await roost.facts.set(caller, a.key, a.value, a.expected_version);
    return { ...fact, value: a.value };
  },
});

export const getFact = defineTool({
  name: 'get_fact',
  title: 'Get a fact',
  description: 'Look up the value stored under a key.',
  toolset: 'memory',
  type: 'readOnly',
  input: { key: factKey, bot: otherBot },
  output: factOut,
  handler: async (a, { roost, caller }) => {
    const fact = await roost.facts.get(caller, a.bot ?? caller.bot, a.key);
    return { ...fact, value: fact.value as z.infer<typeof json> };
  },
});

export const listFacts = defineTool({
  name: 'list_facts',
  title: 'List facts',
  description: 'The facts whose key starts with a prefix (all facts without one), with their values, paged.',
  toolset: 'memory',
  type: 'readOnly',
  input: { prefix: z.string().max(CAP.path).default('').describe('Only keys starting with this, e.g. "user/".'), bot: otherBot, limit: limit(500, 100), offset },
  output: { total: z.number(), facts: z.array(z.object(factOut)), next_offset: z.number().optional() },
  handler: async (a, { roost, caller }) => {
    const r = await roost.facts.list(caller, a.bot ?? caller.bot, a.prefix, a.limit, a.offset);
    return {
      total: r.total,
      facts: r.facts.map((f) => ({ ...f, value: f.value as z.infer<typeof json> })),
      ...nextOffset(a.offset, a.limit, r.total),
    };
  },
});

export const deleteFact = defineTool({
  name: 'delete_fact',
  title: 'Delete a fact',
  description: 'Remove a key. Its history stays in git.',
  toolset: 'memory',
  type: 'destructive',
  input: { key: factKey, expected_version: expectedVersion },
  output: { key: z.string(), deleted: z.boolean() },
  handler: async (a, { roost, caller }) => {
    await roost.facts.remove(caller, a.key, a.expected_version);
    return { key: a.key, deleted: true };
  },
});

export const journalAppend = defineTool({
  name: 'journal_append',
  title: 'Add to your journal',
  description: "Add a timestamped entry to today's journal (journal/YYYY-MM-DD.md, UTC): what you did, decided and why.",
  toolset: 'memory',
  type: 'action',
  input: { text: z.string().max(CAP.note).describe('The entry, in Markdown.') },
  output: { ...writeResult, date: z.string(), time: z.string() },
  handler: async (a, { roost, caller }) => roost.journal.append(caller, a.text),
});

export const readJournal = defineTool({
  name: 'read_journal',
  title: 'Read a journal',
  description: 'Journal entries from a date range (YYYY-MM-DD, UTC, inclusive; default: today), oldest first.',
  toolset: 'memory',
  type: 'readOnly',
  input: {
    from: z.string().max(CAP.id).optional().describe('First day, YYYY-MM-DD. Default: the last day.'),
    to: z.string().max(CAP.id).optional().describe('Last day, YYYY-MM-DD. Default: today.'),
    bot: otherBot,
  },
  output: { bot: z.string(), entries: z.array(z.object({ date: z.string(), time: z.string(), text: z.string() })) },
  handler: async (a, { roost, caller }) => {
    const today = new Date().toISOString().slice(0, 10);
    const bot = a.bot ?? caller.bot;
    const to = a.to ?? today;
    return { bot, entries: await roost.journal.read(caller, bot, a.from ?? to, to) };
  },
});

function metaOf(m: { bot: string; path: string; title: string; tags: string[]; type: string; visibility: 'private' | 'shared'; updated: string; size: number }) {
  return { bot: m.bot, path: m.path, title: m.title, tags: m.tags, type: m.type, visibility: m.visibility, updated: m.updated, size: m.size };
}

export const memoryTools = [
  writeNote,
  editNote,
  readNote,
  deleteNote,
  moveNote,
  listNotes,
  searchMemory,
  noteHistory,
  noteDiff,
  restoreNote,
  setFact,
  getFact,
  listFacts,
  deleteFact,
  journalAppend,
  readJournal,
];
