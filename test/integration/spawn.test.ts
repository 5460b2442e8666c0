import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package.js';
import { call, callError, dataFiles, eventually, git, httpClient, startTestDaemon, type TestDaemon } from '../helpers.js';

const AGENT_SCRIPT = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'task-agent.mjs');

describe('spawning task agents on the command and none runtimes', () => {
  let daemon: TestDaemon;
  const clients: Client[] = [];
  const connect = async (token: string, bot?: string) => {
    const client = await httpClient(daemon.url, token, bot ? { 'x-roost-bot': bot } : {});
    clients.push(client);
    return client;
  };
  const start = async (home?: string, command = [process.execPath, AGENT_SCRIPT]) => {
    daemon = await startTestDaemon({ home, runtimes: { default: 'command', command } });
    return connect(daemon.tokens.main);
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await daemon?.destroy();
  });

  const inbox = async (client: Client) => (await call<{ messages: Array<{ from: string; subject: string; body: string }> }>(client, 'read_inbox', {})).messages;

  it('runs a command agent that connects back as itself; its result reaches the parent and its memory is archived', async () => {
    const main = await start();
    const progress: number[] = [];
    const result = (await main.callTool(
      { name: 'spawn_agent', arguments: { task: 'What is the answer? (pause 6000 first)', wait: true } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    )) as { structuredContent: Record<string, any>; isError?: boolean };
    expect(result.isError).toBeFalsy();
    const done = result.structuredContent;
    const agent = done.agent as string;
    expect(done).toMatchObject({ status: 'done', runtime: 'command', parent: 'main', kind: 'spawn', kept: ['notes/finding.md'] });
    expect(done.run_id).toMatch(/^pid:\d+$/);
    expect(done.result).toBe(`${agent} (${agent}) answers: 42`);
    expect(progress.length).toBeGreaterThan(0);

    const [report] = (await inbox(main)).filter((m) => m.from === agent);
    expect(report.subject).toContain(`Task ${agent} done`);
    expect(report.body).toContain('answers: 42');

    // Archived into the parent's memory, the agent's own folder emptied, the agent retired and its token gone.
    const archived = readFileSync(path.join(daemon.home, 'bots', 'main', 'tasks', agent, 'notes', 'finding.md'), 'utf8');
    expect(archived).toContain(`Found by ${agent}: the answer is 42.`);
    expect(existsSync(path.join(daemon.home, 'bots', 'main', 'tasks', agent, 'TASK.md'))).toBe(true);
    expect(existsSync(path.join(daemon.home, 'bots', agent, 'notes', 'finding.md'))).toBe(false);
    expect((await call(main, 'get_bot', { id: agent })).status).toBe('retired');
    expect(await daemon.roost.tokens.has(agent)).toBe(false);
    const task = readFileSync(path.join(daemon.home, 'tasks', `${agent}.md`), 'utf8');
    expect(task).toContain('status: done');
    await eventually(() => git(daemon.home, 'log', '--format=%an %s').includes(`${agent}: create notes/finding.md`));
  });

  it('hands a none-runtime agent its token; it attaches later and completes; a restart in between loses nothing', async () => {
    let main = await start();
    const spawned = await call(main, 'spawn_agent', { task: 'Summarize the logs', runtime: 'none', cleanup: 'keep' });
    expect(spawned).toMatchObject({ status: 'running', runtime: 'none', run_id: `none:${spawned.agent}` });
    expect(spawned.token).toMatch(/^roost_/);
    expect(await callError(main, 'spawn_agent', { task: 'x', runtime: 'none', wait: true })).toMatch(/wait cannot be used with runtime none/);
    let agent = await connect(spawned.token);
    expect((await call(agent, 'whoami')).bot).toBe(spawned.agent);
    await call(agent, 'write_note', { path: 'summary.md', body: 'All quiet.' });

    await Promise.all(clients.splice(0).map((c) => c.close()));
    await daemon.stop();
    main = await start(daemon.home);
    expect((await call(main, 'agent_status', { id: spawned.agent })).status).toBe('running');
    // (the test daemon gives every registered bot a fresh token when it starts)
    agent = await connect(daemon.tokens[spawned.agent]);
    const completed = await call(agent, 'complete_task', { result: 'The logs are quiet.' });
    expect(completed.status).toBe('done');
    expect((await inbox(main)).some((m) => m.from === spawned.agent && m.body.includes('The logs are quiet.'))).toBe(true);
    // cleanup "keep": its memory stays where it was.
    expect(readFileSync(path.join(daemon.home, 'bots', spawned.agent, 'summary.md'), 'utf8')).toContain('All quiet.');
    // Its task over, the agent's token is revoked.
    await expect(call(agent, 'complete_task', { result: 'again' })).rejects.toThrow(/is retired, so its token no longer works \(its task has ended\)/);
  });

  it('leaves nothing behind when the runtime refuses the brief', async () => {
    const main = await start(undefined, ['/nonexistent/agent-program']);
    const before = (await call(main, 'list_bots')).bots.length;
    const error = await callError(main, 'spawn_agent', { task: 'x', runtime: 'openclaw' });
    expect(error).toMatch(/No OpenClaw gateway is configured/);
    const refused = await callError(main, 'spawn_agent', { task: 'x', runtime: 'command' });
    expect(refused).toMatch(/could not start: .*ENOENT/);
    expect((await call(main, 'list_bots')).bots.length).toBe(before);
    expect((await call(main, 'list_agents')).agents).toEqual([]);
    await daemon.roost.history.flush();
    // git's index catches up with the commits a moment after them.
    await eventually(() => git(daemon.home, 'status', '--porcelain').trim() === '');
    expect(existsSync(path.join(daemon.home, 'tasks')) ? git(daemon.home, 'ls-tree', '-r', '--name-only', 'HEAD', 'tasks').trim() : '').toBe('');
  });

  it('refuses a spawn with nothing to run it on before writing anything: no file, no commit, no allowance used', async () => {
    daemon = await startTestDaemon({ runtimes: { default: 'none' }, spawnLimits: { spawnBurst: 1, spawnsPerSecond: 0.001 } });
    const main = await connect(daemon.tokens.main);
    await daemon.roost.history.flush();
    const head = git(daemon.home, 'rev-parse', 'HEAD').trim();
    const before = dataFiles(daemon.home);
    for (let i = 0; i < 3; i++) {
      expect(await callError(main, 'spawn_agent', { task: 'x', runtime: 'command' })).toMatch(/There is no command to run for "task-[0-9a-f]+": .*ROOST_COMMAND/);
    }
    await daemon.roost.history.flush();
    expect(dataFiles(daemon.home)).toEqual(before);
    expect(git(daemon.home, 'log', '--format=%an: %s', `${head}..HEAD`)).toBe('');
    // The refusals took none of the one start allowed at once.
    expect((await call(main, 'spawn_agent', { task: 'x', runtime: 'none' })).status).toBe('running');
  });

  it('expires an agent past its deadline, tells the parent, and cleans up', async () => {
    const main = await start();
    const spawned = await call(main, 'spawn_agent', { task: 'Never finishes', runtime: 'none', deadline: '2s', cleanup: 'delete' });
    const ended = await eventually(async () => {
      const status = await call(main, 'agent_status', { id: spawned.task });
      return status.status === 'expired' && status;
    });
    expect(ended.error).toMatch(/passed its deadline/);
    expect((await inbox(main)).some((m) => m.from === spawned.agent && m.subject.includes('expired'))).toBe(true);
    expect(existsSync(path.join(daemon.home, 'bots', spawned.agent, 'TASK.md'))).toBe(false);
    expect((await call(main, 'get_bot', { id: spawned.agent })).status).toBe('retired');
  });

  it('cancels a running command agent, killing its process', async () => {
    const main = await start();
    const spawned = await call(main, 'spawn_agent', { task: 'pause 60000, then answer' });
    const cancelled = await call(main, 'cancel_agent', { id: spawned.agent });
    expect(cancelled).toMatchObject({ status: 'cancelled', error: 'cancelled by main' });
    expect(() => process.kill(spawned.pid, 0)).toThrow();
    expect(await callError(main, 'cancel_agent', { id: spawned.agent })).toMatch(/already ended \(cancelled\)/);
  });

  it('assigns a task to an existing bot: brief in its inbox, result back to the parent, same tracking', async () => {
    const main = await start();
    const dev = await connect(daemon.tokens.dev);
    const assigned = await call(main, 'assign_task', { bot: 'dev', task: 'Review the release notes', deadline: '10m' });
    expect(assigned).toMatchObject({ kind: 'assign', agent: 'dev', parent: 'main', status: 'running', live: false });
    const brief = (await inbox(dev)).find((m) => m.from === 'main');
    expect(brief?.body).toContain('Review the release notes');
    expect(brief?.body).toContain(`call complete_task with task "${assigned.task}"`);
    const done = await call(dev, 'complete_task', { task: assigned.task, result: 'Reviewed: two typos fixed.' });
    expect(done.status).toBe('done');
    expect((await inbox(main)).some((m) => m.from === 'dev' && m.body.includes('two typos fixed'))).toBe(true);
    expect((await call(main, 'agent_status', { id: assigned.task })).result).toBe('Reviewed: two typos fixed.');
    expect(await callError(dev, 'cancel_agent', { id: assigned.task })).toMatch(/already ended|Only whoever asked/);
  });

  it('enforces quotas: children per bot and spawn depth, with clear errors', async () => {
    const main = await start();
    for (let i = 0; i < 5; i++) await call(main, 'spawn_agent', { task: `job ${i}`, runtime: 'none' });
    expect(await callError(main, 'spawn_agent', { task: 'one too many', runtime: 'none' })).toMatch(/already have 5 live tasks/);
    const tree = (await call(main, 'list_agents', { live: true })).agents;
    expect(tree).toHaveLength(5);

    const dev = await connect(daemon.tokens.dev);
    let spawner = dev;
    const chain: string[] = [];
    for (let depth = 1; depth <= 3; depth++) {
      const child = await call(spawner, 'spawn_agent', { task: `level ${depth}`, runtime: 'none' });
      expect(child.depth).toBe(depth);
      chain.push(child.agent);
      spawner = await connect(child.token);
    }
    expect(await callError(spawner, 'spawn_agent', { task: 'level 4', runtime: 'none' })).toMatch(/nest only 3 deep/);
    const devTree = (await call(dev, 'list_agents')).agents;
    expect(devTree.map((a: { agent: string; level: number }) => [a.agent, a.level])).toEqual(chain.map((agent, level) => [agent, level]));
  });
});
