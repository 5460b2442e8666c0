import { type Found, type LogRecord, WriteAheadLog } from './write-ahead-log.js';

/** How long a change's files wait to be fsynced with the files of the changes after it. */
const SYNC_DELAY_MS = 20;
const SYNC_RETRY_MS = 1_000;
const SYNC_BATCH = 200;
/** Changes acknowledged but not yet fsynced, at most; a change beyond waits for the fsyncs to catch up. */
const MAX_UNSYNCED = 1_000;

/**
 * Changes made durable by a record in a write-ahead log, so that their files can be written
 * unsynced and the change acknowledged at once. The files are fsynced in the background, in
 * batches (each file and each folder once per batch, however often it changed), and a record is
 * closed once its files are durable and its change is committed to git. Under a flood, changes
 * slow to the pace of the disk rather than piling up.
 */
export class DeferredSync<T extends LogRecord> {
  private readonly log: WriteAheadLog<T>;
  /** Changes whose files are written but not yet fsynced… */
  private unsynced: Array<{ id: string; files: string[]; rewrite?: boolean }> = [];
  /** …and how many more are being fsynced now. */
  private inFlight = 0;
  /** How many of those changes wrote each file. */
  private readonly files = new Map<string, number>();
  /** Changes acknowledged and not yet closed: whether their files are durable, and whether git has them. */
  private readonly underWay = new Map<string, { record: T; synced: boolean; committed: boolean }>();
  /** Records begun and not yet written or abandoned. */
  private readonly begun = new Map<string, T>();
  private syncing?: Promise<void>;
  /** Changes waiting for the background fsyncs to catch up. */
  private readonly room: Array<() => void> = [];

  /**
   * @param syncFiles fsyncs files and the folders their entries are in
   * @param rewrite writes a change's files again from its record, after an fsync of them failed
   */
  constructor(
    dir: string,
    private readonly syncFiles: (files: string[]) => Promise<void>,
    private readonly rewrite: (record: T) => Promise<void>,
  ) {
    this.log = new WriteAheadLog<T>(dir);
  }

  /** Opens the log: returns every record it holds, for the caller to finish those a crash interrupted. */
  open(): Promise<Array<Found<T>>> {
    return this.log.open();
  }

  /** Once the interrupted changes are finished (durable and committed): forgets their records. */
  recovered(): Promise<void> {
    return this.log.clear();
  }

  /** Records a change before its files are written, made once there is room; resolves once the record is durable. */
  async begin(make: () => T): Promise<void> {
    while (this.unsynced.length + this.inFlight >= MAX_UNSYNCED) await new Promise<void>((resolve) => this.room.push(resolve));
    const record = make();
    await this.log.begin(record);
    this.begun.set(record.id, record);
  }

  /** A change given up before it was acknowledged: its record is cancelled for good before this resolves. */
  abandon(id: string): Promise<void> {
    this.begun.delete(id);
    return this.log.cancel(id);
  }

  /** The change's files are written: they are fsynced soon; its record is closed once `committed` is called too. */
  written(id: string, files: string[]): void {
    this.underWay.set(id, { record: this.begun.get(id)!, synced: false, committed: false });
    this.begun.delete(id);
    this.unsynced.push({ id, files });
    for (const file of files) this.files.set(file, (this.files.get(file) ?? 0) + 1);
    this.syncing ??= this.syncAll();
  }

  /** The change is committed to git (durably). */
  committed(id: string): void {
    const state = this.underWay.get(id);
    if (!state) return;
    state.committed = true;
    if (state.synced) this.finish([id]);
  }

  /** True while a change that wrote `file` waits for its fsync. */
  pending(file: string): boolean {
    return this.files.has(file);
  }

  /** Resolves once every change written so far is durable. */
  async flush(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.log.close();
  }

  private finish(ids: string[]): void {
    for (const id of ids) this.underWay.delete(id);
    void this.log.end(ids);
  }

  private async syncAll(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SYNC_DELAY_MS));
    while (this.unsynced.length) {
      // Small batches, so changes waiting for room get it soon.
      const batch = this.unsynced.splice(0, SYNC_BATCH);
      this.inFlight = batch.length;
      const files = batch.flatMap((change) => change.files);
      try {
        // A failed fsync may have dropped the written pages, so a second fsync would prove nothing: the
        // files of a batch whose fsync failed are first written again from their records.
        for (const change of batch) {
          if (!change.rewrite) continue;
          await this.rewrite(this.underWay.get(change.id)!.record);
          change.rewrite = false;
        }
        await this.syncFiles([...new Set(files)]);
        for (const file of files) {
          const left = this.files.get(file)! - 1;
          if (left) this.files.set(file, left);
          else this.files.delete(file);
        }
        const done: string[] = [];
        for (const { id } of batch) {
          const state = this.underWay.get(id)!;
          state.synced = true;
          if (state.committed) done.push(id);
        }
        if (done.length) this.finish(done);
      } catch (error) {
        // The records stay open, so a restart redoes these changes if need be.
        console.error(`roost: syncing written files failed (will write them again and retry): ${(error as Error).message}`);
        for (const change of batch) change.rewrite = true;
        this.unsynced.unshift(...batch);
        await new Promise((resolve) => setTimeout(resolve, SYNC_RETRY_MS));
      }
      this.inFlight = 0;
      for (const wake of this.room.splice(0)) wake();
    }
    this.syncing = undefined;
  }
}
