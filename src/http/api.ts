import type { IncomingMessage, ServerResponse } from 'node:http';
import { toolsFor } from '../../tools/index.js';
import { invokeTool } from '../../tools/invoke.js';
import { type Caller, OPERATOR, OPERATOR_ID } from '../core/access.js';
import { UserError } from '../core/errors.js';
import type { Activity } from '../core/events.js';
import type { Roost } from '../core/roost.js';
import { BodyError, readBody } from './body.js';
import { ConsoleSessions } from './console-sessions.js';
import { sendJson } from './json.js';

/** Header the console page sends with every state-changing request; a cross-site form or image cannot. */
export const CONSOLE_HEADER = 'x-roost-console';
/** Activities kept for a console page that opens after they happened. */
const RECENT = 200;
const HEARTBEAT_MS = 25_000;

/** A bot's figures as `bot_stats` gives them. */
type BotStats = { id: string } & Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Runs an MCP tool as the operator: same validation, same rules, same access checks. */
  tool: (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** Runs an MCP tool as the bot named in the path, as the operator token with `X-Roost-Bot` does. */
  toolAsBot: (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** Runs an MCP tool as any bot, as the operator token with `X-Roost-Bot` does. */
  toolAs: (bot: string, name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  segments: string[];
  /** Answered without a session (only the login). */
  open: boolean;
  run: (r: ApiRequest) => Promise<unknown> | unknown;
}

/**
 * The console's REST API under /api and its live feed at /events. Every read and write goes
 * through the MCP tools' own handlers, so the console follows exactly the rules bots follow.
 */
export class ConsoleApi {
  private readonly sessions = new ConsoleSessions();
  private readonly recent: Activity[] = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly routes: Route[];

  constructor(
    private readonly roost: Roost,
    private readonly options: { readOnly: boolean },
  ) {
    roost.events.on('activity', this.onActivity);
    this.heartbeat = setInterval(() => {
      for (const res of this.streams) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.routes = this.defineRoutes();
  }

  /** Every route, e.g. `PUT /api/bots/:bot/note`; `open` ones are answered without a session. */
  get endpoints(): Array<{ method: Route['method']; path: string; open: boolean }> {
    return this.routes.map((r) => ({ method: r.method, path: r.segments.join('/'), open: r.open }));
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.roost.events.off('activity', this.onActivity);
    for (const res of this.streams) res.end();
  }

  /** Answers /api/… and /events; returns false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const isEvents = url.pathname === '/events';
    if (!isEvents && !url.pathname.startsWith('/api/')) return false;
    res.setHeader('cache-control', 'no-store');
    try {
      checkSameSite(req);
      if (isEvents) {
        this.requireSession(req);
        this.openStream(req, res);
        return true;
      }
      const { route, params } = this.match(req.method ?? 'GET', url.pathname);
      if (!route.open) this.requireSession(req);
      const body = route.method === 'POST' || route.method === 'PUT' ? await readObject(req) : {};
      const signal = abortOnClose(res);
      const run = (caller: Caller) => (name: string, args: Record<string, unknown>) => this.runTool(caller, name, args, signal);
      const result = await route.run({
        req,
        res,
        params,
        query: url.searchParams,
        body,
        tool: run(OPERATOR),
        toolAsBot: (name, args) => run(this.actingAs(params.bot))(name, args),
        toolAs: (bot, name, args) => run(this.actingAs(bot))(name, args),
      });
      sendJson(res, 200, result ?? { ok: true });
    } catch (error) {
      if (error instanceof ApiError || error instanceof BodyError) sendJson(res, error.status, { error: error.message });
      else if (error instanceof UserError) sendJson(res, STATUS[error.code], { error: error.message });
      else throw error;
    }
    return true;
  }

  private defineRoutes(): Route[] {
    const route = (method: Route['method'], path: string, run: Route['run'], open = false): Route => ({
      method,
      segments: path.split('/'),
      open,
      run,
    });
    return [
      route('POST', '/api/login', (r) => this.login(r), true),
      route('POST', '/api/logout', (r) => this.sessions.end(r.req, r.res)),
      route('GET', '/api/session', () => ({ operator: true, read_only: this.options.readOnly })),
      route('GET', '/api/overview', async (r) => {
        const { bots } = (await r.tool('list_bots', {})) as { bots: Array<{ id: string; last_seen?: string }> };
        const { agents } = (await r.tool('list_agents', {})) as { agents: Array<{ task: string; kind: string; agent: string; status: string; deadline: string }> };
        // What a bot works on: a task it has under way, else (a task agent) the task it was spawned for.
        const tasks = new Map<string, { task: string; status: string; deadline: string }>();
        for (const a of agents) {
          const live = a.status === 'starting' || a.status === 'running';
          if (live || (a.kind === 'spawn' && !tasks.has(a.agent))) tasks.set(a.agent, { task: a.task, status: a.status, deadline: a.deadline });
        }
        const stats = (await r.tool('bot_stats', {})) as { bots: BotStats[]; embeddings?: unknown };
        const statsOf = new Map(stats.bots.map(({ id, ...rest }) => [id, rest]));
        return {
          bots: bots.map((bot) => ({ ...bot, ...statsOf.get(bot.id), ...(tasks.has(bot.id) ? { task: tasks.get(bot.id) } : {}) })),
          ...(stats.embeddings ? { embeddings: stats.embeddings } : {}),
        };
      }),
      route('GET', '/api/activity', () => ({ activity: [...this.recent].reverse() })),
      route('GET', '/api/activity/chart', (r) => r.tool('team_activity', { window: text(r.query, 'window') })),
      route('GET', '/api/problems', async (r) => {
        const { agents } = (await r.tool('list_agents', {})) as { agents: Array<{ status: string }> };
        return { ...(await r.tool('list_problems', {})), agents: agents.filter((a) => a.status === 'expired' || a.status === 'failed') };
      }),
      route('GET', '/api/search', (r) =>
        r.tool('search_memory', {
          query: r.query.get('query') ?? '',
          scope: 'all',
          bot: text(r.query, 'bot'),
          tags: text(r.query, 'tags')?.split(',').map((t) => t.trim()).filter(Boolean),
          type: text(r.query, 'type'),
          updated_after: text(r.query, 'updated_after'),
          updated_before: text(r.query, 'updated_before'),
          limit: int(r.query, 'limit') ?? 20,
          offset: int(r.query, 'offset'),
        }),
      ),
      route('POST', '/api/bots', (r) => r.tool('register_bot', r.body)),
      route('PUT', '/api/bots/:bot', (r) => r.tool('update_bot', { ...r.body, id: r.params.bot })),
      route('PUT', '/api/bots/:bot/config', (r) => r.tool('configure_bot', { ...r.body, id: r.params.bot })),
      route('POST', '/api/bots/:bot/retire', (r) => r.tool('retire_bot', { id: r.params.bot })),
      route('POST', '/api/bots/:bot/token', (r) => r.tool('rotate_token', { id: r.params.bot })),
      route('GET', '/api/bots/:bot', async (r) => {
        const bot = await r.tool('get_bot', { id: r.params.bot });
        const { bots } = (await r.tool('bot_stats', { bot: r.params.bot })) as { bots: BotStats[] };
        const { id: _id, ...stats } = bots[0];
        return { ...bot, ...stats };
      }),
      route('GET', '/api/bots/:bot/notes', (r) =>
        r.tool('list_notes', { bot: r.params.bot, folder: text(r.query, 'folder'), limit: 500, offset: int(r.query, 'offset') }),
      ),
      route('GET', '/api/bots/:bot/note', (r) =>
        r.tool('read_note', { bot: r.params.bot, path: r.query.get('path') ?? '', from_line: int(r.query, 'from_line'), to_line: int(r.query, 'to_line') }),
      ),
      route('PUT', '/api/bots/:bot/note', (r) => r.toolAsBot('write_note', r.body)),
      route('DELETE', '/api/bots/:bot/note', (r) =>
        r.toolAsBot('delete_note', { path: r.query.get('path') ?? '', expected_version: text(r.query, 'expected_version') }),
      ),
      route('GET', '/api/bots/:bot/history', (r) =>
        r.tool('note_history', { bot: r.params.bot, path: r.query.get('path') ?? '', limit: int(r.query, 'limit') ?? 50, offset: int(r.query, 'offset') }),
      ),
      route('GET', '/api/bots/:bot/diff', (r) =>
        r.tool('note_diff', { bot: r.params.bot, path: r.query.get('path') ?? '', from: r.query.get('from') ?? '', to: text(r.query, 'to') }),
      ),
      route('POST', '/api/bots/:bot/restore', (r) => r.toolAsBot('restore_note', r.body)),
      route('GET', '/api/bots/:bot/mail', (r) =>
        r.tool('list_mailbox', { bot: r.params.bot, folder: text(r.query, 'folder'), cursor: text(r.query, 'cursor'), limit: 30 }),
      ),
      route('GET', '/api/bots/:bot/threads/:thread', (r) => r.toolAsBot('get_thread', { thread: r.params.thread })),
      route('POST', '/api/messages', (r) => r.tool('send_message', r.body)),
      route('GET', '/api/messages/search', (r) => this.searchMail(r)),
      route('GET', '/api/topics', (r) => r.tool('list_topics', { include_archived: true })),
      route('POST', '/api/topics', (r) => r.tool('create_topic', r.body)),
      route('PUT', '/api/topics/:topic', (r) => r.tool('update_topic', { ...r.body, topic: r.params.topic })),
      route('POST', '/api/topics/:topic/archive', (r) => r.tool('archive_topic', { topic: r.params.topic })),
      route('GET', '/api/topics/:topic/messages', (r) =>
        r.tool('topic_history', { topic: r.params.topic, cursor: text(r.query, 'cursor'), limit: int(r.query, 'limit') ?? 50 }),
      ),
      route('GET', '/api/agents', (r) => r.tool('list_agents', { live: r.query.get('live') === 'true' })),
      route('POST', '/api/agents/:id/cancel', (r) => r.tool('cancel_agent', { id: r.params.id })),
      route('GET', '/api/agents/:id', (r) => r.tool('task_details', { id: r.params.id })),
      // A task is asked for by a bot, which gets the result in its inbox: the operator picks which.
      route('POST', '/api/bots/:bot/spawn', (r) => r.toolAsBot('spawn_agent', r.body)),
      route('POST', '/api/bots/:bot/assign', (r) => r.toolAsBot('assign_task', r.body)),
      route('GET', '/api/sessions', (r) => r.tool('list_sessions', { limit: 100 })),
      route('GET', '/api/sessions/:session/history', (r) => r.tool('session_history', { session: r.params.session, limit: int(r.query, 'limit') ?? 30 })),
      // A member joins or leaves as itself, like the bot calling subscribe_topic / unsubscribe_topic.
      route('PUT', '/api/topics/:topic/members/:bot', (r) => r.toolAsBot('subscribe_topic', { topic: r.params.topic })),
      route('DELETE', '/api/topics/:topic/members/:bot', (r) => r.toolAsBot('unsubscribe_topic', { topic: r.params.topic })),
    ];
  }

  /**
   * Searches one mailbox (`bot`), or every bot's and the operator's, each as its owner would
   * with search_messages; a message found in several mailboxes is listed once.
   */
  private async searchMail(r: ApiRequest): Promise<{ total: number; results: Array<Record<string, unknown>> }> {
    const query = r.query.get('query') ?? '';
    const chosen = text(r.query, 'bot');
    const mailboxes = chosen ? [chosen] : [OPERATOR_ID, ...this.roost.registry.list().map((b) => b.id)];
    const found = new Map<string, Record<string, unknown> & { score: number }>();
    for (const mailbox of mailboxes) {
      const { results } = (await r.toolAs(mailbox, 'search_messages', { query, limit: 50 })) as { results: Array<Record<string, unknown> & { id: string; score: number }> };
      for (const hit of results) {
        const seen = found.get(hit.id);
        if (!seen || seen.score < hit.score) found.set(hit.id, { ...hit, mailbox });
      }
    }
    const results = [...found.values()].sort((a, b) => b.score - a.score);
    return { total: results.length, results: results.slice(0, 50) };
  }

  private async login(r: ApiRequest): Promise<{ ok: true }> {
    const identity = typeof r.body.token === 'string' ? await this.roost.tokens.verify(r.body.token) : null;
    if (!identity) {
      throw new ApiError(401, 'That is not a valid token: paste the operator token, kept in .roost/operator.token in the data root (`roost serve` says where on its first start).');
    }
    if (!identity.operator) throw new ApiError(403, 'That is a bot token: the console takes the operator token.');
    this.sessions.start(r.res);
    return { ok: true };
  }

  private match(method: string, pathname: string): { route: Route; params: Record<string, string> } {
    const parts = pathname.split('/');
    let pathFound = false;
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const same = route.segments.every((segment, i) => {
        if (!segment.startsWith(':')) return segment === parts[i];
        params[segment.slice(1)] = decode(parts[i]);
        return parts[i] !== '';
      });
      if (!same) continue;
      if (route.method === method) return { route, params };
      pathFound = true;
    }
    throw pathFound ? new ApiError(405, `${method} is not allowed on ${pathname}.`) : new ApiError(404, `There is no ${pathname} in the console API.`);
  }

  private requireSession(req: IncomingMessage): void {
    if (!this.sessions.check(req)) throw new ApiError(401, 'Log in with the operator token first.');
  }

  private actingAs(id: string): Caller {
    if (id === OPERATOR_ID) return OPERATOR;
    const bot = this.roost.registry.get(id);
    if (!bot) throw new ApiError(404, `There is no bot "${id}".`);
    return { bot: bot.id, kind: bot.kind, operator: true };
  }

  private async runTool(caller: Caller, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const tool = toolsFor(caller, this.roost.registry.get(caller.bot), this.options.readOnly).find((t) => t.name === name);
    if (!tool) throw new ApiError(403, 'This is not possible while the daemon runs read-only (it was started with --read-only).');
    const outcome = await invokeTool(tool, definedOnly(args), { roost: this.roost, caller, signal, progress: async () => undefined });
    if (!outcome.ok) throw new ApiError(outcome.code === 'internal' ? 500 : STATUS[outcome.code], forPeople(outcome.message));
    return outcome.output;
  }

  private readonly onActivity = (activity: Activity): void => {
    this.recent.push(activity);
    if (this.recent.length > RECENT) this.recent.shift();
    const frame = `event: activity\ndata: ${JSON.stringify(activity)}\n\n`;
    for (const res of this.streams) res.write(frame);
  };

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') throw new ApiError(405, 'Open /events with GET.');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    this.streams.add(res);
    res.once('close', () => this.streams.delete(res));
  }
}

/** Tool errors tell a bot which tool to call next; the console tells a person where to look instead. */
const FOR_PEOPLE: Array<[RegExp, string]> = [
  [/: call list_bots to see who exists/g, ': the overview lists every bot'],
  [/ \(call list_bots; write topics as "#name"\)/g, ' (the overview lists every bot; write topics as "#name")'],
  [/ \(call list_topics\)/g, ' (Topics lists them)'],
  [/: call list_topics to see the topics, or create_topic to start one/g, ': Topics lists them and starts new ones'],
  [/: call list_agents to see yours/g, ': Agents lists every task'],
  [/call list_notes or search_memory to find it/g, "look for it in the bot's notes or with Search"],
  [/call note_history to see its versions/g, "the note's History tab shows its versions"],
  [/, or call update_bot to change it/g, ', or edit that bot'],
  [/call update_topic to change it/g, "change it in the topic's settings"],
  [/^Invalid arguments for [a-z_]+: /, 'Invalid input: '],
  [/ Fix them and call again;/, ' Fix them and try again;'],
];

function forPeople(message: string): string {
  return FOR_PEOPLE.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}

const STATUS: Record<UserError['code'], number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  too_large: 413,
  rate_limited: 429,
};

/** Browsers say where a request comes from; refuse anything another site started. */
function checkSameSite(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ApiError(403, 'Cross-site requests are refused.');
  const changes = req.method !== 'GET' && req.method !== 'HEAD';
  if (changes && req.headers[CONSOLE_HEADER] !== '1') {
    throw new ApiError(403, `State-changing requests need the header "${CONSOLE_HEADER}: 1" (the console page sends it).`);
  }
}

/** A POST's or PUT's body: a JSON object, or none. */
async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = (await readBody(req)) ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ApiError(400, `"${part}" is not a valid URL path segment.`);
  }
}

/** A query value, or undefined when absent or empty. */
function text(query: URLSearchParams, name: string): string | undefined {
  return query.get(name) || undefined;
}

/** A whole number from the query; anything else is passed on for the tool's schema to refuse with a clear message. */
function int(query: URLSearchParams, name: string): number | string | undefined {
  const value = text(query, name);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : value;
}

function definedOnly(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}
