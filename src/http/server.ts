import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Caller, OPERATOR_ID } from '../core/access.js';
import { UserError } from '../core/errors.js';
import type { Roost } from '../core/roost.js';
import { createServer } from '../mcp/server.js';
import { VERSION } from '../package.js';
import { BOT_HEADER, SESSION_HEADER } from '../protocol.js';
import { ConsoleApi } from './api.js';
import { sendJson } from './json.js';
import { McpSession } from './mcp-session.js';
import { StaticFiles } from './static.js';

export interface HttpOptions {
  host: string;
  port: number;
  readOnly?: boolean;
  /** An MCP session with no open request for this long is closed (its client is gone). Default 30 min. */
  sessionIdleMs?: number;
}

interface Session {
  transport: McpSession;
  caller: Caller;
  /** Requests (including a long-lived GET event stream) still open on this session. */
  open: number;
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

  constructor(
    private readonly roost: Roost,
    private readonly options: HttpOptions,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        console.error('roost: request failed:', error);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.end();
      });
    });
    const idleMs = options.sessionIdleMs ?? 30 * 60_000;
    this.sweeper = setInterval(() => this.closeIdleSessions(idleMs), Math.min(60_000, idleMs));
    this.sweeper.unref();
    this.api = new ConsoleApi(roost, { readOnly: options.readOnly ?? false });
  }

  /** Clients that vanish without ending their session (killed processes) leave it idle: close it. */
  private closeIdleSessions(idleMs: number): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.open === 0 && now - session.lastActive > idleMs) void session.transport.close();
    }
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

  /** Who the request acts as, or an HTTP error already sent. */
  private async authenticate(req: IncomingMessage, res: ServerResponse): Promise<Caller | null> {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const identity = token ? await this.roost.tokens.verify(token) : null;
    if (!identity) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="roost"');
      sendJson(res, 401, { error: 'A valid bearer token is required: create one with `roost token <bot>`.' });
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
        sendJson(res, 404, { error: `There is no bot "${wanted}".` });
        return null;
      }
      return { bot: bot.id, kind: bot.kind, operator: true };
    }
    const bot = this.roost.registry.get(identity.bot);
    if (!bot || bot.status === 'retired' || (wanted && wanted !== identity.bot)) {
      sendJson(res, 403, { error: !bot || bot.status === 'retired' ? `Bot "${identity.bot}" is not active.` : 'A bot token acts only as its own bot.' });
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

  private async handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = await this.authenticate(req, res);
    if (!caller) return;
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
      let body: unknown;
      if (req.method === 'POST') {
        body = await readJson(req, res);
        if (body === undefined) return;
      }
      this.roost.registry.touch(caller.bot);
      session.open++;
      session.lastActive = Date.now();
      res.once('close', () => {
        session.open--;
        session.lastActive = Date.now();
      });
      if (req.method === 'POST') session.transport.handlePost(req, res, body);
      else if (req.method === 'GET') session.transport.handleGet(req, res);
      else await session.transport.handleDelete(req, res);
      return;
    }
    if (req.method !== 'POST') return sendJson(res, 400, jsonRpcError('No session: send an initialize request first.'));
    const body = await readJson(req, res);
    if (body === undefined) return;
    if (!isInitialize(body)) return sendJson(res, 400, jsonRpcError('No session: send an initialize request first.'));

    const transport = new McpSession();
    // Set before the server connects, which chains its own handler after this one.
    transport.onclose = () => {
      if (this.sessions.delete(transport.sessionId)) this.roost.registry.touch(caller.bot, -1);
    };
    const server = createServer(this.roost, caller, { readOnly: this.options.readOnly });
    await server.connect(transport);
    if (!transport.handlePost(req, res, body)) return void transport.close();
    this.sessions.set(transport.sessionId, { transport, caller, open: 0, lastActive: Date.now() });
    this.roost.registry.touch(caller.bot, 1);
  }
}

const MAX_BODY = 8 * 1024 * 1024;

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      sendJson(res, 413, jsonRpcError('Request body too large.'));
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON.' }, id: null });
    return undefined;
  }
}

function isInitialize(body: unknown): boolean {
  return !!body && typeof body === 'object' && (body as { method?: unknown }).method === 'initialize' && 'id' in body;
}

function jsonRpcError(message: string) {
  return { jsonrpc: '2.0', error: { code: -32000, message }, id: null };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
