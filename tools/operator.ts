import { z } from 'zod';
import { type Caller, OPERATOR_ID } from '../src/core/access.js';
import { UserError } from '../src/core/errors.js';
import { botDetail, detail, registryTools } from './registry.js';
import { spawnTools, taskOut, taskView } from './spawn.js';
import { CAP, defineTool, TOOLSETS } from './define.js';
import { memoryTools } from './memory.js';
import { messageTools } from './messages.js';
import { topicTools } from './topics.js';

/** The operator runs the team; no bot, not even the main bot, calls these. */
const operatorOnly = (caller: Caller) => caller.operator;

const botId = z.string().max(CAP.id);

export const rotateToken = defineTool({
  name: 'rotate_token',
  title: "Rotate a bot's token",
  description: "Give a bot a new bearer token (shown once, in this result only); its old token stops working at once. Operator only.",
  toolset: 'admin',
  type: 'destructive',
  allow: operatorOnly,
  input: { id: botId.describe('The bot whose token to replace.') },
  output: { bot: z.string(), token: z.string().describe("The bot's new bearer token. Store it now: it is not shown again.") },
  handler: async (a, { roost }) => {
    const bot = roost.registry.require(a.id);
    if (bot.status === 'retired') throw new UserError(`Bot "${a.id}" is retired: a retired bot gets no token.`, 'conflict');
    return { bot: bot.id, token: await roost.tokens.issue(bot.id) };
  },
});

export const configureBot = defineTool({
  name: 'configure_bot',
  title: "Set a bot's tools and memory quota",
  description:
    "Set which tools a registered bot may use, and how many bytes any bot's memory (with its task agents') may hold. null restores the default: every toolset but admin, the daemon's quota. Operator only.",
  toolset: 'admin',
  type: 'action',
  allow: operatorOnly,
  input: {
    id: botId.describe('The bot to configure.'),
    tools: z
      .array(z.string().max(CAP.id))
      .max(CAP.list)
      .nullable()
      .optional()
      .describe(`Tool names or toolsets (${TOOLSETS.join(', ')}); null: every toolset but admin.`),
    memory_quota_bytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional().describe("null: the daemon's quota."),
  },
  output: { ...botDetail.shape, memory_quota_bytes: z.number() },
  handler: async (a, { roost }) => {
    if (a.tools === undefined && a.memory_quota_bytes === undefined) throw new UserError('Nothing to change: pass tools, memory_quota_bytes or both.');
    const known = new Set<string>([...TOOLSETS, ...[...memoryTools, ...registryTools, ...messageTools, ...topicTools, ...spawnTools].map((t) => t.name)]);
    const unknown = (a.tools ?? []).filter((t) => !known.has(t));
    if (unknown.length) throw new UserError(`Unknown tools or toolsets: ${unknown.join(', ')}. Use tool names or ${TOOLSETS.join(', ')}.`);
    const root = roost.registry.rootOf(a.id);
    if (a.memory_quota_bytes !== undefined && root !== a.id) {
      throw new UserError(`"${a.id}" is a task agent: its notes count in the quota of ${root}; set that one instead.`);
    }
    const bot = await roost.registry.update(a.id, { tools: a.tools, memoryQuota: a.memory_quota_bytes }, OPERATOR_ID, `configure bot ${a.id}`);
    return { ...detail(roost, bot), memory_quota_bytes: roost.memory.quotaOf(root) };
  },
});

export const taskDetails = defineTool({
  name: 'task_details',
  title: 'Read a task',
  description: "A task's brief, state and result, the file that records it, and the session its agent works in. Operator only.",
  toolset: 'admin',
  type: 'readOnly',
  allow: operatorOnly,
  input: { id: botId.describe("A task id or a task agent's bot id.") },
  output: {
    ...taskOut.shape,
    brief: z.string(),
    file: z.string().describe('The task file in the data root.'),
  },
  handler: async (a, { roost, caller }) => {
    const task = roost.tasks.require(caller, a.id);
    return { ...taskView(roost, task), brief: task.text, file: `tasks/${task.id}.md` };
  },
});

const WINDOWS = { day: { buckets: 24, ms: 3600_000 }, week: { buckets: 7, ms: 86400_000 } };
const counts = z.array(z.number()).describe('One count per bucket, oldest first.');

export const teamActivity = defineTool({
  name: 'team_activity',
  title: 'Team activity over time',
  description:
    'How busy each bot and topic was over the last day (24 hourly buckets) or week (7 daily buckets): messages each bot sent and its notes by when they last changed, messages posted to each topic. Operator only.',
  toolset: 'admin',
  type: 'readOnly',
  allow: operatorOnly,
  input: { window: z.enum(['day', 'week']).default('day').describe('The last day (hourly buckets) or the last week (daily buckets).') },
  output: {
    window: z.enum(['day', 'week']),
    buckets: z.array(z.string()).describe('When each bucket starts.'),
    bots: z.array(z.object({ bot: z.string(), messages: counts, notes: counts })),
    topics: z.array(z.object({ topic: z.string(), messages: counts })),
  },
  handler: async (a, { roost }) => {
    const { buckets, ms } = WINDOWS[a.window];
    const end = Math.ceil(Date.now() / ms) * ms;
    const start = end - buckets * ms;
    const since = new Date(start).toISOString();
    const tally = (times: number[]) => {
      const row = new Array<number>(buckets).fill(0);
      for (const t of times) if (t >= start && t < end) row[Math.floor((t - start) / ms)]++;
      return row;
    };
    return {
      window: a.window,
      buckets: Array.from({ length: buckets }, (_, i) => new Date(start + i * ms).toISOString()),
      bots: roost.registry.list().map((bot) => ({
        bot: bot.id,
        messages: tally(roost.mail.sentSince(bot.id, since).map(Date.parse)),
        notes: tally(roost.index.catalogue.list(bot.id).map((n) => n.mtimeMs)),
      })),
      topics: roost.topics.list().map((topic) => ({ topic: topic.name, messages: tally(roost.mail.postedSince(topic.name, since).map(Date.parse)) })),
    };
  },
});

export const operatorTools = [rotateToken, configureBot, taskDetails, teamActivity];
