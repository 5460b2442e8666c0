import { z } from 'zod';
import type { Caller } from '../src/core/access.js';
import type { Topic } from '../src/core/topics.js';
import { CAP, defineTool, type Services } from './define.js';
import { messageOut } from './messages.js';

const topicName = z.string().max(CAP.id).describe('The topic\'s name, e.g. "ops" (a leading "#" is fine).');
const postPolicy = z.enum(['members', 'anyone']);
const description = z.string().max(CAP.paragraph).describe('What the topic is for.');
const members = z.array(z.string().max(CAP.id)).max(CAP.list);
const topicOut = z.object({
  name: z.string(),
  description: z.string(),
  members: z.array(z.string()).describe('Every bot that gets its messages: subscribed, or listing the topic in its definition.'),
  post_policy: postPolicy,
  retention_days: z.number().optional().describe('Messages older than this are removed from mailboxes (they stay in git history).'),
  archived: z.boolean(),
  created: z.string().optional(),
  created_by: z.string().optional(),
  member: z.boolean().describe('You are a member.'),
  messages: z.number(),
  last_message: z.string().optional(),
});

export function describeTopic(roost: Services, caller: Caller, topic: Topic): z.infer<typeof topicOut> {
  return {
    name: topic.name,
    description: topic.description,
    members: roost.topics.members(topic),
    post_policy: topic.post_policy,
    ...(topic.retention_days ? { retention_days: topic.retention_days } : {}),
    archived: topic.archived,
    ...(topic.created ? { created: topic.created } : {}),
    ...(topic.created_by ? { created_by: topic.created_by } : {}),
    member: roost.topics.isMember(topic, caller.bot),
    ...roost.mail.topicStats(topic.name),
  };
}

const name = (input: string) => input.trim().replace(/^#/, '');

export const createTopic = defineTool({
  name: 'create_topic',
  title: 'Create a topic',
  description: 'Start a topic channel. Messages sent to "#name" go to each of its members once. You become a member unless you list the members yourself. A topic a bot definition lists is the operator\'s to create.',
  toolset: 'topics',
  type: 'action',
  input: {
    name: topicName,
    description: description.optional(),
    members: members.optional().describe('Bot ids. Default: you.'),
    post_policy: postPolicy.default('anyone').describe('Who may post: members only, or any bot.'),
    retention_days: z.number().int().min(1).optional().describe("Remove its messages after this many days (from each bot's mailbox no sooner than its definition allows). Default: keep them."),
  },
  output: topicOut.shape,
  handler: async (a, { roost, caller }) => describeTopic(roost, caller, await roost.topics.create(caller, name(a.name), { description: a.description, members: a.members, post_policy: a.post_policy, retention_days: a.retention_days })),
});

export const updateTopic = defineTool({
  name: 'update_topic',
  title: 'Update a topic',
  description: "Change a topic's description, members, post policy or retention, or reopen an archived one. Its creator, the main bot and the operator may; a topic a bot definition lists, only the operator.",
  toolset: 'topics',
  type: 'action',
  input: {
    topic: topicName,
    description: description.optional(),
    members: members.optional().describe('The new list of subscribed members (bots listing the topic in their definition stay members).'),
    post_policy: postPolicy.optional().describe('Who may post: members only, or any bot.'),
    retention_days: z.number().int().min(1).nullable().optional().describe('null: keep messages forever.'),
    archived: z.boolean().optional().describe('false reopens an archived topic.'),
  },
  output: topicOut.shape,
  handler: async ({ topic, ...settings }, { roost, caller }) => describeTopic(roost, caller, await roost.topics.update(caller, name(topic), settings)),
});

export const archiveTopic = defineTool({
  name: 'archive_topic',
  title: 'Archive a topic',
  description: 'Close a topic to new messages. Its history stays readable; update_topic with archived: false reopens it. Its creator, the main bot and the operator may; a topic a bot definition lists, only the operator.',
  toolset: 'topics',
  type: 'action',
  input: { topic: topicName },
  output: topicOut.shape,
  handler: async (a, { roost, caller }) =>
    describeTopic(roost, caller, await roost.topics.update(caller, name(a.topic), { archived: true }, `archive topic #${name(a.topic)}`, 'topic.archive')),
});

export const listTopics = defineTool({
  name: 'list_topics',
  title: 'List topics',
  description: 'The topic channels, with their members, post policy and message counts.',
  toolset: 'topics',
  type: 'readOnly',
  input: { include_archived: z.boolean().default(false).describe('List archived topics too.'), member_only: z.boolean().default(false).describe('Only topics you are a member of.') },
  output: { topics: z.array(topicOut) },
  handler: async (a, { roost, caller }) => ({
    topics: roost.topics
      .list()
      .filter((t) => (a.include_archived || !t.archived) && (!a.member_only || roost.topics.isMember(t, caller.bot)))
      .map((t) => describeTopic(roost, caller, t)),
  }),
});

export const subscribeTopic = defineTool({
  name: 'subscribe_topic',
  title: 'Subscribe to a topic',
  description: 'Become a member of a topic: its new messages arrive in your inbox.',
  toolset: 'topics',
  type: 'action',
  input: { topic: topicName },
  output: { topic: topicOut, changed: z.boolean().describe('False when you were a member already.') },
  handler: async (a, { roost, caller }) => {
    const { topic, changed } = await roost.topics.subscribe(caller, name(a.topic));
    return { topic: describeTopic(roost, caller, topic), changed };
  },
});

export const unsubscribeTopic = defineTool({
  name: 'unsubscribe_topic',
  title: 'Unsubscribe from a topic',
  description: "Stop getting a topic's messages. A topic your definition lists stays yours until you drop it from your topics (update_bot).",
  toolset: 'topics',
  type: 'action',
  input: { topic: topicName },
  output: { topic: topicOut, changed: z.boolean().describe('False when you were not subscribed.') },
  handler: async (a, { roost, caller }) => {
    const { topic, changed } = await roost.topics.unsubscribe(caller, name(a.topic));
    return { topic: describeTopic(roost, caller, topic), changed };
  },
});

export const topicHistory = defineTool({
  name: 'topic_history',
  title: 'Read a topic',
  description: "A topic's messages, newest first, each with its sender, time and thread. Any bot may read any topic. Marks nothing read.",
  toolset: 'topics',
  type: 'readOnly',
  input: { topic: topicName, cursor: z.string().max(CAP.id).optional().describe('next_cursor of the previous page: older messages.'), limit: z.number().int().min(1).max(100).default(20).describe('How many messages to return, at most 100.') },
  output: {
    topic: z.string(),
    messages: z.array(messageOut),
    next_cursor: z.string().optional(),
  },
  handler: async (a, { roost }) => roost.mail.topicHistory(name(a.topic), a.cursor, a.limit),
});

export const topicTools = [createTopic, updateTopic, archiveTopic, listTopics, subscribeTopic, unsubscribeTopic, topicHistory];
