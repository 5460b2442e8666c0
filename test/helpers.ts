import type { EmbeddingProvider } from '../src/core/embeddings.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { LiveDeliveryResult, LiveMessage, SessionDelivery } from '../src/core/delivery.js';
import type { MailLimits } from '../src/core/mail.js';
import type { MemoryLimits } from '../src/core/memory.js';
import type { SpawnLimits } from '../src/core/tasks/lifecycle.js';
import { type Daemon, type RuntimeOptions, startDaemon } from '../src/daemon.js';
import { CLI_PATH, PACKAGE_ROOT } from '../src/package.js';

export const OPERATOR_TOKEN = 'roost_operator_test-operator-token';

/** Logs in to the console's API as the operator; returns the session cookie. */
export async function consoleLogin(url: string, token = OPERATOR_TOKEN): Promise<string> {
  const res = await fetch(new URL('/api/login', url), {
    method: 'POST',
    headers: { 'x-roost-console': '1', 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.status !== 200) throw new Error(`console login answered ${res.status}: ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0];
}
export const BOTS_DIR = path.join(PACKAGE_ROOT, 'bots');

export function tempDir(prefix = 'roost-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestDaemon extends Daemon {
  home: string;
  tokens: Record<string, string>;
  /** Stops the daemon; the data root stays for a restart. */
  stop(): Promise<void>;
  /** Stops the daemon and removes the data root. */
  destroy(): Promise<void>;
}

/** A daemon on a fresh (or given) data root, listening on a free loopback port, with a token per defined bot. */
export async function startTestDaemon(
  options: {
    home?: string;
    readOnly?: boolean;
    botsDir?: string;
    sessionIdleMs?: number;
    limits?: Partial<MemoryLimits>;
    mailLimits?: Partial<MailLimits>;
    spawnLimits?: Partial<SpawnLimits>;
    delivery?: SessionDelivery;
    runtimes?: RuntimeOptions;
    embeddings?: EmbeddingProvider;
    sweepEveryMs?: number;
  } = {},
): Promise<TestDaemon> {
  const home = options.home ?? tempDir();
  const daemon = await startDaemon({
    home,
    botsDir: options.botsDir ?? BOTS_DIR,
    host: '127.0.0.1',
    port: 0,
    readOnly: options.readOnly ?? false,
    operatorToken: OPERATOR_TOKEN,
    commitWindowMs: 20,
    sessionIdleMs: options.sessionIdleMs,
    limits: options.limits,
    mailLimits: options.mailLimits,
    spawnLimits: options.spawnLimits,
    delivery: options.delivery,
    runtimes: options.runtimes,
    embeddings: options.embeddings,
    sweepEveryMs: options.sweepEveryMs,
  });
  const tokens: Record<string, string> = {};
  for (const bot of daemon.roost.registry.list()) tokens[bot.id] = await daemon.roost.tokens.issue(bot.id);
  return {
    ...daemon,
    home,
    tokens,
    stop: () => daemon.close(),
    destroy: async () => {
      await daemon.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A real MCP client over Streamable HTTP. */
export async function httpClient(url: string, token: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'roost-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), {
    requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } },
  });
  await client.connect(transport);
  return client;
}

/** A real MCP client talking to `roost mcp` over stdio (the built CLI; `npm test` builds first). */
export async function stdioClient(bot: string, token: string, options: { url?: string; home?: string } = {}): Promise<Client> {
  const client = new Client({ name: 'roost-test-stdio', version: '1.0.0' });
  const args = [CLI_PATH, 'mcp', '--bot', bot];
  if (options.url) args.push('--url', options.url);
  // A daemon the bridge starts listens on a free port (the default 7777 may be taken on a test machine).
  if (options.home) args.push('--home', options.home, '--port', '0');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { ...(process.env as Record<string, string>), ROOST_TOKEN: token },
    stderr: 'pipe',
  });
  await client.connect(transport);
  return client;
}

/** Calls a tool and returns its structured result; throws with the error text when it fails. */
export async function call<T = Record<string, any>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

/** Calls a tool that must fail and returns its error text. */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (!result.isError) throw new Error(`${name} was expected to fail but returned ${JSON.stringify(result.structuredContent)}`);
  return textOf(result);
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/** A small seeded generator of numbers in [0, 1), so a failing run can be replayed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

export function git(home: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: home, encoding: 'utf8' });
}

/** Polls until `check` returns a truthy value or the time runs out (for effects that follow a watcher). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

export interface DaemonProcess {
  url: string;
  pid: number;
  /** SIGKILL: no chance to flush, save or unlock. */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop. */
  stop(): Promise<void>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * `roost serve` as a real child process on a free port (the operator token is OPERATOR_TOKEN).
 * An empty value in `extraEnv` removes that variable (e.g. `ROOST_OPERATOR_TOKEN: ''`).
 */
export async function startDaemonProcess(home: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<DaemonProcess> {
  const { spawn } = await import('node:child_process');
  const { readDaemonInfo } = await import('../src/core/lock-file.js');
  const env: Record<string, string | undefined> = { ...process.env, ROOST_OPERATOR_TOKEN: OPERATOR_TOKEN, ...extraEnv };
  for (const [key, value] of Object.entries(env)) if (value === '') delete env[key];
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--home', home, '--port', '0', '--bots', BOTS_DIR, ...extraArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`roost serve exited: ${stderr}`);
    const info = await readDaemonInfo(path.join(home, '.roost/daemon.lock'));
    return info?.pid === child.pid && info.url ? info.url : null;
  }, 20_000).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    output: () => output,
  };
}

/** Live delivery in this process: records every call; bots in `live` have a session, bots in `failing` make it throw. */
export class RecordingDelivery implements SessionDelivery {
  readonly calls: Array<{ bot: string; message: LiveMessage }> = [];
  readonly live = new Set<string>();
  readonly failing = new Set<string>();

  async deliver(bot: string, message: LiveMessage): Promise<LiveDeliveryResult> {
    this.calls.push({ bot, message });
    if (this.failing.has(bot)) throw new Error('the gateway is unreachable');
    return this.live.has(bot) ? { live: true, session: `agent:${bot}:main` } : { live: false, reason: 'no live session' };
  }
}

/** Every file of the data root but git's and Roost's own state, with its size and time: equal listings mean nothing was written. */
export function dataFiles(home: string): string[] {
  return readdirSync(home, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(home, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((file) => !file.startsWith('.git/') && !file.startsWith('.roost/'))
    .map((file) => {
      const stat = statSync(path.join(home, file));
      return `${file} ${stat.size} ${stat.mtimeMs}`;
    })
    .sort();
}

/** Every file under the data root's `mail/` folder, sorted (to check that a refused send wrote nothing). */
export function mailFiles(home: string): string[] {
  const root = path.join(home, 'mail');
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(home, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
  } catch {
    return [];
  }
}
