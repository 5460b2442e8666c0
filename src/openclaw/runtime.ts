import { type OpenClawHost, type RunEnd, type RunRef, type SessionSummary, type SessionTurn, sleep, type StartRequest } from '../core/agent-runtime.js';
import type { LiveDeliveryResult, LiveMessage } from '../core/delivery.js';
import { UserError } from '../core/errors.js';
import { agentOfSession, type OpenClawBinding } from '../core/model.js';
import { GatewayError, type OpenClawGateway } from './gateway.js';
import { formatMessage } from './message.js';

/** How long to pause before waiting again on a gateway that did not answer. */
const RETRY_AFTER_MS = 2_000;

/** How much of one turn `history` returns. */
const TURN_CHARS = 4_000;

/** Roost's OpenClaw plugin (openclaw-plugin/), and the name it gives complete_task. */
const PLUGIN_ID = 'roost';
const PLUGIN_COMPLETE_TASK = 'roost_complete_task';

/**
 * The `openclaw` runtime: runs briefs as agent turns in gateway sessions (`agent` → `agent.wait`),
 * injects messages into bound bots' sessions (`sessions.send`), and shows sessions and their turns.
 */
export class OpenClawRuntime implements OpenClawHost {
  readonly name = 'openclaw';
  private closed = false;

  constructor(
    readonly gateway: OpenClawGateway,
    readonly defaultAgent?: string,
  ) {}

  check(request: Pick<StartRequest, 'bot' | 'agent' | 'session'>): void {
    if (!request.agent || !request.session) {
      throw new UserError(
        `Bot "${request.bot}" has no OpenClaw agent to run on: give its definition \`openclaw: { agent: <id> }\`, set the default agent for spawns, or choose another runtime.`,
      );
    }
  }

  async start(request: StartRequest): Promise<RunRef> {
    this.check(request);
    try {
      const accepted = await this.gateway.request<{ runId?: string; sessionKey?: string; status?: string }>('agent', {
        agentId: request.agent,
        sessionKey: request.session,
        message: request.brief,
        idempotencyKey: `roost-${request.task}`,
        deliver: false,
      });
      if (!accepted.runId) throw new GatewayError(`the gateway answered without a run id (status ${accepted.status ?? 'unknown'})`, 'invalid');
      return { runtime: 'openclaw', runId: accepted.runId, session: accepted.sessionKey ?? request.session };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      throw new UserError(`The OpenClaw gateway did not accept the brief for agent "${request.agent}": ${error.message}`);
    }
  }

  async wait(run: RunRef, timeoutMs: number, signal: AbortSignal): Promise<RunEnd | null> {
    try {
      const end = await this.gateway.request<{ status: string; stopReason?: string; error?: unknown; terminalReply?: { text?: string } }>(
        'agent.wait',
        { runId: run.runId, timeoutMs },
        { timeoutMs: timeoutMs + 10_000, signal },
      );
      if (end.status === 'ok') return { status: 'done', result: end.terminalReply?.text ?? '' };
      if (end.status === 'timeout') return null;
      return { status: 'failed', error: describeFailure(end) };
    } catch (error) {
      // Unreachable gateway or a dropped wait: the run may well go on, so the caller waits again a little later.
      if (!(error instanceof GatewayError) && !signal.aborted) throw error;
      await sleep(Math.min(timeoutMs, RETRY_AFTER_MS), signal);
      return null;
    }
  }

  async cancel(run: RunRef): Promise<void> {
    await this.gateway.request('sessions.abort', { ...(run.session ? { key: run.session } : {}), runId: run.runId });
  }

  /** Roost's complete_task as the gateway offers it to `agent` through Roost's plugin, through which a task agent acts as itself. */
  async completeTaskTool(agent: string): Promise<string | undefined> {
    try {
      const catalog = await this.gateway.request<{ groups?: Array<{ tools?: Array<{ id?: string; pluginId?: string }> }> }>('tools.catalog', { agentId: agent });
      const offered = (catalog.groups ?? []).some((group) => (group.tools ?? []).some((tool) => tool.pluginId === PLUGIN_ID && tool.id === PLUGIN_COMPLETE_TASK));
      return offered ? PLUGIN_COMPLETE_TASK : undefined;
    } catch (error) {
      if (error instanceof GatewayError) return undefined;
      throw error;
    }
  }

  keepSessions(bound: () => Array<{ bot: string; binding: OpenClawBinding }>): void {
    this.gateway.onConnect = () => void this.ensureSessions(bound());
    void this.ensureSessions(bound());
  }

  /** Every bot bound to an OpenClaw agent gets its persistent session on the gateway (kept if it exists). */
  private async ensureSessions(bound: Array<{ bot: string; binding: OpenClawBinding }>): Promise<void> {
    for (const { bot, binding } of bound) {
      if (this.closed) return;
      try {
        await this.ensureSession(bot, binding);
      } catch (error) {
        if (this.closed) return;
        console.error(`roost: the session ${binding.session} of ${bot} is not ready on the OpenClaw gateway: ${(error as Error).message}`);
        // An unreachable gateway fails them all alike; the next connection tries again.
        if (error instanceof GatewayError && ['unreachable', 'refused', 'timeout'].includes(error.code)) return;
      }
    }
  }

  /** Creates a bot's session on the gateway if it does not exist; an existing one is kept as it is. */
  async ensureSession(bot: string, binding: OpenClawBinding): Promise<void> {
    await this.gateway.request('sessions.create', { agentId: binding.agent, key: binding.session, label: `Roost ${bot}` });
  }

  /** Injects a message into the recipient's bound session, creating the session first if the gateway lost it. Never throws. */
  async deliver(bot: string, message: LiveMessage, binding?: OpenClawBinding): Promise<LiveDeliveryResult> {
    if (!binding) return { live: false, reason: 'no OpenClaw session is bound to this bot' };
    const [text, idempotencyKey] = [formatMessage(message), `roost-msg-${message.id}`];
    try {
      try {
        await this.send(binding.session, text, idempotencyKey);
      } catch (error) {
        if (!(error instanceof GatewayError) || !/session not found/i.test(error.message)) throw error;
        await this.ensureSession(bot, binding);
        await this.send(binding.session, text, idempotencyKey);
      }
      return { live: true, session: binding.session };
    } catch (error) {
      return { live: false, session: binding.session, reason: (error as Error).message };
    }
  }

  /** Injects a message into any session by its key. Never throws. */
  async inject(session: string, message: LiveMessage): Promise<LiveDeliveryResult> {
    try {
      await this.send(session, formatMessage(message), `roost-msg-${message.id}`);
      return { live: true, session };
    } catch (error) {
      return { live: false, session, reason: (error as Error).message };
    }
  }

  /**
   * Sends a message into a session. The idempotency key makes a retry after a lost answer safe,
   * so a timeout is retried once rather than reported as a failure.
   */
  async send(key: string, text: string, idempotencyKey: string): Promise<void> {
    const params = { key, message: text, idempotencyKey };
    try {
      await this.gateway.request('sessions.send', params);
    } catch (error) {
      if (!(error instanceof GatewayError) || error.code !== 'timeout') throw error;
      await this.gateway.request('sessions.send', params);
    }
  }

  async sessions(filter: { agent?: string; search?: string; limit: number }): Promise<SessionSummary[]> {
    const listed = await away(
      this.gateway.request<{ sessions: Array<Record<string, unknown>> }>('sessions.list', {
        limit: filter.limit,
        ...(filter.agent ? { agentId: filter.agent } : {}),
        ...(filter.search ? { search: filter.search } : {}),
      }),
    );
    return listed.sessions.map((s) => ({
      key: String(s.key),
      agent: String(s.agentId ?? agentOfSession(String(s.key)) ?? ''),
      ...(typeof s.label === 'string' || typeof s.displayName === 'string' ? { label: String(s.label ?? s.displayName) } : {}),
      ...(typeof s.status === 'string' ? { status: s.status } : {}),
      ...(typeof s.updatedAt === 'number' ? { updated: new Date(s.updatedAt).toISOString() } : {}),
    }));
  }

  async history(key: string, limit: number): Promise<SessionTurn[]> {
    const page = await away(this.gateway.request<{ messages: Array<Record<string, unknown>> }>('chat.history', { sessionKey: key, limit }));
    return page.messages.map((m) => ({
      role: String(m.role),
      text: textOf(m.content).slice(0, TURN_CHARS),
      ...(typeof m.timestamp === 'number' ? { at: new Date(m.timestamp).toISOString() } : {}),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.gateway.close();
  }
}

/** A gateway that is away (restarting, most likely) is a sentence for the caller, who can try again, not a failure of Roost's. */
async function away<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'unreachable') throw new UserError(error.message);
    throw error;
  }
}

function describeFailure(end: { status: string; stopReason?: string; error?: unknown }): string {
  const detail = typeof end.error === 'string' ? end.error : end.error ? JSON.stringify(end.error) : undefined;
  return `the OpenClaw run ended with status ${end.status}${end.stopReason ? ` (${end.stopReason})` : ''}${detail ? `: ${detail}` : ''}`;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: Record<string, unknown>) => {
      if (part.type === 'text') return String(part.text ?? '');
      if (part.type === 'toolCall') return `[tool call ${String(part.name)} ${JSON.stringify(part.arguments ?? {})}]`;
      return `[${String(part.type)}]`;
    })
    .join('\n');
}
