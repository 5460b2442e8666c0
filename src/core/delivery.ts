import type { OpenClawBinding } from './model.js';

/** A message as it is shown inside a recipient's live agent session. */
export interface LiveMessage {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  created: string;
  thread?: string;
  topic?: string;
  priority?: string;
}

export interface LiveDeliveryResult {
  /** True when the message reached a live session of the recipient. */
  live: boolean;
  /** The session it reached. */
  session?: string;
  /** Why live delivery failed or was not attempted (the message stays in the inbox either way). */
  reason?: string;
}

/**
 * Delivery into a recipient's running agent session (e.g. an OpenClaw session), on top of the
 * durable inbox. Implementations never throw: a failure is reported in the result.
 */
export interface SessionDelivery {
  /** Delivers to `bot`'s live session: `binding`, the OpenClaw session it is bound to or its task runs in, when it has one. */
  deliver(bot: string, message: LiveMessage, binding?: OpenClawBinding): Promise<LiveDeliveryResult>;
  /** Injects into a session by its key, whoever's it is (a message addressed `session:<key>`). */
  inject?(session: string, message: LiveMessage): Promise<LiveDeliveryResult>;
}

/** How a message addresses a session rather than a bot: `session:<session key>`. */
export const SESSION_ADDRESS = 'session:';

/** The embedded default: no live sessions are known, so messages wait in the inbox. */
export const inboxOnly: SessionDelivery = {
  deliver: async () => ({ live: false, reason: 'no live session is bound to this bot' }),
};
