import { execFile, spawn } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, readDaemonInfo } from '../../src/core/lock-file.js';
import { CLI_PATH } from '../../src/package.js';
import { BOTS_DIR, call, eventually, git, httpClient, tempDir } from '../helpers.js';

const run = promisify(execFile);
const home = tempDir();
const bots = tempDir('roost-bots-');
cpSync(BOTS_DIR, bots, { recursive: true });
const env = { ...process.env, ROOST_HOME: home, ROOST_BOTS: bots };

function roost(...args: string[]) {
  return run(process.execPath, [CLI_PATH, ...args], { env });
}

let serving: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  serving?.kill('SIGTERM');
});

describe('the roost command', () => {
  it('refuses unknown commands and flags with the closest name, and has --help per command and --version', async () => {
    await expect(roost('serve', '--prot', '8000')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('serve has no option --prot; did you mean --port?') });
    await expect(roost('bots', '--hme', '/x')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('did you mean --home?') });
    await expect(roost('sreve')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "sreve"; did you mean "serve"?') });
    await expect(roost('serve', '--read-only=yes')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--read-only is a switch') });
    await expect(roost('serve', '--port')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--port needs a value') });
    await expect(roost('token')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('token needs BOT') });
    await expect(roost('token', 'dev', 'main')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('takes no argument "main"') });

    const version = JSON.parse(readFileSync(path.join(path.dirname(path.dirname(path.dirname(CLI_PATH))), 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-v', 'version']) expect((await roost(flag)).stdout.trim()).toBe(version);
    for (const flag of ['--help', '-h']) {
      const help = (await roost('token', flag)).stdout;
      expect(help).toMatch(/^roost token BOT/);
      expect(help).not.toContain('roost serve');
    }
    expect((await roost('-h')).stdout).toMatch(/serve .*\n.*mcp /s);
    expect((await roost('help', 'status')).stdout).toMatch(/^roost status/);
  });

  it('init creates the data root, an operator token and one token per bot, printed once', async () => {
    const { stdout } = await roost('init');
    expect(stdout).toMatch(/^operator\s+roost_operator_/m);
    expect(stdout).toMatch(/^dev\s+roost_dev_[0-9a-f]{48}$/m);
    expect(statSync(path.join(home, '.roost/operator.token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(home, 'README.md'), 'utf8')).toContain('Roost data root');
    expect(git(home, 'rev-parse', '--is-inside-work-tree').trim()).toBe('true');

    const again = await roost('init');
    expect(again.stdout).not.toMatch(/roost_dev_/);
    expect(again.stdout).toMatch(/dev\s+\(has a token/);
  });

  it('serve on a new data root writes the operator token to a 0600 file and prints only where it is, never the token', async () => {
    const fresh = tempDir();
    const { ROOST_OPERATOR_TOKEN: _fixed, ...rest } = env;
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0', '--home', fresh], { env: rest, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    try {
      const info = await eventually(async () => {
        const lock = await readDaemonInfo(path.join(fresh, '.roost/daemon.lock'));
        return lock?.url && lock.pid === child.pid ? lock : null;
      });
      const file = path.join(fresh, '.roost/operator.token');
      const token = readFileSync(file, 'utf8').trim();
      expect(token).toMatch(/^roost_operator_[A-Za-z0-9_-]{32}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // The token works, and what the daemon printed says where to find it, not what it is.
      const operator = await httpClient(info.url!, token);
      expect((await call(operator, 'whoami')).operator).toBe(true);
      await operator.close();
      await eventually(() => output.includes('console at'));
      expect(output).toContain(`wrote it to ${file} (mode 0600`);
      expect(output).toContain(`cat ${file}`);
      expect(output).not.toContain(token);
      expect(output).not.toContain(token.slice('roost_operator_'.length));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    // A second start finds the file and says nothing about a token.
    const again = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0', '--home', fresh], { env: rest, stdio: ['ignore', 'pipe', 'pipe'] });
    let second = '';
    again.stderr!.on('data', (d) => (second += d));
    await eventually(() => second.includes('console at'));
    again.kill('SIGTERM');
    await new Promise((r) => again.once('exit', r));
    expect(second).not.toMatch(/operator token/);
  });

  it('bots lists the definitions; token makes a new token; status says whether a daemon runs', async () => {
    const { stdout } = await roost('bots');
    expect(stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['dev', 'main', 'monitoring', 'research']);
    await expect(roost('token', 'nobody')).rejects.toThrow(/no bot "nobody"/);
    await expect(roost('status')).rejects.toMatchObject({ code: 3 });
    const listed = JSON.parse((await roost('bots', '--json')).stdout);
    expect(listed.bots.map((b: { id: string }) => b.id)).toEqual(['dev', 'main', 'monitoring', 'research']);
    expect(listed.bots[0]).toMatchObject({ id: 'dev', status: 'active' });
    const stopped = await roost('status', '--json').catch((error) => error);
    expect(stopped.code).toBe(3);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ running: false, home, pid: null });
  });

  it('serve runs the daemon; a new token works at once; bot definitions reload when edited', async () => {
    serving = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const info = await eventually(async () => {
      const lock = await readDaemonInfo(path.join(home, '.roost/daemon.lock'));
      return lock?.url && isAlive(lock.pid) ? lock : null;
    });
    expect((await roost('status')).stdout).toContain(info.url!);
    expect(JSON.parse((await roost('status', '--json')).stdout)).toMatchObject({ running: true, url: info.url, pid: info.pid });

    const token = (await roost('token', 'research')).stdout.trim();
    const research = await httpClient(info.url!, token);
    expect((await call(research, 'whoami')).bot).toBe('research');

    writeFileSync(path.join(bots, 'ops.md'), '---\nid: ops\nkind: specialist\ntopics: [alerts]\n---\nKeeps things running.\n');
    await eventually(async () => (await call(research, 'list_bots', { topic: 'alerts' })).bots.some((b: any) => b.id === 'ops'));
    await research.close();
  });
});
