import { open, readFile, rename, rm } from 'node:fs/promises';
import type { NoteMeta } from '../catalogue.js';
import { noteOf } from './postings.js';

/** Bump when the tokenizing, the scoring or the file layout change: older snapshots are then rebuilt. */
const FORMAT = 3;

/** One bot's shard as saved under `.roost/index/<bot>.json`, so a restart loads instead of rebuilding. */
export interface ShardData {
  /** Note number = position. */
  notes: NoteMeta[];
  /** Four per note: the lengths of its fields. */
  lengths: number[];
  terms: string[];
  /** Per term: how many postings it has. */
  counts: number[];
  /** Every term's postings in turn. */
  postings: Int32Array;
}

interface SnapshotFile extends Omit<ShardData, 'postings'> {
  version: number;
  /** As little-endian 32-bit integers in base64: parsing them as JSON numbers took most of a load. */
  postings: string;
}

/** The shard saved in `file`, or null when it is missing, corrupt or of another format (the caller rebuilds it). */
export async function readShard(file: string, bot: string): Promise<ShardData | null> {
  let data: SnapshotFile;
  try {
    data = JSON.parse(await readFile(file, 'utf8')) as SnapshotFile;
  } catch {
    return null;
  }
  const postings = isSnapshot(data, bot) && postingsOf(data);
  return postings ? { ...data, postings } : null;
}

/** Writes the shard atomically: a full disk leaves the old snapshot as it was. */
export async function writeShard(file: string, shard: ShardData): Promise<void> {
  const { postings } = shard;
  const data: SnapshotFile = {
    version: FORMAT,
    notes: shard.notes,
    lengths: shard.lengths,
    terms: shard.terms,
    counts: shard.counts,
    postings: Buffer.from(postings.buffer, postings.byteOffset, postings.byteLength).toString('base64'),
  };
  await writeAtomically(file, JSON.stringify(data));
}

function isSnapshot(data: SnapshotFile | null, bot: string): data is SnapshotFile {
  if (data?.version !== FORMAT || !Array.isArray(data.notes) || !Array.isArray(data.terms) || !Array.isArray(data.counts)) return false;
  const n = data.notes.length;
  return (
    typeof data.postings === 'string' &&
    Array.isArray(data.lengths) &&
    data.lengths.length === n * 4 &&
    data.counts.length === data.terms.length &&
    new Set(data.terms).size === data.terms.length &&
    data.counts.every((c) => Number.isInteger(c) && c > 0) &&
    data.notes.every((m) => m?.bot === bot && typeof m.path === 'string') &&
    new Set(data.notes.map((m) => m.path)).size === n
  );
}

/** The snapshot's postings, or null when they do not add up or name a note it does not have. */
function postingsOf(data: SnapshotFile): Int32Array | null {
  const bytes = Buffer.from(data.postings, 'base64');
  if (bytes.length % 4 !== 0) return null;
  const postings = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const total = data.counts.reduce((sum, c) => sum + c, 0);
  const n = data.notes.length;
  return postings.length === total && postings.every((p) => p >= 0 && noteOf(p) < n) ? postings : null;
}

async function writeAtomically(file: string, data: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    // A full disk must not leave half a snapshot behind; the old snapshot stays valid.
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
