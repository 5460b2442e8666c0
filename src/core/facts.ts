import type { Caller } from './access.js';
import { UserError } from './errors.js';
import type { Memory } from './memory.js';
import { serializeNote, stringOf } from './notes.js';
import { offsetPage } from './paging.js';

export interface Fact {
  key: string;
  value: unknown;
  updated: string;
  version: string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,7}$/;
const FOLDER = 'facts';

/**
 * Key-value facts. Each key is one note, `facts/<key>.md`: the value in frontmatter (the truth)
 * and again in the body for people, so `git log facts/<key>.md` is that key's history.
 */
export class Facts {
  constructor(private readonly memory: Memory) {}

  async set(caller: Caller, key: string, value: unknown, expected?: string): Promise<Fact> {
    checkKey(key);
    const stamp = new Date().toISOString();
    const result = await this.memory.writeWith(
      caller.bot,
      pathOf(key),
      (current) => {
        const created = current ? stringOf(current.parsed.frontmatter.created) || stamp : stamp;
        return serializeNote({ key, value, type: 'fact', created, updated: stamp }, bodyOf(key, value));
      },
      `set fact ${key}`,
      expected,
    );
    return { key, value, updated: stamp, version: result.version };
  }

  async get(caller: Caller, bot: string, key: string): Promise<Fact> {
    checkKey(key);
    try {
      const loaded = await this.memory.readable(caller, bot, pathOf(key));
      return factOf(key, loaded.parsed.frontmatter, loaded.version);
    } catch (error) {
      if (error instanceof UserError && error.code === 'not_found') {
        throw new UserError(`There is no fact "${key}": call list_facts to see the keys.`, 'not_found');
      }
      throw error;
    }
  }

  async list(caller: Caller, bot: string, prefix: string, limit: number, offset: number): Promise<{ total: number; facts: Fact[] }> {
    const notes = (await this.memory.list(caller, bot, FOLDER, true)).notes
      .map((n) => n.path.slice(FOLDER.length + 1, -'.md'.length))
      .filter((key) => key.startsWith(prefix));
    const page = offsetPage(notes, offset, limit);
    const facts = await Promise.all(
      page.map(async (key) => {
        const loaded = await this.memory.readable(caller, bot, pathOf(key));
        return factOf(key, loaded.parsed.frontmatter, loaded.version);
      }),
    );
    return { total: notes.length, facts };
  }

  async remove(caller: Caller, key: string, expected?: string): Promise<void> {
    checkKey(key);
    try {
      await this.memory.remove(caller, pathOf(key), expected);
    } catch (error) {
      if (error instanceof UserError && error.code === 'not_found') {
        throw new UserError(`There is no fact "${key}" to delete: call list_facts to see the keys.`, 'not_found');
      }
      throw error;
    }
  }
}

function checkKey(key: string): void {
  if (!KEY.test(key)) {
    throw new UserError(
      `"${key}" is not a valid fact key: use letters, digits, ".", "_" or "-", with "/" to group (e.g. "user/timezone"), at most 100 characters a part.`,
    );
  }
}

function pathOf(key: string): string {
  return `${FOLDER}/${key}.md`;
}

function bodyOf(key: string, value: unknown): string {
  const shown = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return `# ${key}\n\n${shown.includes('\n') ? `\`\`\`json\n${shown}\n\`\`\`` : shown}\n`;
}

function factOf(key: string, fm: Record<string, unknown>, version: string): Fact {
  return { key, value: fm.value ?? null, updated: stringOf(fm.updated), version };
}
