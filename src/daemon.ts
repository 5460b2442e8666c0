import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AgentRuntime, type AgentRuntimes, noneOnly, noOpenClaw, RUNTIMES, type RuntimeName } from './core/agent-runtime.js';
import type { SessionDelivery } from './core/delivery.js';
import type { EmbeddingProvider } from './core/embeddings.js';
import type { MailLimits } from './core/mail.js';
import type { MemoryLimits } from './core/memory.js';
import { commandOf } from './core/registry.js';
import { Roost } from './core/roost.js';
import type { SpawnLimits } from './core/tasks/lifecycle.js';
import { OpenAIEmbeddings } from './embeddings/openai.js';
import { type HttpLimits, HttpServer } from './http/server.js';
import { PACKAGE_ROOT } from './package.js';
import { OpenClawGateway } from './openclaw/gateway.js';
import { OpenClawRuntime } from './openclaw/runtime.js';
import { CommandRuntime } from './runtimes/command.js';

export interface DaemonOptions {
  home: string;
  botsDir: string;
  host: string;
  port: number;
  readOnly: boolean;
  operatorToken?: string;
  commitWindowMs?: number;
  sessionIdleMs?: number;
  backupRemote?: string;
  limits?: Partial<MemoryLimits>;
  mailLimits?: Partial<MailLimits>;
  spawnLimits?: Partial<SpawnLimits>;
  httpLimits?: Partial<HttpLimits>;
  delivery?: SessionDelivery;
  runtimes?: RuntimeOptions;
  embeddings?: EmbeddingProvider;
  sweepEveryMs?: number;
}

export interface Daemon {
  roost: Roost;
  url: string;
  close(): Promise<void>;
}

/** Builds the daemon: the runtimes at the edge, the engine over the data root, and HTTP; records its URL in the daemon lock. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  // Task agents started as commands connect back to where the daemon serves, known once it listens.
  let served: string | undefined;
  const runtimes = new Runtimes(options.runtimes ?? {}, () => served);
  const roost = await Roost.open({
    home: options.home,
    botsDir: options.botsDir,
    operatorToken: options.operatorToken,
    commitWindowMs: options.commitWindowMs,
    backupRemote: options.backupRemote,
    limits: options.limits,
    mailLimits: options.mailLimits,
    spawnLimits: options.spawnLimits,
    delivery: options.delivery,
    runtimes,
    embeddings: options.embeddings,
    sweepEveryMs: options.sweepEveryMs,
  }).catch(async (error: unknown) => {
    // Until Roost opens, the runtimes are the daemon's to close; after, Roost closes them.
    await runtimes.close();
    throw error;
  });
  const http = new HttpServer(roost, {
    host: options.host,
    port: options.port,
    readOnly: options.readOnly,
    sessionIdleMs: options.sessionIdleMs,
    limits: options.httpLimits,
  });
  let url: string;
  try {
    url = served = await http.listen();
    await roost.advertise(url);
  } catch (error) {
    await roost.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    roost,
    url,
    close: () => (closing ??= http.close().finally(() => roost.close())),
  };
}

/** Settings from flags, then environment, then defaults (data root and bots of this checkout). */
export function daemonOptions(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const port = Number(flags.port ?? env.ROOST_PORT ?? 7777);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${flags.port ?? env.ROOST_PORT} is not a port number`);
  return {
    home: homeOf(flags, env),
    botsDir: path.resolve(String(flags.bots ?? env.ROOST_BOTS ?? path.join(PACKAGE_ROOT, 'bots'))),
    host: String(flags.host ?? env.ROOST_HOST ?? '127.0.0.1'),
    port,
    readOnly: flags['read-only'] === true || env.ROOST_READ_ONLY === '1',
    operatorToken: env.ROOST_OPERATOR_TOKEN || undefined,
    backupRemote: typeof flags.backup === 'string' ? flags.backup : env.ROOST_BACKUP || undefined,
    ...limitsOf(flags, env),
    runtimes: runtimeOptions(env),
    embeddings: embeddingsOf(flags, env),
  };
}

/** The embedding provider for semantic and hybrid search: an OpenAI-compatible endpoint, when a URL is given. */
export function embeddingsOf(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv): OpenAIEmbeddings | undefined {
  const url = flags['embeddings-url'] ?? env.ROOST_EMBEDDINGS_URL;
  if (!url) return undefined;
  const model = flags['embeddings-model'] ?? env.ROOST_EMBEDDINGS_MODEL;
  if (typeof url !== 'string' || typeof model !== 'string' || !model) throw new Error('--embeddings-url needs the model too: --embeddings-model NAME (or ROOST_EMBEDDINGS_MODEL)');
  if (!/^https?:\/\//.test(url)) throw new Error(`--embeddings-url ${url} is not an http(s) URL, e.g. http://127.0.0.1:11434/v1`);
  return new OpenAIEmbeddings(url, model, env.ROOST_EMBEDDINGS_KEY || undefined);
}

/** Where task agents run, from the environment. */
export function runtimeOptions(env: NodeJS.ProcessEnv): RuntimeOptions {
  const runtime = env.ROOST_RUNTIME || undefined;
  if (runtime && !RUNTIMES.includes(runtime as RuntimeName)) throw new Error(`ROOST_RUNTIME=${runtime} is not one of ${RUNTIMES.join(', ')}`);
  const url = env.ROOST_OPENCLAW_URL;
  if (url && !env.ROOST_OPENCLAW_TOKEN) throw new Error('ROOST_OPENCLAW_URL needs the gateway token in ROOST_OPENCLAW_TOKEN');
  return {
    default: runtime as RuntimeName | undefined,
    ...(url ? { openclaw: { url, token: env.ROOST_OPENCLAW_TOKEN!, agent: env.ROOST_OPENCLAW_AGENT || undefined } } : {}),
    ...(env.ROOST_COMMAND ? { command: commandOf(env.ROOST_COMMAND) } : {}),
  };
}

/** The per-bot limits a daemon may be given, as flag, environment variable, and where each goes. */
const LIMIT_SETTINGS = [
  { flag: 'send-burst', env: 'ROOST_SEND_BURST', group: 'mailLimits', key: 'sendBurst', scale: 1, whole: true },
  { flag: 'send-rate', env: 'ROOST_SEND_RATE', group: 'mailLimits', key: 'sendsPerSecond', scale: 1, whole: false },
  { flag: 'write-burst', env: 'ROOST_WRITE_BURST', group: 'limits', key: 'writeBurst', scale: 1, whole: true },
  { flag: 'write-rate', env: 'ROOST_WRITE_RATE', group: 'limits', key: 'writesPerSecond', scale: 1, whole: false },
  { flag: 'memory-quota-mb', env: 'ROOST_MEMORY_QUOTA_MB', group: 'limits', key: 'maxBotBytes', scale: 1024 * 1024, whole: false },
  { flag: 'spawn-burst', env: 'ROOST_SPAWN_BURST', group: 'spawnLimits', key: 'spawnBurst', scale: 1, whole: true },
  { flag: 'spawn-rate', env: 'ROOST_SPAWN_RATE', group: 'spawnLimits', key: 'spawnsPerSecond', scale: 1, whole: false },
  { flag: 'max-sessions', env: 'ROOST_MAX_SESSIONS', group: 'httpLimits', key: 'maxSessions', scale: 1, whole: true },
] as const;

/** The per-bot rate limits, memory quota and bound of sessions from flags, then the environment; unset ones keep their defaults. */
function limitsOf(
  flags: Record<string, string | boolean>,
  env: NodeJS.ProcessEnv,
): Pick<DaemonOptions, 'limits' | 'mailLimits' | 'spawnLimits' | 'httpLimits'> {
  const groups: Record<(typeof LIMIT_SETTINGS)[number]['group'], Record<string, number>> = { limits: {}, mailLimits: {}, spawnLimits: {}, httpLimits: {} };
  for (const setting of LIMIT_SETTINGS) {
    const given = flags[setting.flag] ?? env[setting.env];
    if (given === undefined) continue;
    const value = Number(given);
    if (typeof given !== 'string' || !(value > 0)) throw new Error(`--${setting.flag} / ${setting.env} = ${given} is not a positive number`);
    if (setting.whole && !Number.isInteger(value)) throw new Error(`--${setting.flag} / ${setting.env} = ${given} is not a whole number`);
    groups[setting.group][setting.key] = setting.scale === 1 ? value : Math.floor(value * setting.scale);
  }
  return groups;
}

export function homeOf(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(String(flags.home ?? env.ROOST_HOME ?? defaultHome(env)));
}

/**
 * The data root when none is given: `memory/` of a checkout (a git work tree); installed, the
 * user's data folder (`$XDG_DATA_HOME/roost`, else `~/.local/share/roost`), never inside the
 * package, which an upgrade replaces.
 */
export function defaultHome(env: NodeJS.ProcessEnv): string {
  if (existsSync(path.join(PACKAGE_ROOT, '.git'))) return path.join(PACKAGE_ROOT, 'memory');
  const data = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'roost');
}

export interface RuntimeOptions {
  /** The runtime a spawn uses when it names none (default: openclaw when configured, else command when a template is set, else none). */
  default?: RuntimeName;
  /** The OpenClaw gateway: its WebSocket URL and token, and the agent that runs task agents with no agent of their own. */
  openclaw?: { url: string; token: string; agent?: string; connectTimeoutMs?: number; requestTimeoutMs?: number };
  /** The `command` runtime's default template (argv; `{bot}`, `{task}` and `{parent}` are filled in). */
  command?: string[];
}

/** The runtimes this daemon can start agents on: `none` always, `command` always (it needs a template per spawn), `openclaw` when configured. */
export class Runtimes implements AgentRuntimes {
  readonly openclaw?: OpenClawRuntime;
  readonly command: CommandRuntime;
  readonly default: RuntimeName;
  readonly defaultCommand?: string[];

  /** `url` is where Roost listens, once it serves: task agents started as commands connect back to it. */
  constructor(options: RuntimeOptions, url: () => string | undefined) {
    if (options.openclaw) this.openclaw = new OpenClawRuntime(new OpenClawGateway(options.openclaw), options.openclaw.agent);
    this.command = new CommandRuntime(url);
    this.defaultCommand = options.command;
    this.default = options.default ?? (options.openclaw ? 'openclaw' : options.command ? 'command' : 'none');
  }

  get(name: RuntimeName): AgentRuntime {
    if (name === 'command') return this.command;
    if (name === 'openclaw') return this.requireOpenClaw();
    return noneOnly.get(name);
  }

  requireOpenClaw(): OpenClawRuntime {
    return this.openclaw ?? noOpenClaw();
  }

  async close(): Promise<void> {
    await Promise.all([this.openclaw?.close(), this.command.close()]);
  }
}
