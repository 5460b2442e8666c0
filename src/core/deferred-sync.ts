import { type LogRecord, WriteAheadLog } from './write-ahead-log.js';

/** How long a change's files wait to be fsynced with the files of the changes after it. */
const SYNC_DELAY_MS = 20;
const SYNC_RETRY_MS = 1_000;
const SYNC_BATCH = 200;
/** Changes acknowledged but not yet fsynced, at most; a change beyond waits for the fsyncs to catch up. */
const MAX_UNSYNCED = 1_000;

/**
 * Changes made durable by a record in a write-ahead log, so that their files can be written
 * unsynced and the change acknowledged at once. The files are fsynced in the background, in
 * batches (each file and each folder once per batch, however often it changed), and the records
 * are closed after that. Under a flood, changes slow to the pace of the disk rather than piling up.
 */
export class DeferredSync<T extends LogRecord> {
  private readonly log: WriteAheadLog<T>;
  /** Changes whose files are written but not yet fsynced… */
  private unsynced: Array<{ id: string; files: string[] }> = [];
  /** …and how many more are being fsynced now. */
  private inFlight = 0;
  /** How many of those changes wrote each file. */
  private readonly files = new Map<string, number>();
  private syncing?: Promise<void>;
  /** Changes waiting for the background fsyncs to catch up. */
  private readonly room: Array<() => void> = [];

  constructor(
    dir: string,
    private readonly syncFiles: (files: string[]) => Promise<void>,
  ) {
    this.log = new WriteAheadLog<T>(dir);
  }

  /** Opens the log: returns the records of the changes a crash interrupted, for the caller to redo. */
  open(): Promise<T[]> {
    return this.log.open();
  }

  /** Once the interrupted changes are redone: makes their files durable and forgets their records. */
  async recovered(files: string[]): Promise<void> {
    await this.syncFiles([...new Set(files)]);
    await this.log.clear();
  }

  /** Records a change before its files are written; resolves once the record is durable. */
  async begin(record: T): Promise<void> {
    while (this.unsynced.length + this.inFlight >= MAX_UNSYNCED) await new Promise<void>((resolve) => this.room.push(resolve));
    await this.log.begin(record);
  }

  /** A change given up before it was acknowledged: nothing to redo after a restart. */
  abandon(id: string): Promise<void> {
    return this.log.end([id]);
  }

  /** The change's files are written: they are fsynced soon, and its record closed. */
  written(id: string, files: string[]): void {
    this.unsynced.push({ id, files });
    for (const file of files) this.files.set(file, (this.files.get(file) ?? 0) + 1);
    this.syncing ??= this.syncAll();
  }

  /** True while a change that wrote `file` waits for its fsync. */
  pending(file: string): boolean {
    return this.files.has(file);
  }

  /** Resolves once every change written so far is durable and its record closed. */
  async flush(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.log.close();
  }

  private async syncAll(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SYNC_DELAY_MS));
    while (this.unsynced.length) {
      // Small batches, so changes waiting for room get it soon.
      const batch = this.unsynced.splice(0, SYNC_BATCH);
      this.inFlight = batch.length;
      const files = batch.flatMap((change) => change.files);
      try {
        await this.syncFiles([...new Set(files)]);
        await this.log.end(batch.map((change) => change.id));
        for (const file of files) {
          const left = this.files.get(file)! - 1;
          if (left) this.files.set(file, left);
          else this.files.delete(file);
        }
      } catch (error) {
        // The records stay open, so a restart redoes these changes if need be; try again soon.
        console.error(`roost: syncing written files failed (will retry): ${(error as Error).message}`);
        this.unsynced.unshift(...batch);
        await new Promise((resolve) => setTimeout(resolve, SYNC_RETRY_MS));
      }
      this.inFlight = 0;
      for (const wake of this.room.splice(0)) wake();
    }
    this.syncing = undefined;
  }
}
