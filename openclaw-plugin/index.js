// Roost's OpenClaw plugin: Roost's tools as OpenClaw agent tools. Each call goes to the Roost daemon
// over MCP Streamable HTTP with the token of the calling agent's bot and the calling session's key,
// so an agent acts as its own bot, and a task agent Roost started in a session of its own acts as
// itself. Plain JavaScript without dependencies, so the folder installs as it is.
import { readFileSync } from 'node:fs';

/** Written by Roost's build (`npm run plugin:tools`): name, title, description and JSON Schema of every tool. */
const TOOLS = JSON.parse(readFileSync(new URL('./tools.json', import.meta.url), 'utf8'));
const VERSION = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;
const DEFAULT_URL = 'http://127.0.0.1:7777';
const PROTOCOL_VERSION = '2025-06-18';
const SESSION_HEADER = 'x-roost-session';
/** Roost MCP sessions kept open at once (one per agent and OpenClaw session); the least recently used beyond are closed. */
const MAX_SESSIONS = 200;

const toolName = (name) => `roost_${name}`;

export default {
  id: 'roost',
  name: 'Roost',
  description: 'Roost tools for OpenClaw agents, each acting as its own Roost bot.',
  register(api) {
    const config = api.pluginConfig ?? {};
    const sessions = new RoostSessions(config.url ?? DEFAULT_URL);
    api.registerTool(
      (context) => {
        const agent = context.agentId ? config.agents?.[context.agentId] : undefined;
        if (!agent) return null; // not a Roost bot: no Roost tools
        const caller = { agentId: context.agentId, agent, sessionKey: context.sessionKey };
        return TOOLS.map((tool) => ({
          name: toolName(tool.name),
          label: tool.title,
          description: tool.description,
          parameters: tool.parameters,
          execute: (_toolCallId, params, signal) => callTool(sessions, caller, tool.name, params, signal),
        }));
      },
      { names: TOOLS.map((tool) => toolName(tool.name)) },
    );
  },
};

/** A Roost tool call as an OpenClaw tool result. Failures are results the model reads, with Roost's sentence on how to fix them. */
async function callTool(sessions, caller, name, args, signal) {
  try {
    const result = await sessions.call(caller, 'tools/call', { name, arguments: args ?? {} }, signal);
    const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    if (result.isError) return failure(text);
    // Under a key of its own: OpenClaw reads `status`, `ok` and `error` at the top of `details` as the call's outcome.
    return { content: [{ type: 'text', text }], details: { roost: result.structuredContent ?? null } };
  } catch (error) {
    if (signal?.aborted) throw error;
    return failure(error.message);
  }
}

function failure(text) {
  return { content: [{ type: 'text', text }], details: { ok: false, error: text } };
}

/** A session Roost no longer knows (it restarted, or closed it as idle): open a new one and try again. */
class SessionLost extends Error {}

/** One Roost MCP session per agent and OpenClaw session, since a session's identity is fixed when it opens. */
class RoostSessions {
  constructor(url) {
    this.url = url;
    this.endpoint = new URL('/mcp', url);
    this.open = new Map();
  }

  async call(caller, method, params, signal) {
    const key = `${caller.agentId}\n${caller.sessionKey ?? ''}`;
    try {
      try {
        return await this.sessionFor(key, caller).request(method, params, signal);
      } catch (error) {
        if (!(error instanceof SessionLost)) throw error;
        this.open.delete(key);
        return await this.sessionFor(key, caller).request(method, params, signal);
      }
    } catch (error) {
      // fetch's own failures (refused, reset, unknown host) are TypeErrors.
      if (error instanceof TypeError) {
        throw new Error(`Roost is not reachable at ${this.url} (${error.cause?.code ?? error.cause?.message ?? error.message}): start its daemon, or set the plugin's "url".`);
      }
      throw error;
    }
  }

  sessionFor(key, caller) {
    let session = this.open.get(key);
    if (session) this.open.delete(key); // re-inserted last: the map's order is least recently used first
    else session = new RoostSession(this.endpoint, caller);
    this.open.set(key, session);
    for (const [oldKey, old] of this.open) {
      if (this.open.size <= MAX_SESSIONS) break;
      this.open.delete(oldKey);
      void old.close();
    }
    return session;
  }
}

/** A minimal MCP client over Streamable HTTP: initialize once, then requests whose answers come as JSON or in an event stream. */
class RoostSession {
  constructor(endpoint, caller) {
    this.endpoint = endpoint;
    this.caller = caller;
    this.lastId = 0;
  }

  async request(method, params, signal) {
    this.ready ??= this.initialize().catch((error) => {
      this.ready = undefined;
      throw error;
    });
    await this.ready;
    return this.post({ jsonrpc: '2.0', id: ++this.lastId, method, params }, signal);
  }

  async initialize() {
    const result = await this.post({
      jsonrpc: '2.0',
      id: ++this.lastId,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'roost-openclaw-plugin', version: VERSION } },
    });
    this.protocolVersion = result.protocolVersion;
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async post(message, signal) {
    const res = await fetch(this.endpoint, { method: 'POST', headers: this.headers(), body: JSON.stringify(message), signal });
    if (!res.ok) {
      const reason = errorOf(await res.text());
      if (res.status === 404 && this.id) throw new SessionLost(reason);
      throw new Error(`Roost refused agent ${this.caller.agentId}'s call (HTTP ${res.status}): ${reason}`);
    }
    this.id ??= res.headers.get('mcp-session-id') ?? undefined;
    if (message.id === undefined) return undefined;
    const reply = (res.headers.get('content-type') ?? '').includes('text/event-stream') ? await replyInStream(res.body, message.id) : await res.json();
    if (reply.error) throw new Error(`Roost answered ${message.method} with an error: ${reply.error.message}`);
    return reply.result;
  }

  headers() {
    const headers = {
      authorization: `Bearer ${tokenOf(this.caller)}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (this.caller.sessionKey) headers[SESSION_HEADER] = this.caller.sessionKey;
    if (this.id) headers['mcp-session-id'] = this.id;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    return headers;
  }

  async close() {
    if (!this.id) return;
    await fetch(this.endpoint, { method: 'DELETE', headers: this.headers() }).catch(() => undefined);
  }
}

function tokenOf({ agentId, agent }) {
  if (agent.token) return agent.token;
  if (!agent.tokenFile) throw new Error(`The Roost plugin has no token for agent ${agentId}: set "token" or "tokenFile" under its "agents.${agentId}".`);
  try {
    return readFileSync(agent.tokenFile, 'utf8').trim();
  } catch (error) {
    throw new Error(`The Roost token file of agent ${agentId} cannot be read (${error.code ?? error.message}): write the bot's token (roost token <bot>) to ${agent.tokenFile}.`);
  }
}

/** Roost's error body is `{ error }` or a JSON-RPC error. */
function errorOf(text) {
  try {
    const body = JSON.parse(text);
    return body.error?.message ?? body.error ?? text;
  } catch {
    return text;
  }
}

/** Reads server-sent events until the JSON-RPC answer to `id`; progress and other notifications are skipped. */
async function replyInStream(body, id) {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('Roost closed the answer stream without an answer: try again.');
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        const message = JSON.parse(data);
        if (message.id === id && ('result' in message || 'error' in message)) return message;
      }
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
