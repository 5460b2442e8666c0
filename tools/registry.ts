import { z } from 'zod';
import { OPERATOR_ID, type Caller } from '../src/core/access.js';
import { UserError } from '../src/core/errors.js';
import type { Bot } from '../src/core/registry.js';
import type { Roost } from '../src/core/roost.js';
import { CAP, defineTool, mainOrOperator } from './define.js';

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

function summary(roost: Roost, bot: Bot) {
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

function detail(roost: Roost, bot: Bot) {
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

const botDetail = botOut.extend({ role: z.string(), tools: z.array(z.string()), visibility: z.enum(['private', 'shared']) });

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
      reads_everything: mainOrOperator(caller),
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
  allow: mainOrOperator,
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
    if (a.id === OPERATOR_ID) throw new UserError(`"${OPERATOR_ID}" is reserved: choose another id.`);
    const bot = await roost.registry.register({ ...a, parent: caller.operator ? undefined : caller.bot }, caller.bot);
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
    const target = id ?? caller.bot;
    checkMayChange(caller, target, 'change');
    if (Object.values(patch).every((v) => v === undefined)) throw new UserError('Nothing to change: pass at least one field.');
    return detail(roost, await roost.registry.update(target, patch, caller.bot));
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
    if (a.id !== caller.bot && !mainOrOperator(caller)) {
      throw new UserError('Only the main bot and the operator retire other bots: ask one of them, or retire yourself.', 'forbidden');
    }
    const bot = roost.registry.require(a.id);
    if (bot.kind === 'main') throw new UserError('The main bot cannot be retired.', 'forbidden');
    const retired = await roost.registry.update(a.id, { status: 'retired' }, caller.bot, `retire bot ${a.id}`);
    await roost.tokens.revoke(a.id);
    return detail(roost, retired);
  },
});

function checkMayChange(caller: Caller, target: string, verb: string): void {
  if (target !== caller.bot && !caller.operator) {
    throw new UserError(`You may ${verb} only your own profile; the operator may ${verb} any bot's.`, 'forbidden');
  }
}

export const registryTools = [whoami, listBots, getBot, registerBot, updateBot, retireBot];
