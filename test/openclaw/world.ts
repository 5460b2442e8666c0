import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OpenClawGateway } from '../../src/openclaw/gateway.js';
import { Tokens } from '../../src/core/tokens.js';
import { type Daemon, startDaemon } from '../../src/daemon.js';
import { PLUGIN_DIR } from '../../src/openclaw/plugin.js';
import { CLI_PATH } from '../../src/package.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { call, eventually, httpClient, OPERATOR_TOKEN, tempDir } from '../helpers.js';
import { freePort, type GatewayConfig, OpenClawProcess } from './harness.js';
import { MockModel } from './mock-model.js';

/** The OpenClaw agents of this world; each is the Roost bot of the same id. */
export const AGENTS = ['dev', 'research'] as const;
const GATEWAY_TOKEN = 'roost-e2e-gateway-token';

/** The bots; with the plugin, research may use only its memory and the registry (its definition's `tools:`). */
const botsOf = (connection: Connection): Record<string, string> => ({
  'main.md': '---\nid: main\nkind: main\n---\nThe main bot.\n',
  'dev.md': '---\nid: dev\nkind: specialist\nvisibility: private\nopenclaw: { agent: dev }\n---\nThe development specialist.\n',
  'research.md': `---\nid: research\nkind: specialist\nvisibility: private\nopenclaw: { agent: research }\n${connection === 'plugin' ? 'tools: [memory, registry]\n' : ''}---\nThe research specialist.\n`,
});

/**
 * How the world's agents reach Roost: one `mcp.servers` entry per bot, Roost's OpenClaw plugin
 * written into the config by hand, or the plugin as `roost setup openclaw` writes it (run twice).
 */
export type Connection = 'mcp-servers' | 'plugin' | 'setup';

/**
 * A mock model, a real OpenClaw gateway with two agents (dev, research) that use Roost through
 * `mcp.servers` (one entry per bot, each agent denied the other's) or through Roost's plugin
 * (dev's token in the plugin config, research's in a token file), and a Roost daemon bound to it.
 */
export class World {
  daemon!: Daemon;
  /** With `setup`: what each run of `roost setup openclaw` printed. */
  readonly setupRuns: string[] = [];
  private readonly clients: Client[] = [];
  /** An operator connection to the gateway, for the test's own requests. */
  readonly operator: OpenClawGateway;

  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly botsDir: string,
    readonly model: MockModel,
    private gateway: OpenClawProcess,
    private readonly gatewayOptions: GatewayConfig,
    readonly roostPort: number,
    readonly tokens: Record<string, string>,
  ) {
    this.operator = new OpenClawGateway({ url: gateway.url, token: GATEWAY_TOKEN, requestTimeoutMs: 60_000 });
  }

  static async start(connection: Connection = 'mcp-servers'): Promise<World> {
    const dir = tempDir('roost-openclaw-');
    const home = path.join(dir, 'roost');
    const botsDir = path.join(dir, 'bots');
    mkdirSync(botsDir, { recursive: true });
    for (const [file, text] of Object.entries(botsOf(connection))) writeFileSync(path.join(botsDir, file), text);
    const tokens: Record<string, string> = {};
    const issuer = new Tokens(path.join(home, '.roost'));
    for (const bot of ['main', ...AGENTS]) tokens[bot] = await issuer.issue(bot);

    const model = await MockModel.start();
    const [gatewayPort, roostPort] = [await freePort(), await freePort()];
    const roostUrl = `http://127.0.0.1:${roostPort}`;
    const mcpServers = {
      mcp: {
        servers: Object.fromEntries(
          AGENTS.map((bot) => [
            `roost_${bot}`,
            { command: process.execPath, args: [CLI_PATH, 'mcp', '--bot', bot, '--url', roostUrl], env: { ROOST_TOKEN: tokens[bot] }, requestTimeoutMs: 120_000 },
          ]),
        ),
      },
    };
    const researchTokenFile = path.join(dir, 'research.token');
    if (connection === 'plugin') writeFileSync(researchTokenFile, `${tokens.research}\n`, { mode: 0o600 });
    const plugin = {
      // OpenClaw's own memory plugin must be allowed beside Roost's, or Roost's corpus is never asked.
      memory: { search: { provider: 'none' } },
      plugins: {
        allow: ['memory-core', 'roost'],
        load: { paths: [PLUGIN_DIR] },
        entries: {
          roost: { enabled: true, config: { url: roostUrl, agents: { dev: { token: tokens.dev }, research: { tokenFile: researchTokenFile } } } },
        },
      },
    };
    const config = {
      gateway: { mode: 'local', bind: 'loopback', port: gatewayPort, auth: { mode: 'token', token: GATEWAY_TOKEN } },
      logging: { file: path.join(dir, 'openclaw.log') },
      models: {
        providers: {
          mock: {
            baseUrl: model.baseUrl,
            apiKey: 'mock',
            api: 'openai-completions',
            models: [{ id: 'echo', name: 'echo', contextWindow: 128000, maxTokens: 4096, input: ['text'], reasoning: false }],
          },
        },
      },
      agents: {
        ownership: 'explicit',
        defaults: { model: { primary: 'mock/echo' } },
        entries: Object.fromEntries(
          AGENTS.map((agent) => [
            agent,
            {
              workspace: path.join(dir, 'workspaces', agent),
              ...(connection === 'mcp-servers' ? { tools: { deny: AGENTS.filter((other) => other !== agent).map((other) => `roost_${other}__*`) } } : {}),
            },
          ]),
        ),
      },
      tools: { toolSearch: false },
      ...(connection === 'mcp-servers' ? mcpServers : connection === 'plugin' ? plugin : { memory: plugin.memory }),
    };
    const setupRuns: string[] = [];
    const setup = async (configPath: string) => {
      for (let run = 0; run < 2; run++) {
        const args = [CLI_PATH, 'setup', 'openclaw', '--config', configPath, '--home', home, '--bots', botsDir, '--url', roostUrl];
        setupRuns.push(execFileSync(process.execPath, args, { encoding: 'utf8' }));
      }
    };
    const gatewayOptions: GatewayConfig = {
      dir: path.join(dir, 'openclaw'),
      port: gatewayPort,
      token: GATEWAY_TOKEN,
      config,
      ...(connection === 'setup' ? { beforeStart: setup } : {}),
    };
    let gateway: OpenClawProcess;
    try {
      gateway = await OpenClawProcess.start(gatewayOptions);
    } catch (error) {
      await model.close();
      throw error;
    }
    const world = new World(dir, home, botsDir, model, gateway, gatewayOptions, roostPort, tokens);
    world.setupRuns.push(...setupRuns);
    await world.startRoost();
    return world;
  }

  /** (Re)starts the Roost daemon on its fixed port, bound to the gateway. */
  async startRoost(): Promise<void> {
    this.daemon = await startDaemon({
      home: this.home,
      botsDir: this.botsDir,
      host: '127.0.0.1',
      port: this.roostPort,
      readOnly: false,
      operatorToken: OPERATOR_TOKEN,
      commitWindowMs: 20,
      runtimes: { openclaw: { url: this.gateway.url, token: GATEWAY_TOKEN, agent: 'dev' } },
    });
  }

  /** An MCP client acting as `bot`, straight to the daemon. */
  async client(bot: string): Promise<Client> {
    const client = await httpClient(this.daemon.url, this.tokens[bot]);
    this.clients.push(client);
    return client;
  }

  /** Waits until a task has left `running`, and returns its status. */
  taskEnd(client: Client, agent: string, timeoutMs = 120_000): Promise<Record<string, any>> {
    return eventually(async () => {
      const status = await call(client, 'agent_status', { id: agent });
      return status.status !== 'running' && status;
    }, timeoutMs);
  }

  get roost() {
    return this.daemon.roost;
  }

  /**
   * Runs one agent turn in a session and returns its final reply. OpenClaw sometimes fails every run
   * of an agent with "Agent database cleanup failed" on a loaded machine until it restarts (a flake
   * inside its SQLite, before any model or tool call): the turn then restarts the gateway and runs
   * once more, and says so.
   */
  async turn(agent: string, sessionKey: string, message: string): Promise<string> {
    const end = await this.run(agent, sessionKey, message);
    if (end.status === 'ok') return end.terminalReply?.text ?? '';
    if (!isOpenClawCleanupFlake(end)) throw new Error(`the run in ${sessionKey} ended with ${JSON.stringify(end)}; the gateway's last errors: ${this.gatewayErrors()}`);
    await this.restartGatewayAfterFlake(`the run in ${sessionKey}`);
    const retried = await this.run(agent, sessionKey, message);
    if (retried.status !== 'ok') throw new Error(`the run in ${sessionKey} ended with ${JSON.stringify(retried)} after a gateway restart; the gateway's last errors: ${this.gatewayErrors()}`);
    return retried.terminalReply?.text ?? '';
  }

  /** Spawns an OpenClaw task agent through Roost and waits for its end, retrying once after OpenClaw's cleanup flake. */
  async spawnAndWait(client: Client, args: Record<string, unknown>): Promise<Record<string, any>> {
    const spawned = await call(client, 'spawn_agent', args);
    const ended = await this.taskEnd(client, spawned.agent);
    if (!(ended.status === 'failed' && isOpenClawCleanupFlake(ended))) return ended;
    await this.restartGatewayAfterFlake(`the task ${spawned.agent}`);
    const again = await call(client, 'spawn_agent', args);
    return this.taskEnd(client, again.agent);
  }

  private async run(agent: string, sessionKey: string, message: string): Promise<{ status: string; terminalReply?: { text?: string }; error?: string }> {
    const idempotencyKey = `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const { runId } = await this.operator.request<{ runId: string }>('agent', { agentId: agent, sessionKey, message, idempotencyKey, deliver: false });
    return this.operator.request('agent.wait', { runId, timeoutMs: 170_000 }, { timeoutMs: 180_000 });
  }

  /** Stops the gateway, runs `whileDown` while it is away, and starts it again; resolves once it answers. */
  async restartGateway(whileDown: () => Promise<void> = async () => undefined): Promise<void> {
    await this.gateway.stop();
    await whileDown();
    this.gateway = await OpenClawProcess.start(this.gatewayOptions);
  }

  private async restartGatewayAfterFlake(what: string): Promise<void> {
    console.warn(`test:openclaw: ${what} hit OpenClaw's "Agent database cleanup failed"; restarting the gateway and trying once more`);
    await this.restartGateway();
    // Roost and the operator connection reconnect by themselves; wait until Roost's does.
    const main = await this.client('main');
    await eventually(() => call(main, 'list_sessions', {}).then(() => true, () => false), 60_000);
  }

  /** The last error lines of the gateway's log, for a failure whose cause is inside OpenClaw. */
  gatewayErrors(): string {
    let log: string;
    try {
      log = readFileSync(path.join(this.dir, 'openclaw.log'), 'utf8');
    } catch {
      return 'no log';
    }
    const errors = log
      .split('\n')
      .filter((line) => /"logLevelName":"(ERROR|FATAL)"/.test(line))
      .map((line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return String(entry.message ?? JSON.stringify([entry['0'], entry['1'], entry['2']])).slice(0, 600);
      });
    return errors.length ? errors.slice(-5).join(' | ') : 'none';
  }

  async history(sessionKey: string): Promise<Array<{ role: string; content: unknown }>> {
    return (await this.operator.request<{ messages: Array<{ role: string; content: unknown }> }>('chat.history', { sessionKey, limit: 200 })).messages;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await this.operator.close();
    await this.daemon?.close();
    await this.gateway.stop();
    await this.model.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function isOpenClawCleanupFlake(end: unknown): boolean {
  return JSON.stringify(end).includes('Agent database cleanup failed');
}
