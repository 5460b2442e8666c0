import { UserError } from './errors.js';
import { agentOfSession, type OpenClawBinding } from './model.js';
import type { Bot, Registry } from './registry.js';

/** A task agent's session, and whether its task is still live. */
interface TaskSession {
  session: string;
  live: boolean;
  /** Its task's status, for the sentence that refuses a session whose task has ended. */
  status: string;
}

/**
 * Which bot works in which OpenClaw session: bots bound in their definition, and task agents in the
 * session their task runs in. Authentication asks it who a call from a session acts as; mail asks it
 * where a recipient's live session is; tasks tell it when a task agent's session starts and ends.
 */
export class Sessions {
  private readonly tasks = new Map<string, TaskSession>();
  /** Session key → task agent, for every task agent's session (live or ended). */
  private readonly byKey = new Map<string, string>();

  constructor(private readonly registry: Registry) {}

  /** A task agent works (or is about to work) in `session`; `live` is false once its task ended with `status`. */
  track(bot: string, session: string, live: boolean, status: string): void {
    this.tasks.set(bot, { session, live, status });
    this.byKey.set(session, bot);
  }

  /** A task that never began: its agent had no session after all. */
  forget(bot: string): void {
    const known = this.tasks.get(bot);
    if (known && this.byKey.get(known.session) === bot) this.byKey.delete(known.session);
    this.tasks.delete(bot);
  }

  /** A bot's live session: the one bound in its definition, or the one its live task runs in. */
  bindingOf(bot: string): OpenClawBinding | undefined {
    const bound = this.registry.get(bot)?.openclaw;
    if (bound) return bound;
    const task = this.tasks.get(bot);
    const agent = task?.live ? agentOfSession(task.session) : undefined;
    return task && agent ? { agent, session: task.session } : undefined;
  }

  /** The bot a session belongs to: a bot bound to it, or the task agent working in it. */
  ownerOf(key: string): string | undefined {
    return this.registry.list().find((b) => b.openclaw?.session === key)?.id ?? this.byKey.get(key);
  }

  /**
   * Who a connection of `bot` acts as when it calls from OpenClaw session `key` (as Roost's OpenClaw
   * plugin does): the task agent working in that session, if `bot`'s own agent runs it and the task
   * is live; else `bot` itself. A session of another agent or another bot, or of a task agent whose
   * task has ended, is refused, so no task's work ever lands in the wrong memory.
   */
  actorIn(bot: Bot, key: string): Bot {
    const agent = bot.openclaw?.agent;
    if (!agent) {
      throw new UserError(`Bot "${bot.id}" is bound to no OpenClaw agent, so it acts in no OpenClaw session: give its definition \`openclaw: { agent: <id> }\`.`, 'forbidden');
    }
    if (agentOfSession(key) !== agent) {
      throw new UserError(`Session "${key}" is not run by agent "${agent}", whose token this is: use the token of the bot bound to that session's agent.`, 'forbidden');
    }
    const owner = this.ownerOf(key);
    if (!owner || owner === bot.id) return bot;
    const task = this.tasks.get(owner);
    const actor = this.registry.get(owner);
    if (task?.live && actor?.status === 'active') return actor;
    if (task) throw new UserError(`Session "${key}" is task agent ${owner}'s, whose task has ended (${task.status}): it acts as no bot any more.`, 'forbidden');
    throw new UserError(`Session "${key}" is bot ${owner}'s, not ${bot.id}'s: only its own token acts in it.`, 'forbidden');
  }

  /** The active bot whose live session is `key`: messages to that bot reach exactly that session. */
  botIn(key: string): string | undefined {
    const bot = this.ownerOf(key);
    return bot && this.registry.get(bot)?.status === 'active' && this.bindingOf(bot)?.session === key ? bot : undefined;
  }
}
