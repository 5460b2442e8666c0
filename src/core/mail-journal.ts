import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { Message } from './message.js';

/** The journal is emptied when nothing is under way and it has grown past this. */
const MAX_BYTES = 1 << 20;

/**
 * The record of posts under way: one JSON line per message, fsynced before any copy of it is
 * written, and a `done <id>` line once every copy is durable. Concurrent posts share their
 * fsyncs (group commit), so the record costs far less than a file per message. After a crash,
 * the messages without `done` are the posts to finish.
 */
export class MailJournal {
  private handle!: FileHandle;
  /** Writes to the file, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  private syncing?: Promise<void>;
  private nextSync?: Promise<void>;
  private underWay = 0;
  private bytes = 0;

  constructor(private readonly file: string) {}

  /** Opens the journal and returns the messages whose post a crash interrupted. */
  async open(): Promise<Message[]> {
    await mkdir(path.dirname(this.file), { recursive: true });
    this.handle = await open(this.file, 'a+');
    const unfinished = new Map<string, Message>();
    for (const line of (await this.handle.readFile('utf8')).split('\n')) {
      if (line.startsWith('done ')) unfinished.delete(line.slice(5));
      else if (line.startsWith('{')) {
        try {
          const message = JSON.parse(line) as Message;
          unfinished.set(message.id, message);
        } catch {
          // A line cut short by a crash: its post never wrote a copy.
        }
      }
    }
    return [...unfinished.values()];
  }

  /** Forgets everything recorded: call once the interrupted posts are finished. */
  async clear(): Promise<void> {
    await this.enqueue(() => this.handle.truncate(0));
    await this.handle.datasync();
    this.bytes = 0;
  }

  /** Records a post; resolves once the record is on disk. */
  async begin(message: Message): Promise<void> {
    this.underWay++;
    try {
      await this.append(`${JSON.stringify(message)}\n`);
      await this.sync();
    } catch (error) {
      this.underWay--;
      throw error;
    }
  }

  /** Marks a post finished (every copy durable). Needs no fsync: redoing a finished post rewrites nothing. */
  async end(id: string): Promise<void> {
    this.underWay--;
    await this.append(`done ${id}\n`);
    if (this.underWay === 0 && this.bytes > MAX_BYTES) {
      this.bytes = 0;
      await this.enqueue(() => this.handle.truncate(0));
    }
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle?.close();
  }

  private append(text: string): Promise<unknown> {
    this.bytes += Buffer.byteLength(text);
    return this.enqueue(() => this.handle.appendFile(text));
  }

  private enqueue(write: () => Promise<unknown>): Promise<unknown> {
    const result = this.tail.then(write);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** An fsync that covers every write finished before the call; concurrent callers share them. */
  private sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.handle.datasync().finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // The fsync under way may have started before our write: wait for the next one.
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = undefined;
      return this.sync();
    });
    return this.nextSync;
  }
}
