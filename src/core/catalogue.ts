import { UserError } from './errors.js';
import type { Visibility } from './model.js';
import { grown } from './search/postings.js';

/** What Roost keeps in memory of a note: everything but its body. */
export interface NoteMeta {
  bot: string;
  /** Relative to the bot's folder, posix, e.g. 'notes/plan.md'. */
  path: string;
  title: string;
  tags: string[];
  /** '' when none. */
  type: string;
  visibility: Visibility;
  /** ISO 8601, '' when unknown. */
  created: string;
  updated: string;
  /** Of the file, to reconcile with the disk. */
  mtimeMs: number;
  size: number;
}

/** The most notes one bot may have: a note's number must fit in a posting (see search/postings.ts). */
export const MAX_NOTES_PER_BOT = 1 << 21;

/** One bot's notes, numbered: the numbers are what the search index's postings refer to. */
export interface Shelf {
  /** By note number; a removed note leaves a hole that the next new note fills. */
  readonly notes: ReadonlyArray<NoteMeta | undefined>;
  /** By note number: `updated` parsed once, for date filters and listing; -Infinity when missing or invalid. */
  readonly updated: Float64Array;
  /** How many notes the shelf holds. */
  readonly count: number;
}

interface MutableShelf extends Shelf {
  notes: Array<NoteMeta | undefined>;
  updated: Float64Array;
  byPath: Map<string, number>;
  holes: number[];
  count: number;
  /** The sum of the notes' sizes, counted when first asked for and kept up to date after. */
  bytes?: number;
}

/**
 * Which notes each bot has, with their metadata and sizes: what listing, quotas and the console
 * read. The search index keeps its postings by the note numbers given here.
 */
export class NoteCatalogue {
  private readonly shelves = new Map<string, MutableShelf>();

  /** Adds or replaces a note's metadata; returns its number on its bot's shelf. */
  put(doc: NoteMeta): number {
    const shelf = this.shelfOf(doc.bot);
    let id = shelf.byPath.get(doc.path);
    if (id === undefined) {
      id = shelf.holes.pop() ?? shelf.notes.length;
      if (id >= MAX_NOTES_PER_BOT) throw new UserError(`${doc.bot}'s memory holds ${MAX_NOTES_PER_BOT} notes, the most one bot can have: delete some first.`);
      shelf.byPath.set(doc.path, id);
      shelf.count++;
    }
    shelf.updated = grown(shelf.updated, id + 1);
    if (shelf.bytes !== undefined) shelf.bytes += doc.size - (shelf.notes[id]?.size ?? 0);
    shelf.notes[id] = metaOf(doc);
    shelf.updated[id] = timeOf(doc.updated);
    return id;
  }

  /** Forgets a note; returns the number it had. */
  remove(bot: string, path: string): number | undefined {
    const shelf = this.shelves.get(bot);
    const id = shelf?.byPath.get(path);
    if (!shelf || id === undefined) return undefined;
    if (shelf.bytes !== undefined) shelf.bytes -= shelf.notes[id]!.size;
    shelf.notes[id] = undefined;
    shelf.byPath.delete(path);
    shelf.holes.push(id);
    shelf.count--;
    return id;
  }

  removeBot(bot: string): void {
    this.shelves.delete(bot);
  }

  /** Replaces a bot's notes with `notes`, numbered in their order (a snapshot's). */
  load(bot: string, notes: NoteMeta[]): void {
    const shelf = emptyShelf();
    shelf.updated = new Float64Array(notes.length);
    const share = sharing();
    notes.forEach((meta, id) => {
      shelf.notes.push(metaOf(meta, bot, share));
      shelf.byPath.set(meta.path, id);
      shelf.updated[id] = timeOf(meta.updated);
    });
    shelf.count = notes.length;
    this.shelves.set(bot, shelf);
  }

  get(bot: string, path: string): NoteMeta | undefined {
    const shelf = this.shelves.get(bot);
    const id = shelf?.byPath.get(path);
    return id === undefined ? undefined : shelf!.notes[id];
  }

  idOf(bot: string, path: string): number | undefined {
    return this.shelves.get(bot)?.byPath.get(path);
  }

  /** Every note of a bot. */
  list(bot: string): NoteMeta[] {
    const shelf = this.shelves.get(bot);
    return shelf ? [...shelf.byPath.values()].map((id) => shelf.notes[id]!) : [];
  }

  /** The numbers of a bot's notes, in the order `list` gives them. */
  ids(bot: string): number[] {
    return [...(this.shelves.get(bot)?.byPath.values() ?? [])];
  }

  /** The bytes of a bot's notes on disk. */
  bytes(bot: string): number {
    const shelf = this.shelves.get(bot);
    if (!shelf) return 0;
    if (shelf.bytes === undefined) {
      shelf.bytes = 0;
      for (const id of shelf.byPath.values()) shelf.bytes += shelf.notes[id]!.size;
    }
    return shelf.bytes;
  }

  bots(): string[] {
    return [...this.shelves.keys()];
  }

  shelf(bot: string): Shelf | undefined {
    return this.shelves.get(bot);
  }

  private shelfOf(bot: string): MutableShelf {
    let shelf = this.shelves.get(bot);
    if (!shelf) {
      shelf = emptyShelf();
      this.shelves.set(bot, shelf);
    }
    return shelf;
  }
}

function emptyShelf(): MutableShelf {
  return { notes: [], updated: new Float64Array(0), byPath: new Map(), holes: [], count: 0 };
}

export function timeOf(iso: string): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

/** A note's metadata with the same fields in the same order for every note; `share` lets equal values be one string. */
function metaOf(doc: NoteMeta, bot = doc.bot, share?: Sharing): NoteMeta {
  const value = share?.string ?? ((s: string) => s);
  return {
    bot,
    path: doc.path,
    title: doc.title,
    tags: share ? share.tags(doc.tags) : doc.tags,
    type: value(doc.type),
    visibility: doc.visibility === 'shared' ? 'shared' : 'private',
    created: value(doc.created),
    updated: value(doc.updated),
    mtimeMs: doc.mtimeMs,
    size: doc.size,
  };
}

interface Sharing {
  string(value: string): string;
  tags(tags: string[]): string[];
}

/** Makes equal strings and equal tag lists one object: a bot's notes repeat a few tags, types and dates. */
function sharing(): Sharing {
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const string = (value: string) => {
    const known = strings.get(value);
    if (known !== undefined) return known;
    strings.set(value, value);
    return value;
  };
  const tags = (tags: string[]) => {
    const key = JSON.stringify(tags);
    let known = lists.get(key);
    if (!known) lists.set(key, (known = tags.map(string)));
    return known;
  };
  return { string, tags };
}
