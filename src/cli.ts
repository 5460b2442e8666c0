#!/usr/bin/env node
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { savedProgress } from './core/embeddings.js';
import { runningDaemon } from './core/lock-file.js';
import { DEFAULT_LIMITS } from './core/memory.js';
import { changeAllowance } from './core/rate-limit.js';
import { Registry } from './core/registry.js';
import { Roost } from './core/roost.js';
import { Tokens } from './core/tokens.js';
import { Vault } from './core/vault.js';
import { daemonOptions, homeOf, startDaemon } from './daemon.js';
import { runBridge } from './mcp/bridge.js';
import { importOpenClaw } from './openclaw/import.js';
import { setupOpenClaw } from './openclaw/setup.js';
import { VERSION } from './package.js';

const USAGE = `roost ${VERSION} — a persistent home for a team of AI bots

Usage:
  roost serve [--home DIR] [--port N] [--host ADDR] [--bots DIR] [--read-only] [--backup REMOTE] [LIMITS]
        Run the daemon: MCP over Streamable HTTP at http://127.0.0.1:7777/mcp.
        With --backup, the data root is pushed to that git remote after its commits.
        LIMITS, per bot: --send-burst N --send-rate N (messages at once, then per second),
        --write-burst N --write-rate N (changes to its memory), --spawn-burst N --spawn-rate N
        (tasks started), --memory-quota-mb N (size of its notes), --max-sessions N (live MCP sessions).
        With --embeddings-url URL --embeddings-model NAME (any OpenAI-compatible /v1/embeddings
        endpoint; its key in ROOST_EMBEDDINGS_KEY), notes get vectors in the background and
        search_memory is hybrid (words and meaning) by default.
  roost mcp --bot ID [--url URL] [--token-file FILE] [--home DIR]
        A stdio MCP server acting as bot ID (token from ROOST_TOKEN or --token-file),
        bridged to the daemon; starts the daemon if none runs.
  roost init [--home DIR] [--bots DIR]
        Create the data root and a token for every defined bot that has none; prints them once.
  roost token BOT [--home DIR] [--bots DIR]
        Make a new token for BOT (the old one stops working) and print it.
  roost bots [--home DIR] [--bots DIR]
        List the bots: definitions and registered ones.
  roost status [--home DIR]
        Is a daemon running on this data root, and where; how far note embedding has come.
  roost setup openclaw [--config FILE] [--dry-run] [--url URL] [--home DIR] [--bots DIR]
        Give every agent in OpenClaw's config (default $OPENCLAW_CONFIG_PATH or
        ~/.openclaw/openclaw.json) a Roost bot and a token file, and load Roost's plugin there
        (after a backup); --dry-run shows what would change. Then restart the gateway.
  roost import openclaw WORKSPACE --bot ID [--home DIR] [--bots DIR]
        Bring an OpenClaw agent's memory into bot ID's: MEMORY.md, memory/YYYY-MM-DD.md into
        journal/ (dates kept), other Markdown; never replaces a note; one commit. Daemon stopped.
  roost restore REMOTE [--home DIR]
        Rebuild a data root from its backup remote (every bot's memory, mail and registry),
        then make new tokens as init does (tokens are secrets and never leave the machine).

Environment: ROOST_HOME, ROOST_PORT, ROOST_HOST, ROOST_BOTS, ROOST_BACKUP, ROOST_OPERATOR_TOKEN, ROOST_TOKEN, ROOST_URL.
Limits: ROOST_SEND_BURST, ROOST_SEND_RATE, ROOST_WRITE_BURST, ROOST_WRITE_RATE, ROOST_SPAWN_BURST, ROOST_SPAWN_RATE,
ROOST_MEMORY_QUOTA_MB, ROOST_MAX_SESSIONS (as the flags; a flag wins).
Semantic search: ROOST_EMBEDDINGS_URL, ROOST_EMBEDDINGS_MODEL, ROOST_EMBEDDINGS_KEY.
Task agents: ROOST_OPENCLAW_URL, ROOST_OPENCLAW_TOKEN, ROOST_OPENCLAW_AGENT, ROOST_RUNTIME, ROOST_COMMAND.
Defaults: data root ./memory and bot definitions ./bots of this package.`;

type Flags = Record<string, string | boolean>;

function parse(argv: string[]): { command: string; args: string[]; flags: Flags } {
  const args: string[] = [];
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      args.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (inline !== undefined) flags[name] = inline;
    else if (name === 'read-only' || name === 'help' || name === 'dry-run') flags[name] = true;
    else if (i + 1 < argv.length) flags[name] = argv[++i];
    else throw new Error(`--${name} needs a value`);
  }
  return { command: args.shift() ?? 'help', args, flags };
}

async function main(): Promise<void> {
  const { command, args, flags } = parse(process.argv.slice(2));
  if (flags.help || command === 'help') return void console.log(USAGE);
  switch (command) {
    case 'serve':
      return serve(flags);
    case 'mcp':
      return mcp(flags);
    case 'init':
      return init(flags);
    case 'token':
      return token(args[0], flags);
    case 'bots':
      return bots(flags);
    case 'status':
      return status(flags);
    case 'restore':
      return restore(args[0], flags);
    case 'import':
      if (args[0] !== 'openclaw' || !args[1] || typeof flags.bot !== 'string') throw new Error('usage: roost import openclaw WORKSPACE --bot ID');
      return importWorkspace(args[1], flags.bot, flags);
    case 'setup':
      if (args[0] !== 'openclaw') throw new Error('usage: roost setup openclaw [--config FILE] [--dry-run]');
      return setup(flags);
    case 'version':
      return void console.log(VERSION);
    default:
      throw new Error(`unknown command "${command}"; run \`roost help\``);
  }
}

async function serve(flags: Flags): Promise<void> {
  const options = daemonOptions(flags);
  const daemon = await startDaemon(options);
  console.error(`roost: serving ${options.home} at ${daemon.url}/mcp${options.readOnly ? ' (read-only)' : ''}`);
  console.error(`roost: console at ${daemon.url}/`);
  if (daemon.roost.newOperatorToken) {
    // Where it is, never the token itself: this output often ends up in a log (journald, a terminal's scrollback).
    const file = path.join(options.home, '.roost', 'operator.token');
    console.error(`roost: made a new operator token and wrote it to ${file} (mode 0600, readable only by this user)`);
    console.error(`roost: read it with \`cat ${file}\` to log in to the console`);
  }
  for (const problem of daemon.roost.registry.problems) console.error(`roost: ${problem.file}: ${problem.problem}`);
  const stop = () => {
    console.error('roost: stopping');
    daemon.close().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function mcp(flags: Flags): Promise<void> {
  const bot = flags.bot;
  if (typeof bot !== 'string') throw new Error('roost mcp needs --bot ID');
  const token = typeof flags['token-file'] === 'string' ? (await fs.readFile(flags['token-file'], 'utf8')).trim() : process.env.ROOST_TOKEN;
  if (!token) throw new Error('roost mcp needs the bot token in ROOST_TOKEN or --token-file');
  const serveArgs = ['port', 'host', 'bots']
    .filter((k) => typeof flags[k] === 'string')
    .flatMap((k) => [`--${k}`, String(flags[k])]);
  await runBridge({
    bot,
    token,
    url: typeof flags.url === 'string' ? flags.url : process.env.ROOST_URL,
    home: homeOf(flags),
    serveArgs,
  });
}

/** The registry as the files say, without taking the daemon lock (nothing is written). */
async function readRegistry(flags: Flags): Promise<Registry> {
  const options = daemonOptions(flags);
  const registry = new Registry(
    new Vault(options.home),
    { settle: async () => undefined },
    options.botsDir,
    changeAllowance(DEFAULT_LIMITS.writeBurst, DEFAULT_LIMITS.writesPerSecond),
  );
  await registry.load();
  return registry;
}

async function init(flags: Flags): Promise<void> {
  const options = daemonOptions(flags);
  if (!(await runningDaemon(path.join(options.home, '.roost', 'daemon.lock')))) {
    const roost = await Roost.open({ home: options.home, botsDir: options.botsDir, operatorToken: options.operatorToken, watch: false });
    if (roost.newOperatorToken) console.log(`${'operator'.padEnd(10)} ${roost.newOperatorToken}`);
    await roost.close();
  }
  console.log(`data root: ${options.home}`);
  const tokens = new Tokens(path.join(options.home, '.roost'));
  for (const bot of (await readRegistry(flags)).list({ status: 'active' })) {
    if (await tokens.has(bot.id)) console.log(`${bot.id.padEnd(10)} (has a token; \`roost token ${bot.id}\` makes a new one)`);
    else console.log(`${bot.id.padEnd(10)} ${await tokens.issue(bot.id)}`);
  }
}

async function token(bot: string | undefined, flags: Flags): Promise<void> {
  if (!bot) throw new Error('usage: roost token BOT');
  const registry = await readRegistry(flags);
  const known = registry.get(bot);
  if (!known) throw new Error(`there is no bot "${bot}"; \`roost bots\` lists them`);
  if (known.status === 'retired') throw new Error(`bot "${bot}" is retired`);
  console.log(await new Tokens(path.join(homeOf(flags), '.roost')).issue(bot));
}

async function bots(flags: Flags): Promise<void> {
  const registry = await readRegistry(flags);
  for (const b of registry.list()) {
    console.log(`${b.id.padEnd(12)} ${b.kind.padEnd(10)} ${b.status.padEnd(8)} ${b.topics.join(',').padEnd(20)} ${b.name}`);
  }
  for (const p of registry.problems) console.error(`problem: ${p.file}: ${p.problem}`);
}

async function setup(flags: Flags): Promise<void> {
  const options = daemonOptions(flags);
  const running = await runningDaemon(path.join(options.home, '.roost', 'daemon.lock'));
  const url = typeof flags.url === 'string' ? flags.url : (running?.url ?? `http://127.0.0.1:${options.port}`);
  const dryRun = flags['dry-run'] === true;
  const report = await setupOpenClaw({ home: options.home, botsDir: options.botsDir, configPath: typeof flags.config === 'string' ? flags.config : undefined, url, dryRun });
  if (dryRun && report.diff) console.log(report.diff);
  for (const change of report.changes) console.log(`${dryRun ? '(dry run, not done) ' : ''}${change}`);
  if (!dryRun && report.diff) console.log('restart the OpenClaw gateway to load the plugin (openclaw gateway restart)');
}

async function importWorkspace(workspace: string, bot: string, flags: Flags): Promise<void> {
  const options = daemonOptions(flags);
  if (await runningDaemon(path.join(options.home, '.roost', 'daemon.lock'))) throw new Error('a daemon runs on this data root: stop it, import, and start it again');
  // A window longer than the import: its notes are committed together when Roost closes.
  const roost = await Roost.open({ home: options.home, botsDir: options.botsDir, operatorToken: options.operatorToken, watch: false, commitWindowMs: 3_600_000 });
  try {
    const report = await importOpenClaw(roost, workspace, bot);
    for (const { file, note } of report.brought) console.log(`brought ${file} as ${note}`);
    for (const { file, reason } of report.skipped) console.log(`skipped ${file}: ${reason}`);
    console.log(`${report.brought.length} brought into bot ${bot}'s memory, ${report.skipped.length} skipped`);
  } finally {
    await roost.close();
  }
}

async function restore(remote: string | undefined, flags: Flags): Promise<void> {
  if (!remote) throw new Error('usage: roost restore REMOTE [--home DIR]');
  const home = homeOf(flags);
  const existing = await fs.readdir(home).catch(() => [] as string[]);
  if (existing.some((name) => name !== 'README.md')) {
    throw new Error(`${home} is not empty: restore into a new folder with --home`);
  }
  await fs.rm(home, { recursive: true, force: true });
  await promisify(execFile)('git', ['clone', '--quiet', '--branch', 'main', remote, home]);
  console.log(`restored ${home} from ${remote}`);
  await init(flags);
}

async function status(flags: Flags): Promise<void> {
  const home = homeOf(flags);
  const running = await runningDaemon(path.join(home, '.roost', 'daemon.lock'));
  if (running) console.log(`running: pid ${running.pid}, ${running.url ?? 'starting'}, data root ${home}`);
  else {
    console.log(`not running (data root ${home})`);
    process.exitCode = 3;
  }
  const embedding = await savedProgress(path.join(home, '.roost'));
  if (running && embedding) {
    console.log(`embeddings (${embedding.model}): ${embedding.embedded} notes embedded, ${embedding.pending} pending${embedding.error ? `; last error: ${embedding.error}` : ''}`);
  }
}

main().catch((error: Error) => {
  console.error(`roost: ${error.message}`);
  process.exit(1);
});
