import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MailJournal } from './mail-journal.js';
import { type Folder, isMessageId, mailPath, type Message, parseMessage, serializeMessage } from './message.js';
import { isMissing, storageError, type Vault } from './vault.js';

/** How long a post's copies wait to be fsynced with the copies of the posts after it. */
const SYNC_DELAY_MS = 20;
const SYNC_RETRY_MS = 1_000;
const SYNC_BATCH_POSTS = 200;
/** Posts acknowledged but not yet fsynced, at most; a post beyond waits for the fsyncs to catch up. */
const MAX_UNSYNCED_POSTS = 1_000;

/**
 * How a message travels to its recipients' mailboxes. The embedded implementation is the file
 * mailbox below; one spanning several hosts would be an existing broker behind this interface.
 */
export interface MailTransport {
  /**
   * Makes the message durable in every recipient's inbox and in the sender's sent folder before
   * it resolves. Posting the same message again (same id) is harmless.
   */
  post(message: Message): Promise<void>;
}

/**
 * Mailboxes as files in the data root: `mail/<bot>/inbox/<id>.md` and `mail/<bot>/sent/<id>.md`.
 * A post is first recorded in a journal (git-ignored, under `.roost/`) and fsynced: that record is
 * what makes it durable. Then every copy is written, unsynced, and the post is acknowledged;
 * the copies are fsynced in the background, in batches, and the record is closed after that. A
 * post a crash interrupted is finished by `recover` at the next start, so a message reaches all
 * of its recipients, or none if it was never recorded.
 */
export class FileMailbox implements MailTransport {
  private readonly journal: MailJournal;
  /** Posts whose copies are written but not yet fsynced… */
  private unsynced: Array<{ id: string; copies: string[] }> = [];
  /** …and how many more are being fsynced now. */
  private inFlight = 0;
  private syncing?: Promise<void>;
  /** Posts waiting for the background fsyncs to catch up. */
  private readonly room: Array<() => void> = [];

  constructor(
    private readonly vault: Vault,
    journalDir: string,
  ) {
    this.journal = new MailJournal(journalDir);
  }

  async post(message: Message): Promise<void> {
    // A bounded backlog: under a flood, posting slows to the pace of the disk.
    while (this.unsynced.length + this.inFlight >= MAX_UNSYNCED_POSTS) await new Promise<void>((resolve) => this.room.push(resolve));
    await this.journal.begin(message).catch((error) => {
      throw storageError(error);
    });
    const text = serializeMessage(message);
    const copies = copiesOf(message);
    try {
      await Promise.all(copies.map((file) => this.vault.write(file, text, { sync: false })));
    } catch (error) {
      // Not acknowledged, so not to be finished after a restart either.
      await Promise.all(copies.map((file) => this.vault.remove(file, path.dirname(file)).catch(() => undefined)));
      await this.journal.end([message.id]).catch(() => undefined);
      throw error;
    }
    this.unsynced.push({ id: message.id, copies });
    this.syncing ??= this.syncCopies();
  }

  /** fsyncs the copies of every post written so far, batch after batch, and closes their records. */
  private async syncCopies(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SYNC_DELAY_MS));
    while (this.unsynced.length) {
      // Small batches, so posts waiting for room get it soon.
      const batch = this.unsynced.splice(0, SYNC_BATCH_POSTS);
      this.inFlight = batch.length;
      try {
        await this.vault.sync(batch.flatMap((post) => post.copies));
        await this.journal.end(batch.map((post) => post.id));
      } catch (error) {
        // The records stay open, so a restart rewrites these copies if need be; try again soon.
        console.error(`roost: syncing message files failed (will retry): ${(error as Error).message}`);
        this.unsynced.unshift(...batch);
        await new Promise((resolve) => setTimeout(resolve, SYNC_RETRY_MS));
      }
      this.inFlight = 0;
      for (const wake of this.room.splice(0)) wake();
    }
    this.syncing = undefined;
  }

  /**
   * Opens the journal and finishes the posts a crash interrupted: every copy that is missing or
   * not what was sent (cut short by a power loss) is written again, and all are fsynced.
   * Returns their messages and the copies it wrote.
   */
  async recover(): Promise<Array<{ message: Message; written: string[] }>> {
    const recovered = [];
    const copies: string[] = [];
    for (const message of await this.journal.open()) {
      const text = serializeMessage(message);
      const written: string[] = [];
      for (const copy of copiesOf(message)) {
        copies.push(copy);
        if ((await this.vault.read(copy)) === text) continue;
        await this.vault.write(copy, text, { sync: false });
        written.push(copy);
      }
      recovered.push({ message, written });
    }
    // All at once: after a crash under load there may be a thousand posts to finish.
    await this.vault.sync(copies);
    await this.journal.clear();
    return recovered;
  }

  /** Lets the background fsyncs finish, then closes the journal. */
  async close(): Promise<void> {
    while (this.syncing) await this.syncing;
    await this.journal.close();
  }
  /** The ids of the messages in one folder of a bot's mailbox. */
  async list(bot: string, folder: Folder): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.vault.abs(`mail/${bot}/${folder}`));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return names.filter((n) => n.endsWith('.md')).map((n) => n.slice(0, -3)).filter(isMessageId);
  }

  async read(bot: string, folder: Folder, id: string): Promise<Message | null> {
    const file = mailPath(bot, folder, id);
    const text = await this.vault.read(file);
    if (text === null) return null;
    const message = parseMessage(id, text);
    // A file written by hand without a valid "created" dates from its last change.
    if (!message.created) message.created = new Date((await this.vault.stat(file))?.mtimeMs ?? Date.now()).toISOString();
    return message;
  }

  /** Bots that have a mailbox folder. */
  async bots(): Promise<string[]> {
    try {
      return (await fs.readdir(this.vault.abs('mail'), { withFileTypes: true }))
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  async remove(bot: string, folder: Folder, id: string): Promise<void> {
    await this.vault.remove(mailPath(bot, folder, id), `mail/${bot}`);
  }
}

/** The sender's copy and one per recipient. */
export function copiesOf(message: Message): string[] {
  return [...message.recipients.map((bot) => mailPath(bot, 'inbox', message.id)), mailPath(message.from, 'sent', message.id)];
}
