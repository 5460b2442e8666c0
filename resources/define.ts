import type { Caller } from '../src/core/access.js';
import type { Activity } from '../src/core/events.js';
import type { Services, Toolset } from '../tools/define.js';

export interface ResourceContext {
  roost: Services;
  caller: Caller;
}

/** One resource of a template, as a client lists it. */
export interface ResourceListing {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
}

/**
 * A resource, declared like a tool: the toolset that owns it (a caller gets it with any tool of that
 * toolset), its URI or URI template, and how it is read. One declaration serves every MCP session.
 */
export interface Resource {
  name: string;
  toolset: Toolset;
  /** A fixed URI, or a URI template (RFC 6570) whose variables `read` gets. */
  uri: string;
  title: string;
  description: string;
  mimeType: 'application/json' | 'text/markdown';
  /** The resources of a template that a client may list. */
  list?: (context: ResourceContext) => Promise<ResourceListing[]>;
  /** The resource's text. */
  read: (variables: Record<string, string>, context: ResourceContext) => Promise<string>;
  /** When clients may subscribe to it: which URIs, and which URIs an activity changes for the caller. */
  subscription?: {
    /** Said to a client that asks for anything else, e.g. "roost://inbox". */
    offered: string;
    accepts: (uri: string, context: ResourceContext) => boolean;
    changedBy: (activity: Activity, caller: Caller) => string[];
  };
}

export function defineResource(resource: Resource): Resource {
  return resource;
}

export function isTemplate(resource: Resource): boolean {
  return resource.uri.includes('{');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
