import type { Toolset } from '../tools/define.js';
import type { Resource } from './define.js';
import { memoryResources } from './memory.js';
import { messagingResources } from './messaging.js';
import { registryResources } from './registry.js';
import { topicResources } from './topics.js';

/** Every resource Roost serves, in the order clients list them. */
export const allResources: Resource[] = [...registryResources, ...memoryResources, ...messagingResources, ...topicResources];

/** A resource shows what its toolset's tools read, so a caller gets it only with that toolset. */
export function resourcesFor(toolsets: ReadonlySet<Toolset>): Resource[] {
  return allResources.filter((r) => toolsets.has(r.toolset));
}
