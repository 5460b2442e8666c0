import { UserError } from '../src/core/errors.js';
import { defineResource } from './define.js';

const LISTED_NOTES = 1000;

export const note = defineResource({
  name: 'note',
  toolset: 'memory',
  uri: 'roost://bots/{bot}/notes/{+path}',
  title: 'Note',
  description: "A note in a bot's memory, as Markdown with its frontmatter.",
  mimeType: 'text/markdown',
  list: async ({ roost, caller }) => {
    const own = (await roost.memory.list(caller, caller.bot, '', true)).notes;
    return own.slice(0, LISTED_NOTES).map((n) => ({
      uri: noteUri(n.bot, n.path),
      name: `${n.bot}/${n.path}`,
      title: n.title,
      mimeType: 'text/markdown',
      size: n.size,
    }));
  },
  read: async (variables, { roost, caller }) => {
    // Decoded once, then checked by the same rule as every other way in (in `readable`).
    const bot = decodeVariable(variables.bot, 'bot id');
    const path = decodeVariable(variables.path, 'note path');
    return (await roost.memory.readable(caller, bot, path)).text;
  },
});

function decodeVariable(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new UserError(`The ${what} in the URI is not validly percent-encoded: encode each "%" as "%25".`);
  }
}

export function noteUri(bot: string, path: string): string {
  return `roost://bots/${bot}/notes/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export const memoryResources = [note];
