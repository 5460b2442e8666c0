import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { runningDaemon } from '../core/lock-file.js';
import { CLI_PATH } from '../package.js';
import { BOT_HEADER } from '../protocol.js';

export interface BridgeOptions {
  bot: string;
  token: string;
  /** The daemon's base URL; found from the data root's lock (and the daemon started) when absent. */
  url?: string;
  home: string;
  /** Extra arguments for `roost serve` when the bridge has to start the daemon. */
  serveArgs: string[];
}

const START_TIMEOUT_MS = 20_000;

/**
 * `roost mcp`: a stdio MCP server that relays every message to the daemon over Streamable HTTP,
 * so any number of stdio clients share one index and one git writer. If the daemon restarts,
 * the bridge opens a new session with the client's original initialize request and carries on.
 */
export async function runBridge(options: BridgeOptions): Promise<void> {
  const stdio = new StdioServerTransport();
  let initialize: JSONRPCRequest | undefined;
  let upstream: StreamableHTTPClientTransport | undefined;
  let reconnecting: Promise<StreamableHTTPClientTransport> | undefined;

  const connect = async (replay: boolean): Promise<StreamableHTTPClientTransport> => {
    const base = options.url ?? (await ensureDaemon(options.home, options.serveArgs));
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), {
      requestInit: { headers: { authorization: `Bearer ${options.token}`, [BOT_HEADER]: options.bot } },
    });
    let pendingInit: ((message: JSONRPCMessage) => void) | undefined;
    transport.onmessage = (message) => {
      if (pendingInit && 'id' in message && message.id === initialize?.id) return pendingInit(message);
      if ('result' in message && message.id === initialize?.id) {
        const version = (message.result as { protocolVersion?: string }).protocolVersion;
        if (version) transport.setProtocolVersion(version);
      }
      void stdio.send(message).catch(() => undefined);
    };
    transport.onerror = (error) => console.error(`roost mcp: ${error.message}`);
    await transport.start();
    if (replay && initialize) {
      // A fresh session for the same client: replay its handshake and keep the answer to ourselves.
      const answered = new Promise<JSONRPCMessage>((resolve) => (pendingInit = resolve));
      await transport.send(initialize);
      const answer = await answered;
      pendingInit = undefined;
      const version = 'result' in answer ? (answer.result as { protocolVersion?: string }).protocolVersion : undefined;
      if (version) transport.setProtocolVersion(version);
      await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    }
    return transport;
  };

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) initialize = message as JSONRPCRequest;
    upstream ??= await connect(false);
    try {
      await upstream.send(message);
    } catch (error) {
      if (!initialize || !sessionLost(error)) throw error;
      reconnecting ??= connect(true).finally(() => (reconnecting = undefined));
      const stale = upstream;
      upstream = await reconnecting;
      await stale.close().catch(() => undefined);
      await upstream.send(message);
    }
  };

  stdio.onmessage = (message) => {
    forward(message).catch((error: Error) => {
      const problem = failure(error, options.bot);
      console.error(`roost mcp: ${problem}`);
      if ('id' in message && 'method' in message) {
        void stdio.send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: problem } });
      }
    });
  };
  const closed = new Promise<void>((resolve) => (stdio.onclose = resolve));
  await stdio.start();
  process.stdin.once('end', () => void stdio.close());
  await closed;
  if (upstream) {
    await upstream.terminateSession().catch(() => undefined);
    await upstream.close().catch(() => undefined);
  }
}

/** What went wrong, in words: the daemon refused the token (and why, as it said) apart from not answering at all. */
function failure(error: Error, bot: string): string {
  if (error instanceof StreamableHTTPError && (error.code === 401 || error.code === 403 || error.code === 404)) {
    const said = refusalText(error.message);
    if (error.code === 401) return `Roost refused the token given for bot "${bot}" (HTTP 401, wrong or replaced token): ${said}`;
    return `Roost refused to let this token act as bot "${bot}" (HTTP ${error.code}): ${said}`;
  }
  return `Roost daemon unreachable: ${error.message}`;
}

/** The daemon's own sentence from an HTTP error the SDK reports with the response body in its message. */
function refusalText(message: string): string {
  const body = message.slice(message.indexOf('{'));
  try {
    const parsed = JSON.parse(body) as { error?: string | { message?: string } };
    const said = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
    if (said) return said;
  } catch {
    // Not the daemon's JSON: report the message as it is.
  }
  return message;
}

function sessionLost(error: unknown): boolean {
  if (error instanceof StreamableHTTPError) return error.code === 404;
  return /ECONNREFUSED|fetch failed|socket/i.test(String((error as Error)?.message ?? error) + String((error as { cause?: unknown })?.cause ?? ''));
}

/** The URL of the data root's daemon, starting one in the background when none runs. */
export async function ensureDaemon(home: string, serveArgs: string[]): Promise<string> {
  const lockFile = path.join(home, '.roost', 'daemon.lock');
  const running = await healthyUrl(lockFile);
  if (running) return running;
  mkdirSync(path.join(home, '.roost'), { recursive: true });
  const log = openSync(path.join(home, '.roost', 'daemon.log'), 'a');
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--home', home, ...serveArgs], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const url = await healthyUrl(lockFile);
    if (url) {
      console.error(`roost mcp: no daemon ran for ${home}; one now serves ${url} and keeps running after this bridge ends (\`roost status\` shows its pid)`);
      return url;
    }
  }
  throw new Error(`no Roost daemon answered within ${START_TIMEOUT_MS / 1000}s; see ${path.join(home, '.roost', 'daemon.log')}`);
}

async function healthyUrl(lockFile: string): Promise<string | null> {
  const info = await runningDaemon(lockFile);
  if (!info?.url) return null;
  try {
    const res = await fetch(new URL('/health', info.url), { signal: AbortSignal.timeout(2000) });
    return res.ok ? info.url : null;
  } catch {
    return null;
  }
}
