import { promises as fs } from 'node:fs';
import { type Caller, checkMayChangeTopic, checkMayCreateTopic, OPERATOR_ID, postRefusal } from './access.js';
import { UserError } from './errors.js';
import type { RoostEvents } from './events.js';
import type { History } from './history.js';
import { parseNote, serializeNote, stringOf } from './notes.js';
import { checkId, isId } from './paths.js';
import type { RateLimit } from './rate-limit.js';
import type { Registry } from './registry.js';
import { isMissing, type Vault } from './vault.js';

export type PostPolicy = 'members' | 'anyone';

export interface Topic {
  name: string;
  description: string;
  /** Members listed in the topic's file (subscribed), without those whose definition lists the topic. */
  listed: string[];
  post_policy: PostPolicy;
  /** Messages older than this many days are removed from mailboxes; none when absent. */
  retention_days?: number;
  archived: boolean;
  created?: string;
  created_by?: string;
  /** False for a topic that exists only because bot definitions list it (it has no file yet). */
  file: boolean;
}

export interface TopicSettings {
  description?: string;
  members?: string[];
  post_policy?: PostPolicy;
  /** null removes the retention. */
  retention_days?: number | null;
  archived?: boolean;
}

/**
 * Topic channels: `topics/<name>.md`, frontmatter only. A topic's members are the bots its file
 * lists and the bots whose definition lists it; a topic listed by a definition exists without a file,
 * and is the operator's: no bot creates or changes it, whatever its file says.
 */
export class Topics {
  private topics = new Map<string, Topic>();

  constructor(
    private readonly vault: Vault,
    private readonly history: Pick<History, 'settle'>,
    private readonly registry: Registry,
    private readonly events: RoostEvents,
    /** The bots' allowance for changes, shared with memory and the registry. */
    private readonly changes: RateLimit,
  ) {}

  async load(): Promise<void> {
    const topics = new Map<string, Topic>();
    let names: string[] = [];
    try {
      names = await fs.readdir(this.vault.abs('topics'));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    for (const name of names.filter((n) => /^[a-z0-9][a-z0-9_-]{0,63}\.md$/.test(n))) {
      const text = await this.vault.read(`topics/${name}`);
      if (text !== null) topics.set(name.slice(0, -3), topicOf(name.slice(0, -3), text));
    }
    this.topics = topics;
  }

  /** A topic file changed by hand: read it again. */
  async fileChanged(file: string): Promise<void> {
    const match = /^topics\/([a-z0-9][a-z0-9_-]{0,63})\.md$/.exec(file);
    if (!match) return;
    const text = await this.vault.read(file);
    if (text === null) this.topics.delete(match[1]);
    else this.topics.set(match[1], topicOf(match[1], text));
  }

  /** The topic of that name; undefined for a name no topic can have. */
  get(name: string): Topic | undefined {
    if (!isId(name)) return undefined;
    const topic = this.topics.get(name);
    if (topic) return topic;
    if (this.registry.list({ topic: name }).length === 0) return undefined;
    return { name, description: '', listed: [], post_policy: 'anyone', archived: false, file: false };
  }

  require(name: string): Topic {
    checkId(name, 'topic name');
    const topic = this.get(name);
    if (!topic) throw new UserError(`There is no topic "#${name}": call list_topics to see the topics, or create_topic to start one.`, 'not_found');
    return topic;
  }

  list(): Topic[] {
    const names = new Set([...this.topics.keys(), ...this.registry.list().flatMap((b) => b.topics.filter(isId))]);
    return [...names]
      .sort()
      .map((name) => this.get(name))
      .filter((t): t is Topic => t !== undefined);
  }

  /** Active bots in the topic: listed in its file or by their own definition. */
  members(topic: Topic): string[] {
    const byDefinition = this.registry.list({ topic: topic.name, status: 'active' }).map((b) => b.id);
    const listed = topic.listed.filter((id) => this.registry.get(id)?.status === 'active');
    return [...new Set([...listed, ...byDefinition])].sort();
  }

  isMember(topic: Topic, bot: string): boolean {
    return topic.listed.includes(bot) || (this.registry.get(bot)?.topics.includes(topic.name) ?? false);
  }

  /** Why `bot` may not post to the topic (and the refusal's code), or null when it may. */
  postRefusal(topic: Topic, bot: string): { reason: string; code: UserError['code'] } | null {
    // The operator runs the team: it posts to every open topic, members-only ones too.
    return postRefusal(topic, bot === OPERATOR_ID || this.isMember(topic, bot));
  }

  async create(caller: Caller, name: string, settings: TopicSettings): Promise<Topic> {
    checkId(name, 'topic name');
    checkMayCreateTopic(caller, name, this.registry.isDeclaredTopic(name));
    if (this.topics.has(name)) throw new UserError(`The topic "#${name}" already exists: call update_topic to change it.`, 'conflict');
    const topic: Topic = {
      name,
      description: settings.description ?? '',
      listed: [],
      post_policy: settings.post_policy ?? 'anyone',
      archived: false,
      created: new Date().toISOString(),
      created_by: caller.bot,
      file: true,
    };
    applySettings(topic, { ...settings, members: settings.members ?? [caller.bot] }, this.registry);
    await this.save(topic, caller.bot, `create topic #${name}`, 'topic.create');
    return topic;
  }

  async update(caller: Caller, name: string, settings: TopicSettings, action = `update topic #${name}`, kind = 'topic.update'): Promise<Topic> {
    const current = this.require(name);
    checkMayChangeTopic(caller, current, this.registry.isDeclaredTopic(name));
    const topic = applySettings({ ...current, listed: [...current.listed], file: true }, settings, this.registry);
    topic.created ??= new Date().toISOString();
    await this.save(topic, caller.bot, action, kind);
    return topic;
  }

  async subscribe(caller: Caller, name: string): Promise<{ topic: Topic; changed: boolean }> {
    const bot = caller.bot;
    const current = this.require(name);
    if (current.archived) throw new UserError(`"#${name}" is archived: there is nothing new to follow there.`, 'forbidden');
    if (this.isMember(current, bot)) return { topic: current, changed: false };
    const topic: Topic = { ...current, listed: [...current.listed, bot].sort(), file: true };
    topic.created ??= new Date().toISOString();
    await this.save(topic, bot, `subscribe to #${name}`, 'topic.subscribe');
    return { topic, changed: true };
  }

  async unsubscribe(caller: Caller, name: string): Promise<{ topic: Topic; changed: boolean }> {
    const bot = caller.bot;
    const current = this.require(name);
    if (!current.listed.includes(bot)) {
      if (this.registry.get(bot)?.topics.includes(name)) {
        throw new UserError(`Your profile lists "#${name}" among your topics: remove it from your topics with update_bot.`, 'conflict');
      }
      return { topic: current, changed: false };
    }
    const topic: Topic = { ...current, listed: current.listed.filter((b) => b !== bot) };
    await this.save(topic, bot, `unsubscribe from #${name}`, 'topic.unsubscribe');
    return { topic, changed: true };
  }

  private async save(topic: Topic, by: string, action: string, kind: string): Promise<void> {
    this.changes.take(by);
    const file = `topics/${topic.name}.md`;
    // A body someone wrote by hand stays; the settings are the frontmatter.
    const body = topic.file ? (parseNote((await this.vault.read(file)) ?? '').body ?? '') : '';
    const frontmatter = {
      description: topic.description,
      members: topic.listed,
      post_policy: topic.post_policy,
      retention_days: topic.retention_days,
      archived: topic.archived,
      created: topic.created,
      created_by: topic.created_by,
    };
    await this.history.settle(file);
    await this.vault.write(file, serializeNote(frontmatter, body), { author: by, summary: action });
    this.topics.set(topic.name, topic);
    this.events.emitActivity({ kind, bot: by, by, path: file, detail: { topic: topic.name } });
  }
}

function applySettings(topic: Topic, settings: TopicSettings, registry: Registry): Topic {
  if (settings.description !== undefined) topic.description = settings.description;
  if (settings.post_policy !== undefined) topic.post_policy = settings.post_policy;
  if (settings.archived !== undefined) topic.archived = settings.archived;
  if (settings.retention_days === null) delete topic.retention_days;
  else if (settings.retention_days !== undefined) {
    if (!Number.isInteger(settings.retention_days) || settings.retention_days < 1) {
      throw new UserError(`retention_days must be a whole number of days, 1 or more (or null for no retention).`);
    }
    topic.retention_days = settings.retention_days;
  }
  if (settings.members !== undefined) {
    const unknown = settings.members.filter((id) => !registry.get(id));
    if (unknown.length) throw new UserError(`Unknown bots in members: ${unknown.map((id) => `"${id}"`).join(', ')}. Call list_bots to see who exists.`, 'not_found');
    topic.listed = [...new Set(settings.members)].sort();
  }
  return topic;
}

function topicOf(name: string, text: string): Topic {
  const { frontmatter: fm } = parseNote(text);
  const retention = Number(fm.retention_days);
  const members = Array.isArray(fm.members) ? fm.members.map(String) : typeof fm.members === 'string' ? fm.members.split(/[,\s]+/).filter(Boolean) : [];
  return {
    name,
    description: stringOf(fm.description),
    listed: [...new Set(members)].sort(),
    post_policy: fm.post_policy === 'members' ? 'members' : 'anyone',
    ...(Number.isInteger(retention) && retention > 0 ? { retention_days: retention } : {}),
    archived: fm.archived === true,
    ...(stringOf(fm.created) ? { created: stringOf(fm.created) } : {}),
    ...(stringOf(fm.created_by) ? { created_by: stringOf(fm.created_by) } : {}),
    file: true,
  };
}
