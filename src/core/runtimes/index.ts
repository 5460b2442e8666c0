import { UserError } from '../errors.js';
import { CommandRuntime } from './command.js';
import { OpenClawGateway } from './gateway.js';
import { type OpenClawBinding, OpenClawRuntime } from './openclaw.js';
import { type AgentRuntime, noneRuntime, type RuntimeName } from './runtime.js';

export interface RuntimeOptions {
  /** The runtime a spawn uses when it names none (default: openclaw when configured, else command when a template is set, else none). */
  default?: RuntimeName;
  /** The OpenClaw gateway: its WebSocket URL and token, and the agent that runs task agents with no agent of their own. */
  openclaw?: { url: string; token: string; agent?: string; connectTimeoutMs?: number; requestTimeoutMs?: number };
  /** The `command` runtime's default template (argv; `{bot}`, `{task}` and `{parent}` are filled in). */
  command?: string[];
}

/** The runtimes this daemon can start agents on. */
export class Runtimes {
  readonly openclaw?: OpenClawRuntime;
  readonly command: CommandRuntime;
  readonly default: RuntimeName;

  constructor(
    readonly options: RuntimeOptions,
    bindingOf: (bot: string) => OpenClawBinding | undefined,
    url: () => string | undefined,
  ) {
    if (options.openclaw) this.openclaw = new OpenClawRuntime(new OpenClawGateway(options.openclaw), bindingOf);
    this.command = new CommandRuntime(url);
    this.default = options.default ?? (options.openclaw ? 'openclaw' : options.command ? 'command' : 'none');
  }

  get(name: RuntimeName): AgentRuntime {
    if (name === 'command') return this.command;
    if (name === 'none') return noneRuntime;
    return this.requireOpenClaw();
  }

  requireOpenClaw(): OpenClawRuntime {
    if (!this.openclaw) {
      throw new UserError('No OpenClaw gateway is configured: start the daemon with ROOST_OPENCLAW_URL and ROOST_OPENCLAW_TOKEN, or use another runtime.');
    }
    return this.openclaw;
  }

  async close(): Promise<void> {
    await Promise.all([this.openclaw?.close(), this.command.close()]);
  }
}
