import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, readDaemonInfo } from '../../src/core/lock-file.js';
import { CLI_PATH } from '../../src/package.js';
import { BOTS_DIR, eventually, tempDir } from '../helpers.js';

const run = promisify(execFile);
const home = tempDir();
const bots = tempDir('roost-bots-');
cpSync(BOTS_DIR, bots, { recursive: true });
const scratch = tempDir('roost-doctor-');
const env = { ...process.env, ROOST_HOME: home, ROOST_BOTS: bots, OPENCLAW_CONFIG_PATH: path.join(scratch, 'openclaw.json') };
delete env.ROOST_OPENCLAW_URL;
delete env.ROOST_BACKUP;

interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** `roost doctor --json`: its exit code and findings by check. */
async function doctor(...args: string[]): Promise<{ code: number; findings: Record<string, Finding> }> {
  const { code, stdout } = await run(process.execPath, [CLI_PATH, 'doctor', '--json', ...args], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string }),
  );
  const report = JSON.parse(stdout) as { findings: Finding[] };
  return { code, findings: Object.fromEntries(report.findings.map((f) => [f.check, f])) };
}

let serving: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  serving?.kill('SIGTERM');
});

describe('roost doctor', () => {
  it('finds what is wrong with a data root and its setup, says how to fix each, and exits 1', async () => {
    const { stdout } = await run(process.execPath, [CLI_PATH, 'init'], { env });
    const devToken = /^dev\s+(roost_dev_\S+)$/m.exec(stdout)![1];
    const healthy = await doctor();
    expect(healthy.code).toBe(0);
    expect(Object.values(healthy.findings).filter((f) => f.status !== 'ok')).toEqual([]);

    const notes = path.join(home, 'bots', 'dev', 'notes');
    mkdirSync(notes, { recursive: true });
    writeFileSync(path.join(notes, 'broken.md'), '---\ntitle: [unclosed\n---\nBody.\n');
    chmodSync(path.join(home, '.roost', 'operator.token'), 0o644);
    // OpenClaw's config: the plugin folder is missing, and agent research has a stale token.
    writeFileSync(
      path.join(scratch, 'openclaw.json'),
      JSON.stringify({ plugins: { load: { paths: ['/nowhere'] }, entries: { roost: { enabled: true, config: { agents: { dev: { token: devToken }, research: { token: `roost_research_${'0'.repeat(48)}` } } } } } } }),
    );
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as net.AddressInfo).port);
    try {
      const { code, findings } = await doctor('--port', port, '--backup', path.join(scratch, 'no-such-remote'));
      expect(code).toBe(1);
      expect(findings['token files']).toMatchObject({ status: 'fail', detail: expect.stringContaining('.roost/operator.token (644)'), fix: expect.stringContaining('chmod 600') });
      expect(findings.frontmatter).toMatchObject({ status: 'warn', detail: expect.stringContaining('bots/dev/notes/broken.md'), fix: expect.stringContaining('valid YAML') });
      expect(findings.port).toMatchObject({ status: 'fail', detail: expect.stringContaining(`127.0.0.1:${port} (EADDRINUSE)`), fix: expect.stringContaining('--port N') });
      expect(findings.backup).toMatchObject({ status: 'fail', detail: expect.stringContaining('no-such-remote cannot be reached') });
      expect(findings['openclaw plugin'].status).toBe('fail');
      expect(findings['openclaw plugin'].detail).toContain('agent research: its token is not a current token');
      expect(findings['openclaw plugin'].detail).toContain('no folder in plugins.load.paths holds the plugin');
      expect(findings['openclaw plugin'].detail).not.toContain('agent dev');
      expect(findings['in step']).toMatchObject({ status: 'ok', detail: expect.stringContaining('the next roost serve commits them') });
    } finally {
      taken.close();
    }
    // The human form: one line per check, a fix under each that is not fine.
    const text = await run(process.execPath, [CLI_PATH, 'doctor'], { env }).catch((e) => e);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL {2}token files: .*\n {6}fix: chmod 700/m);
  });

  it('with a daemon running: it answers, and git and its index hold what is on disk', async () => {
    chmodSync(path.join(home, '.roost', 'operator.token'), 0o600);
    serving = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
    const info = await eventually(async () => {
      const lock = await readDaemonInfo(path.join(home, '.roost/daemon.lock'));
      return lock?.url && isAlive(lock.pid) ? lock : null;
    }, 30_000);
    const { findings } = await eventually(async () => {
      const report = await doctor();
      return report.findings['in step'].status === 'ok' ? report : null;
    }, 30_000);
    expect(findings.daemon).toMatchObject({ status: 'ok', detail: `pid ${info.pid} serves ${info.url} and /health answers` });
    expect(findings.port).toBeUndefined();
    expect(findings['in step'].detail).toBe("git and the daemon's index hold every note as it is on disk");
  });
});
