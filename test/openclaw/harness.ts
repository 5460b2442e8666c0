import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { OpenClawGateway } from '../../src/openclaw/gateway.js';
import { PACKAGE_ROOT } from '../../src/package.js';

/** The versions this harness proves Roost against. */
export const OPENCLAW_VERSION = '2026.9.6';
export const NODE_VERSION = '24.18.0';

/** Installed once into the checkout (git-ignored), outside the package's own dependencies. */
const CACHE = path.join(PACKAGE_ROOT, '.cache', `openclaw-${OPENCLAW_VERSION}-node-${NODE_VERSION}`);
export const NODE_BIN = path.join(CACHE, 'node', 'bin', 'node');
export const OPENCLAW_CLI = path.join(CACHE, 'node_modules', 'openclaw', 'openclaw.mjs');
const READY_MARK = path.join(CACHE, 'installed');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** Node 24 (from the `node-<platform>-<arch>` npm package) and the pinned `openclaw`, installed on first use. */
export function installOpenClaw(): void {
  if (existsSync(READY_MARK)) return;
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const npm = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    execFileSync('npm', args, { cwd: CACHE, env, stdio: ['ignore', 'pipe', 'inherit'], timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
  console.error(`test:openclaw: installing Node ${NODE_VERSION} and openclaw@${OPENCLAW_VERSION} into ${CACHE}`);
  npm(['pack', `node-${process.platform}-${process.arch}@${NODE_VERSION}`, '--silent']);
  const tarball = readdirSync(CACHE).find((f) => f.endsWith('.tgz'))!;
  execFileSync('tar', ['-xzf', tarball], { cwd: CACHE });
  renameSync(path.join(CACHE, 'package'), path.join(CACHE, 'node'));
  rmSync(path.join(CACHE, tarball));
  writeFileSync(path.join(CACHE, 'package.json'), JSON.stringify({ name: 'openclaw-harness', private: true }));
  // openclaw's install scripts check the Node that runs them: put Node 24 first on the PATH.
  npm(['install', '--no-audit', '--no-fund', '--loglevel=error', `openclaw@${OPENCLAW_VERSION}`], withNode24(process.env));
  if (!existsSync(NODE_BIN) || !existsSync(OPENCLAW_CLI)) throw new Error(`test:openclaw: the install in ${CACHE} is incomplete`);
  writeFileSync(READY_MARK, `${new Date().toISOString()}\n`);
}

function withNode24(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: `${path.dirname(NODE_BIN)}${path.delimiter}${env.PATH ?? ''}` };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface GatewayConfig {
  /** Scratch folder for the gateway's home, state, config and log. */
  dir: string;
  port: number;
  token: string;
  config: Record<string, unknown>;
  /** Runs after the config is written and before the gateway starts, with the config's path. */
  beforeStart?: (configPath: string) => Promise<void>;
}

const READY_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 15_000;

/** A real OpenClaw gateway on 127.0.0.1 (token auth), in its own process group. */
export class OpenClawProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly log: string,
  ) {}

  static async start(options: GatewayConfig): Promise<OpenClawProcess> {
    const { dir, port, token } = options;
    for (const sub of ['home', 'state']) mkdirSync(path.join(dir, sub), { recursive: true });
    const configPath = path.join(dir, 'openclaw.json');
    writeFileSync(configPath, JSON.stringify(options.config, null, 2));
    await options.beforeStart?.(configPath);
    const log = path.join(dir, 'gateway.log');
    const out = openSync(log, 'a');
    const child = spawn(NODE_BIN, [OPENCLAW_CLI, 'gateway', '--port', String(port)], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', out, out],
      env: withNode24({
        PATH: process.env.PATH,
        HOME: path.join(dir, 'home'),
        OPENCLAW_STATE_DIR: path.join(dir, 'state'),
        OPENCLAW_CONFIG_PATH: configPath,
        OPENCLAW_GATEWAY_TOKEN: token,
        OPENCLAW_SKIP_CHANNELS: '1',
        OPENCLAW_DISABLE_BONJOUR: '1',
        OPENCLAW_NO_RESPAWN: '1',
      }),
    });
    const gateway = new OpenClawProcess(child, `ws://127.0.0.1:${port}`, log);
    try {
      await gateway.ready(token);
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    return gateway;
  }

  /** Waits until the gateway answers `health` over its WebSocket. */
  private async ready(token: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`the OpenClaw gateway exited with ${this.child.exitCode}; see ${this.log}`);
      const probe = new OpenClawGateway({ url: this.url, token, connectTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
      try {
        await probe.request('health', {});
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await probe.close();
      }
    }
    throw new Error(`the OpenClaw gateway was not ready within ${READY_TIMEOUT_MS / 1000}s; see ${this.log}`);
  }

  /**
   * Stops the gateway and everything it started: SIGTERM to its process group, then SIGKILL to
   * whatever is left of its process tree (it starts its MCP servers in process groups of their own).
   */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const tree = descendants(pid);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      kill(-pid, 'SIGTERM');
      const timer = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
      await Promise.race([exited, timer]);
    }
    for (const p of [-pid, pid, ...tree, ...descendants(pid)]) kill(p, 'SIGKILL');
  }
}

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      visit(c);
    }
  };
  visit(pid);
  return out;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
