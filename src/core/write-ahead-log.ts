import { writeSync } from 'node:fs';
import { type FileHandle, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { makeDurableDir, syncPath } from './durable.js';

/** By default a segment is closed, and a new one begun, once it has grown past this. */
const SEGMENT_BYTES = 4 << 20;
const SEGMENT_NAME = /^journal-(\d+)\.log$/;
/** `<crc32 of the payload, 8 hex digits> <payload's length in bytes> <payload>`: a line cut short or damaged fails the check. */
const LINE = /^([0-9a-f]{8}) (\d+) /;
/** What a cancelled record's first byte is overwritten with: the line no longer passes the check. */
const CANCELLED = Buffer.from('#');

interface Segment {
  number: number;
  handle: FileHandle;
  bytes: number;
  /** Records in it whose change is not finished yet. */
  open: number;
}

/** What the log records: anything JSON with an id of one line. */
export interface LogRecord {
  id: string;
}

/** A record found at start: `finished` when its `done` line is there. */
export interface Found<T> {
  record: T;
  finished: boolean;
}

/**
 * The record of changes under way, in a folder of segment files: one checksummed JSON line per
 * change, fsynced before the change is acknowledged, and a `done <id>` line once the change is
 * finished for good (fsynced in the background, shared with the next records). Concurrent changes
 * share their fsyncs (group commit). Segments are deleted oldest first, once every change recorded
 * in them and in all before them is finished, so the log always holds every change after the
 * oldest one under way, in order, and stays small however long the daemon runs.
 *
 * A change given up before it was acknowledged is cancelled in place (its first byte
 * overwritten, then fsynced), which needs no free space: it can never be applied after a restart.
 */
export class WriteAheadLog<T extends LogRecord> {
  private current!: Segment;
  /** Closed segments that still hold changes under way, or follow one that does, oldest first. */
  private readonly older: Segment[] = [];
  /** Where each change under way is recorded. */
  private readonly recordedIn = new Map<string, { segment: Segment; offset: number }>();
  /** Writes to the files, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  private syncing?: Promise<void>;
  private nextSync?: Promise<void>;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes = SEGMENT_BYTES,
  ) {}

  /** Opens the log and returns every record it holds, oldest first, each with whether its change finished. */
  async open(): Promise<Array<Found<T>>> {
    await makeDurableDir(this.dir);
    const numbers = await this.segmentNumbers();
    const found = new Map<string, Found<T>>();
    for (const number of numbers) {
      for (const payload of readLines(await readFile(this.file(number)))) {
        if (payload.startsWith('done ')) {
          const entry = found.get(payload.slice(5));
          if (entry) entry.finished = true;
        } else {
          const record = JSON.parse(payload) as T;
          found.set(record.id, { record, finished: false });
        }
      }
    }
    this.current = await this.openSegment((numbers.at(-1) ?? 0) + 1);
    return [...found.values()];
  }

  /** Forgets every segment but the new one: call once the interrupted changes are finished for good. */
  async clear(): Promise<void> {
    const numbers = (await this.segmentNumbers()).filter((number) => number !== this.current.number);
    for (const number of numbers) await rm(this.file(number), { force: true });
    if (numbers.length) await syncPath(this.dir);
  }

  /** Records a change; resolves once the record is on disk. A record that may be on disk when this fails is cancelled first. */
  async begin(record: T): Promise<void> {
    await this.append(`${JSON.stringify(record)}`, record.id);
    try {
      await this.sync();
    } catch (error) {
      await this.cancel(record.id);
      throw error;
    }
  }

  /**
   * Cancels a change given up before it was acknowledged: its record is overwritten in place and
   * fsynced, so a restart never applies it. Rejects only when that could not be made durable.
   */
  async cancel(id: string): Promise<void> {
    const at = this.recordedIn.get(id);
    if (!at) return;
    await this.enqueue(async () => {
      writeSync(at.segment.handle.fd, CANCELLED, 0, 1, at.offset);
      // A new fsync of a page written again: it succeeds only once this byte is on disk.
      await at.segment.handle.datasync();
    });
    this.finished(id);
  }

  /**
   * Marks changes finished for good: everything they changed is durable. The line is made durable
   * in the background; until it is, a restart finds the change as it was (nothing to redo). A line
   * that cannot be written (a full disk) changes nothing but that.
   */
  async end(ids: string[]): Promise<void> {
    try {
      await this.append(ids.map((id) => `done ${id}`));
      await this.sync();
    } catch (error) {
      console.error(`roost: closing records in ${this.dir} failed (a restart finds them as they are): ${(error as Error).message}`);
    }
    for (const id of ids) this.finished(id);
  }

  async close(): Promise<void> {
    await this.tail;
    await Promise.all([this.current, ...this.older].map((segment) => segment?.handle.close()));
  }

  private finished(id: string): void {
    const at = this.recordedIn.get(id);
    if (!at) return;
    this.recordedIn.delete(id);
    at.segment.open--;
    if (at.segment !== this.current) this.retireFinished();
  }

  /** Deletes the oldest segments while their changes are all finished, then makes the deletions durable. */
  private retireFinished(): void {
    const retired: Segment[] = [];
    while (this.older.length && this.older[0].open === 0) retired.push(this.older.shift()!);
    if (!retired.length) return;
    void this.enqueue(async () => {
      for (const segment of retired) {
        await segment.handle.close();
        await rm(this.file(segment.number), { force: true });
      }
      await syncPath(this.dir);
    }).catch((error: Error) => console.error(`roost: removing a finished segment of ${this.dir} failed: ${error.message}`));
  }

  /** Appends lines to the current segment; `opens` names the change the (single) line records. */
  private append(payloads: string | string[], opens?: string): Promise<unknown> {
    return this.enqueue(async () => {
      if (this.current.bytes > this.segmentBytes) await this.rotate();
      const segment = this.current;
      const before = segment.bytes;
      const bytes = Buffer.concat([payloads].flat().map(line));
      try {
        // A write to the page cache: done at once, where a trip through libuv's pool costs more. The fsync is async.
        for (let done = 0; done < bytes.length; ) done += writeSync(segment.handle.fd, bytes, done, bytes.length - done, before + done);
      } catch (error) {
        // A line cut short (a full disk) must not run into the next record.
        await segment.handle.truncate(before).catch(() => undefined);
        throw error;
      }
      segment.bytes += bytes.length;
      if (opens !== undefined) {
        segment.open++;
        this.recordedIn.set(opens, { segment, offset: before });
      }
    });
  }

  private async rotate(): Promise<void> {
    const full = this.current;
    this.current = await this.openSegment(full.number + 1);
    this.older.push(full);
    this.retireFinished();
  }

  /** A new segment, its folder entry made durable before any record in it is acknowledged. */
  private async openSegment(number: number): Promise<Segment> {
    const handle = await open(this.file(number), 'w');
    await syncPath(this.dir);
    return { number, handle, bytes: 0, open: 0 };
  }

  private enqueue<R>(write: () => Promise<R>): Promise<R> {
    const result = this.tail.then(write);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** An fsync that covers every write finished before the call; concurrent callers share them. */
  private sync(): Promise<void> {
    if (!this.syncing) {
      const segments = [this.current, ...this.older];
      this.syncing = Promise.all(segments.map((segment) => segment.handle.datasync()))
        .then(() => undefined)
        .finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // The fsync under way may have started before our write: wait for the next one.
    this.nextSync ??= this.syncing.then(
      () => this.nextRound(),
      () => this.nextRound(),
    );
    return this.nextSync;
  }

  private nextRound(): Promise<void> {
    this.nextSync = undefined;
    return this.sync();
  }

  private async segmentNumbers(): Promise<number[]> {
    return (await readdir(this.dir))
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
  }

  private file(number: number): string {
    return path.join(this.dir, `journal-${number}.log`);
  }
}

function line(payload: string): Buffer {
  const body = Buffer.from(payload);
  return Buffer.concat([Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} ${body.length} `), body, Buffer.from('\n')]);
}

/** The payloads of a segment's lines that pass their check; a line cut short, damaged or cancelled is skipped. */
function readLines(data: Buffer): string[] {
  const out: string[] = [];
  for (let start = 0; start < data.length; ) {
    let end = data.indexOf(0x0a, start);
    if (end < 0) end = data.length;
    const text = data.subarray(start, Math.min(end, start + 32)).toString('latin1');
    const match = LINE.exec(text);
    if (match) {
      const from = start + match[0].length;
      const body = data.subarray(from, end);
      if (body.length === Number(match[2]) && crc32(body) === parseInt(match[1], 16)) out.push(body.toString('utf8'));
    }
    start = end + 1;
  }
  return out;
}
