import { z } from 'zod';
import { type Caller, isOperator, mayRegisterBots, readsEverything } from '../src/core/access.js';
import { UserError } from '../src/core/errors.js';
import type { Bot } from '../src/core/registry.js';
import { CAP, defineTool, type Services } from './define.js';

const botOut = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['main', 'specialist', 'task']),
  description: z.string(),
  topics: z.array(z.string()),
  capabilities: z.array(z.string()),
  status: z.enum(['active', 'retired']),
  source: z.enum(['definition', 'registered']),
  parent: z.string().optional(),
  online: z.boolean().describe('True while the bot has a live MCP session.'),
  sessions: z.number(),
  last_seen: z.string().optional(),
});

function summary(roost: Services, bot: Bot) {
  const presence = roost.registry.presenceOf(bot.id);
  return {
    id: bot.id,
    name: bot.name,
    kind: bot.kind,
    description: bot.description,
    topics: bot.topics,
    capabilities: bot.capabilities,
    status: bot.status,
    source: bot.source,
    ...(bot.parent ? { parent: bot.parent } : {}),
    online: presence.sessions > 0,
    sessions: presence.sessions,
    ...(presence.lastSeen ? { last_seen: presence.lastSeen } : {}),
  };
}

export function detail(roost: Services, bot: Bot) {
  return { ...summary(roost, bot), role: bot.role, tools: bot.tools ?? ['all'], visibility: bot.visibility };
}

const botId = z.string().max(CAP.id);
const names = z.array(z.string().max(CAP.id)).max(CAP.list);
const profile = {
  name: z.string().max(CAP.line).optional().describe('A display name.'),
  description: z.string().max(CAP.paragraph).optional().describe('What the bot does, in a sentence or two.'),
  topics: names.optional().describe('Topics it is a member of, without "#".'),
  capabilities: names.optional().describe('What it can do, as keywords, e.g. ["python", "web-search"].'),
};
const role = z.string().max(CAP.role);

export const botDetail = botOut.extend({ role: z.string(), tools: z.array(z.string()), visibility: z.enum(['private', 'shared']) });

export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Your bot id, profile and role as Roost knows them, and whether you act with operator rights.',
  toolset: 'registry',
  type: 'readOnly',
  input: {},
  output: { bot: z.string(), operator: z.boolean(), reads_everything: z.boolean(), profile: botDetail.optional() },
  handler: async (_a, { roost, caller }) => {
    const bot = roost.registry.get(caller.bot);
    return {
      bot: caller.bot,
      operator: caller.operator,
      reads_everything: readsEverything(caller),
      ...(bot ? { profile: detail(roost, bot) } : {}),
    };
  },
});

export const listBots = defineTool({
  name: 'list_bots',
  title: 'List bots',
  description: 'Every bot Roost knows, with kind, topics, status and whether it is online. Filter by kind, topic or status.',
  toolset: 'registry',
  type: 'readOnly',
  input: {
    kind: z.enum(['main', 'specialist', 'task']).optional().describe('Only bots of this kind.'),
    topic: z.string().max(CAP.id).optional().describe('Only members of this topic.'),
    status: z.enum(['active', 'retired']).optional().describe('Only bots with this status.'),
  },
  output: { bots: z.array(botOut) },
  handler: async (a, { roost }) => ({ bots: roost.registry.list(a).map((b) => summary(roost, b)) }),
});

export const getBot = defineTool({
  name: 'get_bot',
  title: 'Get a bot',
  description: "One bot's full profile, including its role.",
  toolset: 'registry',
  type: 'readOnly',
  input: { id: botId.describe('The bot\'s id.') },
  output: botDetail.shape,
  handler: async (a, { roost }) => detail(roost, roost.registry.require(a.id)),
});

export const registerBot = defineTool({
  name: 'register_bot',
  title: 'Register a bot',
  description: 'Add a bot to the registry and create its token (shown once, in this result only). Main bot and operator only.',
  toolset: 'admin',
  type: 'action',
  allow: mayRegisterBots,
  input: {
    id: botId.describe('Lower-case letters, digits, "-" and "_".'),
    kind: z.enum(['specialist', 'task']).default('specialist').describe('specialist: a standing bot; task: a short-lived one.'),
    ...profile,
    tools: names.optional().describe('Tool or toolset names it may use (memory, registry, messaging, topics, spawn). Default: all.'),
    visibility: z.enum(['private', 'shared']).optional().describe('Default visibility of its new notes.'),
    role: role.optional().describe('What the bot is for, in Markdown.'),
  },
  output: { bot: botDetail, token: z.string().describe('The bot\'s bearer token. Store it now: it is not shown again.') },
  handler: async (a, { roost, caller }) => {
    const bot = await roost.registry.register(caller, a);
    const token = await roost.tokens.issue(bot.id);
    return { bot: detail(roost, bot), token };
  },
});

export const updateBot = defineTool({
  name: 'update_bot',
  title: 'Update a bot profile',
  description: "Change your own profile (name, description, topics, capabilities, role). The operator may change any bot's.",
  toolset: 'registry',
  type: 'action',
  input: {
    id: botId.optional().describe('Operator only: the bot to change. Default: yourself.'),
    ...profile,
    role: role.optional().describe('What the bot is for, in Markdown.'),
  },
  output: botDetail.shape,
  handler: async ({ id, ...patch }, { roost, caller }) => {
    return detail(roost, await roost.registry.changeProfile(caller, id ?? caller.bot, patch));
  },
});

export const retireBot = defineTool({
  name: 'retire_bot',
  title: 'Retire a bot',
  description: 'Mark a bot retired and revoke its token. Its memory and mail stay. Main bot and operator, or a bot retiring itself.',
  toolset: 'registry',
  type: 'destructive',
  input: { id: botId.describe('The bot to retire: yourself, or (main bot and operator) another.') },
  output: botDetail.shape,
  handler: async (a, { roost, caller }) => {
    const retired = await roost.registry.retire(caller, a.id);
    await roost.tokens.revoke(a.id);
    return detail(roost, retired);
  },
});

const statsOut = z.object({
  id: z.string(),
  memory: z.object({
    notes: z.number(),
    bytes: z.number(),
    tree_bytes: z.number().describe('What the bot and its task agents hold together: what its memory quota covers.'),
    quota: z.number().describe('The memory quota of its tree, in bytes.'),
  }),
  mail: z.object({ unread: z.number(), total: z.number() }),
  last_activity: z.string().optional().describe('Its last request, or the last change to its notes.'),
  memory_quota_bytes: z.number().optional().describe("Its own memory quota, when one is set; without one the daemon's applies."),
});

export const botStats = defineTool({
  name: 'bot_stats',
  title: 'Bot statistics',
  description: "How big each bot's memory and inbox are and when it last did anything, and how far the embedding of notes for hybrid search has come. Operator only.",
  toolset: 'admin',
  type: 'readOnly',
  allow: isOperator,
  input: { bot: botId.optional().describe('Only this bot. Default: every bot.') },
  output: {
    bots: z.array(statsOut),
    embeddings: z.object({ model: z.string(), embedded: z.number(), pending: z.number(), error: z.string().optional() }).optional(),
  },
  handler: async (a, { roost, caller }) => {
    const bots = a.bot === undefined ? roost.registry.list() : [roost.registry.require(a.bot)];
    const embeddings = roost.memory.semantic?.progress();
    return { bots: bots.map((bot) => statsOf(roost, caller, bot.id)), ...(embeddings ? { embeddings } : {}) };
  },
});

/** How big a bot's memory and inbox are, and when it last did anything (a request, or a change to its notes). */
function statsOf(roost: Services, caller: Caller, bot: string): z.infer<typeof statsOut> {
  let bytes = 0;
  const lastSeen = roost.registry.presenceOf(bot).lastSeen;
  let newest = lastSeen ? Date.parse(lastSeen) : 0;
  const notes = roost.index.catalogue.list(bot);
  for (const note of notes) {
    bytes += note.size;
    newest = Math.max(newest, note.mtimeMs);
  }
  const { unread, total } = roost.mail.summary(caller, bot, 0);
  const root = roost.registry.rootOf(bot);
  const treeBytes = roost.registry.treeOf(root).reduce((sum, b) => sum + roost.index.catalogue.bytes(b), 0);
  const memory = { notes: notes.length, bytes, tree_bytes: treeBytes, quota: roost.memory.quotaOf(root) };
  const ownQuota = roost.registry.get(bot)?.memoryQuota;
  return {
    id: bot,
    memory,
    mail: { unread, total },
    ...(newest > 0 ? { last_activity: new Date(newest).toISOString() } : {}),
    ...(ownQuota ? { memory_quota_bytes: ownQuota } : {}),
  };
}

const problem = z.object({ file: z.string(), problem: z.string() });

export const listProblems = defineTool({
  name: 'list_problems',
  title: 'List problems',
  description: 'What Roost could not take as it is: notes with broken frontmatter, bot definitions it cannot read, changes a crash left unfinished. Operator only.',
  toolset: 'admin',
  type: 'readOnly',
  allow: isOperator,
  input: {},
  output: {
    notes: z.array(problem.extend({ bot: z.string(), path: z.string() })),
    bots: z.array(problem),
    changes: z.array(problem),
  },
  handler: async (_a, { roost }) => ({
    notes: [...roost.memory.problems].map(([file, problem]) => ({ ...noteOfFile(file), problem })).sort((a, b) => a.file.localeCompare(b.file)),
    bots: roost.registry.problems,
    changes: roost.vault.unfinished,
  }),
});

function noteOfFile(file: string): { bot: string; path: string; file: string } {
  const [, bot, ...rest] = file.split('/');
  return { bot, path: rest.join('/'), file };
}

export const registryTools = [whoami, listBots, getBot, registerBot, updateBot, retireBot, botStats, listProblems];
