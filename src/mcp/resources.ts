import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { isTemplate, type Resource, type ResourceContext } from '../../resources/define.js';
import type { Activity } from '../core/events.js';
import { guarded } from './failures.js';

/**
 * Serves the declared resources on one MCP server. Those with a subscription (the inbox, topics)
 * may be subscribed to: the client then gets `notifications/resources/updated` when they change.
 */
export function registerResources(server: McpServer, resources: Resource[], context: ResourceContext): void {
  const subscribable = resources.filter((r) => r.subscription);
  if (subscribable.length) server.server.registerCapabilities({ resources: { subscribe: true } });
  for (const resource of resources) register(server, resource, context);
  if (subscribable.length) registerSubscriptions(server, subscribable, context);
}

function register(server: McpServer, resource: Resource, context: ResourceContext): void {
  const metadata = { title: resource.title, description: resource.description, mimeType: resource.mimeType };
  const contents = (uri: URL, text: string) => ({ contents: [{ uri: uri.href, mimeType: resource.mimeType, text }] });
  if (!isTemplate(resource)) {
    server.registerResource(resource.name, resource.uri, metadata, guarded(context.roost, async (uri) => contents(uri, await resource.read({}, context))));
    return;
  }
  const list = resource.list;
  const template = new ResourceTemplate(resource.uri, { list: list ? async () => ({ resources: await list(context) }) : undefined });
  server.registerResource(
    resource.name,
    template,
    metadata,
    guarded(context.roost, async (uri, variables) => {
      const values = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)]));
      return contents(uri, await resource.read(values, context));
    }),
  );
}

function registerSubscriptions(server: McpServer, resources: Resource[], context: ResourceContext): void {
  const { roost, caller } = context;
  const subscribed = new Set<string>();
  const onActivity = (activity: Activity) => {
    for (const resource of resources) {
      for (const uri of resource.subscription!.changedBy(activity, caller)) {
        if (subscribed.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
  };
  const stop = () => {
    subscribed.clear();
    roost.events.off('activity', onActivity);
  };
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params;
    if (!resources.some((r) => r.subscription!.accepts(uri, context))) {
      const offered = resources.map((r) => r.subscription!.offered).join(' or ');
      throw new McpError(ErrorCode.InvalidParams, `Cannot subscribe to ${uri}: subscribe to ${offered}.`);
    }
    if (subscribed.size === 0) roost.events.on('activity', onActivity);
    subscribed.add(uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    if (subscribed.size === 0) stop();
    return {};
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    previous?.();
    stop();
  };
}
