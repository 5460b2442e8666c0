import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describeTopic } from '../../tools/topics.js';
import type { Caller } from '../core/access.js';
import type { Activity } from '../core/events.js';
import type { Roost } from '../core/roost.js';
import { guarded } from './failures.js';

export const INBOX_URI = 'roost://inbox';
const TOPIC_URI = /^roost:\/\/topics\/([a-z0-9][a-z0-9_-]{0,63})$/;
const RECENT = 20;

export function topicUri(topic: string): string {
  return `roost://topics/${topic}`;
}

/**
 * The caller's inbox (`roost://inbox`, with the messaging toolset) and every topic
 * (`roost://topics/{topic}`, with the topics toolset) as resources a client can subscribe to: it
 * then gets `notifications/resources/updated` when they change. A caller with neither gets none.
 */
export function registerMailResources(server: McpServer, roost: Roost, caller: Caller, serve: { inbox: boolean; topics: boolean }): void {
  if (!serve.inbox && !serve.topics) return;
  server.server.registerCapabilities({ resources: { subscribe: true } });
  if (serve.inbox) registerInbox(server, roost, caller);
  if (serve.topics) registerTopics(server, roost, caller);
  registerSubscriptions(server, roost, caller, serve);
}

function registerInbox(server: McpServer, roost: Roost, caller: Caller): void {
  server.registerResource(
    'inbox',
    INBOX_URI,
    { title: 'Your inbox', description: 'Your unread count and newest unread messages (subject, sender, time; no bodies). Reading it marks nothing.', mimeType: 'application/json' },
    guarded(roost, async (uri) => json(uri.href, roost.mail.summary(caller, caller.bot, RECENT))),
  );
}

function registerTopics(server: McpServer, roost: Roost, caller: Caller): void {
  server.registerResource(
    'topic',
    new ResourceTemplate('roost://topics/{topic}', {
      list: async () => ({
        resources: roost.topics.list().map((t) => ({ uri: topicUri(t.name), name: `#${t.name}`, description: t.description, mimeType: 'application/json' })),
      }),
    }),
    { title: 'Topic', description: "A topic channel's settings, members and latest messages.", mimeType: 'application/json' },
    guarded(roost, async (uri, variables) => {
      const topic = roost.topics.require(String(variables.topic));
      const history = await roost.mail.topicHistory(topic.name, undefined, RECENT);
      return json(uri.href, { ...describeTopic(roost, caller, topic), latest: history.messages });
    }),
  );
}

function registerSubscriptions(server: McpServer, roost: Roost, caller: Caller, serve: { inbox: boolean; topics: boolean }): void {
  const subscribed = new Set<string>();
  const onActivity = (activity: Activity) => {
    for (const uri of changedBy(activity, caller.bot)) {
      if (subscribed.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  };
  const stop = () => {
    subscribed.clear();
    roost.events.off('activity', onActivity);
  };
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params;
    const topic = TOPIC_URI.exec(uri)?.[1];
    const inbox = serve.inbox && uri === INBOX_URI;
    if (!inbox && !(serve.topics && topic && roost.topics.get(topic))) {
      const offered = [serve.inbox ? INBOX_URI : '', serve.topics ? 'roost://topics/<topic> of an existing topic' : ''].filter(Boolean).join(' or ');
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

/** The resources an activity changes, as seen by `bot`. */
function changedBy(activity: Activity, bot: string): string[] {
  const { kind, detail } = activity;
  const uris: string[] = [];
  if (kind.startsWith('message.') && kind !== 'message.send' && activity.bot === bot) uris.push(INBOX_URI);
  if ((kind === 'message.send' || kind.startsWith('topic.')) && typeof detail?.topic === 'string') uris.push(topicUri(detail.topic));
  return uris;
}

function json(uri: string, value: unknown) {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}
