import { UserError } from './errors.js';
import type { Bot, BotKind } from './registry.js';
import type { Visibility } from './model.js';

/**
 * The access policy: every rule of who may read, write, list or manage whose memory, tasks, topics,
 * bots and sessions is one function here, taking the `Caller`. The core's commands consult it; tools
 * and the HTTP layer decide nothing of their own.
 */

/** Who is calling. Fixed when a connection is made; never taken from tool arguments. */
export interface Caller {
  /** The bot this connection acts as (`operator` for the operator without a chosen bot). */
  bot: string;
  kind: BotKind | 'operator';
  /** True when the connection was made with the operator token. */
  operator: boolean;
}

export const OPERATOR_ID = 'operator';

/** The operator without a chosen bot. */
export const OPERATOR: Caller = { bot: OPERATOR_ID, kind: 'operator', operator: true };

/** A bot acting as itself, as Roost does for a task agent's own bookkeeping. */
export function callerOf(bot: Pick<Bot, 'id' | 'kind'>): Caller {
  return { bot: bot.id, kind: bot.kind, operator: false };
}

// ---- memory ------------------------------------------------------------------------------

/** The main bot and the operator read every bot's memory, tasks and sessions. */
export function readsEverything(caller: Caller): boolean {
  return caller.operator || caller.kind === 'main';
}

/** A note of `owner` with this visibility: its owner, main and the operator read it; anyone reads a shared one. */
export function mayRead(caller: Caller, owner: string, visibility: Visibility): boolean {
  return owner === caller.bot || visibility === 'shared' || readsEverything(caller);
}

/** Everything of `owner`'s memory, whatever each note's visibility (its whole history too). */
export function readsAllOf(caller: Caller, owner: string): boolean {
  return owner === caller.bot || readsEverything(caller);
}

export function checkMaySearchAll(caller: Caller): void {
  if (!readsEverything(caller)) {
    throw new UserError(`Scope "all" is for the main bot and the operator: use scope "shared" to include other bots' shared notes.`, 'forbidden');
  }
}

// ---- registry ----------------------------------------------------------------------------

/** Registering bots is for the main bot and the operator. */
export function mayRegisterBots(caller: Caller): boolean {
  return readsEverything(caller);
}

export function checkMayRegisterBots(caller: Caller): void {
  if (!mayRegisterBots(caller)) throw new UserError('Only the main bot and the operator register bots: ask one of them.', 'forbidden');
}

/** A bot changes its own profile; the operator changes any bot's. */
export function checkMayChangeProfile(caller: Caller, target: string, verb = 'change'): void {
  if (target !== caller.bot && !caller.operator) {
    throw new UserError(`You may ${verb} only your own profile; the operator may ${verb} any bot's.`, 'forbidden');
  }
}

/** A bot retires itself; the main bot and the operator retire any other bot but the main bot. */
export function checkMayRetire(caller: Caller, bot: Pick<Bot, 'id' | 'kind'>): void {
  if (bot.id !== caller.bot && !readsEverything(caller)) {
    throw new UserError('Only the main bot and the operator retire other bots: ask one of them, or retire yourself.', 'forbidden');
  }
  if (bot.kind === 'main') throw new UserError('The main bot cannot be retired.', 'forbidden');
}

// ---- topics ------------------------------------------------------------------------------

/** A topic named in bot definitions is the operator's: only the operator creates or changes it. */
export function checkMayCreateTopic(caller: Caller, name: string, declared: boolean): void {
  if (declared && !caller.operator) {
    throw new UserError(
      `"#${name}" is listed in bot definitions, so it is the operator's: only the operator creates or changes it (any bot may still subscribe_topic).`,
      'forbidden',
    );
  }
}

/** A topic's creator, the main bot and the operator change it (a declared topic: the operator alone). */
export function checkMayChangeTopic(caller: Caller, topic: { name: string; created_by?: string }, declared: boolean): void {
  checkMayCreateTopic(caller, topic.name, declared);
  if (!(readsEverything(caller) || (topic.created_by !== undefined && topic.created_by === caller.bot))) {
    throw new UserError(`Only the topic's creator, the main bot and the operator change "#${topic.name}": ask one of them.`, 'forbidden');
  }
}

/** Why `bot` may not post to the topic (and the refusal's code), or null when it may. */
export function postRefusal(
  topic: { name: string; archived: boolean; post_policy: 'members' | 'anyone' },
  isMember: boolean,
): { reason: string; code: UserError['code'] } | null {
  if (topic.archived) return { reason: `"#${topic.name}" is archived: it takes no new messages (update_topic with archived: false reopens it)`, code: 'invalid' };
  if (topic.post_policy === 'members' && !isMember) {
    return { reason: `only members post to "#${topic.name}": call subscribe_topic first, or ask its owner to add you`, code: 'forbidden' };
  }
  return null;
}

// ---- mail -------------------------------------------------------------------------------

/** A bot reads its own mail; the operator reads any bot's mailbox (the console). */
export function checkMayReadMailOf(caller: Caller, bot: string): void {
  if (bot !== caller.bot && !caller.operator) throw new UserError(`You may read only your own mail, not ${bot}'s.`, 'forbidden');
}

// ---- tasks and sessions ------------------------------------------------------------------

/** A task is seen by whoever asked for it, its worker, their ancestors, the main bot and the operator. */
export function mayViewTask(caller: Caller, task: { parent: string; bot: string }, askedByCaller: boolean): boolean {
  return readsEverything(caller) || task.parent === caller.bot || task.bot === caller.bot || askedByCaller;
}

/** A task is cancelled by whoever asked for it (or an ancestor), the main bot and the operator. */
export function checkMayCancelTask(caller: Caller, task: { id: string; parent: string }, askedByCaller: boolean): void {
  if (task.parent !== caller.bot && !readsEverything(caller) && !askedByCaller) {
    throw new UserError(`Only whoever asked for task "${task.id}" (${task.parent}), the main bot or the operator may cancel it.`, 'forbidden');
  }
}

/** A task is completed by the bot working on it. */
export function checkMayCompleteTask(caller: Caller, task: { id: string; bot: string }): void {
  if (task.bot !== caller.bot) throw new UserError(`Task "${task.id}" is ${task.bot}'s to complete, not yours.`, 'forbidden');
}

/** Every task, not only those the caller asked for. */
export function seesAllTasks(caller: Caller): boolean {
  return readsEverything(caller);
}

/** An OpenClaw session of a Roost bot or task agent is anyone's to see; any other session is the main bot's and the operator's. */
export function maySeeSession(caller: Caller, owner: string | undefined): boolean {
  return owner !== undefined || readsEverything(caller);
}

export function checkMayReadSession(caller: Caller, session: string, owner: string | undefined): void {
  if (!maySeeSession(caller, owner)) {
    throw new UserError(`"${session}" is not the session of a Roost bot: only the main bot and the operator read other sessions (list_sessions shows yours).`, 'forbidden');
  }
}

// ---- the operator ------------------------------------------------------------------------

/** The console's views of the whole daemon (problems, every bot's mail folders, statistics). */
export function isOperator(caller: Caller): boolean {
  return caller.operator;
}
