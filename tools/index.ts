import type { Caller } from '../src/core/access.js';
import type { Bot } from '../src/core/registry.js';
import type { Tool } from './define.js';
import { memoryTools } from './memory.js';
import { messageTools } from './messages.js';
import { operatorTools } from './operator.js';
import { registryTools } from './registry.js';
import { spawnTools } from './spawn.js';
import { topicTools } from './topics.js';

/** Every tool Roost serves, in the order clients list them. */
export const allTools: Tool[] = [...memoryTools, ...registryTools, ...messageTools, ...topicTools, ...spawnTools, ...operatorTools] as unknown as Tool[];

/**
 * The tools one connection gets: those its bot definition lists (by name or toolset; all when it
 * lists none), that its role allows, and only read-only ones when the daemon runs `--read-only`.
 */
export function toolsFor(caller: Caller, bot: Bot | undefined, readOnly: boolean): Tool[] {
  const listed = caller.operator || !bot?.tools ? null : new Set(bot.tools);
  return allTools.filter(
    (t) =>
      (!listed || listed.has(t.name) || listed.has(t.toolset)) &&
      (!t.allow || t.allow(caller)) &&
      (!readOnly || t.type === 'readOnly'),
  );
}
