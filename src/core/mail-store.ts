import { promises as fs } from 'node:fs';
import { type Folder, isMessageId, mailPath, type Message, parseMessage, serializeMessage } from './message.js';
import { isMissing, type Vault } from './vault.js';

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

const PENDING = '.roost/mail/pending';

/**
 * Mailboxes as files in the data root: `mail/<bot>/inbox/<id>.md` and `mail/<bot>/sent/<id>.md`.
 * A post first records the message under `.roost/mail/pending/` (git-ignored), then writes every
 * copy, then drops the record: a post a crash interrupted is finished by `recover` at the next
 * start, so a message reaches all of its recipients or, if never recorded, none.
 */
export class FileMailbox implements MailTransport {
  constructor(private readonly vault: Vault) {}

  async post(message: Message): Promise<void> {
    const text = serializeMessage(message);
    const pending = `${PENDING}/${message.id}.md`;
    await this.vault.write(pending, text);
    await Promise.all(copiesOf(message).map((file) => this.vault.write(file, text)));
    await fs.rm(this.vault.abs(pending), { force: true });
  }

  /** Finishes the posts a crash interrupted; returns their messages and the copies it wrote. */
  async recover(): Promise<Array<{ message: Message; written: string[] }>> {
    const recovered = [];
    for (const stat of await this.vault.walk(PENDING, (name) => name.endsWith('.md'))) {
      const file = `${PENDING}/${stat.path}`;
      const text = await this.vault.read(file);
      if (text === null) continue;
      const message = parseMessage(stat.path.replace(/\.md$/, ''), text);
      const written: string[] = [];
      for (const copy of copiesOf(message)) {
        if (await this.vault.stat(copy)) continue;
        await this.vault.write(copy, text);
        written.push(copy);
      }
      await fs.rm(this.vault.abs(file), { force: true });
      recovered.push({ message, written });
    }
    return recovered;
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
