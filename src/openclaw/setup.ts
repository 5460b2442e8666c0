import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_LIMITS } from '../core/memory.js';
import { isId } from '../core/paths.js';
import { changeAllowance } from '../core/rate-limit.js';
import { type Bot, Registry } from '../core/registry.js';
import { Tokens } from '../core/tokens.js';
import { Vault } from '../core/vault.js';
import { parseJson5 } from './json5.js';
import { PLUGIN_DIR } from './plugin.js';

export interface SetupOptions {
  /** Roost's data root: the bots' tokens are made there. */
  home: string;
  /** Roost's bot definitions: a bot made for an agent is a definition here. */
  botsDir: string;
  /** The gateway's `openclaw.json`. Default: $OPENCLAW_CONFIG_PATH, else ~/.openclaw/openclaw.json. */
  configPath?: string;
  /** The Roost daemon's base URL the plugin calls. */
  url: string;
  /** Say what would change and show the config's diff; change nothing. */
  dryRun: boolean;
}

export interface SetupReport {
  configPath: string;
  /** What was done (or, with dryRun, would be), one sentence each. */
  changes: string[];
  /** The config file's unified diff; empty when it stays as it is. */
  diff: string;
}

/** OpenClaw's own memory plugin: `plugins.allow` must list it beside Roost's, or Roost's memory corpus is never asked. */
const MEMORY_CORE = 'memory-core';
const PLUGIN_ID = 'roost';
/** OpenClaw's default agent, when its config lists none. */
const DEFAULT_AGENT = 'main';

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPENCLAW_CONFIG_PATH || path.join(os.homedir(), '.openclaw', 'openclaw.json');
}

/**
 * `roost setup openclaw`: gives every agent of an OpenClaw gateway a Roost bot (a new definition, or
 * the bot already bound to it), a token in a 0600 file beside the config, and the Roost plugin's
 * entry in the config (load path, allow list, per-agent token files), after a backup. Running it
 * again changes nothing.
 */
export async function setupOpenClaw(options: SetupOptions): Promise<SetupReport> {
  const configPath = path.resolve(options.configPath ?? defaultConfigPath());
  const original = await fs.readFile(configPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the OpenClaw config ${configPath} (${error.code ?? error.message}): pass its path with --config`);
  });
  let config: Record<string, any>;
  try {
    config = parseJson5(original) as Record<string, any>;
  } catch (error) {
    throw new Error(`${configPath} is not valid JSON5 (${(error as Error).message}): fix it, or run \`openclaw doctor\``);
  }
  if (!isObject(config)) throw new Error(`${configPath} does not hold an object: is it OpenClaw's config?`);

  const changes: string[] = [];
  const act = options.dryRun ? async () => undefined : async (run: () => Promise<unknown>) => void (await run());
  const registry = new Registry(new Vault(options.home), { settle: async () => undefined }, options.botsDir, changeAllowance(DEFAULT_LIMITS.writeBurst, DEFAULT_LIMITS.writesPerSecond));
  await registry.load();
  const tokens = new Tokens(path.join(options.home, '.roost'));
  const tokenDir = path.join(path.dirname(configPath), 'roost');

  const agents = Object.keys(isObject(config.agents?.entries) ? config.agents.entries : {});
  const agentTokens: Record<string, { tokenFile: string }> = {};
  for (const agent of agents.length ? agents : [DEFAULT_AGENT]) {
    const bot = await botFor(agent, registry.list(), options.botsDir, changes, act);
    if (!bot) continue;
    const tokenFile = path.join(tokenDir, `${agent}.token`);
    agentTokens[agent] = { tokenFile };
    const current = await fs.readFile(tokenFile, 'utf8').catch(() => '');
    const identity = current.trim() ? await tokens.verify(current.trim()) : null;
    if (identity && !identity.operator && identity.bot === bot) continue;
    changes.push(`wrote a new token of bot ${bot} to ${tokenFile} (mode 0600)`);
    await act(async () => {
      await fs.mkdir(tokenDir, { recursive: true, mode: 0o700 });
      await writePrivate(tokenFile, `${await tokens.issue(bot)}\n`);
    });
  }

  const plugins = (config.plugins = isObject(config.plugins) ? config.plugins : {});
  plugins.load = isObject(plugins.load) ? plugins.load : {};
  plugins.load.paths = addTo(plugins.load.paths, [PLUGIN_DIR]);
  plugins.entries = isObject(plugins.entries) ? plugins.entries : {};
  if (!Array.isArray(plugins.allow)) {
    // A new allow list loads only what it names: the plugins the config already turns on stay on.
    const configured = Object.keys(plugins.entries).filter((id) => id !== PLUGIN_ID && !(isObject(plugins.entries[id]) && plugins.entries[id].enabled === false));
    plugins.allow = configured;
    changes.push(
      `made plugins.allow, which OpenClaw then holds to: ${[...configured, MEMORY_CORE, PLUGIN_ID].join(', ')}; add any other plugin the gateway loads`,
    );
  }
  plugins.allow = addTo(plugins.allow, [MEMORY_CORE, PLUGIN_ID]);
  const entry = isObject(plugins.entries[PLUGIN_ID]) ? plugins.entries[PLUGIN_ID] : {};
  const pluginConfig = isObject(entry.config) ? entry.config : {};
  plugins.entries[PLUGIN_ID] = {
    ...entry,
    enabled: true,
    config: { ...pluginConfig, url: pluginConfig.url ?? options.url, agents: { ...(isObject(pluginConfig.agents) ? pluginConfig.agents : {}), ...agentTokens } },
  };

  const written = `${JSON.stringify(config, null, 2)}\n`;
  const before = sameJson(original, config) ? written : original;
  const diff = before === written ? '' : await unifiedDiff(configPath, original, written);
  if (diff) {
    const backup = await freeName(`${configPath}.before-roost`);
    changes.push(`backed up ${configPath} to ${backup}`);
    changes.push(`wrote Roost's plugin into ${configPath}: plugins.load.paths, plugins.allow (${MEMORY_CORE}, ${PLUGIN_ID}), plugins.entries.${PLUGIN_ID} (its comments are not kept)`);
    await act(async () => {
      await fs.copyFile(configPath, backup);
      await writePrivate(configPath, written);
    });
  }
  if (changes.every((change) => change.startsWith('skipped'))) changes.push(`nothing to change: every agent in ${configPath} has its Roost bot, token and plugin entry`);
  return { configPath, changes, diff };
}

/** The bot bound to `agent`: the one whose definition names it, else the definition of the same id (bound now), else a new definition. */
async function botFor(agent: string, bots: Bot[], botsDir: string, changes: string[], act: (run: () => Promise<unknown>) => Promise<void>): Promise<string | undefined> {
  const bound = bots.find((b) => b.openclaw?.agent === agent && b.status === 'active');
  if (bound) return bound.id;
  if (!isId(agent)) {
    changes.push(`skipped OpenClaw agent "${agent}": its id is not a Roost bot id (lower-case letters, digits, "-" and "_"); give a bot \`openclaw: { agent: ${agent} }\` by hand`);
    return undefined;
  }
  const same = bots.find((b) => b.id === agent);
  const file = path.join(botsDir, `${agent}.md`);
  if (same && (same.source !== 'definition' || same.status !== 'active' || !(await exists(file)))) {
    changes.push(`skipped OpenClaw agent "${agent}": bot ${agent} exists but is not an active definition in ${botsDir}; bind a bot to it by hand`);
    return undefined;
  }
  if (same) {
    changes.push(`bound bot ${agent} to OpenClaw agent ${agent} (openclaw: { agent: ${agent} } in ${file})`);
    await act(async () => {
      const text = await fs.readFile(file, 'utf8');
      if (!text.startsWith('---\n')) throw new Error(`${file} has no frontmatter to bind it in: add \`openclaw: { agent: ${agent} }\` to it by hand`);
      await fs.writeFile(file, `---\nopenclaw: { agent: ${agent} }\n${text.slice(4)}`);
    });
    return agent;
  }
  changes.push(`made bot ${agent} for OpenClaw agent ${agent} (${file})`);
  await act(async () => {
    await fs.mkdir(botsDir, { recursive: true });
    await fs.writeFile(file, `---\nid: ${agent}\nkind: specialist\nopenclaw: { agent: ${agent} }\n---\nThe Roost bot of OpenClaw agent ${agent}.\n`, { flag: 'wx' });
  });
  return agent;
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `file`, or `file.1`, `file.2`…: the first that does not exist, so an earlier backup is never replaced. */
async function freeName(file: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = n === 0 ? file : `${file}.${n}`;
    if (!(await fs.lstat(name).catch(() => null))) return name;
  }
}

function addTo(list: unknown, items: string[]): string[] {
  const current = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  return [...current, ...items.filter((item) => !current.includes(item))];
}

/** True when the file's text parses to `config` as it stands now: the only change would be the file's formatting. */
function sameJson(text: string, config: unknown): boolean {
  return JSON.stringify(parseJson5(text)) === JSON.stringify(config);
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Writes a file readable by its owner only, through a rename, so a reader never sees half of it. */
async function writePrivate(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, text, { mode: 0o600 });
  await fs.rename(temp, file);
}

/** `git diff --no-index` of the config as it is and as it would be. */
async function unifiedDiff(file: string, before: string, after: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'roost-setup-'));
  try {
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    await Promise.all([fs.writeFile(a, before), fs.writeFile(b, after)]);
    const out = await promisify(execFile)('git', ['diff', '--no-index', '--no-color', '--', a, b]).then(
      () => '',
      (error: { code?: number; stdout?: string }) => {
        if (error.code !== 1) throw error;
        return error.stdout ?? '';
      },
    );
    return out.replaceAll(`a${a}`, `a/${path.basename(file)}`).replaceAll(`b${b}`, `b/${path.basename(file)}`).replace(/^diff --git .*\n/, '');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
