/** Who may read a note: its owner only (and the main bot and the operator), or every bot. */
export type Visibility = 'private' | 'shared';

/** A bot's place on an OpenClaw gateway: the agent it is, and its persistent session. */
export interface OpenClawBinding {
  agent: string;
  session: string;
}

/** The agent id a session key belongs to: `agent:<id>:…`. */
export function agentOfSession(key: string): string | undefined {
  return /^agent:([^:]+):./.exec(key)?.[1];
}
