import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** By default a segment is closed, and a new one begun, once it has grown past this. */
const SEGMENT_BYTES = 4 << 20;
const SEGMENT_NAME = /^journal-(\d+)\.log$/;

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

/**
 * The record of changes under way, in a folder of segment files: one JSON line per change,
 * fsynced before the change is acknowledged, and a `done <id>` line once every file it wrote is
 * durable. Concurrent changes share their fsyncs (group commit). A segment is deleted once every
 * change recorded in it is finished, so the log stays small however long the daemon runs.
 * After a crash, the records without `done` are the changes to finish.
 */
export class WriteAheadLog<T extends LogRecord> {
  private current!: Segment;
  /** Closed segments that still hold changes under way. */
  private readonly older = new Map<number, Segment>();
  /** The segment each change under way is recorded in. */
  private readonly recordedIn = new Map<string, Segment>();
  /** Writes to the files, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  private syncing?: Promise<void>;
  private nextSync?: Promise<void>;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes = SEGMENT_BYTES,
  ) {}

  /** Opens the log and returns the records of the changes a crash interrupted, oldest first. */
  async open(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true });
    const numbers = await this.segmentNumbers();
    const unfinished = new Map<string, T>();
    for (const number of numbers) {
      for (const line of (await readFile(this.file(number), 'utf8')).split('\n')) {
        if (line.startsWith('done ')) unfinished.delete(line.slice(5));
        else if (line.startsWith('{')) {
          try {
            const record = JSON.parse(line) as T;
            unfinished.set(record.id, record);
          } catch {
            // A line cut short by a crash: its change was never acknowledged.
          }
        }
      }
    }
    this.current = await this.openSegment((numbers.at(-1) ?? 0) + 1);
    return [...unfinished.values()];
  }

  /** Forgets every segment but the new one: call once the interrupted changes are finished for good. */
  async clear(): Promise<void> {
    for (const number of await this.segmentNumbers()) {
      if (number !== this.current.number) await rm(this.file(number), { force: true });
    }
  }

  /** Records a change; resolves once the record is on disk. */
  async begin(record: T): Promise<void> {
    try {
      await this.append(`${JSON.stringify(record)}\n`, record.id);
      await this.sync();
    } catch (error) {
      this.finished(record.id);
      throw error;
    }
  }

  /**
   * Marks changes finished: every file they wrote is durable, or they were given up before they
   * were acknowledged. Needs no fsync: redoing a finished change rewrites nothing.
   */
  async end(ids: string[]): Promise<void> {
    await this.append(ids.map((id) => `done ${id}\n`).join(''));
    for (const id of ids) this.finished(id);
  }

  async close(): Promise<void> {
    await this.tail;
    await Promise.all([this.current, ...this.older.values()].map((segment) => segment?.handle.close()));
  }

  private finished(id: string): void {
    const segment = this.recordedIn.get(id);
    if (!segment) return;
    this.recordedIn.delete(id);
    segment.open--;
    if (segment !== this.current && segment.open === 0) this.retire(segment);
  }

  /** A closed segment whose changes are all finished is no longer needed for recovery. */
  private retire(segment: Segment): void {
    this.older.delete(segment.number);
    void this.enqueue(async () => {
      await segment.handle.close();
      await rm(this.file(segment.number), { force: true });
    }).catch((error: Error) => console.error(`roost: removing a finished segment of ${this.dir} failed: ${error.message}`));
  }

  /** Appends to the current segment; `opens` names the change a record line begins. */
  private append(text: string, opens?: string): Promise<unknown> {
    return this.enqueue(async () => {
      if (this.current.bytes > this.segmentBytes) await this.rotate();
      const segment = this.current;
      if (opens !== undefined) {
        segment.open++;
        this.recordedIn.set(opens, segment);
      }
      const before = segment.bytes;
      const bytes = Buffer.from(text);
      segment.bytes += bytes.length;
      try {
        // A write to the page cache: done at once, where a trip through libuv's pool costs more. The fsync is async.
        for (let done = 0; done < bytes.length; ) done += writeSync(segment.handle.fd, bytes, done);
      } catch (error) {
        // A line cut short (a full disk) must not run into the next record.
        segment.bytes = before;
        await segment.handle.truncate(before).catch(() => undefined);
        throw error;
      }
    });
  }

  private async rotate(): Promise<void> {
    const full = this.current;
    this.current = await this.openSegment(full.number + 1);
    if (full.open === 0) {
      await full.handle.close();
      await rm(this.file(full.number), { force: true });
    } else this.older.set(full.number, full);
  }

  private async openSegment(number: number): Promise<Segment> {
    return { number, handle: await open(this.file(number), 'a'), bytes: 0, open: 0 };
  }

  private enqueue<T>(write: () => Promise<T>): Promise<T> {
    const result = this.tail.then(write);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** An fsync that covers every write finished before the call; concurrent callers share them. */
  private sync(): Promise<void> {
    if (!this.syncing) {
      const segments = [this.current, ...this.older.values()];
      this.syncing = Promise.all(segments.map((segment) => segment.handle.datasync()))
        .then(() => undefined)
        .finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // The fsync under way may have started before our write: wait for the next one.
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = undefined;
      return this.sync();
    });
    return this.nextSync;
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
