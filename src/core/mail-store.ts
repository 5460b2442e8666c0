import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeferredSync } from './deferred-sync.js';
import { UserError } from './errors.js';
import { type Folder, mailPath, type Message, parseMessage, serializeMessage } from './message.js';
import { checkId, isId, isMessageId } from './paths.js';
import { isMissing, storageError, type Vault } from './vault.js';

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
  private readonly journal: DeferredSync<Message>;

  constructor(
    private readonly vault: Vault,
    journalDir: string,
  ) {
    this.journal = new DeferredSync<Message>(journalDir, (files) => vault.sync(files));
  }

  async post(message: Message): Promise<void> {
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
      await this.journal.abandon(message.id).catch(() => undefined);
      throw error;
    }
    this.journal.written(message.id, copies);
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
    await this.journal.recovered(copies);
    return recovered;
  }

  /** Lets the background fsyncs finish, then closes the journal. */
  async close(): Promise<void> {
    await this.journal.close();
  }
  /** The ids of the messages in one folder of a bot's mailbox. */
  async list(bot: string, folder: Folder): Promise<string[]> {
    checkId(bot);
    let names: string[];
    try {
      names = await fs.readdir(this.vault.abs(`mail/${bot}/${folder}`));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return names.filter((n) => n.endsWith('.md')).map((n) => n.slice(0, -3)).filter(isMessageId);
  }

  /** A message; null when there is none, and for a bot id or message id no mailbox can have (from a file written by hand). */
  async read(bot: string, folder: Folder, id: string): Promise<Message | null> {
    if (!isId(bot) || !isMessageId(id)) return null;
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
        .filter((e) => e.isDirectory() && isId(e.name))
        .map((e) => e.name);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  async remove(bot: string, folder: Folder, id: string): Promise<void> {
    checkId(bot);
    if (!isMessageId(id)) throw new UserError(`"${id}" is not a message id: take one from read_inbox.`);
    await this.vault.remove(mailPath(bot, folder, id), `mail/${bot}`);
  }
}

/** The sender's copy and one per recipient. */
export function copiesOf(message: Message): string[] {
  return [...message.recipients.map((bot) => mailPath(bot, 'inbox', message.id)), mailPath(message.from, 'sent', message.id)];
}
