import type { Caller } from './access.js';
import { UserError } from './errors.js';
import type { Memory, WriteResult } from './memory.js';
import { serializeNote } from './notes.js';

export interface JournalEntry {
  date: string;
  time: string;
  text: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ENTRY_HEADING = /^## (\d{2}:\d{2}:\d{2}Z)(?: .*)?$/;
const MAX_DAYS = 366;

/**
 * The bot's reasoning history: `journal/YYYY-MM-DD.md` (UTC), one `## HH:MM:SSZ` section per
 * entry, appended in order. Earlier entries are never rewritten.
 */
export class Journal {
  constructor(private readonly memory: Memory) {}

  async append(caller: Caller, text: string, at = new Date()): Promise<WriteResult & { date: string; time: string }> {
    if (text.trim() === '') throw new UserError('The journal entry is empty: write what you did or decided.');
    const iso = at.toISOString();
    const date = iso.slice(0, 10);
    const time = `${iso.slice(11, 19)}Z`;
    const entry = `## ${time}\n\n${text.trim()}\n`;
    const result = await this.memory.writeWith(
      caller.bot,
      `journal/${date}.md`,
      (current) => {
        if (!current) return serializeNote({ title: `Journal ${date}`, type: 'journal', created: iso }, `\n${entry}`);
        const sep = current.text.endsWith('\n\n') ? '' : current.text.endsWith('\n') ? '\n' : '\n\n';
        return `${current.text}${sep}${entry}`;
      },
      `journal ${date} ${time}`,
    );
    return { ...result, date, time };
  }

  async read(caller: Caller, bot: string, from: string, to: string): Promise<JournalEntry[]> {
    for (const day of [from, to]) {
      if (!DAY.test(day) || Number.isNaN(Date.parse(day))) {
        throw new UserError(`"${day}" is not a date: use YYYY-MM-DD.`);
      }
    }
    if (from > to) throw new UserError(`"from" (${from}) is after "to" (${to}): swap them.`);
    const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
    if (days > MAX_DAYS) throw new UserError(`That is ${days} days; read at most ${MAX_DAYS} at a time.`);
    const files = (await this.memory.list(caller, bot, 'journal', false)).notes
      .map((n) => n.path)
      .filter((p) => {
        const day = p.slice('journal/'.length, -'.md'.length);
        return DAY.test(day) && day >= from && day <= to;
      })
      .sort();
    const entries: JournalEntry[] = [];
    for (const path of files) {
      const loaded = await this.memory.readable(caller, bot, path);
      entries.push(...parseEntries(path.slice('journal/'.length, -'.md'.length), loaded.parsed.body));
    }
    return entries;
  }
}

function parseEntries(date: string, body: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  let current: JournalEntry | null = null;
  const lines: string[] = [];
  const close = () => {
    if (current) entries.push({ ...current, text: lines.join('\n').trim() });
    lines.length = 0;
  };
  for (const line of body.split('\n')) {
    const heading = ENTRY_HEADING.exec(line);
    if (heading) {
      close();
      current = { date, time: heading[1], text: '' };
    } else if (current) lines.push(line);
    else if (line.trim()) {
      // Text a person wrote above the first entry still counts.
      current = { date, time: '', text: '' };
      lines.push(line);
    }
  }
  close();
  return entries;
}
