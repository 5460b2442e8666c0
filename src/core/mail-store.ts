import { promises as fs } from 'node:fs';
import { UserError } from './errors.js';
import { type Folder, mailPath, type Message, parseMessage, serializeMessage } from './message.js';
import { checkId, isId, isMessageId } from './paths.js';
import { type Authored, isMissing, type Vault } from './vault.js';

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
 * A post is one change of the vault: recorded with every copy in its write-ahead log and fsynced
 * (that record is what makes it durable), then every copy is written, unsynced, and the post is
 * acknowledged; the copies are fsynced in the background and committed. A post a crash
 * interrupted is finished when the vault opens, so a message reaches all of its recipients, or
 * none if it was never recorded or was refused.
 */
export class FileMailbox implements MailTransport {
  constructor(private readonly vault: Vault) {}

  async post(message: Message): Promise<void> {
    await this.vault.post(copiesOf(message), serializeMessage(message), { author: message.from, summary: summaryOf(message) });
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

  async remove(bot: string, folder: Folder, id: string, change: Authored): Promise<void> {
    checkId(bot);
    if (!isMessageId(id)) throw new UserError(`"${id}" is not a message id: take one from read_inbox.`);
    await this.vault.remove(mailPath(bot, folder, id), `mail/${bot}`, change);
  }
}

/** The commit line of a message's post. */
export function summaryOf(m: Message): string {
  const subject = m.subject.length > 50 ? `${m.subject.slice(0, 49)}…` : m.subject;
  const n = m.recipients.length;
  return `send "${subject}" to ${m.to.join(', ')} (${n} recipient${n === 1 ? '' : 's'})`;
}

/** The sender's copy and one per recipient. */
export function copiesOf(message: Message): string[] {
  return [...message.recipients.map((bot) => mailPath(bot, 'inbox', message.id)), mailPath(message.from, 'sent', message.id)];
}
