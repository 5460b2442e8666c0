import type { BotKind } from './registry.js';
import type { Visibility } from './model.js';

/** Who is calling. Fixed when a connection is made; never taken from tool arguments. */
export interface Caller {
  /** The bot this connection acts as (`operator` for the operator without a chosen bot). */
  bot: string;
  kind: BotKind | 'operator';
  /** True when the connection was made with the operator token. */
  operator: boolean;
}

export const OPERATOR_ID = 'operator';

/** The main bot and the operator read every bot's memory. */
export function readsEverything(caller: Caller): boolean {
  return caller.operator || caller.kind === 'main';
}

export function mayRead(caller: Caller, owner: string, visibility: Visibility): boolean {
  return owner === caller.bot || visibility === 'shared' || readsEverything(caller);
}
