import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NoteCatalogue } from './catalogue.js';

/** The port to a text embedding model: `src/embeddings/` implements it (an OpenAI-compatible `/v1/embeddings` endpoint). */
export interface EmbeddingProvider {
  /** Names the model: vectors of another model are computed again. */
  readonly model: string;
  /** One vector per text, in order. Throws when the endpoint fails. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** How far the background embedding has come, for `roost status` and the console. */
export interface EmbeddingProgress {
  model: string;
  /** Notes with vectors of their current content. */
  embedded: number;
  /** Notes waiting for vectors. */
  pending: number;
  /** The last failure of the endpoint, until a call succeeds again. */
  error?: string;
}

/** A note's vectors, int8 with a scale each (a quarter of float32's memory), one per chunk. */
interface NoteVectors {
  /** sha256 of the text embedded: the same text is never embedded twice. */
  hash: string;
  vectors: Int8Array;
  scales: Float32Array;
}

/** Texts per request to the endpoint. */
const BATCH = 32;
/** A note longer than this is embedded in chunks of about this many characters, besides its start. */
const CHUNK = 1500;
/** Chunks per note, at most: a huge note costs no more than a few requests. */
const MAX_CHUNKS = 16;
/** After the endpoint fails, wait this long before trying again. */
const RETRY_MS = 30_000;
const SAVE_EVERY_MS = 5_000;

/**
 * Per-note vectors of every bot's notes, computed in the background by an embedding provider and
 * kept under `.roost/vectors/` (one file per bot), keyed by the note's content hash. A write only
 * queues its note; the queue is worked off in batches, saved as it goes, and after a restart the
 * notes whose vectors are missing or stale are queued again.
 */
export class SemanticIndex {
  private readonly notes = new Map<string, Map<string, NoteVectors>>();
  /** `bot/path` of notes to embed, in order. */
  private readonly queue = new Set<string>();
  private readonly dirty = new Set<string>();
  private working?: Promise<void>;
  private retryAt = 0;
  private error?: string;
  private lastSave = 0;
  private closed = false;

  constructor(
    readonly provider: EmbeddingProvider,
    private readonly dir: string,
    private readonly catalogue: NoteCatalogue,
    /** The text to embed of a note, null when it is gone. */
    private readonly read: (bot: string, path: string) => Promise<string | null>,
  ) {}

  /** Loads the bot's saved vectors and queues its notes that have none (a changed note is queued by `changed`). */
  async resume(bot: string): Promise<void> {
    const saved = await this.load(bot);
    const known = this.notes.get(bot) ?? new Map<string, NoteVectors>();
    for (const [path, vectors] of saved) if (!known.has(path)) known.set(path, vectors);
    this.notes.set(bot, known);
    for (const { path } of this.catalogue.list(bot)) if (!known.has(path)) this.queue.add(key(bot, path));
    this.kick();
  }

  /** A note was written or changed: its vectors are computed again in the background if its text changed. */
  changed(bot: string, path: string): void {
    this.queue.add(key(bot, path));
    this.kick();
  }

  progress(): EmbeddingProgress {
    let embedded = 0;
    for (const [bot, known] of this.notes) for (const path of known.keys()) if (this.catalogue.get(bot, path)) embedded++;
    return { model: this.provider.model, embedded, pending: this.queue.size, ...(this.error ? { error: this.error } : {}) };
  }

  /**
   * The notes of `bots` (those `keep` allows) most similar to the query, best first, with their
   * cosine similarity (its best chunk's). Throws when the query cannot be embedded.
   */
  async search(query: string, bots: string[], keep: (bot: string, path: string) => boolean, limit: number): Promise<Array<{ bot: string; path: string; similarity: number }>> {
    const [q] = await this.provider.embed([query]);
    const unit = normalized(q);
    const top: Array<{ bot: string; path: string; similarity: number }> = [];
    for (const bot of bots) {
      for (const [path, note] of this.notes.get(bot) ?? []) {
        if (note.vectors.length !== note.scales.length * unit.length || !this.catalogue.get(bot, path) || !keep(bot, path)) continue;
        let best = -1;
        for (let c = 0; c < note.scales.length; c++) best = Math.max(best, dot(note.vectors, c * unit.length, unit) * note.scales[c]);
        if (top.length < limit || best > top[top.length - 1].similarity) {
          top.push({ bot, path, similarity: best });
          top.sort((a, b) => b.similarity - a.similarity);
          if (top.length > limit) top.pop();
        }
      }
    }
    return top;
  }

  /** Stops the background work and saves what it computed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.working;
    await this.save();
  }

  private kick(): void {
    if (this.working || this.closed || this.queue.size === 0) return;
    this.working = this.work()
      .catch((error: Error) => {
        this.error = error.message;
      })
      .finally(() => {
        this.working = undefined;
        if (this.queue.size && !this.closed) setTimeout(() => this.kick(), Math.max(0, this.retryAt - Date.now())).unref();
      });
  }

  private async work(): Promise<void> {
    while (this.queue.size && !this.closed && Date.now() >= this.retryAt) {
      const batch = [...this.queue].slice(0, BATCH);
      const texts: string[] = [];
      const jobs: Array<{ bot: string; path: string; hash: string; chunks: number }> = [];
      for (const k of batch) {
        const [bot, path] = split(k);
        const text = await this.read(bot, path);
        const known = this.notes.get(bot) ?? new Map<string, NoteVectors>();
        this.notes.set(bot, known);
        const hash = text === null ? '' : createHash('sha256').update(text).digest('hex');
        if (text === null || known.get(path)?.hash === hash) {
          if (text === null && known.delete(path)) this.dirty.add(bot);
          this.queue.delete(k);
          continue;
        }
        const chunks = chunksOf(text);
        jobs.push({ bot, path, hash, chunks: chunks.length });
        texts.push(...chunks);
      }
      if (texts.length === 0) continue;
      let vectors: Float32Array[];
      try {
        vectors = await this.provider.embed(texts);
        this.error = undefined;
      } catch (error) {
        this.error = (error as Error).message;
        this.retryAt = Date.now() + RETRY_MS;
        return;
      }
      let at = 0;
      for (const job of jobs) {
        const own = vectors.slice(at, (at += job.chunks));
        this.notes.get(job.bot)!.set(job.path, quantized(job.hash, own));
        this.dirty.add(job.bot);
        this.queue.delete(key(job.bot, job.path));
      }
      if (Date.now() - this.lastSave > SAVE_EVERY_MS) await this.save();
    }
    await this.save();
  }

  private file(bot: string): string {
    if (!/^[\w-]+$/.test(bot)) throw new Error(`Invalid bot id for a vectors file: ${JSON.stringify(bot)}`);
    return path.join(this.dir, `${bot}.json`);
  }

  /** Writes the vectors of bots changed since the last save, and the progress `roost status` reads. */
  private async save(): Promise<void> {
    this.lastSave = Date.now();
    await mkdir(this.dir, { recursive: true });
    for (const bot of [...this.dirty]) {
      this.dirty.delete(bot);
      const notes = [...(this.notes.get(bot) ?? [])].filter(([path]) => this.catalogue.get(bot, path));
      const data = {
        model: this.provider.model,
        notes: notes.map(([path, n]) => ({
          path,
          hash: n.hash,
          scales: [...n.scales],
          vectors: Buffer.from(n.vectors.buffer, n.vectors.byteOffset, n.vectors.byteLength).toString('base64'),
        })),
      };
      await writeAtomically(this.file(bot), JSON.stringify(data));
    }
    await writeAtomically(path.join(this.dir, 'progress.json'), JSON.stringify(this.progress()));
  }

  /** The bot's saved vectors; none when missing, corrupt or of another model. */
  private async load(bot: string): Promise<Map<string, NoteVectors>> {
    const known = new Map<string, NoteVectors>();
    try {
      const data = JSON.parse(await readFile(this.file(bot), 'utf8')) as { model: string; notes: Array<{ path: string; hash: string; scales: number[]; vectors: string }> };
      if (data.model !== this.provider.model) return known;
      for (const n of data.notes) {
        const bytes = Buffer.from(n.vectors, 'base64');
        const vectors = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
        known.set(n.path, { hash: n.hash, vectors, scales: Float32Array.from(n.scales) });
      }
    } catch {
      // Missing or unreadable: computed again.
    }
    return known;
  }
}

/** The progress a running daemon last saved under `<state dir>/vectors`, or null when it embeds nothing. */
export async function savedProgress(stateDir: string): Promise<EmbeddingProgress | null> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, 'vectors', 'progress.json'), 'utf8')) as EmbeddingProgress;
  } catch {
    return null;
  }
}

const key = (bot: string, path: string) => `${bot}/${path}`;

function split(k: string): [string, string] {
  const slash = k.indexOf('/');
  return [k.slice(0, slash), k.slice(slash + 1)];
}

/** The texts a note is embedded as: whole when short, else its start and chunks at paragraph breaks. */
export function chunksOf(text: string): string[] {
  if (text.length <= CHUNK * 1.5) return [text];
  const chunks: string[] = [];
  for (let start = 0; start < text.length && chunks.length < MAX_CHUNKS; ) {
    let end = Math.min(text.length, start + CHUNK);
    const paragraph = text.lastIndexOf('\n\n', end);
    if (end < text.length && paragraph > start + CHUNK / 2) end = paragraph;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

function normalized(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return v.map((x) => x / norm);
}

/**
 * The dot product of `unit` and the vector at `base` in `vectors`. Four sums side by side, not one:
 * each addition then need not wait for the one before, which makes the loop about 1.5 times faster.
 */
function dot(vectors: Int8Array, base: number, unit: Float32Array): number {
  const dims = unit.length;
  const rest = dims % 4;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0, j = base; i < dims - rest; i += 4, j += 4) {
    a += vectors[j] * unit[i];
    b += vectors[j + 1] * unit[i + 1];
    c += vectors[j + 2] * unit[i + 2];
    d += vectors[j + 3] * unit[i + 3];
  }
  for (let i = dims - rest; i < dims; i++) a += vectors[base + i] * unit[i];
  return a + b + c + d;
}

/** Each vector normalized and stored as int8 with its scale: the similarity's error is below 1 %. */
export function quantized(hash: string, vectors: Float32Array[]): NoteVectors {
  const dims = vectors[0]?.length ?? 0;
  const out = new Int8Array(dims * vectors.length);
  const scales = new Float32Array(vectors.length);
  vectors.forEach((v, c) => {
    const unit = normalized(v);
    let max = 0;
    for (const x of unit) max = Math.max(max, Math.abs(x));
    const scale = max / 127 || 1;
    for (let i = 0; i < dims; i++) out[c * dims + i] = Math.round(unit[i] / scale);
    scales[c] = scale;
  });
  return { hash, vectors: out, scales };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}
