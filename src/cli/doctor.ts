import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type DaemonInfo, runningDaemon } from '../core/lock-file.js';
import { parseNote } from '../core/notes.js';
import { Tokens } from '../core/tokens.js';
import { daemonOptions, type DaemonOptions } from '../daemon.js';
import { OpenClawGateway } from '../openclaw/gateway.js';
import { PACKAGE_ROOT, VERSION } from '../package.js';
import { BOTS, type Command, type Flags, HOME, JSON_OUTPUT, readRegistry, stateDir } from './command.js';

const run = promisify(execFile);

/** One thing the doctor looked at: fine, worth a look, or broken; and what to do about it. */
export interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const MAX_LISTED = 10;

export const doctor: Command = {
  name: 'doctor',
  summary: 'Check the installation and the data root; say what is wrong and how to fix it.',
  usage: 'roost doctor [--home DIR] [--bots DIR] [--port N] [--host ADDR] [--backup REMOTE] [--openclaw-config FILE] [--json]',
  details: `Looks at Node and git, the data root and its lock, the port, the token files' modes, the inotify
limits, notes with broken frontmatter, whether the index and git are in step with the files, the
backup remote, the OpenClaw gateway (ROOST_OPENCLAW_URL) and the Roost plugin's entry in OpenClaw's
config (--openclaw-config, else $OPENCLAW_CONFIG_PATH, else ~/.openclaw/openclaw.json).
Exits with 1 when a check fails, 0 otherwise (warnings included).`,
  options: { ...HOME, ...BOTS, ...JSON_OUTPUT, port: { type: 'string' }, host: { type: 'string' }, backup: { type: 'string' }, 'openclaw-config': { type: 'string' } },
  async run(_args, flags) {
    const findings = await examine(flags);
    if (findings.some((f) => f.status === 'fail')) process.exitCode = 1;
    if (flags.json) return void console.log(JSON.stringify({ version: VERSION, ok: process.exitCode !== 1, findings }, null, 2));
    for (const f of findings) {
      console.log(`${{ ok: 'ok  ', warn: 'warn', fail: 'FAIL' }[f.status]}  ${f.check}: ${f.detail}`);
      if (f.fix && f.status !== 'ok') console.log(`      fix: ${f.fix}`);
    }
  },
};

async function examine(flags: Flags): Promise<Finding[]> {
  const options = daemonOptions(flags);
  const daemon = await runningDaemon(path.join(stateDir(options.home), 'daemon.lock'));
  const findings = [node(), await git(), await dataRoot(options.home), await lock(daemon), await port(options, daemon)];
  if (existsSync(path.join(options.home, '.git'))) {
    findings.push(await tokenFiles(options.home), await inotify(options.home), await frontmatter(options.home), await inStep(options, flags, daemon));
  }
  findings.push(await backup(options.backupRemote), await gateway(), await openclawPlugin(flags, options, daemon));
  return findings.filter((f): f is Finding => f !== null);
}

function node(): Finding {
  const wanted = (JSON.parse(readText(path.join(PACKAGE_ROOT, 'package.json'))) as { engines: { node: string } }).engines.node.replace(/^>=/, '');
  const ok = compareVersions(process.versions.node, wanted) >= 0;
  if (ok) return { check: 'node', status: 'ok', detail: `Node ${process.versions.node}` };
  return { check: 'node', status: 'fail', detail: `Node ${process.versions.node}, older than ${wanted}`, fix: `install Node ${wanted} or newer` };
}

async function git(): Promise<Finding> {
  try {
    const { stdout } = await run('git', ['--version']);
    return { check: 'git', status: 'ok', detail: stdout.trim() };
  } catch {
    return { check: 'git', status: 'fail', detail: 'git is not on the PATH: the data root is a git repository', fix: 'install git (e.g. apt-get install git)' };
  }
}

async function dataRoot(home: string): Promise<Finding> {
  const made = await fs.readdir(home).catch(() => null);
  if (!made?.length) return { check: 'data root', status: 'warn', detail: `${home} is not made yet`, fix: '`roost init` (or `roost serve`) makes it' };
  try {
    await fs.access(home, fs.constants.W_OK);
  } catch {
    return { check: 'data root', status: 'fail', detail: `${home} is not writable by this user`, fix: `run roost as the owner of ${home}, or chown it` };
  }
  if (!existsSync(path.join(home, '.git'))) return { check: 'data root', status: 'fail', detail: `${home} is not a git repository`, fix: 'point --home at a Roost data root, or at an empty folder for `roost init`' };
  return { check: 'data root', status: 'ok', detail: home };
}

async function lock(daemon: DaemonInfo | null): Promise<Finding> {
  if (!daemon) return { check: 'daemon', status: 'ok', detail: 'no daemon runs on this data root (the lock is free)' };
  if (!daemon.url) return { check: 'daemon', status: 'warn', detail: `pid ${daemon.pid} holds the lock but has not said where it listens yet`, fix: 'wait for it to start; if it stays so, see .roost/daemon.log' };
  try {
    const res = await fetch(new URL('/health', daemon.url), { signal: AbortSignal.timeout(5000) });
    if (res.ok) return { check: 'daemon', status: 'ok', detail: `pid ${daemon.pid} serves ${daemon.url} and /health answers` };
    return { check: 'daemon', status: 'fail', detail: `pid ${daemon.pid} holds the lock; ${daemon.url}/health answered ${res.status}`, fix: `restart it: kill ${daemon.pid}, then roost serve` };
  } catch (error) {
    return { check: 'daemon', status: 'fail', detail: `pid ${daemon.pid} holds the lock but ${daemon.url}/health does not answer (${(error as Error).message})`, fix: `restart it: kill ${daemon.pid}, then roost serve` };
  }
}

async function port(options: DaemonOptions, daemon: DaemonInfo | null): Promise<Finding | null> {
  if (daemon) return null;
  const free = await new Promise<string | null>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen(options.port, options.host, () => probe.close(() => resolve(null)));
  });
  const where = `${options.host}:${options.port}`;
  if (free === null) return { check: 'port', status: 'ok', detail: `${where} is free for roost serve` };
  return { check: 'port', status: 'fail', detail: `roost serve cannot listen on ${where} (${free})`, fix: free === 'EADDRINUSE' ? `stop what listens there, or serve on another port: --port N (or ROOST_PORT)` : 'choose another --host or --port' };
}

async function tokenFiles(home: string): Promise<Finding> {
  const state = stateDir(home);
  const loose: string[] = [];
  const modeOf = async (file: string) => (await fs.stat(file).catch(() => null))?.mode;
  const operator = await modeOf(path.join(state, 'operator.token'));
  if (operator !== undefined && operator & 0o077) loose.push(`.roost/operator.token (${(operator & 0o777).toString(8)})`);
  const dir = await modeOf(path.join(state, 'tokens'));
  if (dir !== undefined && dir & 0o077) loose.push(`.roost/tokens/ (${(dir & 0o777).toString(8)})`);
  const files = await fs.readdir(path.join(state, 'tokens')).catch(() => [] as string[]);
  for (const name of files) {
    const mode = await modeOf(path.join(state, 'tokens', name));
    if (mode !== undefined && mode & 0o077) loose.push(`.roost/tokens/${name} (${(mode & 0o777).toString(8)})`);
  }
  if (loose.length === 0) return { check: 'token files', status: 'ok', detail: 'readable only by their owner' };
  return { check: 'token files', status: 'fail', detail: `others may read ${loose.join(', ')}`, fix: `chmod 700 ${path.join(state, 'tokens')}; chmod 600 ${path.join(state, 'operator.token')} ${path.join(state, 'tokens')}/*` };
}

async function inotify(home: string): Promise<Finding | null> {
  const watches = Number(await fs.readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').catch(() => NaN));
  if (!Number.isFinite(watches)) return { check: 'inotify', status: 'ok', detail: 'not Linux: no inotify limit to check' };
  const folders = await countFolders(home);
  // One watch per folder of the data root, and other programs of this user watch too.
  const detail = `${folders} folders to watch, limit ${watches} watches per user`;
  const fix = 'sudo sysctl fs.inotify.max_user_watches=524288 (and put it in /etc/sysctl.d/ to keep it)';
  if (folders > watches) return { check: 'inotify', status: 'fail', detail: `${detail}: edits by hand in some folders go unnoticed until a restart`, fix };
  if (folders * 2 > watches) return { check: 'inotify', status: 'warn', detail: `${detail}: close to the limit`, fix };
  return { check: 'inotify', status: 'ok', detail };
}

async function countFolders(dir: string): Promise<number> {
  let count = 1;
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory() && !entry.name.startsWith('.')) count += await countFolders(path.join(dir, entry.name));
  }
  return count;
}

/** Every note's Markdown file under bots/, as paths relative to the data root. */
async function noteFiles(home: string, folder = 'bots'): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.readdir(path.join(home, folder), { withFileTypes: true }).catch(() => [])) {
    if (entry.name.startsWith('.')) continue;
    const rel = `${folder}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await noteFiles(home, rel)));
    else if (entry.isFile() && entry.name.endsWith('.md')) files.push(rel);
  }
  return files;
}

async function frontmatter(home: string): Promise<Finding> {
  const broken: string[] = [];
  for (const file of await noteFiles(home)) {
    const problem = parseNote(await fs.readFile(path.join(home, file), 'utf8')).problem;
    if (problem) broken.push(`${file} (${problem})`);
  }
  if (broken.length === 0) return { check: 'frontmatter', status: 'ok', detail: 'every note\'s frontmatter reads as YAML' };
  const listed = broken.slice(0, MAX_LISTED).join('; ') + (broken.length > MAX_LISTED ? `; and ${broken.length - MAX_LISTED} more` : '');
  return {
    check: 'frontmatter',
    status: 'warn',
    detail: `${broken.length} note(s) with broken frontmatter, kept as they are and searched without their fields: ${listed}`,
    fix: 'edit the block between the --- lines at the top of each into valid YAML (key: value lines)',
  };
}

/** Git and the daemon's index against the files: a running daemon commits and indexes every change within moments. */
async function inStep(options: DaemonOptions, flags: Flags, daemon: DaemonInfo | null): Promise<Finding> {
  const { stdout } = await run('git', ['-C', options.home, 'status', '--porcelain', '--untracked-files=all']).catch(() => ({ stdout: '' }));
  const changed = stdout.split('\n').filter(Boolean).length;
  if (changed > 0) {
    return daemon
      ? { check: 'in step', status: 'warn', detail: `${changed} file(s) differ from git's last commit while a daemon runs`, fix: 'a running daemon commits changes within moments: if this stays, see .roost/daemon.log and restart it' }
      : { check: 'in step', status: 'ok', detail: `${changed} file(s) changed by hand since the last commit; the next roost serve commits them (author: external)` };
  }
  if (!daemon?.url) return { check: 'in step', status: 'ok', detail: 'git holds every file as it is on disk' };
  const token = process.env.ROOST_OPERATOR_TOKEN || (await fs.readFile(path.join(stateDir(options.home), 'operator.token'), 'utf8').catch(() => '')).trim();
  if (!token) return { check: 'in step', status: 'warn', detail: 'git holds every file; the index was not compared (no operator token readable)', fix: 'run doctor as the daemon\'s user, or set ROOST_OPERATOR_TOKEN' };
  const counts = new Map<string, number>();
  for (const file of await noteFiles(options.home)) counts.set(file.split('/')[1], (counts.get(file.split('/')[1]) ?? 0) + 1);
  const client = new Client({ name: 'roost-doctor', version: VERSION });
  const behind: string[] = [];
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', daemon.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    for (const bot of (await readRegistry(flags)).list()) {
      const result = await client.callTool({ name: 'list_notes', arguments: { bot: bot.id, recursive: true, limit: 1 } });
      const indexed = (result.structuredContent as { total?: number } | undefined)?.total ?? 0;
      const onDisk = counts.get(bot.id) ?? 0;
      if (indexed !== onDisk) behind.push(`${bot.id}: ${indexed} indexed, ${onDisk} on disk`);
    }
  } catch (error) {
    return { check: 'in step', status: 'warn', detail: `git holds every file; the index could not be asked (${(error as Error).message})`, fix: 'check that the daemon answers (see "daemon" above)' };
  } finally {
    await client.close().catch(() => undefined);
  }
  if (behind.length === 0) return { check: 'in step', status: 'ok', detail: 'git and the daemon\'s index hold every note as it is on disk' };
  return { check: 'in step', status: 'warn', detail: `the index differs from the files: ${behind.join('; ')}`, fix: 'restart the daemon (kill it, then roost serve): it rebuilds the index from the files; if it recurs, see the inotify check' };
}

async function backup(remote: string | undefined): Promise<Finding> {
  if (!remote) return { check: 'backup', status: 'ok', detail: 'no backup remote set (--backup REMOTE or ROOST_BACKUP)' };
  try {
    await run('git', ['ls-remote', '--heads', remote], { timeout: 15_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return { check: 'backup', status: 'ok', detail: `${remote} answers` };
  } catch (error) {
    const why = ((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0];
    return { check: 'backup', status: 'fail', detail: `${remote} cannot be reached: ${why}`, fix: 'check the remote\'s address and that this user can push to it without a prompt (an SSH key or a credential helper)' };
  }
}

async function gateway(): Promise<Finding> {
  const url = process.env.ROOST_OPENCLAW_URL;
  if (!url) return { check: 'openclaw gateway', status: 'ok', detail: 'not set up (ROOST_OPENCLAW_URL): task agents run on the other runtimes' };
  if (!process.env.ROOST_OPENCLAW_TOKEN) return { check: 'openclaw gateway', status: 'fail', detail: `${url} is set without its token`, fix: 'set ROOST_OPENCLAW_TOKEN to the gateway\'s gateway.auth.token' };
  const client = new OpenClawGateway({ url, token: process.env.ROOST_OPENCLAW_TOKEN, connectTimeoutMs: 5000, requestTimeoutMs: 5000 });
  try {
    await client.request('sessions.list', { limit: 1 });
    return { check: 'openclaw gateway', status: 'ok', detail: `${url} answers` };
  } catch (error) {
    return { check: 'openclaw gateway', status: 'fail', detail: (error as Error).message, fix: 'start the gateway (openclaw gateway), or fix ROOST_OPENCLAW_URL and ROOST_OPENCLAW_TOKEN' };
  } finally {
    await client.close();
  }
}

interface PluginEntry {
  enabled?: boolean;
  config?: { url?: string; agents?: Record<string, { token?: string; tokenFile?: string }> };
}

/** Roost's entry in OpenClaw's config: loaded from a real plugin folder, enabled, pointing at this daemon, with current tokens. */
async function openclawPlugin(flags: Flags, options: DaemonOptions, daemon: DaemonInfo | null): Promise<Finding> {
  const check = 'openclaw plugin';
  const given = typeof flags['openclaw-config'] === 'string' ? flags['openclaw-config'] : undefined;
  const file = given ?? process.env.OPENCLAW_CONFIG_PATH ?? path.join(os.homedir(), '.openclaw', 'openclaw.json');
  if (!existsSync(file)) {
    return given ? { check, status: 'fail', detail: `${file} does not exist`, fix: 'name OpenClaw\'s openclaw.json' } : { check, status: 'ok', detail: `no OpenClaw config at ${file}` };
  }
  let config: { plugins?: { load?: { paths?: string[] }; entries?: Record<string, PluginEntry> } };
  try {
    config = JSON.parse(readText(file));
  } catch (error) {
    return { check, status: 'warn', detail: `${file} is not plain JSON (${(error as Error).message}); not checked`, fix: 'check the plugins.entries.roost block by hand (see openclaw-plugin/README.md)' };
  }
  const entry = config.plugins?.entries?.roost;
  if (!entry) return { check, status: 'warn', detail: `${file} has no plugins.entries.roost: OpenClaw agents get no Roost tools`, fix: 'add the block from openclaw-plugin/README.md' };
  const problems: string[] = [];
  if (entry.enabled === false) problems.push('it is disabled ("enabled": false)');
  const loaded = (config.plugins?.load?.paths ?? []).some((dir) => existsSync(path.join(dir, 'openclaw.plugin.json')) && existsSync(path.join(dir, 'index.js')));
  if (!loaded) problems.push(`no folder in plugins.load.paths holds the plugin (it is ${path.join(PACKAGE_ROOT, 'openclaw-plugin')})`);
  const url = entry.config?.url ?? 'http://127.0.0.1:7777';
  if (daemon?.url && new URL(url).origin !== new URL(daemon.url).origin) problems.push(`its url ${url} is not where the daemon serves (${daemon.url})`);
  const tokens = new Tokens(stateDir(options.home));
  await tokens.initOperator(options.operatorToken).catch(() => null);
  for (const [agent, given] of Object.entries(entry.config?.agents ?? {})) {
    const token = given.token ?? (given.tokenFile ? (await fs.readFile(given.tokenFile, 'utf8').catch(() => '')).trim() : '');
    if (!token) {
      problems.push(`agent ${agent}: no token${given.tokenFile ? ` (${given.tokenFile} cannot be read)` : ''}`);
      continue;
    }
    const identity = await tokens.verify(token);
    if (!identity) problems.push(`agent ${agent}: its token is not a current token of this data root (roost token <bot> makes one)`);
    else if (identity.operator) problems.push(`agent ${agent}: it is given the operator token; give it its bot's token`);
  }
  if (problems.length === 0) return { check, status: 'ok', detail: `${file}: the roost entry is enabled, loaded and its tokens are current` };
  return { check, status: 'fail', detail: `${file}: ${problems.join('; ')}`, fix: 'correct plugins.entries.roost as openclaw-plugin/README.md shows, then restart the gateway' };
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
