import { type FileHandle, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { makeDurableDir, syncPath } from './durable.js';
import { isMissing } from './vault.js';

type Mark = 'read' | 'ack';

interface BotState {
  read: Set<string>;
  acked: Set<string>;
  log?: Promise<FileHandle>;
}

/**
 * Which messages each bot has read and acknowledged. Not in git (reading never commits): one
 * append-only log per bot under `.roost/mail/state/`, each change written and fsynced before it
 * is reported done, so it survives a killed process or a power cut (a new log's folder entry is
 * fsynced too). Compacted at every start.
 */
export class MailState {
  private readonly bots = new Map<string, BotState>();

  constructor(private readonly dir: string) {}

  /** Reads a bot's log, keeping only marks of messages still in its inbox, and rewrites it compacted. */
  async load(bot: string, inbox: Set<string>): Promise<void> {
    const state: BotState = { read: new Set(), acked: new Set() };
    let text = '';
    try {
      text = await readFile(this.file(bot), 'utf8');
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    for (const line of text.split('\n')) {
      const [mark, ...ids] = line.split(' ');
      const set = mark === 'read' ? state.read : mark === 'ack' ? state.acked : undefined;
      // A line cut short by a crash names an id that is in no inbox, and so is dropped here.
      for (const id of ids) if (set && inbox.has(id)) set.add(id);
    }
    this.bots.set(bot, state);
    await makeDurableDir(this.dir);
    const temp = `${this.file(bot)}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(lines('read', [...state.read]) + lines('ack', [...state.acked]));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file(bot));
    await syncPath(this.dir);
  }

  isRead(bot: string, id: string): boolean {
    const state = this.bots.get(bot);
    return !!state && (state.read.has(id) || state.acked.has(id));
  }

  isAcked(bot: string, id: string): boolean {
    return this.bots.get(bot)?.acked.has(id) ?? false;
  }

  /** Marks messages read; returns those that were not. */
  markRead(bot: string, ids: string[]): Promise<string[]> {
    return this.mark(bot, 'read', ids.filter((id) => !this.isRead(bot, id)));
  }

  /** Marks messages acknowledged; returns those that were not. */
  ack(bot: string, ids: string[]): Promise<string[]> {
    return this.mark(bot, 'ack', ids.filter((id) => !this.isAcked(bot, id)));
  }

  /** Forgets the marks of messages that left the inbox. */
  forget(bot: string, id: string): void {
    this.bots.get(bot)?.read.delete(id);
    this.bots.get(bot)?.acked.delete(id);
  }

  async close(): Promise<void> {
    for (const state of this.bots.values()) {
      const log = state.log;
      state.log = undefined;
      await log?.then((handle) => handle.close()).catch(() => undefined);
    }
  }

  private async mark(bot: string, mark: Mark, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return ids;
    const state = this.state(bot);
    const set = mark === 'read' ? state.read : state.acked;
    for (const id of ids) set.add(id);
    try {
      // A new log's entry in its folder is made durable before its first line counts.
      state.log ??= makeDurableDir(this.dir).then(async () => {
        const handle = await open(this.file(bot), 'a');
        await syncPath(this.dir);
        return handle;
      });
      const log = await state.log;
      // O_APPEND keeps concurrent lines whole; each caller's datasync covers its own line.
      await log.appendFile(lines(mark, ids));
      await log.datasync();
    } catch (error) {
      state.log = undefined;
      for (const id of ids) set.delete(id);
      throw error;
    }
    return ids;
  }

  private state(bot: string): BotState {
    let state = this.bots.get(bot);
    if (!state) {
      state = { read: new Set(), acked: new Set() };
      this.bots.set(bot, state);
    }
    return state;
  }

  private file(bot: string): string {
    return path.join(this.dir, `${bot}.log`);
  }
}

/** `mark id id …` lines of at most 100 ids. */
function lines(mark: Mark, ids: string[]): string {
  let out = '';
  for (let i = 0; i < ids.length; i += 100) out += `${mark} ${ids.slice(i, i + 100).join(' ')}\n`;
  return out;
}
