import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAIL_LIMITS } from '../../src/core/mail.js';
import { DEFAULT_LIMITS } from '../../src/core/memory.js';
import { allTools } from '../../tools/index.js';
import { call, callError, dataFiles, eventually, git, httpClient, mailFiles, OPERATOR_TOKEN, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// One bot must never reach beyond its own allowance: not another bot's topics or mail, not the
// task slots others need, not more writes or bytes than it is given. Each attack goes through a
// real MCP client, as a bot would make it.

let daemon: TestDaemon;
const clients: Client[] = [];
const connect = async (token: string, headers: Record<string, string> = {}) => {
  const client = await httpClient(daemon.url, token, headers);
  clients.push(client);
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await daemon?.destroy();
});

/** Every commit, once the commit queue has drained. */
async function commits(): Promise<string> {
  await daemon.roost.history.flush();
  return git(daemon.home, 'log', '--format=%H %an %s');
}

const DAY = 86_400_000;

describe('topics that bot definitions list', () => {
  it('are the operator\'s: no bot creates, changes, archives or sets a retention on them, whatever a topic file says', async () => {
    daemon = await startTestDaemon();
    const [dev, monitoring, main] = await Promise.all(['dev', 'monitoring', 'main'].map((bot) => connect(daemon.tokens[bot])));
    const before = dataFiles(daemon.home);
    const head = await commits();

    // #alerts exists only because monitoring's definition lists it; #general is main's.
    const attempts: Array<[Client, string, Record<string, unknown>]> = [
      [dev, 'create_topic', { name: 'alerts', retention_days: 1, post_policy: 'members' }],
      [dev, 'update_topic', { topic: 'alerts', retention_days: 1 }],
      [dev, 'archive_topic', { topic: '#alerts' }],
      [monitoring, 'create_topic', { name: 'alerts' }],
      [monitoring, 'update_topic', { topic: 'alerts', description: 'mine' }],
      [main, 'update_topic', { topic: 'general', retention_days: 1 }],
      [main, 'archive_topic', { topic: 'alerts' }],
      [main, 'create_topic', { name: 'research' }],
    ];
    for (const [client, tool, args] of attempts) {
      expect(await callError(client, tool, args), `${tool} ${JSON.stringify(args)}`).toMatch(/is listed in bot definitions, so it is the operator's/);
    }
    expect(dataFiles(daemon.home)).toEqual(before);
    expect(await commits()).toBe(head);

    // Joining stays open to any bot, and makes it no owner.
    expect((await call(dev, 'subscribe_topic', { topic: 'alerts' })).changed).toBe(true);
    expect(await callError(dev, 'update_topic', { topic: 'alerts', retention_days: 1 })).toMatch(/the operator's/);

    // A file that names a bot as its creator (as a claim made before this rule left it) gives that bot nothing.
    mkdirSync(path.join(daemon.home, 'topics'), { recursive: true });
    writeFileSync(path.join(daemon.home, 'topics/research.md'), '---\ndescription: claimed\nmembers: [dev]\ncreated_by: dev\n---\n');
    await eventually(async () => (await call(dev, 'list_topics')).topics.find((t: any) => t.name === 'research')?.created_by === 'dev');
    expect(await callError(dev, 'update_topic', { topic: 'research', retention_days: 1 })).toMatch(/the operator's/);
    expect(await callError(dev, 'archive_topic', { topic: 'research' })).toMatch(/the operator's/);

    // The operator may.
    const operator = await connect(OPERATOR_TOKEN);
    expect(await call(operator, 'update_topic', { topic: 'alerts', description: 'Pages and incidents', retention_days: 30 })).toMatchObject({
      name: 'alerts',
      description: 'Pages and incidents',
      retention_days: 30,
      members: ['dev', 'monitoring'],
    });
  });

  it('a topic\'s retention removes a bot\'s copies no sooner than the bot\'s own definition allows', async () => {
    const botsDir = tempDir('roost-bots-');
    const define = (id: string, extra = '') => writeFileSync(path.join(botsDir, `${id}.md`), `---\nid: ${id}\nkind: specialist\n${extra}---\nRole.\n`);
    define('owner', 'min_topic_retention_days: 1\n');
    define('keeper'); // the default: 7 days
    define('patient', 'min_topic_retention_days: 40\n');
    daemon = await startTestDaemon({ botsDir });
    const [owner, keeper, patient] = await Promise.all(['owner', 'keeper', 'patient'].map((bot) => connect(daemon.tokens[bot])));

    // The owner of a topic sets the shortest retention there is on it.
    await call(owner, 'create_topic', { name: 'chatter', members: ['owner', 'keeper', 'patient'], retention_days: 1 });
    const fromKeeper = await call(keeper, 'send_message', { to: ['#chatter'], body: 'from keeper' });
    const fromOwner = await call(owner, 'send_message', { to: ['#chatter'], body: 'from owner' });
    const copies = (bot: string) => mailFiles(daemon.home).filter((f) => f.startsWith(`mail/${bot}/`) && (f.includes(fromKeeper.id) || f.includes(fromOwner.id)));
    for (const bot of ['owner', 'keeper', 'patient']) expect(copies(bot), bot).toHaveLength(2);

    // Two days on: only the owner's copies are past both its topic's retention and its own.
    await daemon.roost.mail.prune(Date.now() + 2 * DAY);
    expect(copies('owner')).toEqual([]);
    expect(copies('keeper')).toHaveLength(2);
    expect(copies('patient')).toHaveLength(2);
    expect((await call(keeper, 'read_inbox', { status: 'all', peek: true })).messages.map((m: any) => m.id)).toEqual([fromOwner.id]);

    // Past the default of 7 days, a bot whose definition says nothing loses them; one that asked for more keeps them.
    await daemon.roost.mail.prune(Date.now() + 8 * DAY);
    expect(copies('keeper')).toEqual([]);
    expect(copies('patient')).toHaveLength(2);
    await daemon.roost.mail.prune(Date.now() + 41 * DAY);
    expect(copies('patient')).toEqual([]);
  });
});

describe('live tasks over a bot\'s tree', () => {
  it('one bot\'s nested spawns cannot take the task slots of the others', async () => {
    daemon = await startTestDaemon({ runtimes: { default: 'none' }, spawnLimits: { maxChildren: 2, maxDepth: 3, maxLivePerTree: 4, maxLive: 8 } });
    const [dev, research, main] = await Promise.all(['dev', 'research', 'main'].map((bot) => connect(daemon.tokens[bot])));

    // dev spawns as wide and as deep as it may: every agent spawns until it is refused.
    const spawned: Array<{ task: string; token: string }> = [];
    const refusals: string[] = [];
    const spawners = [dev];
    for (let i = 0; i < spawners.length; i++) {
      for (let n = 0; n < 2; n++) {
        const result = await spawners[i].callTool({ name: 'spawn_agent', arguments: { task: `level work ${i}.${n}`, deadline: '7d' } });
        if (result.isError) {
          refusals.push((result.content as Array<{ text: string }>)[0].text);
          continue;
        }
        const agent = result.structuredContent as { task: string; token: string };
        spawned.push(agent);
        spawners.push(await connect(agent.token));
      }
    }
    expect(spawned).toHaveLength(4);
    expect(refusals.some((r) => /task agents.* already have 4 live tasks, the most one bot's tree may have/.test(r))).toBe(true);
    // An agent of dev's with no task of its own is refused too, assignments included.
    expect(await callError(spawners[2], 'assign_task', { bot: 'research', task: 'one more through an assignment' })).toMatch(
      /^dev and its task agents, you among them, already have 4 live tasks, the most one bot's tree may have/,
    );

    // The others still have their slots.
    for (const [client, name] of [[research, 'research'], [main, 'main']] as const) {
      for (let n = 0; n < 2; n++) expect((await call(client, 'spawn_agent', { task: `${name} work ${n}` })).status).toBe('running');
    }

    // A task of dev's tree that ends gives its slot back to dev's tree.
    const leaf = spawned.at(-1)!;
    await call(spawners.at(-1)!, 'complete_task', { task: leaf.task, result: 'done' });
    expect((await call(spawners[2], 'assign_task', { bot: 'research', task: 'now there is room' })).status).toBe('running');
  });
});

describe('the allowance of changes', () => {
  const refusal = /^You are making changes faster than allowed \(6 at once, then 0\.001 per second\): retry in \d+\.\d s\. Nothing was changed\.$/;

  it('is one per bot for every change it makes; once spent, each state-changing tool is refused and writes nothing', async () => {
    daemon = await startTestDaemon({ limits: { writeBurst: 6, writesPerSecond: 0.001 } });
    const [main, dev] = await Promise.all(['main', 'dev'].map((bot) => connect(daemon.tokens[bot])));
    await call(dev, 'create_topic', { name: 'devs' });
    // Five of main's six changes: two to topics, two to the registry, one to its memory.
    await call(main, 'create_topic', { name: 'mains' });
    await call(main, 'subscribe_topic', { topic: 'devs' });
    await call(main, 'register_bot', { id: 'helper' });
    await call(main, 'update_bot', { description: 'Coordinates.' });
    await call(main, 'write_note', { path: 'plan.md', body: 'the plan' });
    await call(main, 'set_fact', { key: 'last', value: 6 });
    const before = dataFiles(daemon.home);
    const head = await commits();

    const refused: Array<[string, Record<string, unknown>]> = [
      ['create_topic', { name: 'another' }],
      ['update_topic', { topic: 'mains', description: 'changed' }],
      ['archive_topic', { topic: 'mains' }],
      ['subscribe_topic', { topic: 'research' }],
      ['unsubscribe_topic', { topic: 'devs' }],
      ['register_bot', { id: 'another' }],
      ['update_bot', { role: 'A new role.' }],
      ['retire_bot', { id: 'helper' }],
      ['write_note', { path: 'late.md', body: 'one too many' }],
      ['journal_append', { text: 'one too many' }],
    ];
    for (const [tool, args] of refused) expect(await callError(main, tool, args), tool).toMatch(refusal);
    expect(dataFiles(daemon.home)).toEqual(before);
    expect(await commits()).toBe(head);
    expect((await call(main, 'list_bots')).bots.map((b: any) => b.id)).not.toContain('another');
    expect((await call(main, 'get_bot', { id: 'helper' })).status).toBe('active');

    // Messages and tasks have allowances of their own, and another bot has its own allowance of changes.
    await call(main, 'send_message', { to: ['dev'], body: 'still allowed' });
    await call(main, 'spawn_agent', { task: 'still allowed', runtime: 'none' });
    await call(dev, 'update_topic', { topic: 'devs', description: 'dev is not limited by main' });
  });

  it('caps every string and list in every tool\'s input', async () => {
    daemon = await startTestDaemon();
    const operator = await connect(OPERATOR_TOKEN);
    const { tools } = await operator.listTools();
    // The operator is served every tool there is, so a new tool is walked too.
    expect(tools.map((t) => t.name)).toEqual(allTools.map((t) => t.name));
    const uncapped: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      const types = ([] as unknown[]).concat(schema.type ?? []);
      const bounded = schema.enum !== undefined || schema.const !== undefined;
      if (types.includes('string') && !bounded && typeof schema.maxLength !== 'number') uncapped.push(`${where}: a string without maxLength`);
      if (types.includes('array') && typeof schema.maxItems !== 'number') uncapped.push(`${where}: an array without maxItems`);
      for (const [key, value] of Object.entries(schema)) walk(value, `${where}.${key}`);
    };
    for (const tool of tools) walk(tool.inputSchema, tool.name);
    expect(uncapped).toEqual([]);

    const capOf = (tool: string, field: string) => (tools.find((t) => t.name === tool)!.inputSchema.properties![field] as { maxLength?: number }).maxLength;
    for (const [tool, field] of [['write_note', 'body'], ['edit_note', 'text'], ['journal_append', 'text']]) expect(capOf(tool, field), tool).toBe(DEFAULT_LIMITS.maxNoteBytes);
    for (const [tool, field] of [['send_message', 'body'], ['send_to_session', 'body']]) expect(capOf(tool, field), tool).toBe(DEFAULT_MAIL_LIMITS.maxBodyBytes);
    for (const [tool, field] of [['get_bot', 'id'], ['create_topic', 'name'], ['read_inbox', 'cursor'], ['write_note', 'title']]) expect(capOf(tool, field), tool).toBeLessThanOrEqual(1000);
  });

  it('refuses an oversized role or description and writes nothing', async () => {
    daemon = await startTestDaemon();
    const [dev, main] = await Promise.all(['dev', 'main'].map((bot) => connect(daemon.tokens[bot])));
    const before = dataFiles(daemon.home);
    const head = await commits();
    // Under the 4 MB body limit (which refuses anything larger before any tool runs), over every field's cap.
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const attempts: Array<[Client, string, Record<string, unknown>, string]> = [
      [dev, 'update_bot', { role: huge }, 'role'],
      [dev, 'update_bot', { description: 'x'.repeat(4001) }, 'description'],
      [dev, 'update_bot', { topics: Array.from({ length: 1001 }, (_, i) => `t${i}`) }, 'topics'],
      [main, 'register_bot', { id: 'big', role: 'x'.repeat(64 * 1024 + 1) }, 'role'],
      [dev, 'create_topic', { name: 'big', description: huge }, 'description'],
      [dev, 'spawn_agent', { task: 'x'.repeat(64 * 1024 + 1), runtime: 'none' }, 'task'],
    ];
    for (const [client, tool, args, field] of attempts) {
      expect(await callError(client, tool, args), tool).toMatch(new RegExp(`Too big: expected (string|array) to have <=\\d+ (characters|items) at ${field}\\. `));
    }
    expect(dataFiles(daemon.home)).toEqual(before);
    expect(await commits()).toBe(head);
    expect((await call(dev, 'whoami')).profile.role).not.toMatch(/^x+$/);
  });
});

describe('the memory quota of a bot and its task agents', () => {
  const QUOTA = 4000;
  const body = (n: number) => 'x'.repeat(n);
  /** Bytes on disk of every note of these bots. */
  const bytesOf = (...bots: string[]) =>
    bots.reduce((sum, bot) => {
      const root = path.join(daemon.home, 'bots', bot);
      if (!existsSync(root)) return sum;
      const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      return sum + files.reduce((s, e) => s + statSync(path.join(e.parentPath, e.name)).size, 0);
    }, 0);

  it('counts the notes of task agents, at any depth, against the standing bot\'s quota, so archiving cannot pass it', async () => {
    daemon = await startTestDaemon({ limits: { maxBotBytes: QUOTA }, runtimes: { default: 'none' } });
    const main = await connect(daemon.tokens.main);
    await call(main, 'write_note', { path: 'mine.md', body: body(1500) });

    const child = await call(main, 'spawn_agent', { task: 'collect findings' });
    const agent = await connect(child.token);
    // Alone, 2500 bytes would fit a quota of 4000; with main's 1500 they do not.
    expect(await callError(agent, 'write_note', { path: 'big.md', body: body(2500) })).toMatch(
      /^This would bring the memory of main and its task agents, which yours counts in, to \d+ bytes; the limit is 4000: /,
    );
    await call(agent, 'write_note', { path: 'found.md', body: body(800) });

    const grandchild = await call(agent, 'spawn_agent', { task: 'dig deeper' });
    const deeper = await connect(grandchild.token);
    expect(await callError(deeper, 'write_note', { path: 'big.md', body: body(1500) })).toMatch(/the limit is 4000/);
    await call(deeper, 'write_note', { path: 'deep.md', body: body(300) });
    expect(await callError(main, 'write_note', { path: 'more.md', body: body(1200) })).toMatch(
      /^This would bring your memory and your task agents' to \d+ bytes; the limit is 4000: /,
    );

    await call(deeper, 'complete_task', { task: grandchild.task, result: 'dug' });
    await call(agent, 'complete_task', { task: child.task, result: 'collected' });
    const notes = (await call(main, 'list_notes', { recursive: true })).notes.map((n: any) => n.path);
    expect(notes).toEqual(
      expect.arrayContaining(['mine.md', `tasks/${child.agent}/found.md`, `tasks/${child.agent}/tasks/${grandchild.agent}/deep.md`]),
    );
    expect(bytesOf(child.agent, grandchild.agent)).toBe(0);
    expect(bytesOf('main')).toBeLessThanOrEqual(QUOTA);
  });

  it('does not copy a kept note that does not fit, keeps it in the agent\'s memory, and says so in the report', async () => {
    daemon = await startTestDaemon({ limits: { maxBotBytes: QUOTA }, runtimes: { default: 'none' } });
    const main = await connect(daemon.tokens.main);
    await call(main, 'write_note', { path: 'mine.md', body: body(2000) });
    const child = await call(main, 'spawn_agent', { task: 'keep your notes', cleanup: 'keep' });
    const agent = await connect(child.token);
    await call(agent, 'write_note', { path: 'keep.md', body: body(1000) });

    // Its copy would take main and its agent to about 5000 bytes.
    const done = await call(agent, 'complete_task', { task: child.task, result: 'kept', keep: ['keep.md'] });
    expect(done.status).toBe('done');
    expect(existsSync(path.join(daemon.home, 'bots', child.agent, 'keep.md'))).toBe(true);
    expect(existsSync(path.join(daemon.home, 'bots/main/tasks', child.agent, 'keep.md'))).toBe(false);
    const report = (await call(main, 'read_inbox')).messages.find((m: any) => m.from === child.agent);
    expect(report.body).toMatch(/Not copied into your memory, as they did not fit .*: keep\.md\. They stay in .*'s memory\./);
    expect(report.body).not.toMatch(/Kept notes, now in your memory/);
    expect(bytesOf('main', child.agent)).toBeLessThanOrEqual(QUOTA);
  });
});
