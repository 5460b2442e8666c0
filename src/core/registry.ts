import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Caller, checkMayChangeProfile, checkMayRegisterBots, checkMayRetire, OPERATOR_ID } from './access.js';
import { RUNTIMES, type RuntimeName } from './agent-runtime.js';
import { UserError } from './errors.js';
import type { History } from './history.js';
import type { OpenClawBinding, Visibility } from './model.js';
import { parseNote, serializeNote, stringOf } from './notes.js';
import { checkId } from './paths.js';
import type { ChangeBy, RateLimit } from './rate-limit.js';
import { isMissing, type Vault } from './vault.js';

export type BotKind = 'main' | 'specialist' | 'task';
export type BotStatus = 'active' | 'retired';

export interface Bot {
  id: string;
  name: string;
  kind: BotKind;
  description: string;
  topics: string[];
  capabilities: string[];
  /** Tool names or toolset names this bot may use; null = every toolset but admin. */
  tools: string[] | null;
  /** Visibility of new notes when the writer does not say. */
  visibility: Visibility;
  /** The bot's role, from the body of its definition. */
  role: string;
  status: BotStatus;
  /** `definition`: from the bots folder; `registered`: created at run time (registry/<id>.md). */
  source: 'definition' | 'registered';
  parent?: string;
  created?: string;
  updated?: string;
  /** The OpenClaw agent this bot is, and its persistent session on the gateway. */
  openclaw?: OpenClawBinding;
  /** The runtime its tasks run on, and the `command` runtime's template for it. */
  runtime?: RuntimeName;
  command?: string[];
  /** Bytes its memory and its task agents' may hold together, set by the operator (default: the daemon's limit). */
  memoryQuota?: number;
  /** The fewest days its copies of topic messages are kept, whatever a topic's retention says (default: the daemon's). */
  minTopicRetentionDays?: number;
}

export interface BotPresence {
  sessions: number;
  lastSeen?: string;
}

export interface BotProblem {
  file: string;
  problem: string;
}

const KINDS: BotKind[] = ['main', 'specialist', 'task'];
const PROFILE_FIELDS = ['name', 'description', 'topics', 'capabilities', 'status'] as const;
export type ProfilePatch = Partial<Pick<Bot, (typeof PROFILE_FIELDS)[number] | 'role'>>;
/** What only the operator changes: the tools of a registered bot, and any bot's memory quota (null: the daemon's limit). */
export type OperatorPatch = ProfilePatch & { tools?: string[] | null; memoryQuota?: number | null };

/**
 * Who exists. Definitions come from the bots folder (`bots/*.md`); bots registered at run time,
 * and profile changes to defined bots, live in the data root under `registry/<id>.md`.
 */
export class Registry {
  private bots = new Map<string, Bot>();
  private readonly lastSeen = new Map<string, string>();
  /** Topics the bot definitions list: they are the operator's. */
  private declared = new Set<string>();
  /** Each standing bot's tree, by its id; made again when a bot comes or goes. */
  private trees?: Map<string, string[]>;
  problems: BotProblem[] = [];

  constructor(
    private readonly vault: Vault,
    private readonly history: Pick<History, 'settle'>,
    readonly definitionsDir: string,
    /** The bots' allowance for changes, shared with memory and topics. */
    private readonly changes: RateLimit,
  ) {}

  async load(): Promise<void> {
    const bots = new Map<string, Bot>();
    const problems: BotProblem[] = [];
    for (const file of await listMarkdown(this.definitionsDir)) {
      const text = await fs.readFile(path.join(this.definitionsDir, file), 'utf8');
      const result = botFromText(text, file, 'definition');
      if ('problem' in result) problems.push({ file: `bots/${file}`, problem: result.problem });
      else bots.set(result.id, result);
    }
    const declared = new Set([...bots.values()].flatMap((b) => b.topics));
    for (const file of await listMarkdown(this.vault.abs('registry'))) {
      const text = await this.vault.read(`registry/${file}`);
      if (text === null) continue; // gone meanwhile, or a link
      const entry = botFromText(text, file, 'registered');
      if ('problem' in entry) {
        problems.push({ file: `registry/${file}`, problem: entry.problem });
        continue;
      }
      const defined = bots.get(entry.id);
      bots.set(entry.id, defined ? overlay(defined, parseNote(text).frontmatter, entry.role) : entry);
    }
    this.bots = bots;
    this.declared = declared;
    this.trees = undefined;
    this.problems = problems;
  }

  get(id: string): Bot | undefined {
    return this.bots.get(id);
  }

  require(id: string): Bot {
    const bot = this.bots.get(id);
    if (!bot) throw new UserError(`There is no bot "${id}": call list_bots to see who exists.`, 'not_found');
    return bot;
  }

  list(filter: { kind?: BotKind; topic?: string; status?: BotStatus } = {}): Bot[] {
    return [...this.bots.values()]
      .filter((b) => !filter.kind || b.kind === filter.kind)
      .filter((b) => !filter.topic || b.topics.includes(filter.topic))
      .filter((b) => !filter.status || b.status === filter.status)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** True when a bot definition lists the topic: then it is the operator's, whoever else lists it. */
  isDeclaredTopic(topic: string): boolean {
    return this.declared.has(topic);
  }

  /** The standing bot whose tree `id` is in: a task agent's is the standing bot above it, at any depth. */
  rootOf(id: string): string {
    // Registry files can be edited by hand: a loop of parents ends somewhere, too.
    for (let hops = 0; hops < 100; hops++) {
      const bot = this.bots.get(id);
      if (bot?.kind !== 'task' || !bot.parent) return id;
      id = bot.parent;
    }
    return id;
  }

  /** A standing bot and every task agent below it, at any depth: they share its memory quota and its live tasks. */
  treeOf(root: string): string[] {
    if (!this.trees) {
      this.trees = new Map();
      for (const id of this.bots.keys()) {
        const tree = this.rootOf(id);
        this.trees.set(tree, [...(this.trees.get(tree) ?? []), id]);
      }
    }
    return this.trees.get(root) ?? [root];
  }

  /**
   * How many live MCP sessions a bot has: set by whoever serves the sessions (the HTTP server),
   * which alone knows whether their clients are still there.
   */
  liveSessions: (id: string) => number = () => 0;

  presenceOf(id: string): BotPresence {
    // A retired bot's token is refused at once, so its sessions count for nothing even before they close.
    return { sessions: this.bots.get(id)?.status === 'retired' ? 0 : this.liveSessions(id), lastSeen: this.lastSeen.get(id) };
  }

  /** Records activity of the bot (a request on one of its sessions). */
  touch(id: string): void {
    this.lastSeen.set(id, new Date().toISOString());
  }

  /** The caller registers a bot; a bot's registrations are its own (it is their parent). */
  async register(caller: Caller, input: Pick<Bot, 'id' | 'kind'> & Partial<Omit<Bot, 'id' | 'kind' | 'source' | 'status' | 'parent'>>): Promise<Bot> {
    checkMayRegisterBots(caller);
    if (input.id === OPERATOR_ID) throw new UserError(`"${OPERATOR_ID}" is reserved: choose another id.`);
    return this.add({ ...input, parent: caller.operator ? undefined : caller.bot }, caller.bot);
  }

  /** The caller changes a bot's profile: its own, or (the operator) any bot's. */
  async changeProfile(caller: Caller, id: string, patch: ProfilePatch): Promise<Bot> {
    checkMayChangeProfile(caller, id);
    if (Object.values(patch).every((v) => v === undefined)) throw new UserError('Nothing to change: pass at least one field.');
    return this.update(id, patch, caller.bot);
  }

  /** The caller retires a bot: itself, or (the main bot and the operator) another one. */
  async retire(caller: Caller, id: string): Promise<Bot> {
    checkMayRetire(caller, this.require(id));
    return this.update(id, { status: 'retired' }, caller.bot, `retire bot ${id}`);
  }

  /** Adds a bot at run time; `by` is who asks, and takes the change from its allowance unless Roost does it for a task. */
  async add(
    input: Pick<Bot, 'id' | 'kind'> & Partial<Omit<Bot, 'id' | 'kind' | 'source' | 'status'>>,
    by: string,
    changeBy: ChangeBy = 'bot',
  ): Promise<Bot> {
    checkId(input.id);
    for (const topic of input.topics ?? []) checkId(topic, 'topic name');
    if (this.bots.has(input.id)) {
      throw new UserError(`A bot "${input.id}" already exists: choose another id, or call update_bot to change it.`, 'conflict');
    }
    if (changeBy === 'bot') this.changes.take(by);
    const now = new Date().toISOString();
    const bot: Bot = {
      id: input.id,
      name: input.name || input.id,
      kind: input.kind,
      description: input.description ?? '',
      topics: input.topics ?? [],
      capabilities: input.capabilities ?? [],
      tools: input.tools ?? null,
      visibility: input.visibility ?? 'private',
      role: input.role ?? '',
      status: 'active',
      source: 'registered',
      parent: input.parent,
      created: now,
      updated: now,
    };
    await this.save(bot, by, `register bot ${bot.id}`);
    this.bots.set(bot.id, bot);
    this.trees = undefined;
    return bot;
  }

  /** Changes a bot's record: Roost's own changes (a task agent retired at its end) and the operator's (its tools, its memory quota); a bot changes its own through `changeProfile`. */
  async update(id: string, patch: OperatorPatch, by: string, action = `update bot ${id}`, changeBy: ChangeBy = 'bot'): Promise<Bot> {
    const current = this.require(id);
    for (const topic of patch.topics ?? []) checkId(topic, 'topic name');
    if (patch.tools !== undefined && current.source === 'definition') {
      throw new UserError(`Bot "${id}" is defined in bots/${id}.md: change its tools there.`, 'forbidden');
    }
    if (changeBy === 'bot') this.changes.take(by);
    const { memoryQuota, ...profile } = patch;
    const bot: Bot = { ...current, ...definedOnly(profile), updated: new Date().toISOString() };
    if (memoryQuota === null) delete bot.memoryQuota;
    else if (memoryQuota !== undefined) bot.memoryQuota = memoryQuota;
    await this.save(bot, by, action);
    this.bots.set(id, bot);
    return bot;
  }

  /** Takes a registered bot out of the registry, as if it never was (a task agent whose start was refused). */
  async remove(id: string, by: string): Promise<void> {
    const bot = this.require(id);
    if (bot.source !== 'registered') throw new UserError(`Bot "${id}" is defined in the bots folder: retire it instead.`, 'forbidden');
    const file = `registry/${id}.md`;
    await this.vault.remove(file, 'registry', { author: by, summary: `remove bot ${id}` });
    this.bots.delete(id);
    this.trees = undefined;
  }

  private async save(bot: Bot, by: string, action: string): Promise<void> {
    const frontmatter: Record<string, unknown> = {
      id: bot.id,
      name: bot.name,
      kind: bot.kind,
      description: bot.description || undefined,
      topics: bot.topics,
      capabilities: bot.capabilities,
      tools: bot.tools ?? undefined,
      visibility: bot.visibility,
      min_topic_retention_days: bot.minTopicRetentionDays,
      memory_quota_bytes: bot.memoryQuota,
      status: bot.status,
      parent: bot.parent,
      created: bot.created,
      updated: bot.updated,
    };
    const file = `registry/${bot.id}.md`;
    await this.history.settle(file);
    await this.vault.write(file, serializeNote(frontmatter, bot.role ? `${bot.role.trim()}\n` : ''), { author: by, summary: action });
  }
}

async function listMarkdown(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((f) => f.endsWith('.md') && !f.startsWith('.') && f !== 'README.md').sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

function botFromText(text: string, file: string, source: Bot['source']): Bot | { problem: string } {
  const { frontmatter: fm, body, problem } = parseNote(text);
  if (problem) return { problem };
  const id = stringOf(fm.id) || file.replace(/\.md$/, '');
  try {
    checkId(id);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const kind = stringOf(fm.kind) || 'specialist';
  if (!KINDS.includes(kind as BotKind)) return { problem: `kind "${kind}" is not one of ${KINDS.join(', ')}` };
  const runtime = stringOf(fm.runtime);
  if (runtime && !RUNTIMES.includes(runtime as RuntimeName)) return { problem: `runtime "${runtime}" is not one of ${RUNTIMES.join(', ')}` };
  const openclaw = bindingOf(id, fm.openclaw);
  if (typeof openclaw === 'string') return { problem: openclaw };
  const quota = quotaOf(fm.memory_quota_bytes);
  if (quota === null) return { problem: 'memory_quota_bytes must be a whole number of bytes, 1 or more' };
  const retention = fm.min_topic_retention_days;
  if (retention !== undefined && !(Number.isInteger(retention) && (retention as number) >= 1)) {
    return { problem: 'min_topic_retention_days must be a whole number of days, 1 or more' };
  }
  return {
    id,
    name: stringOf(fm.name) || id,
    kind: kind as BotKind,
    description: stringOf(fm.description),
    topics: list(fm.topics),
    capabilities: list(fm.capabilities),
    tools: fm.tools === undefined ? null : list(fm.tools),
    visibility: fm.visibility === 'shared' ? 'shared' : 'private',
    role: body.trim(),
    status: fm.status === 'retired' ? 'retired' : 'active',
    source,
    parent: stringOf(fm.parent) || undefined,
    created: stringOf(fm.created) || undefined,
    updated: stringOf(fm.updated) || undefined,
    ...(openclaw ? { openclaw } : {}),
    ...(runtime ? { runtime: runtime as RuntimeName } : {}),
    ...(fm.command !== undefined ? { command: commandOf(fm.command) } : {}),
    ...(retention !== undefined ? { minTopicRetentionDays: retention as number } : {}),
    ...(quota !== undefined ? { memoryQuota: quota } : {}),
  };
}

/** A quota from the frontmatter: undefined when absent, null when not a positive whole number. */
function quotaOf(value: unknown): number | undefined | null {
  if (value === undefined) return undefined;
  return Number.isSafeInteger(value) && (value as number) >= 1 ? (value as number) : null;
}

/** `openclaw: { agent, session? }`: the session defaults to `agent:<agent>:roost:<bot>`. Returns a problem as a string. */
function bindingOf(bot: string, value: unknown): OpenClawBinding | string | undefined {
  if (value === undefined || value === null) return undefined;
  const fields = (typeof value === 'object' ? value : { agent: value }) as Record<string, unknown>;
  const agent = stringOf(fields.agent);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(agent)) return 'openclaw.agent must be the id of an OpenClaw agent';
  const session = stringOf(fields.session) || `agent:${agent}:roost:${bot}`;
  if (!session.startsWith(`agent:${agent}:`) || session.length === `agent:${agent}:`.length) {
    return `openclaw.session must be a session key of agent "${agent}": agent:${agent}:<name>`;
  }
  return { agent, session };
}

/** A command template: a list of arguments, or one string split at spaces. */
export function commandOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value ?? '').split(/\s+/).filter(Boolean);
}

/** A registry file for a defined bot changes only its profile; its kind and tools stay as defined. */
function overlay(defined: Bot, fm: Record<string, unknown>, role: string): Bot {
  const bot: Bot = { ...defined };
  if (fm.name !== undefined) bot.name = stringOf(fm.name);
  if (fm.description !== undefined) bot.description = stringOf(fm.description);
  if (fm.topics !== undefined) bot.topics = list(fm.topics);
  if (fm.capabilities !== undefined) bot.capabilities = list(fm.capabilities);
  if (fm.status === 'retired' || fm.status === 'active') bot.status = fm.status;
  const quota = quotaOf(fm.memory_quota_bytes);
  if (quota) bot.memoryQuota = quota;
  if (role) bot.role = role;
  bot.updated = stringOf(fm.updated) || bot.updated;
  return bot;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(/[,\s]+/).filter(Boolean);
  return [];
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
