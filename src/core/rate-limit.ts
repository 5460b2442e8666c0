import { UserError } from './errors.js';

/**
 * Who asks for a change: a bot, which takes it from its allowance (and, in memory, its quota), or
 * Roost doing a task's bookkeeping (a brief, an archive, a cleanup, a task agent's registry entry),
 * which no allowance refuses.
 */
export type ChangeBy = 'bot' | 'roost';

/**
 * A per-bot token bucket: `burst` actions at once, then `perSecond`. A refusal takes nothing
 * and says when to retry.
 */
export class RateLimit {
  private readonly levels = new Map<string, { tokens: number; at: number }>();

  /**
   * @param doing what the bot is doing, for the refusal: "sending", "writing to your memory"…
   * @param undone what did not happen: "sent", "written"…
   */
  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly doing: string,
    private readonly undone: string,
  ) {}

  /** Takes one action's token for `bot`, or throws a `rate_limited` UserError. */
  take(bot: string, now = Date.now()): void {
    const last = this.levels.get(bot) ?? { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, last.tokens + ((now - last.at) / 1000) * this.perSecond);
    if (tokens >= 1) {
      this.levels.set(bot, { tokens: tokens - 1, at: now });
      return;
    }
    this.levels.set(bot, { tokens, at: now });
    const wait = (1 - tokens) / this.perSecond;
    throw new UserError(
      `You are ${this.doing} faster than allowed (${this.burst} at once, then ${this.perSecond} per second): retry in ${wait.toFixed(1)} s. Nothing was ${this.undone}.`,
      'rate_limited',
    );
  }
}

/** A bot's allowance for changes: to its memory, to topics and to the registry all take from this one bucket. */
export function changeAllowance(burst: number, perSecond: number): RateLimit {
  return new RateLimit(burst, perSecond, 'making changes', 'changed');
}
