import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../../src/package.js';
import { call, callError, type DaemonProcess, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
const clients: Client[] = [];
const connect = async (token: string) => {
  const client = await httpClient(daemon.url, token);
  clients.push(client);
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await daemon?.destroy();
});

/** Every file of a bot's memory with its content: what a refused call must leave as it was. */
function memoryOf(bot: string): Record<string, string> {
  const root = path.join(daemon.home, 'bots', bot);
  if (!existsSync(root)) return {};
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(files.map((e) => [path.relative(root, path.join(e.parentPath, e.name)), readFileSync(path.join(e.parentPath, e.name), 'utf8')]));
}

/** The commit log once the commit queue has drained. */
async function log(): Promise<string> {
  await daemon.roost.history.flush();
  return git(daemon.home, 'log', '--format=%an %s');
}

describe('the per-bot rate of changes to memory', () => {
  const refusal = /^You are making changes faster than allowed \(5 at once, then 0\.01 per second\): retry in \d+\.\d s\. Nothing was changed\.$/;

  it('lets a bot make its burst of changes, then refuses every kind of change with when to retry, and changes nothing', async () => {
    daemon = await startTestDaemon({ limits: { writeBurst: 5, writesPerSecond: 0.01 } });
    const dev = await connect(daemon.tokens.dev);
    // Refused calls do not count: this conflict leaves the whole burst.
    expect(await callError(dev, 'edit_note', { path: 'missing.md', operation: 'append', text: 'x' })).toMatch(/There is no note/);

    const plan = await call(dev, 'write_note', { path: 'plan.md', body: 'the plan' });
    await call(dev, 'edit_note', { path: 'plan.md', operation: 'append', text: 'step two' });
    await call(dev, 'set_fact', { key: 'mood', value: 'busy' });
    await call(dev, 'journal_append', { text: 'wrote the plan' });
    await call(dev, 'move_note', { from: 'plan.md', to: 'plans/plan.md' });
    const before = memoryOf('dev');
    const commits = await log();

    const refused: Array<[string, Record<string, unknown>]> = [
      ['write_note', { path: 'late.md', body: 'one too many' }],
      ['edit_note', { path: 'plans/plan.md', operation: 'append', text: 'step three' }],
      ['delete_note', { path: 'plans/plan.md' }],
      ['move_note', { from: 'plans/plan.md', to: 'plan.md' }],
      ['restore_note', { path: 'plan.md', version: (await call(dev, 'note_history', { path: 'plan.md' })).versions.at(-1).commit }],
      ['set_fact', { key: 'mood', value: 'tired' }],
      ['delete_fact', { key: 'mood' }],
      ['journal_append', { text: 'one entry too many' }],
    ];
    for (const [tool, args] of refused) expect(await callError(dev, tool, args), tool).toMatch(refusal);

    expect(memoryOf('dev')).toEqual(before);
    expect(await log()).toBe(commits);
    expect((await call(dev, 'search_memory', { query: 'many', fuzzy: false })).total).toBe(0);
    expect(plan.created).toBe(true);

    // Reading is never limited, and another bot has its own allowance.
    expect((await call(dev, 'read_note', { path: 'plans/plan.md' })).body).toContain('step two');
    const research = await connect(daemon.tokens.research);
    await call(research, 'write_note', { path: 'own.md', body: 'research is not limited by dev' });
  });

  it('is not spent by the bookkeeping of a task: the brief, the archive and the cleanup all happen', async () => {
    daemon = await startTestDaemon({ limits: { writeBurst: 2, writesPerSecond: 0.01 } });
    const main = await connect(daemon.tokens.main);
    const spawned = await call(main, 'spawn_agent', { task: 'take notes', runtime: 'none' });
    const agent = await connect(spawned.token);
    await call(agent, 'write_note', { path: 'a.md', body: 'finding a' });
    await call(agent, 'write_note', { path: 'b.md', body: 'finding b' });
    expect(await callError(agent, 'write_note', { path: 'c.md', body: 'finding c' })).toMatch(/making changes faster than allowed/);
    await call(main, 'write_note', { path: 'mine.md', body: 'main writes too' });

    await call(agent, 'complete_task', { task: spawned.task, result: 'done' });
    expect(Object.keys(memoryOf('main')).sort()).toEqual(['mine.md', `tasks/${spawned.agent}/TASK.md`, `tasks/${spawned.agent}/a.md`, `tasks/${spawned.agent}/b.md`]);
    expect(memoryOf(spawned.agent)).toEqual({});
  });
});

describe('the memory quota of a bot', () => {
  const QUOTA = 3000;
  const body = (n: number) => 'x'.repeat(n);
  const refusal = /^This would bring your memory to (\d+) bytes; the limit is 3000: delete notes you no longer need \(deleting is always allowed\) or write less, then retry\. Nothing was written\.$/;

  it('refuses a change that would pass the quota, allows deletes and shrinking, and counts only the bot itself', async () => {
    daemon = await startTestDaemon({ limits: { maxBotBytes: QUOTA } });
    const dev = await connect(daemon.tokens.dev);
    await call(dev, 'write_note', { path: 'a.md', body: body(1200) });
    await call(dev, 'write_note', { path: 'b.md', body: body(1200) });
    const before = memoryOf('dev');
    const commits = await log();

    const refused: Array<[string, Record<string, unknown>]> = [
      ['write_note', { path: 'c.md', body: body(1200) }],
      ['edit_note', { path: 'a.md', operation: 'append', text: body(700) }],
      ['write_note', { path: 'b.md', body: body(2000) }],
      ['set_fact', { key: 'big', value: body(800) }],
      ['journal_append', { text: body(800) }],
    ];
    for (const [tool, args] of refused) {
      const text = await callError(dev, tool, args);
      expect(text, tool).toMatch(refusal);
      expect(Number(refusal.exec(text)![1]), tool).toBeGreaterThan(QUOTA);
    }
    expect(memoryOf('dev')).toEqual(before);
    expect(await log()).toBe(commits);

    // Moving costs nothing; another bot has its own quota.
    await call(dev, 'move_note', { from: 'b.md', to: 'old/b.md' });
    const research = await connect(daemon.tokens.research);
    await call(research, 'write_note', { path: 'r.md', body: body(2500) });

    // Deleting frees room.
    await call(dev, 'delete_note', { path: 'old/b.md' });
    await call(dev, 'write_note', { path: 'c.md', body: body(1200) });
    expect(Object.keys(memoryOf('dev')).sort()).toEqual(['a.md', 'c.md']);
  });

  it('lets a bot over its quota (a file added by hand) shrink and delete notes, but not grow', async () => {
    daemon = await startTestDaemon({ limits: { maxBotBytes: QUOTA } });
    const dev = await connect(daemon.tokens.dev);
    await call(dev, 'write_note', { path: 'a.md', body: body(1000) });
    writeFileSync(path.join(daemon.home, 'bots', 'dev', 'dump.md'), `# dump\n\n${body(4000)}\n`);
    await eventually(async () => (await call(dev, 'list_notes', {})).total === 2);

    expect(await callError(dev, 'edit_note', { path: 'a.md', operation: 'append', text: 'more' })).toMatch(refusal);
    await call(dev, 'write_note', { path: 'a.md', body: 'shorter now' });
    await call(dev, 'delete_note', { path: 'dump.md' });
    await call(dev, 'edit_note', { path: 'a.md', operation: 'append', text: body(1000) });
    expect(memoryOf('dev')['a.md']).toContain(`shorter now\n${body(1000)}`);
  });
});

describe('the per-bot rate of starting tasks', () => {
  const refusal = /^You are starting tasks faster than allowed \(2 at once, then 0\.01 per second\): retry in \d+\.\d s\. Nothing was started\.$/;

  it('refuses spawn_agent and assign_task past the burst, saying when to retry, and starts nothing', async () => {
    daemon = await startTestDaemon({ spawnLimits: { spawnBurst: 2, spawnsPerSecond: 0.01 } });
    const main = await connect(daemon.tokens.main);
    // A refused request does not count.
    expect(await callError(main, 'spawn_agent', { task: 'too late', runtime: 'none', deadline: 'yesterday' })).toMatch(/deadline/);
    await call(main, 'spawn_agent', { task: 'first', runtime: 'none' });
    await call(main, 'assign_task', { bot: 'dev', task: 'second' });
    const bots = (await call(main, 'list_bots', {})).bots.length;
    const tasks = readdirSync(path.join(daemon.home, 'tasks')).sort();
    const devInbox = (await call(await connect(daemon.tokens.dev), 'read_inbox', { peek: true })).messages.length;

    expect(await callError(main, 'spawn_agent', { task: 'third', runtime: 'none' })).toMatch(refusal);
    expect(await callError(main, 'assign_task', { bot: 'dev', task: 'fourth' })).toMatch(refusal);

    expect((await call(main, 'list_bots', {})).bots).toHaveLength(bots);
    expect(readdirSync(path.join(daemon.home, 'tasks')).sort()).toEqual(tasks);
    expect((await call(main, 'list_agents', {})).agents).toHaveLength(2);
    expect((await call(await connect(daemon.tokens.dev), 'read_inbox', { peek: true })).messages).toHaveLength(devInbox);

    // Another bot has its own allowance.
    const research = await connect(daemon.tokens.research);
    await call(research, 'assign_task', { bot: 'dev', task: 'from research' });
  });
});

describe('the limits as settings of roost serve', () => {
  let serving: DaemonProcess | undefined;
  const home = tempDir();
  afterEach(async () => {
    await serving?.stop();
    serving = undefined;
    rmSync(home, { recursive: true, force: true });
  });

  it('takes them from flags and the environment, a flag before its variable', async () => {
    serving = await startDaemonProcess(home, { ROOST_WRITE_BURST: '50', ROOST_WRITE_RATE: '0.5' }, ['--write-burst', '2', '--memory-quota-mb', '0.01']);
    const dev = await httpClient(serving.url, OPERATOR_TOKEN, { 'x-roost-bot': 'dev' });
    try {
      expect(await callError(dev, 'write_note', { path: 'big.md', body: 'x'.repeat(11_000) })).toMatch(/the limit is 10485: /);
      await call(dev, 'write_note', { path: 'a.md', body: 'one' });
      await call(dev, 'write_note', { path: 'b.md', body: 'two' });
      expect(await callError(dev, 'write_note', { path: 'c.md', body: 'three' })).toMatch(/\(2 at once, then 0\.5 per second\)/);
    } finally {
      await dev.close();
    }
  });

  it('refuses to start with a value that is not a positive number, saying which', async () => {
    const serve = promisify(execFile)(process.execPath, [CLI_PATH, 'serve', '--home', home, '--port', '0'], { env: { ...process.env, ROOST_SPAWN_RATE: 'fast' } });
    await expect(serve).rejects.toMatchObject({ stderr: expect.stringMatching(/--spawn-rate \/ ROOST_SPAWN_RATE = fast is not a positive number/) });
  });

  it('refuses a fraction where only a whole number makes sense, such as a bound of sessions', async () => {
    const serve = promisify(execFile)(process.execPath, [CLI_PATH, 'serve', '--home', home, '--port', '0', '--max-sessions', '2.5']);
    await expect(serve).rejects.toMatchObject({ stderr: expect.stringMatching(/--max-sessions \/ ROOST_MAX_SESSIONS = 2.5 is not a whole number/) });
  });
});
