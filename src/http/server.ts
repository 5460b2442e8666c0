import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Caller, OPERATOR_ID } from '../core/access.js';
import { UserError } from '../core/errors.js';
import type { Roost } from '../core/roost.js';
import { createServer } from '../mcp/server.js';
import { VERSION } from '../package.js';
import { BOT_HEADER, SESSION_HEADER } from '../protocol.js';
import { ConsoleApi } from './api.js';
import { BodyError, ClientGone, readBody } from './body.js';
import { sendJson } from './json.js';
import { McpSession } from './mcp-session.js';
import { StaticFiles } from './static.js';

export interface HttpOptions {
  host: string;
  port: number;
  readOnly?: boolean;
  /**
   * An MCP session counts as live while its client is attached (an event stream open) or has been
   * active within this long; past it, it is closed (its client is gone). Default one minute.
   */
  sessionIdleMs?: number;
  limits?: Partial<HttpLimits>;
}

export interface HttpLimits {
  /**
   * Live MCP sessions one identity may have: a bot (also as the operator token acting as it), or the
   * operator as itself. A new session beyond closes the identity's least recently used idle one.
   */
  maxSessions: number;
}

/**
 * A stdio bridge keeps one session, and Roost's OpenClaw plugin one per OpenClaw session of the
 * bot's agent; both open a new one when theirs was closed. At about 60 KB a session, the bound
 * keeps one identity's sessions under 2 MB.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = { maxSessions: 32 };
/** A session with neither an open stream nor a request for this long has lost its client (by default). */
const SESSION_IDLE_MS = 60_000;
/** The log says at most this often that an identity is at its bound of sessions. */
const BOUND_LOG_MS = 60_000;

/** How long a client may take to send a request's headers, and the whole request with its body: a slow one is cut off. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** Connections open at once; beyond, new ones are closed at once (each costs a file descriptor and memory). */
const MAX_CONNECTIONS = 1000;

interface Session {
  transport: McpSession;
  caller: Caller;
  /** POSTs and DELETEs still being answered on this session… */
  calls: number;
  /** …and GET event streams open on it (a client listening for resource updates). */
  streams: number;
  lastActive: number;
}

/** The daemon's HTTP face: MCP over Streamable HTTP at /mcp (stateful sessions), the console (/, /api, /events) and /health. */
export class HttpServer {
  private readonly server: http.Server;
  private readonly sessions = new Map<string, Session>();
  private allowedHosts = new Set<string>();
  private allowedOrigins = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly api: ConsoleApi;
  private readonly files = new StaticFiles();
  private readonly limits: HttpLimits;
  /** When the log last said that an identity is at its bound of sessions. */
  private readonly boundLogged = new Map<string, number>();
  private readonly idleMs: number;

  constructor(
    private readonly roost: Roost,
    private readonly options: HttpOptions,
  ) {
    this.server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
      this.handle(req, res).catch((error) => {
        if (error instanceof ClientGone) return;
        console.error('roost: request failed:', error);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.end();
      });
    });
    this.server.maxConnections = MAX_CONNECTIONS;
    this.idleMs = options.sessionIdleMs ?? SESSION_IDLE_MS;
    this.sweeper = setInterval(() => this.closeIdleSessions(), Math.min(15_000, this.idleMs));
    this.sweeper.unref();
    roost.registry.liveSessions = (bot) => [...this.sessions.values()].filter((s) => s.caller.bot === bot && this.isLive(s, Date.now())).length;
    this.api = new ConsoleApi(roost, { readOnly: options.readOnly ?? false });
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  }

  /** A session's client is there while it listens on the session's stream, has a call under way, or called lately. */
  private isLive(session: Session, now: number): boolean {
    return session.calls + session.streams > 0 || now - session.lastActive <= this.idleMs;
  }

  /** Clients that go without ending their session (one-shot calls, killed processes) leave it idle: close it. */
  private closeIdleSessions(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) if (!this.isLive(session, now)) void session.transport.close();
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const names = ['127.0.0.1', 'localhost', '[::1]', this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host];
    this.allowedHosts = new Set(names.map((n) => `${n}:${port}`));
    this.allowedOrigins = new Set(names.map((n) => `http://${n}:${port}`));
    return `http://${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.api.close();
    await Promise.all([...this.sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding and cross-site requests: only our own host names, and only our own origin.
    if (!this.allowedHosts.has(req.headers.host ?? '')) return sendJson(res, 403, { error: 'Host not allowed' });
    const origin = req.headers.origin;
    if (origin !== undefined && !this.allowedOrigins.has(origin)) return sendJson(res, 403, { error: 'Origin not allowed' });

    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health' && req.method === 'GET') return sendJson(res, 200, { ok: true, name: 'roost', version: VERSION });
    if (url.pathname === '/mcp') return this.handleMcp(req, res);
    if ((await this.api.handle(req, res, url)) || (await this.files.handle(req, res, url))) return;
    sendJson(res, 404, { error: 'not found' });
  }

  /** Who the request acts as, or an HTTP error already sent. Refusals name the token's bot, never the token. */
  private async authenticate(req: IncomingMessage, res: ServerResponse): Promise<Caller | null> {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const identity = token ? await this.roost.tokens.verify(token) : null;
    if (!identity) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="roost"');
      sendJson(res, 401, { error: this.unknownToken(token) });
      return null;
    }
    const wanted = headerValue(req.headers[BOT_HEADER]);
    const session = headerValue(req.headers[SESSION_HEADER]);
    if (identity.operator) {
      if (session) {
        sendJson(res, 400, { error: `${SESSION_HEADER} is for bot tokens; the operator token picks its bot with ${BOT_HEADER}.` });
        return null;
      }
      if (!wanted || wanted === OPERATOR_ID) return { bot: OPERATOR_ID, kind: 'operator', operator: true };
      const bot = this.roost.registry.get(wanted);
      if (!bot) {
        sendJson(res, 404, { error: `The operator token was presented with ${BOT_HEADER}: ${wanted}, and there is no bot "${wanted}": name a bot that \`roost bots\` lists.` });
        return null;
      }
      return { bot: bot.id, kind: bot.kind, operator: true };
    }
    const presented = `The token presented is bot "${identity.bot}"'s`;
    const bot = this.roost.registry.get(identity.bot);
    if (!bot || bot.status === 'retired') {
      sendJson(res, 403, { error: `${presented}, and that bot is ${bot ? 'retired' : 'not registered on this daemon'}: use the token of an active bot (\`roost bots\` lists them).` });
      return null;
    }
    if (wanted && wanted !== identity.bot) {
      sendJson(res, 403, {
        error: `${presented}, but the request asks to act as "${wanted}" (${BOT_HEADER}): a bot token acts only as its own bot. Use "${wanted}"'s own token (\`roost token ${wanted}\` makes one), or send ${BOT_HEADER}: ${identity.bot}.`,
      });
      return null;
    }
    if (!session) return { bot: bot.id, kind: bot.kind, operator: false };
    try {
      const actor = this.roost.sessions.actorIn(bot, session);
      return { bot: actor.id, kind: actor.kind, operator: false };
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      sendJson(res, 403, { error: error.message });
      return null;
    }
  }

  /** Why a token is refused, saying whose it claims to be (its bot, from its form) and never the token itself. */
  private unknownToken(token: string | undefined): string {
    if (!token) return 'No bearer token was presented: send Authorization: Bearer <token> (`roost token <bot>` makes a bot\'s token).';
    const id = /^roost_([a-z0-9][a-z0-9_-]{0,63})_[0-9a-f]{48}$/.exec(token)?.[1];
    if (id) {
      const bot = this.roost.registry.get(id);
      const presented = `The token presented is bot "${id}"'s`;
      if (!bot) return `${presented}, and there is no bot "${id}" on this daemon: use a token of this daemon's bots (\`roost bots\` lists them).`;
      if (bot.status === 'retired') return `${presented}, and that bot is retired, so its token no longer works${bot.kind === 'task' ? ' (its task has ended)' : ''}.`;
      return `${presented}, but not its current one: it was replaced (\`roost token ${id}\` makes a new one and the old stops working) or made for another data root. Use the newest token, or make one with \`roost token ${id}\`.`;
    }
    if (token.startsWith('roost_operator_')) {
      return 'The token presented is an operator token, but not this daemon\'s: the current one is in .roost/operator.token under the data root (or ROOST_OPERATOR_TOKEN where the daemon runs).';
    }
    return 'The token presented is not a Roost token (they read roost_<bot>_… or roost_operator_…): `roost token <bot>` makes one.';
  }

  private async handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = await this.authenticate(req, res);
    if (!caller) return;
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readBody(req);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        return sendJson(res, error.status, jsonRpcError(error.message, error.status === 400 ? PARSE_ERROR : SERVER_ERROR));
      }
    }
    const sessionId = headerValue(req.headers['mcp-session-id']);
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) return sendJson(res, 404, jsonRpcError('Session not found: initialize a new session.'));
      if (session.caller.bot !== caller.bot || session.caller.operator !== caller.operator) {
        return sendJson(res, 403, jsonRpcError('This session belongs to another identity.'));
      }
      if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'DELETE') {
        res.setHeader('allow', 'GET, POST, DELETE');
        return sendJson(res, 405, jsonRpcError('Method not allowed: use POST, GET or DELETE.'));
      }
      this.roost.registry.touch(caller.bot);
      track(session, req.method === 'GET' ? 'streams' : 'calls', res);
      if (req.method === 'POST') session.transport.handlePost(req, res, body);
      else if (req.method === 'GET') session.transport.handleGet(req, res);
      else await session.transport.handleDelete(req, res);
      return;
    }
    if (req.method !== 'POST' || !isInitialize(body)) return sendJson(res, 400, jsonRpcError('No session: send an initialize request first.'));
    if (!this.makeRoom(caller)) {
      const who = caller.bot === OPERATOR_ID ? 'The operator has' : `Bot "${caller.bot}" has`;
      const message = `${who} ${this.limits.maxSessions} MCP sessions, the most it may have, each with a call under way: end a session it no longer uses (DELETE /mcp with its mcp-session-id) or let a call finish, then initialize again.`;
      return sendJson(res, 429, jsonRpcError(message, SERVER_ERROR, body.id));
    }

    // Counted from now, before anything is awaited, so that sessions opened at once cannot pass the bound.
    const transport = new McpSession();
    const session: Session = { transport, caller, calls: 0, streams: 0, lastActive: Date.now() };
    this.sessions.set(transport.sessionId, session);
    this.roost.registry.touch(caller.bot);
    track(session, 'calls', res);
    // Set before the server connects, which chains its own handler after this one.
    transport.onclose = () => void this.sessions.delete(transport.sessionId);
    try {
      await createServer(this.roost, caller, { readOnly: this.options.readOnly }).connect(transport);
    } catch (error) {
      await transport.close();
      throw error;
    }
    if (!transport.handlePost(req, res, body)) await transport.close();
  }

  /**
   * Whether a new session of the caller's identity may open. At its bound, its least recently used
   * session with no call under way is closed to make room (a client that still uses it opens
   * another when it is told the session is gone); with none, the new session is refused.
   */
  private makeRoom(caller: Caller): boolean {
    const own = [...this.sessions.values()].filter((s) => s.caller.bot === caller.bot);
    if (own.length < this.limits.maxSessions) return true;
    const idle = own.filter((s) => s.calls === 0).sort((a, b) => a.lastActive - b.lastActive);
    if (idle.length === 0) return false;
    void idle[0].transport.close();
    const now = Date.now();
    if (now - (this.boundLogged.get(caller.bot) ?? 0) > BOUND_LOG_MS) {
      this.boundLogged.set(caller.bot, now);
      const who = caller.bot === OPERATOR_ID ? 'the operator has' : `bot "${caller.bot}" has`;
      console.error(`roost: ${who} ${own.length} MCP sessions, its bound (--max-sessions): its least recently used idle ones are closed to open new ones.`);
    }
    return true;
  }
}

/** Counts a request as open on its session until its answer ends. */
function track(session: Session, kind: 'calls' | 'streams', res: ServerResponse): void {
  session[kind]++;
  session.lastActive = Date.now();
  res.once('close', () => {
    session[kind]--;
    session.lastActive = Date.now();
  });
}

function isInitialize(body: unknown): body is { method: 'initialize'; id: string | number } {
  if (!body || typeof body !== 'object') return false;
  const { method, id } = body as { method?: unknown; id?: unknown };
  return method === 'initialize' && (typeof id === 'string' || typeof id === 'number');
}

const PARSE_ERROR = -32700;
const SERVER_ERROR = -32000;

function jsonRpcError(message: string, code = SERVER_ERROR, id: string | number | null = null) {
  return { jsonrpc: '2.0', error: { code, message }, id };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
