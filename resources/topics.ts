import { describeTopic } from '../tools/topics.js';
import { defineResource, json } from './define.js';

const TOPIC_URI = /^roost:\/\/topics\/([a-z0-9][a-z0-9_-]{0,63})$/;
const RECENT = 20;

export function topicUri(topic: string): string {
  return `roost://topics/${topic}`;
}

export const topic = defineResource({
  name: 'topic',
  toolset: 'topics',
  uri: 'roost://topics/{topic}',
  title: 'Topic',
  description: "A topic channel's settings, members and latest messages.",
  mimeType: 'application/json',
  list: async ({ roost }) => roost.topics.list().map((t) => ({ uri: topicUri(t.name), name: `#${t.name}`, description: t.description, mimeType: 'application/json' })),
  read: async (variables, { roost, caller }) => {
    const found = roost.topics.require(variables.topic);
    const history = await roost.mail.topicHistory(found.name, undefined, RECENT);
    return json({ ...describeTopic(roost, caller, found), latest: history.messages });
  },
  subscription: {
    offered: 'roost://topics/<topic> of an existing topic',
    accepts: (uri, { roost }) => {
      const name = TOPIC_URI.exec(uri)?.[1];
      return name !== undefined && roost.topics.get(name) !== undefined;
    },
    changedBy: ({ kind, detail }) => ((kind === 'message.send' || kind.startsWith('topic.')) && typeof detail?.topic === 'string' ? [topicUri(detail.topic)] : []),
  },
});

export const topicResources = [topic];
