import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, eventually, git, httpClient, mailFiles, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
let dev: Client;
let research: Client;
let main: Client;
let monitoring: Client;

beforeAll(async () => {
  daemon = await startTestDaemon();
  [dev, research, main, monitoring] = await Promise.all(['dev', 'research', 'main', 'monitoring'].map((bot) => httpClient(daemon.url, daemon.tokens[bot])));
});

afterAll(async () => {
  await Promise.all([dev, research, main, monitoring].map((c) => c?.close()));
  await daemon?.destroy();
});

const inboxIds = async (client: Client) => (await call(client, 'read_inbox', { status: 'all', peek: true, limit: 100 })).messages.map((m: any) => m.id);

describe('topics', () => {
  it('knows the topics bot definitions list, with those bots as members', async () => {
    const { topics } = await call(dev, 'list_topics');
    expect(topics.map((t: any) => t.name)).toEqual(['alerts', 'dev', 'general', 'monitoring', 'research']);
    expect(topics.find((t: any) => t.name === 'alerts')).toMatchObject({ members: ['monitoring'], post_policy: 'anyone', member: false, messages: 0 });
    expect(topics.find((t: any) => t.name === 'dev')).toMatchObject({ members: ['dev'], member: true });

    const alert = await call(dev, 'send_message', { to: ['#alerts'], subject: 'Disk', body: 'Disk 91% full on build-2.' });
    expect(alert.recipients.map((r: any) => r.bot)).toEqual(['monitoring']);
    const [message] = (await call(monitoring, 'read_inbox')).messages;
    expect(message).toMatchObject({ id: alert.id, from: 'dev', to: ['#alerts'], topic: 'alerts' });
  });

  it('fans a message out once to every member but the sender, also when a member is addressed directly', async () => {
    const created = await call(dev, 'create_topic', { name: '#ops', description: 'Operations' });
    expect(created).toMatchObject({ name: 'ops', members: ['dev'], created_by: 'dev', post_policy: 'anyone' });
    expect(readFileSync(path.join(daemon.home, 'topics/ops.md'), 'utf8')).toContain('description: Operations');
    await daemon.roost.history.flush();
    // One commit by dev, its own or shared with dev's send just before (then the change is listed in its body).
    const log = git(daemon.home, 'log', '--format=%an|%B', '--', 'topics/ops.md');
    expect(log).toMatch(/^dev\|dev: (create topic #ops$|[^]*^- create topic #ops$)/m);
    expect(await call(research, 'subscribe_topic', { topic: 'ops' })).toMatchObject({ changed: true, topic: { members: ['dev', 'research'] } });
    expect((await call(research, 'subscribe_topic', { topic: 'ops' })).changed).toBe(false);
    await call(main, 'subscribe_topic', { topic: 'ops' });

    const sent = await call(dev, 'send_message', { to: ['#ops', 'research'], subject: 'Deploy', body: 'Deploying v2 at 14:00.' });
    expect(sent.recipients.map((r: any) => r.bot).sort()).toEqual(['main', 'research']);
    const copies = mailFiles(daemon.home).filter((f) => f.endsWith(`/${sent.id}.md`));
    expect(copies).toEqual([`mail/dev/sent/${sent.id}.md`, `mail/main/inbox/${sent.id}.md`, `mail/research/inbox/${sent.id}.md`]);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '--format=%s', '--', 'mail/')).toContain('dev: send "Deploy" to #ops, research (2 recipients)');

    const history = await call(research, 'topic_history', { topic: 'ops' });
    expect(history.messages).toEqual([expect.objectContaining({ id: sent.id, from: 'dev', topic: 'ops', body: 'Deploying v2 at 14:00.' })]);
    const ops = (await call(main, 'list_topics', { member_only: true })).topics.find((t: any) => t.name === 'ops');
    expect(ops).toMatchObject({ member: true, messages: 1, last_message: sent.created });

    await call(research, 'unsubscribe_topic', { topic: '#ops' });
    const later = await call(dev, 'send_message', { to: ['#ops'], body: 'Done.' });
    expect(later.recipients.map((r: any) => r.bot)).toEqual(['main']);
    expect(await inboxIds(research)).not.toContain(later.id);
    expect(await callError(dev, 'unsubscribe_topic', { topic: 'dev' })).toMatch(/profile lists "#dev".*update_bot/);
  });

  it('lets only its creator, the main bot and the operator change a topic; members-only topics refuse others', async () => {
    await call(main, 'create_topic', { name: 'leads', members: ['main', 'dev'], post_policy: 'members' });
    expect(await callError(dev, 'update_topic', { topic: 'leads', description: 'mine now' })).toMatch(/Only the topic's creator/);
    const before = mailFiles(daemon.home);
    expect(await callError(research, 'send_message', { to: ['#leads'], body: 'let me in' })).toMatch(/only members post to "#leads"/);
    expect(mailFiles(daemon.home)).toEqual(before);
    expect((await call(dev, 'send_message', { to: ['#leads'], body: 'hello leads' })).recipients.map((r: any) => r.bot)).toEqual(['main']);
  });

  it('archives a topic: no new messages, history kept, reopened by update_topic', async () => {
    await call(research, 'create_topic', { name: 'papers', members: ['research', 'dev'] });
    const old = await call(research, 'send_message', { to: ['#papers'], body: 'first paper' });
    expect((await call(research, 'archive_topic', { topic: 'papers' })).archived).toBe(true);
    const before = mailFiles(daemon.home);
    expect(await callError(dev, 'send_message', { to: ['#papers'], body: 'too late' })).toMatch(/archived/);
    expect(await callError(main, 'subscribe_topic', { topic: 'papers' })).toMatch(/archived/);
    expect(mailFiles(daemon.home)).toEqual(before);
    expect((await call(dev, 'list_topics')).topics.map((t: any) => t.name)).not.toContain('papers');
    expect((await call(dev, 'list_topics', { include_archived: true })).topics.map((t: any) => t.name)).toContain('papers');
    expect((await call(dev, 'topic_history', { topic: 'papers' })).messages.map((m: any) => m.id)).toEqual([old.id]);
    await call(research, 'update_topic', { topic: 'papers', archived: false });
    await call(dev, 'send_message', { to: ['#papers'], body: 'open again' });
  });

  it('pages topic history from the newest message back', async () => {
    await call(dev, 'create_topic', { name: 'log', members: ['dev', 'research'] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call(dev, 'send_message', { to: ['#log'], body: `entry ${i}` })).id);
    const first = await call(main, 'topic_history', { topic: 'log', limit: 3 });
    expect(first.messages.map((m: any) => m.id)).toEqual(ids.slice(2).reverse());
    const rest = await call(main, 'topic_history', { topic: 'log', limit: 3, cursor: first.next_cursor });
    expect(rest.messages.map((m: any) => m.id)).toEqual(ids.slice(0, 2).reverse());
    expect(rest.next_cursor).toBeUndefined();
    expect(await callError(main, 'topic_history', { topic: 'nope' })).toMatch(/There is no topic "#nope"/);
  });

  it('credits each change to a topic to the bot that made it, also within one commit window', async () => {
    await daemon.roost.history.flush();
    await call(dev, 'create_topic', { name: 'standup', post_policy: 'anyone' });
    // Straight after the create, while its commit is still queued.
    await call(research, 'subscribe_topic', { topic: 'standup' });
    await call(main, 'update_topic', { topic: 'standup', description: 'Daily notes' });
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '--format=%an|%s', '--', 'topics/standup.md').trim().split('\n')).toEqual([
      'main|main: update topic #standup',
      expect.stringMatching(/^research\|research: /),
      'dev|dev: create topic #standup',
    ]);
  });

  it('reads a topic file edited by hand', async () => {
    await call(dev, 'create_topic', { name: 'builds' });
    const file = path.join(daemon.home, 'topics/builds.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/members:\n(\s+- .*\n)+/, 'members: [dev, main]\n').replace(/description: .*\n/, 'description: CI results\n'));
    await eventually(async () => {
      const builds = (await call(main, 'list_topics')).topics.find((t: any) => t.name === 'builds');
      return builds.description === 'CI results' && builds.member === true;
    });
    expect((await call(dev, 'send_message', { to: ['#builds'], body: 'green' })).recipients.map((r: any) => r.bot)).toEqual(['main']);
  });

  it('removes topic messages past the retention, and past each bot\'s own shortest retention (7 days by default), from every mailbox, in one commit', async () => {
    await call(dev, 'create_topic', { name: 'noise', members: ['dev', 'research', 'main'], retention_days: 1 });
    const sent = await call(dev, 'send_message', { to: ['#noise'], body: 'ephemeral' });
    const kept = await call(dev, 'send_message', { to: ['research'], body: 'not in a topic' });
    expect(mailFiles(daemon.home).filter((f) => f.endsWith(`/${sent.id}.md`))).toHaveLength(3);
    await daemon.roost.history.flush();
    expect(await daemon.roost.mail.prune(Date.now() + 2 * 86_400_000)).toBe(0);
    expect(await daemon.roost.mail.prune(Date.now() + 8 * 86_400_000)).toBe(3);
    expect(mailFiles(daemon.home).filter((f) => f.endsWith(`/${sent.id}.md`))).toEqual([]);
    expect(mailFiles(daemon.home)).toContain(`mail/research/inbox/${kept.id}.md`);
    expect(await inboxIds(research)).not.toContain(sent.id);
    expect((await call(dev, 'topic_history', { topic: 'noise' })).messages).toEqual([]);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '--format=%an|%s', '--', `mail/dev/sent/${sent.id}.md`).split('\n')[0]).toBe("roost|roost: remove 3 message files past their topic's retention");
  });
});
