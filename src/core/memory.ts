import { existsSync, promises as fs } from 'node:fs';
import { BOT_HEADER } from '../protocol.js';
import { type Caller, checkMaySearchAll, mayRead, OPERATOR_ID, readsAllOf, readsEverything } from './access.js';
import { UserError } from './errors.js';
import type { RoostEvents } from './events.js';
import type { History, HistoryEntry } from './history.js';
import { bodyOf, contentVersion, frontmatterLength, MAX_FRONTMATTER_BYTES, type ParsedNote, parseNote, serializeNote, stringOf, tagsOf, titleOf } from './notes.js';
import { offsetPage } from './paging.js';
import { checkFolder, checkId, checkNotePath } from './paths.js';
import { type ChangeBy, RateLimit } from './rate-limit.js';
import type { Registry } from './registry.js';
import type { NoteCatalogue, NoteMeta } from './catalogue.js';
import type { Visibility } from './model.js';
import type { NoteDoc, SearchHit, SearchIndex, SearchOptions } from './search/index.js';
import { snippet } from './search/snippet.js';
import { noteFilter } from './search/ranking.js';
import { queryTerms } from './search/tokenizer.js';
import type { SemanticIndex } from './embeddings.js';
import { type FileStat, isMissing, type Vault } from './vault.js';

export interface MemoryLimits {
  /** Largest note, in bytes of UTF-8. */
  maxNoteBytes: number;
  /** A read without a line range returns at most this many bytes of body. */
  readChunkBytes: number;
  /** The most bytes of notes a standing bot and its task agents may have together: a write that would pass it is refused (deletes never are). */
  maxBotBytes: number;
  /** Changes a bot may make at once: to its memory (writes, edits, deletes, moves, facts, journal), to topics and to the registry… */
  writeBurst: number;
  /** …and how many the allowance grows by per second. */
  writesPerSecond: number;
}

export const DEFAULT_LIMITS: MemoryLimits = {
  maxNoteBytes: 1024 * 1024,
  readChunkBytes: 64 * 1024,
  maxBotBytes: 100 * 1024 * 1024,
  writeBurst: 500,
  writesPerSecond: 10,
};

export interface NoteFields {
  title?: string;
  tags?: string[];
  type?: string;
  visibility?: Visibility;
  source?: string;
  /** Any other frontmatter keys, kept as written. */
  extra?: Record<string, unknown>;
}

export interface WriteResult {
  bot: string;
  path: string;
  version: string;
  size: number;
  created: boolean;
}

export interface ReadResult {
  bot: string;
  path: string;
  version: string;
  size: number;
  lines: number;
  title: string;
  frontmatter: Record<string, unknown>;
  from_line: number;
  to_line: number;
  truncated: boolean;
  body: string;
  problem?: string;
}

export type Edit =
  | { op: 'append'; text: string }
  | { op: 'prepend'; text: string }
  | { op: 'replace_section'; heading: string; text: string }
  | { op: 'find_replace'; find: string; replace: string; all?: boolean };

/** `expected_version` value that means "the note must not exist yet". */
export const NEW_NOTE = 'new';

const OWNED = ['title', 'tags', 'type', 'created', 'updated', 'visibility', 'source'] as const;

export type SearchMode = 'lexical' | 'semantic' | 'hybrid';

/** How many of each list semantic and hybrid search fuse. */
const FUSED_DEPTH = 100;

/**
 * A bot's memory: Markdown notes under `bots/<bot>/` in the data root. Every change is
 * durable on disk and in the search index before it returns, and queued for a grouped commit.
 */
export class Memory {
  private readonly catalogue: NoteCatalogue;
  /** Notes whose frontmatter could not be parsed, by data-root path. */
  readonly problems = new Map<string, string>();

  constructor(
    private readonly vault: Vault,
    private readonly index: SearchIndex,
    private readonly history: History,
    private readonly registry: Registry,
    private readonly events: RoostEvents,
    /** The bots' allowance for changes, shared with topics and the registry. */
    private readonly changes: RateLimit,
    readonly limits: MemoryLimits = DEFAULT_LIMITS,
  ) {
    this.catalogue = index.catalogue;
  }

  // ---- writing -------------------------------------------------------------------------

  /** Writes a note of the caller's own memory. */
  async write(caller: Caller, path: string, body: string, fields: NoteFields, expected?: string, by: ChangeBy = 'bot'): Promise<WriteResult> {
    const bot = caller.bot;
    path = checkNotePath(path);
    return this.locked(bot, path, async (current) => {
      checkExpected(path, current, expected);
      const base = current && !current.parsed.problem ? current.parsed.frontmatter : {};
      const frontmatter = buildFrontmatter(base, fields);
      const summary = `${current ? 'write' : 'create'} ${path}`;
      return this.commitText(bot, path, serializeNote(frontmatter, body), summary, current === null, by);
    });
  }

  async edit(caller: Caller, path: string, edit: Edit, expected?: string): Promise<WriteResult> {
    const bot = caller.bot;
    path = checkNotePath(path);
    return this.locked(bot, path, async (current) => {
      if (!current) throw notFound(bot, path);
      checkExpected(path, current, expected);
      const { frontmatter, body, problem } = current.parsed;
      // Nothing ever goes above the frontmatter: a broken block stays on top byte for byte, and the edit changes what follows it.
      const block = problem ? current.text.slice(0, frontmatterLength(current.text)) : '';
      const text = problem
        ? `${block}${applyEdit(current.text.slice(block.length), edit, path)}`
        : serializeNote({ ...frontmatter, updated: now() }, applyEdit(body, edit, path));
      return this.commitText(bot, path, text, `edit ${path} (${edit.op.replace('_', ' ')})`, false, 'bot');
    });
  }

  /**
   * Read-modify-write of a note's exact text (restore, facts, the journal): `make` gets the
   * current note under the note's lock. `summary` is the commit line.
   */
  async writeWith(
    bot: string,
    path: string,
    make: (current: Loaded | null) => string,
    summary: string,
    expected?: string,
    by: ChangeBy = 'bot',
  ): Promise<WriteResult> {
    path = checkNotePath(path);
    return this.locked(bot, path, async (current) => {
      checkExpected(path, current, expected);
      return this.commitText(bot, path, make(current), summary, current === null, by);
    });
  }

  async remove(caller: Caller, path: string, expected?: string, by: ChangeBy = 'bot'): Promise<{ bot: string; path: string; deleted_version: string }> {
    return this.removeOf(caller.bot, path, expected, by);
  }

  private async removeOf(bot: string, path: string, expected: string | undefined, by: ChangeBy): Promise<{ bot: string; path: string; deleted_version: string }> {
    path = checkNotePath(path);
    return this.locked(bot, path, async (current) => {
      if (!current) throw notFound(bot, path);
      checkExpected(path, current, expected);
      if (by === 'bot') this.changes.take(bot);
      const file = rootPath(bot, path);
      await this.settle(bot, path);
      await this.vault.remove(file, `bots/${bot}`, { author: bot, summary: `delete ${path}` });
      this.index.remove(bot, path);
      this.problems.delete(file);
      this.events.emitActivity({ kind: 'note.delete', bot, by: bot, path });
      return { bot, path, deleted_version: current.version };
    });
  }

  async move(caller: Caller, from: string, to: string, expected?: string): Promise<WriteResult & { from: string }> {
    const bot = caller.bot;
    from = checkNotePath(from, '"from" path');
    to = checkNotePath(to, '"to" path');
    if (from === to) throw new UserError(`"from" and "to" are the same path: give a different destination.`);
    // Both paths locked, always in the same order, so two opposite moves cannot wait on each other.
    const [first, second] = [from, to].sort();
    return this.locked(bot, first, () =>
      this.locked(bot, second, async () => {
        const [current, target] = await Promise.all([this.load(bot, from), this.load(bot, to)]);
        if (!current) throw notFound(bot, from);
        checkExpected(from, current, expected);
        if (target) throw new UserError(`"${to}" already exists: delete it first or choose another destination.`, 'conflict');
        this.changes.take(bot);
        const fromFile = rootPath(bot, from);
        const toFile = rootPath(bot, to);
        await this.settle(bot, from);
        const stat = await this.vault.move(fromFile, toFile, `bots/${bot}`, current.text, { author: bot, summary: `move ${from} to ${to}` }).catch((error) => {
          // Moved or deleted by a person since it was read.
          throw isMissing(error) ? notFound(bot, from) : error;
        });
        this.index.remove(bot, from);
        this.problems.delete(fromFile);
        this.indexText(bot, to, current.text, stat);
        this.events.emitActivity({ kind: 'note.move', bot, by: bot, path: to, detail: { from } });
        return { bot, path: to, from, version: current.version, size: stat.size, created: true };
      }),
    );
  }

  /**
   * Copies a note into another bot's memory for a task's bookkeeping (archiving, kept notes), which
   * takes nothing from the allowance of changes; with `move` the original is deleted once the copy
   * is made. A move within one tree grows nothing; any other copy is refused when it would take the
   * target's tree past its quota.
   */
  async copyNote(from: string, path: string, to: string, toPath: string, move: boolean, summary: string): Promise<void> {
    checkId(from);
    const text = await this.vault.read(rootPath(from, path));
    if (text === null) return;
    if (!move || this.registry.rootOf(from) !== this.registry.rootOf(to)) {
      await this.treeIndexed(to);
      this.checkQuota(to, toPath, Buffer.byteLength(text));
    }
    await this.writeWith(to, toPath, () => text, summary, undefined, 'roost');
    if (move) await this.removeOf(from, path, undefined, 'roost');
  }

  /** Forgets a bot whose memory is empty (a task agent whose start was undone): its folder and its search shard. */
  async forgetEmptyBot(bot: string): Promise<void> {
    checkId(bot);
    if (this.catalogue.list(bot).length) return;
    this.index.removeBot(bot);
    await fs.rmdir(this.vault.abs(`bots/${bot}`)).catch(() => undefined);
  }

  // ---- reading -------------------------------------------------------------------------

  async read(caller: Caller, owner: string, path: string, range?: { from?: number; to?: number }): Promise<ReadResult> {
    path = checkNotePath(path);
    const current = await this.readable(caller, owner, path);
    const { frontmatter, body, problem } = current.parsed;
    const lines = body.split('\n');
    const total = lines.length;
    const from = Math.max(1, range?.from ?? 1);
    let to = Math.min(total, range?.to ?? total);
    if (from > total) {
      throw new UserError(`"${path}" has ${total} lines: ask for a from_line between 1 and ${total}.`);
    }
    let slice = lines.slice(from - 1, to).join('\n');
    let truncated = false;
    if (range?.to === undefined && Buffer.byteLength(slice) > this.limits.readChunkBytes) {
      // Whole lines up to the chunk size; the caller asks for the rest by line range.
      let bytes = 0;
      to = from - 1;
      while (to < total && bytes + Buffer.byteLength(lines[to]) + 1 <= this.limits.readChunkBytes) bytes += Buffer.byteLength(lines[to++]) + 1;
      to = Math.max(to, from);
      slice = lines.slice(from - 1, to).join('\n');
      truncated = to < total;
    }
    return {
      bot: owner,
      path,
      version: current.version,
      size: Buffer.byteLength(current.text),
      lines: total,
      title: titleOf(frontmatter, body, path),
      frontmatter,
      from_line: from,
      to_line: to,
      truncated,
      body: slice,
      ...(problem ? { problem } : {}),
    };
  }

  /** The full text and version of a note the caller may read. */
  async readable(caller: Caller, owner: string, path: string): Promise<Loaded> {
    checkId(owner);
    path = checkNotePath(path);
    const current = await this.load(owner, path);
    if (!current || !mayRead(caller, owner, this.visibilityOf(owner, current.parsed))) {
      // Same answer for "missing" and "private": a bot learns nothing about notes it may not read.
      throw notFound(owner, path);
    }
    return current;
  }

  async list(
    caller: Caller,
    owner: string,
    folder: string | undefined,
    recursive: boolean,
  ): Promise<{ folders: Array<{ path: string; notes: number }>; notes: NoteMeta[] }> {
    checkId(owner);
    const prefix = checkFolder(folder);
    await this.indexed(owner);
    const base = prefix ? `${prefix}/` : '';
    const folders = new Map<string, number>();
    const notes: NoteMeta[] = [];
    for (const meta of this.catalogue.list(owner)) {
      if (!meta.path.startsWith(base) || !mayRead(caller, owner, meta.visibility)) continue;
      const rest = meta.path.slice(base.length);
      const slash = rest.indexOf('/');
      if (slash === -1 || recursive) notes.push(meta);
      if (slash !== -1) {
        const sub = base + rest.slice(0, slash);
        folders.set(sub, (folders.get(sub) ?? 0) + 1);
      }
    }
    notes.sort((a, b) => a.path.localeCompare(b.path));
    return {
      folders: [...folders].sort(([a], [b]) => a.localeCompare(b)).map(([path, count]) => ({ path, notes: count })),
      notes,
    };
  }

  async search(
    caller: Caller,
    query: string,
    options: Omit<SearchOptions, 'scopes' | 'limit' | 'offset'> & {
      scope: 'own' | 'shared' | 'all';
      bot?: string;
      /** Default: hybrid when an embedding provider is set, else lexical. */
      mode?: SearchMode;
      limit: number;
      offset: number;
    },
  ): Promise<{ total: number; mode: SearchMode; hits: Array<SearchHit & { snippet: string }> }> {
    if (options.scope === 'all') checkMaySearchAll(caller);
    const mode = options.mode ?? (this.semantic ? 'hybrid' : 'lexical');
    if (mode !== 'lexical' && !this.semantic) {
      throw new UserError(`Search mode "${mode}" needs an embedding provider, and this server has none (the operator sets one with --embeddings-url and --embeddings-model): use mode "lexical".`);
    }
    const others = options.bot !== undefined ? [checkId(options.bot)] : this.allBots(true).filter((b) => b !== caller.bot);
    const scopes =
      options.bot !== undefined && options.bot !== caller.bot
        ? [{ bot: options.bot, sharedOnly: !readsEverything(caller) }]
        : options.scope === 'own'
          ? [{ bot: caller.bot, sharedOnly: false }]
          : [
              { bot: caller.bot, sharedOnly: false },
              ...others.filter((b) => b !== caller.bot).map((bot) => ({ bot, sharedOnly: options.scope === 'shared' })),
            ];
    await Promise.all(scopes.map((s) => this.indexed(s.bot)));
    const result =
      mode === 'lexical' || query.trim() === ''
        ? { ...this.index.search(query, { ...options, scopes }), mode: 'lexical' as const }
        : await this.fused(query, mode, scopes, options);
    const hits = await Promise.all(
      result.hits.map(async (hit) => {
        const text = (await this.vault.read(rootPath(hit.bot, hit.path))) ?? '';
        return { ...hit, snippet: snippet(bodyOf(text), hit.terms.length ? hit.terms : queryTerms(query)) };
      }),
    );
    return { total: result.total, mode: result.mode, hits };
  }

  /**
   * Semantic or hybrid search: the notes nearest the query's vector and, for hybrid, the lexical
   * hits, fused by reciprocal rank (each list adds 1 / (60 + rank)). The same scopes and filters as
   * lexical search; each list gives its best FUSED_DEPTH. Hybrid answers lexically when the query
   * cannot be embedded.
   */
  private async fused(
    query: string,
    mode: 'semantic' | 'hybrid',
    scopes: Array<{ bot: string; sharedOnly: boolean }>,
    options: Parameters<Memory['search']>[2],
  ): Promise<{ total: number; mode: SearchMode; hits: SearchHit[] }> {
    const depth = Math.max(FUSED_DEPTH, options.offset + options.limit);
    const lexical = mode === 'hybrid' ? this.index.search(query, { ...options, scopes, limit: depth, offset: 0 }).hits : [];
    const sharedOnly = new Map<string, boolean>();
    for (const s of scopes) sharedOnly.set(s.bot, (sharedOnly.get(s.bot) ?? true) && s.sharedOnly);
    const matches = noteFilter(options);
    const keep = (bot: string, path: string) => {
      const meta = this.catalogue.get(bot, path);
      const updated = Date.parse(meta?.updated ?? '');
      return !!meta && (!sharedOnly.get(bot) || meta.visibility === 'shared') && matches(meta, Number.isNaN(updated) ? -Infinity : updated);
    };
    let semantic: Array<{ bot: string; path: string; similarity: number }>;
    try {
      semantic = await this.semantic!.search(query, [...sharedOnly.keys()], keep, depth);
    } catch (error) {
      if (mode === 'hybrid') return { ...this.index.search(query, { ...options, scopes }), mode: 'lexical' };
      throw new UserError(`Semantic search failed: ${(error as Error).message}. Try again later, or use mode "lexical".`);
    }
    const fused = new Map<string, { score: number; meta: NoteMeta; lexical?: SearchHit; similarity?: number }>();
    const add = (bot: string, path: string, rank: number, extra: { lexical?: SearchHit; similarity?: number }) => {
      const key = `${bot}/${path}`;
      const entry = fused.get(key) ?? { score: 0, meta: this.catalogue.get(bot, path)! };
      fused.set(key, { ...entry, ...extra, score: entry.score + 1 / (60 + rank) });
    };
    lexical.forEach((hit, rank) => add(hit.bot, hit.path, rank + 1, { lexical: hit }));
    semantic.forEach((hit, rank) => add(hit.bot, hit.path, rank + 1, { similarity: hit.similarity }));
    const ranked = [...fused.values()].sort((a, b) => b.score - a.score || (a.meta.bot < b.meta.bot ? -1 : a.meta.bot > b.meta.bot ? 1 : a.meta.path < b.meta.path ? -1 : 1));
    const best = ranked[0]?.score ?? 0;
    const hits = offsetPage(ranked, options.offset, options.limit).map(({ score, meta, lexical: hit, similarity }) => ({
      ...meta,
      score,
      relevance: Math.round(1000 * (mode === 'semantic' ? Math.max(0, Math.min(1, similarity ?? 0)) : score / best)) / 1000,
      terms: hit?.terms ?? [],
      matches: hit?.matches ?? [],
    }));
    return { total: ranked.length, mode, hits };
  }

  // ---- history -------------------------------------------------------------------------

  async noteHistory(caller: Caller, owner: string, path: string, limit: number, skip: number): Promise<HistoryEntry[]> {
    path = checkNotePath(path);
    await this.checkHistoryAccess(caller, owner, path);
    await this.history.flush();
    const file = rootPath(owner, path);
    if (readsAllOf(caller, owner)) return this.history.log(file, { limit, skip });
    // Another bot sees only the versions it could read then, each with only the changes that name the note.
    const versions = await this.history.versions(file, MAX_VERSIONS_CHECKED);
    const shown: HistoryEntry[] = [];
    for (let at = 0; at < versions.length && shown.length < skip + limit; at += VERSIONS_PER_READ) {
      const batch = versions.slice(at, at + VERSIONS_PER_READ);
      const heads = await this.history.heads(batch.flatMap((v) => v.blob ?? []), HEAD_BYTES);
      for (const { commit, date, author, blob, changes } of batch) {
        const head = blob ? heads.get(blob) : undefined;
        if (head === undefined || !mayRead(caller, owner, this.visibilityOf(owner, parseNote(head)))) continue;
        const own = changes.filter((change) => namesNote(change, owner, path));
        shown.push({ commit, date, author, message: `${author}: ${own.length ? own.join(', ') : `${changes.length} changes`}` });
      }
    }
    return offsetPage(shown, skip, limit);
  }

  async noteDiff(caller: Caller, owner: string, path: string, from: string, to?: string): Promise<string> {
    path = checkNotePath(path);
    await this.checkHistoryAccess(caller, owner, path);
    await this.history.flush();
    const file = rootPath(owner, path);
    const versions = [checkCommit(from), ...(to === undefined ? [] : [checkCommit(to)])];
    if (!readsAllOf(caller, owner)) {
      // Another bot compares only versions it could read then (a version where the note did not exist shows nothing of it).
      for (const version of versions) {
        const blob = await this.history.blobAt(file, version);
        if (!blob) continue;
        const head = (await this.history.heads([blob], HEAD_BYTES)).get(blob);
        if (head === undefined || !mayRead(caller, owner, this.visibilityOf(owner, parseNote(head)))) {
          throw new UserError(`"${path}" of ${owner} was not shared at version ${version}: take a commit id from note_history.`, 'not_found');
        }
      }
    }
    return this.history.diff(file, versions[0], versions[1]);
  }

  async restore(caller: Caller, path: string, version: string, expected?: string): Promise<WriteResult> {
    const bot = checkId(caller.bot);
    path = checkNotePath(path);
    await this.history.flush();
    const old = await this.history.show(rootPath(bot, path), checkCommit(version));
    if (old === null) {
      throw new UserError(`"${path}" did not exist at version ${version}: call note_history to see its versions.`, 'not_found');
    }
    return this.writeWith(bot, path, () => old, `restore ${path} to ${version.slice(0, 10)}`, expected);
  }

  // ---- index upkeep --------------------------------------------------------------------

  /**
   * Loads or rebuilds every bot's shard and brings it in line with the files, one after the other.
   * The daemon serves meanwhile: a call that needs a shard not yet loaded loads it first.
   */
  async indexAll(): Promise<void> {
    for (const bot of this.allBots(true)) {
      if (this.stopped) return;
      await this.indexed(bot);
    }
  }

  /** Closing: indexAll loads no further shard. */
  stopIndexing(): void {
    this.stopped = true;
  }

  private stopped = false;

  /** Resolves when the bot's shard is loaded (from its snapshot, else from the files) and in line with the files. */
  private indexed(bot: string): Promise<void> {
    let loaded = this.loaded.get(bot);
    if (!loaded) {
      // One shard after the other: loading many at once (a search of all notes at start) held all
      // their snapshots' text and parsed data at the same time, and the heap kept that size.
      loaded = this.loading.then(() => this.reindexBot(bot));
      this.loading = loaded.catch(() => undefined);
      this.loaded.set(bot, loaded);
      // A failed load is retried by the next call that needs the shard.
      loaded.catch(() => this.loaded.delete(bot));
    }
    return loaded;
  }

  private readonly loaded = new Map<string, Promise<void>>();
  /** The last shard load queued; the next one starts when it ends. */
  private loading: Promise<void> = Promise.resolve();

  private async reindexBot(bot: string): Promise<void> {
    await this.index.loadSnapshot(bot);
    await this.semantic?.resume(bot);
    const files = await this.vault.walk(`bots/${bot}`, (name) => name.endsWith('.md'));
    const stats = new Map(files.map((f) => [f.path, f]));
    await this.index.reconcile(bot, files, async (path) => {
      const text = await this.vault.read(rootPath(bot, path));
      const stat = stats.get(path)!;
      // New or changed since the snapshot: its vectors may be stale too.
      this.semantic?.changed(bot, path);
      return text === null ? null : this.docOf(bot, path, text, stat);
    });
  }

  /** A file (or a folder, gone) under `bots/` was changed on disk by someone else: bring the index in line. */
  async fileChanged(file: string, stat: FileStat | null): Promise<void> {
    const match = /^bots\/([^/]+)\/(.+)$/.exec(file);
    if (!match) return;
    const [, bot, path] = match;
    await this.indexed(bot);
    if (!path.endsWith('.md')) {
      // A folder moved or deleted as a whole: its notes are reported by no event of their own. Each is
      // looked at under its own lock, as a bot may have written it again meanwhile.
      if (stat) return;
      for (const meta of this.catalogue.list(bot).filter((m) => m.path.startsWith(`${path}/`))) {
        const note = rootPath(bot, meta.path);
        await this.vault.locked(note, async () => {
          if (!(await this.vault.stat(note))) this.forget(bot, meta.path);
        });
      }
      return;
    }
    const text = stat ? await this.vault.read(file) : null;
    // Looked at again, synchronously with the indexing: a note gone with its folder meanwhile has no event of its own.
    if (text === null || !existsSync(this.vault.abs(file))) return this.forget(bot, path);
    this.indexText(bot, path, text, stat!);
    this.events.emitActivity({ kind: 'note.write', bot, by: 'external', path });
    const problem = this.problems.get(file);
    if (problem) console.warn(`roost: ${file}: ${problem} Indexed as plain text.`);
  }

  /** A note deleted by hand leaves the index. */
  private forget(bot: string, path: string): void {
    this.index.remove(bot, path);
    this.problems.delete(rootPath(bot, path));
    this.events.emitActivity({ kind: 'note.delete', bot, by: 'external', path });
  }

  allBots(withFolders = false): string[] {
    const ids = new Set([...this.registry.list().map((b) => b.id), ...this.catalogue.bots()]);
    if (withFolders) for (const b of this.folderBots) ids.add(b);
    return [...ids].sort();
  }

  /** Bot folders found on disk at start, including those of bots no longer registered. */
  folderBots: string[] = [];
  /** Per-note vectors for semantic and hybrid search, when an embedding provider is set. */
  semantic?: SemanticIndex;

  visibilityOf(bot: string, parsed: ParsedNote): Visibility {
    const v = parsed.frontmatter.visibility;
    if (v === 'shared' || v === 'private') return v;
    return this.registry.get(bot)?.visibility ?? 'private';
  }

  // ---- internals -----------------------------------------------------------------------

  /** Every change to a note goes through here: it is the note's owner's, a bot that exists. */
  private async locked<T>(bot: string, path: string, work: (current: Loaded | null) => Promise<T>): Promise<T> {
    checkId(bot);
    if (!this.registry.get(bot)) throw noNotebook(bot);
    await this.treeIndexed(bot);
    return this.vault.locked(rootPath(bot, path), async () => work(await this.load(bot, path)));
  }

  private async load(bot: string, path: string): Promise<Loaded | null> {
    const text = await this.vault.read(rootPath(bot, path));
    if (text === null) return null;
    return { text, version: contentVersion(text), parsed: parseNote(text) };
  }

  private async commitText(bot: string, path: string, text: string, summary: string, created: boolean, by: ChangeBy): Promise<WriteResult> {
    if (!text.isWellFormed()) {
      throw new UserError(`The note has a lone UTF-16 surrogate (a half of a pair, \\uD800 to \\uDFFF), which a UTF-8 file cannot hold: remove it or complete the pair.`);
    }
    const size = Buffer.byteLength(text);
    if (size > this.limits.maxNoteBytes) {
      throw new UserError(
        `The note would be ${size} bytes; the limit is ${this.limits.maxNoteBytes}: split it into several notes.`,
        'too_large',
      );
    }
    if (by === 'bot') {
      this.checkQuota(bot, path, size);
      this.changes.take(bot);
    }
    const file = rootPath(bot, path);
    await this.settle(bot, path);
    const stat = await this.vault.write(file, text, { author: bot, summary });
    this.indexText(bot, path, text, stat);
    this.events.emitActivity({ kind: 'note.write', bot, by: bot, path, detail: { summary } });
    return { bot, path, version: contentVersion(text), size, created };
  }

  /**
   * Before a note changes (under its lock): commits the changes queued for it, and before them an
   * edit made by hand that the watcher has not handled yet (the file is not as the index saw it),
   * which would otherwise never reach git.
   */
  private async settle(bot: string, path: string): Promise<void> {
    const file = rootPath(bot, path);
    const known = this.catalogue.get(bot, path);
    const onDisk = await this.vault.stat(file);
    if (onDisk && (known?.mtimeMs !== onDisk.mtimeMs || known.size !== onDisk.size)) {
      this.history.enqueue({ author: 'external', paths: [file], summary: `edit ${file}` });
    }
    await this.history.settle(file);
  }

  /** The shards of the bot and of every bot in its tree are loaded: the tree's quota counts them all. */
  private treeIndexed(bot: string): Promise<unknown> {
    return Promise.all(this.registry.treeOf(this.registry.rootOf(bot)).map((b) => this.indexed(b)));
  }

  /** The bytes a standing bot's tree may hold: its own quota, set by the operator, or the daemon's limit. */
  quotaOf(root: string): number {
    return this.registry.get(root)?.memoryQuota ?? this.limits.maxBotBytes;
  }

  /**
   * Refuses a write that would grow a tree's memory past its quota: a standing bot's quota covers its
   * own notes and those of every task agent below it. A write that shrinks a note always passes.
   */
  private checkQuota(bot: string, path: string, size: number): void {
    const old = this.catalogue.get(bot, path)?.size ?? 0;
    if (size <= old) return;
    const root = this.registry.rootOf(bot);
    const tree = this.registry.treeOf(root);
    const total = tree.reduce((sum, b) => sum + this.catalogue.bytes(b), 0) - old + size;
    const quota = this.quotaOf(root);
    if (total > quota) {
      const whose =
        tree.length === 1 ? 'your memory' : root === bot ? "your memory and your task agents'" : `the memory of ${root} and its task agents, which yours counts in,`;
      throw new UserError(
        `This would bring ${whose} to ${total} bytes; the limit is ${quota}: delete notes you no longer need (deleting is always allowed) or write less, then retry. Nothing was written.`,
        'too_large',
      );
    }
  }

  private indexText(bot: string, path: string, text: string, stat: FileStat): void {
    this.index.upsert(this.docOf(bot, path, text, stat));
    this.semantic?.changed(bot, path);
  }

  private docOf(bot: string, path: string, text: string, stat: Pick<FileStat, 'mtimeMs' | 'size'>): NoteDoc {
    const parsed = parseNote(text);
    const file = rootPath(bot, path);
    if (parsed.problem) this.problems.set(file, parsed.problem);
    else this.problems.delete(file);
    const fm = parsed.frontmatter;
    return {
      bot,
      path,
      title: titleOf(fm, parsed.body, path),
      tags: tagsOf(fm),
      type: stringOf(fm.type),
      visibility: this.visibilityOf(bot, parsed),
      created: stringOf(fm.created),
      updated: stringOf(fm.updated) || new Date(stat.mtimeMs).toISOString(),
      body: parsed.body,
      mtimeMs: stat.mtimeMs,
      size: stat.size,
    };
  }

  private async checkHistoryAccess(caller: Caller, owner: string, path: string): Promise<void> {
    checkId(owner);
    if (readsAllOf(caller, owner)) return;
    // Another bot's history is readable while the note is shared now.
    await this.readable(caller, owner, path);
  }
}

export interface Loaded {
  text: string;
  version: string;
  parsed: ParsedNote;
}

/** Another bot's view of a note's history covers at most its newest this many versions… */
const MAX_VERSIONS_CHECKED = 1000;
/** …whose contents are read this many at a time, until a page is full… */
const VERSIONS_PER_READ = 50;
/** …and only as far as the frontmatter can reach (which decides who could read a version). */
const HEAD_BYTES = MAX_FRONTMATTER_BYTES + 1024;

/** Whether a change's summary (`write notes/a.md`, `move a.md to b.md`, `edit bots/dev/a.md`) names the note. */
function namesNote(change: string, owner: string, path: string): boolean {
  return [path, rootPath(owner, path)].some((name) => change.endsWith(` ${name}`) || change.includes(` ${name} `));
}

function noNotebook(bot: string): UserError {
  if (bot === OPERATOR_ID) {
    return new UserError(
      `The operator has no notes of its own: the operator token without ${BOT_HEADER} acts as no bot. To write a bot's notes, connect with the operator token and ${BOT_HEADER}: <bot> (the operator may act as any bot; list_bots lists them).`,
      'forbidden',
    );
  }
  return new UserError(`There is no bot "${bot}" to keep these notes: notes belong to a registered bot (list_bots lists them).`, 'not_found');
}

export function rootPath(bot: string, path: string): string {
  return `bots/${bot}/${path}`;
}

function now(): string {
  return new Date().toISOString();
}

function notFound(bot: string, path: string): UserError {
  return new UserError(`There is no note "${path}" in ${bot}'s memory that you may read: call list_notes or search_memory to find it.`, 'not_found');
}

function checkExpected(path: string, current: Loaded | null, expected: string | undefined): void {
  if (expected === undefined) return;
  if (expected === NEW_NOTE) {
    if (current) {
      throw new UserError(`"${path}" already exists (version ${current.version}): read it and pass that version to replace it.`, 'conflict');
    }
    return;
  }
  if (!current) {
    throw new UserError(`"${path}" does not exist, so version ${expected} is stale: omit expected_version (or pass "new") to create it.`, 'conflict');
  }
  if (current.version !== expected) {
    throw new UserError(
      `"${path}" changed since you read it: it is at version ${current.version}, not ${expected}. Read it again, merge, and retry with the new version.`,
      'conflict',
    );
  }
}

function checkCommit(version: string): string {
  if (!/^[0-9a-f]{4,40}$/.test(version)) {
    throw new UserError(`"${version}" is not a commit id: take one from note_history.`);
  }
  return version;
}

function buildFrontmatter(base: Record<string, unknown>, fields: NoteFields): Record<string, unknown> {
  const extra = fields.extra ?? {};
  const clash = OWNED.filter((k) => k in extra);
  if (clash.length) {
    throw new UserError(`Put ${clash.join(', ')} in their own arguments, not in "frontmatter".`);
  }
  const stamp = now();
  return {
    ...base,
    ...extra,
    ...(fields.title !== undefined ? { title: fields.title } : {}),
    ...(fields.tags !== undefined ? { tags: fields.tags } : {}),
    ...(fields.type !== undefined ? { type: fields.type } : {}),
    ...(fields.visibility !== undefined ? { visibility: fields.visibility } : {}),
    ...(fields.source !== undefined ? { source: fields.source } : {}),
    created: typeof base.created === 'string' ? base.created : stamp,
    updated: stamp,
  };
}

function applyEdit(body: string, edit: Edit, path: string): string {
  switch (edit.op) {
    case 'append':
      return body === '' || body.endsWith('\n') ? `${body}${edit.text}` : `${body}\n${edit.text}`;
    case 'prepend':
      return edit.text.endsWith('\n') ? `${edit.text}${body}` : `${edit.text}\n${body}`;
    case 'find_replace': {
      if (edit.find === '') throw new UserError(`"find" is empty: give the exact text to replace.`);
      const count = body.split(edit.find).length - 1;
      if (count === 0) throw new UserError(`The text to find does not occur in "${path}": read the note and copy the text exactly.`);
      if (count > 1 && !edit.all) {
        throw new UserError(`The text to find occurs ${count} times in "${path}": include more context to make it unique, or set all: true.`);
      }
      return edit.all ? body.split(edit.find).join(edit.replace) : body.replace(edit.find, () => edit.replace);
    }
    case 'replace_section': {
      const lines = body.split('\n');
      const want = edit.heading.replace(/^#+\s*/, '').trim().toLowerCase();
      const headings = lines
        .map((line, i) => ({ i, m: /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line) }))
        .filter((h) => h.m !== null) as Array<{ i: number; m: RegExpExecArray }>;
      const found = headings.find((h) => h.m[2].toLowerCase() === want);
      if (!found) {
        const names = headings.map((h) => `"${h.m[2]}"`).join(', ') || 'none';
        throw new UserError(`No heading "${edit.heading}" in "${path}" (headings: ${names}): use one of them, or append.`);
      }
      const level = found.m[1].length;
      const next = headings.find((h) => h.i > found.i && h.m[1].length <= level);
      const end = next ? next.i : lines.length;
      const replacement = edit.text.replace(/^\n+|\n+$/g, '').split('\n');
      return [...lines.slice(0, found.i + 1), '', ...replacement, '', ...lines.slice(end)].join('\n');
    }
  }
}
