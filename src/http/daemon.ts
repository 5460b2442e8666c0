import path from 'node:path';
import type { SessionDelivery } from '../core/delivery.js';
import type { MailLimits } from '../core/mail.js';
import { commandOf } from '../core/registry.js';
import { Roost } from '../core/roost.js';
import type { RuntimeOptions } from '../core/runtimes/index.js';
import { RUNTIMES, type RuntimeName } from '../core/runtimes/runtime.js';
import { PACKAGE_ROOT } from '../package.js';
import { HttpServer } from './server.js';

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
  mailLimits?: Partial<MailLimits>;
  delivery?: SessionDelivery;
  runtimes?: RuntimeOptions;
}

export interface Daemon {
  roost: Roost;
  url: string;
  close(): Promise<void>;
}

/** Opens the data root, serves it over HTTP, and records its URL in the daemon lock. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const roost = await Roost.open({
    home: options.home,
    botsDir: options.botsDir,
    operatorToken: options.operatorToken,
    commitWindowMs: options.commitWindowMs,
    backupRemote: options.backupRemote,
    mailLimits: options.mailLimits,
    delivery: options.delivery,
    runtimes: options.runtimes,
  });
  const http = new HttpServer(roost, {
    host: options.host,
    port: options.port,
    readOnly: options.readOnly,
    sessionIdleMs: options.sessionIdleMs,
  });
  let url: string;
  try {
    url = await http.listen();
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
    mailLimits: sendRateOf(env),
    runtimes: runtimeOptions(env),
  };
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

/** The per-bot send rate from ROOST_SEND_BURST (messages at once) and ROOST_SEND_RATE (per second). */
function sendRateOf(env: NodeJS.ProcessEnv): Partial<MailLimits> {
  const limits: Partial<MailLimits> = {};
  for (const [name, key] of [['ROOST_SEND_BURST', 'sendBurst'], ['ROOST_SEND_RATE', 'sendsPerSecond']] as const) {
    if (env[name] === undefined) continue;
    const value = Number(env[name]);
    if (!(value > 0)) throw new Error(`${name}=${env[name]} is not a positive number`);
    limits[key] = value;
  }
  return limits;
}

export function homeOf(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(String(flags.home ?? env.ROOST_HOME ?? path.join(PACKAGE_ROOT, 'memory')));
}
