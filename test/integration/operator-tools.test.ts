import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

const OPERATOR_TOOLS = ['rotate_token', 'configure_bot', 'task_details', 'team_activity'];

let daemon: TestDaemon;
let operator: Client;
let main: Client;
let dev: Client;

beforeAll(async () => {
  daemon = await startTestDaemon();
  operator = await httpClient(daemon.url, OPERATOR_TOKEN);
  main = await httpClient(daemon.url, daemon.tokens.main);
  dev = await httpClient(daemon.url, daemon.tokens.dev);
});

afterAll(async () => {
  await Promise.all([operator?.close(), main?.close(), dev?.close()]);
  await daemon?.destroy();
});

describe('operator tools', () => {
  it('are neither listed to nor callable by any bot, the main bot included', async () => {
    const listed = (await operator.listTools()).tools.map((t) => t.name);
    expect(listed).toEqual(expect.arrayContaining(OPERATOR_TOOLS));
    for (const bot of [main, dev]) {
      const names = (await bot.listTools()).tools.map((t) => t.name);
      expect(names.filter((n) => OPERATOR_TOOLS.includes(n))).toEqual([]);
      for (const tool of OPERATOR_TOOLS) expect(await callError(bot, tool, { id: 'dev' })).toMatch(/not (found|available)|unknown tool/i);
    }
    // The dev token still works: nothing was rotated.
    expect((await call(dev, 'whoami')).bot).toBe('dev');
  });

  it('rotate_token: the new token works at once and the old one no longer does', async () => {
    await call(operator, 'register_bot', { id: 'scout' });
    const { token: first } = await call(operator, 'rotate_token', { id: 'scout' });
    const before = await httpClient(daemon.url, first);
    expect((await call(before, 'whoami')).bot).toBe('scout');
    await before.close();
    const { bot, token } = await call(operator, 'rotate_token', { id: 'scout' });
    expect(bot).toBe('scout');
    expect(token).not.toBe(first);
    const after = await httpClient(daemon.url, token);
    expect((await call(after, 'whoami')).bot).toBe('scout');
    await after.close();
    await expect(httpClient(daemon.url, first)).rejects.toThrow(/401|token/i);
    await call(operator, 'retire_bot', { id: 'scout' });
    expect(await callError(operator, 'rotate_token', { id: 'scout' })).toContain('retired');
  });

  it('configure_bot: a registered bot gets only the tools set, and a quota stops writes past it', async () => {
    const { token } = await call(operator, 'register_bot', { id: 'reader' });
    const set = await call(operator, 'configure_bot', { id: 'reader', tools: ['whoami', 'memory'], memory_quota_bytes: 2000 });
    expect(set).toMatchObject({ tools: ['whoami', 'memory'], memory_quota_bytes: 2000 });
    const reader = await httpClient(daemon.url, token);
    const names = (await reader.listTools()).tools.map((t) => t.name);
    expect(names).toContain('write_note');
    expect(names).not.toContain('send_message');
    await call(reader, 'write_note', { path: 'a.md', body: 'x'.repeat(1000) });
    expect(await callError(reader, 'write_note', { path: 'b.md', body: 'y'.repeat(1500) })).toContain('the limit is 2000');
    await reader.close();
    // Written to the registry file, so a restart keeps it.
    await daemon.roost.registry.load();
    expect(daemon.roost.memory.quotaOf('reader')).toBe(2000);
    const cleared = await call(operator, 'configure_bot', { id: 'reader', memory_quota_bytes: null, tools: null });
    expect(cleared.tools).toEqual(['all']);
    expect(cleared.memory_quota_bytes).toBeGreaterThan(2000);
    expect(await callError(operator, 'configure_bot', { id: 'dev', tools: ['memory'] })).toContain('bots/dev.md');
    expect(await callError(operator, 'configure_bot', { id: 'reader', tools: ['rm_rf'] })).toContain('rm_rf');
    await call(main, 'register_bot', { id: 'helper', kind: 'task' });
    expect(await callError(operator, 'configure_bot', { id: 'helper', memory_quota_bytes: 10 })).toContain('quota of main');
  });

  it('task_details: the brief and the file of an assigned task', async () => {
    const asMain = await httpClient(daemon.url, OPERATOR_TOKEN, { 'x-roost-bot': 'main' });
    const task = await call(asMain, 'assign_task', { bot: 'research', task: 'Compare the two queue designs.' });
    await asMain.close();
    const details = await call(operator, 'task_details', { id: task.task });
    expect(details).toMatchObject({ task: task.task, agent: 'research', parent: 'main', brief: 'Compare the two queue designs.', file: `tasks/${task.task}.md` });
  });

  it('team_activity: counts the messages a bot sent and a topic got in the last bucket', async () => {
    await call(operator, 'create_topic', { name: 'incidents', members: ['dev'], post_policy: 'members' });
    // The operator posts to a members-only topic it is no member of.
    await call(operator, 'send_message', { to: ['#incidents'], body: 'Disk full on db-1.' });
    await call(dev, 'send_message', { to: ['#incidents'], body: 'Looking.' });
    const { buckets, bots, topics } = await call(operator, 'team_activity', { window: 'day' });
    expect(buckets).toHaveLength(24);
    expect(bots.find((b: any) => b.bot === 'dev').messages.at(-1)).toBe(1);
    expect(topics.find((t: any) => t.topic === 'incidents').messages.at(-1)).toBe(2);
    const week = await call(operator, 'team_activity', { window: 'week' });
    expect(week.topics.find((t: any) => t.topic === 'incidents').messages.reduce((a: number, b: number) => a + b)).toBe(2);
    // A bot that is no member is still refused.
    expect(await callError(main, 'send_message', { to: ['#incidents'], body: 'hi' })).toContain('only members');
  });
});
