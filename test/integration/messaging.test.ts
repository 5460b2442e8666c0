import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, type Progress, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, eventually, git, httpClient, mailFiles, RecordingDelivery, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
let dev: Client;
let research: Client;
let main: Client;
const delivery = new RecordingDelivery();

beforeAll(async () => {
  daemon = await startTestDaemon({ delivery });
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  research = await httpClient(daemon.url, daemon.tokens.research);
  main = await httpClient(daemon.url, daemon.tokens.main);
});

afterAll(async () => {
  await Promise.all([dev, research, main].map((c) => c?.close()));
  await daemon?.destroy();
});

describe('sending and reading', () => {
  it('writes the recipient\'s and the sender\'s copy before it returns, and commits them as the sender', async () => {
    const sent = await call(dev, 'send_message', { to: ['research'], subject: 'Benchmarks', body: 'Could you compare **MiniSearch** and FlexSearch?' });
    expect(sent).toMatchObject({ duplicate: false, thread: sent.id, recipients: [{ bot: 'research', live: false }] });
    expect(sent.id).toMatch(/^\d{8}T\d{9}Z-dev-\d{3}$/);

    const inbox = readFileSync(path.join(daemon.home, `mail/research/inbox/${sent.id}.md`), 'utf8');
    expect(inbox).toContain('from: dev');
    expect(inbox).toContain('subject: Benchmarks');
    expect(inbox).toContain('Could you compare **MiniSearch** and FlexSearch?');
    expect(readFileSync(path.join(daemon.home, `mail/dev/sent/${sent.id}.md`), 'utf8')).toBe(inbox);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '--format=%an|%s', '--', 'mail/')).toContain('dev|dev: send "Benchmarks" to research (1 recipient)');

    const read = await call(research, 'read_inbox');
    expect(read.messages).toEqual([
      expect.objectContaining({ id: sent.id, from: 'dev', to: ['research'], thread: sent.id, subject: 'Benchmarks', priority: 'normal', status: 'unread', body: 'Could you compare **MiniSearch** and FlexSearch?' }),
    ]);
    expect(read.unread).toBe(0);
    expect((await call(research, 'read_inbox')).messages).toEqual([]);
    expect((await call(research, 'read_inbox', { status: 'all' })).messages.map((m: any) => [m.id, m.status])).toEqual([[sent.id, 'read']]);
    // Reading is not a change to the data: no commit touches the read state.
    expect(git(daemon.home, 'status', '--porcelain')).not.toContain('.roost');
  });

  it('peeks without marking, pages with a cursor, and filters', async () => {
    const ids: string[] = [];
    for (const [i, priority] of (['low', 'normal', 'high', 'urgent'] as const).entries()) {
      ids.push((await call(main, 'send_message', { to: ['dev'], subject: `status ${i}`, body: `report number ${i}`, priority })).id);
    }
    const first = await call(dev, 'read_inbox', { peek: true, limit: 3 });
    expect(first.messages.map((m: any) => m.id)).toEqual(ids.slice(0, 3));
    const second = await call(dev, 'read_inbox', { peek: true, limit: 3, cursor: first.next_cursor });
    expect(second.messages.map((m: any) => m.id)).toEqual([ids[3]]);
    expect(second.next_cursor).toBeUndefined();
    expect(second.unread).toBe(4);

    expect((await call(dev, 'read_inbox', { peek: true, priority: 'high' })).messages.map((m: any) => m.id)).toEqual(ids.slice(2));
    expect((await call(dev, 'read_inbox', { peek: true, from: 'research' })).messages).toEqual([]);
    expect((await call(dev, 'read_inbox', { peek: true, since: '2999-01-01' })).messages).toEqual([]);
    expect(await callError(dev, 'read_inbox', { since: 'yesterday' })).toMatch(/not a date/);

    expect((await call(dev, 'read_inbox', { from: 'main', limit: 2 })).messages).toHaveLength(2);
    expect((await call(dev, 'read_inbox', { peek: true })).messages.map((m: any) => m.id)).toEqual(ids.slice(2));
  });

  it('acknowledges messages for good, and shows the sender who acknowledged', async () => {
    const sent = await call(main, 'send_message', { to: ['dev', 'research'], subject: 'Freeze', body: 'Code freeze from Friday.', ack_required: true });
    expect(sent.recipients.map((r: any) => r.bot)).toEqual(['dev', 'research']);
    expect(await callError(dev, 'ack_messages', { ids: [sent.id, 'no-such-message'] })).toMatch(/Not in your inbox: "no-such-message"/);
    expect((await call(dev, 'read_inbox', { status: 'unacked', peek: true })).messages.map((m: any) => m.id)).toContain(sent.id);

    expect(await call(dev, 'ack_messages', { ids: [sent.id] })).toEqual({ acked: [sent.id], already: [] });
    expect(await call(dev, 'ack_messages', { ids: [sent.id] })).toEqual({ acked: [], already: [sent.id] });
    expect((await call(dev, 'read_inbox', { status: 'unacked' })).messages.map((m: any) => m.id)).not.toContain(sent.id);
    expect((await call(dev, 'read_inbox')).messages.map((m: any) => m.id)).not.toContain(sent.id);

    const thread = await call(main, 'get_thread', { thread: sent.id });
    expect(thread.messages).toEqual([expect.objectContaining({ id: sent.id, folder: 'sent', recipients: ['dev', 'research'], acked_by: ['dev'] })]);
  });

  it('threads replies, and refuses a reply that names another thread', async () => {
    const question = await call(dev, 'send_message', { to: ['research'], subject: 'Which index?', body: 'Which search index should we use?' });
    const answer = await call(research, 'send_message', { to: ['dev'], subject: 'Re: Which index?', body: 'MiniSearch: small and fast.', reply_to: question.id });
    expect(answer.thread).toBe(question.id);
    const followUp = await call(dev, 'send_message', { to: ['research'], body: 'Thanks!', reply_to: answer.id });
    expect(followUp.thread).toBe(question.id);

    const fromDev = await call(dev, 'get_thread', { thread: answer.id });
    expect(fromDev.messages.map((m: any) => [m.id, m.folder])).toEqual([
      [question.id, 'sent'],
      [answer.id, 'inbox'],
      [followUp.id, 'sent'],
    ]);
    expect(fromDev.messages[1]).toMatchObject({ from: 'research', reply_to: question.id, body: 'MiniSearch: small and fast.' });
    expect(fromDev.messages[2].subject).toBe('Thanks!');
    const page = await call(research, 'get_thread', { thread: question.id, limit: 2 });
    expect(page.messages).toHaveLength(2);
    expect((await call(research, 'get_thread', { thread: question.id, cursor: page.next_cursor })).messages.map((m: any) => m.id)).toEqual([followUp.id]);

    const before = mailFiles(daemon.home);
    expect(await callError(dev, 'send_message', { to: ['research'], body: 'x', reply_to: answer.id, thread: 'another-thread' })).toMatch(/is in thread/);
    expect(await callError(dev, 'get_thread', { thread: 'nothing-here' })).toMatch(/No messages of thread/);
    expect(mailFiles(daemon.home)).toEqual(before);
  });

  it('searches the caller\'s own mail only', async () => {
    await call(main, 'send_message', { to: ['research'], subject: 'Paper', body: 'Read the paper about transformers and attention.' });
    const found = await call(research, 'search_messages', { query: 'transformer' });
    expect(found.results[0]).toMatchObject({ from: 'main', subject: 'Paper', folder: 'inbox' });
    expect(found.results[0].snippet).toContain('transformers');
    expect((await call(main, 'search_messages', { query: 'attenton', folder: 'sent' })).total).toBe(1);
    expect((await call(dev, 'search_messages', { query: 'transformers' })).total).toBe(0);
    expect(await callError(dev, 'search_messages', { query: ' ' })).toMatch(/query is empty/);
  });

  it('returns the first message for a retried idempotency key, and refuses the key for other content', async () => {
    const request = { to: ['research'], subject: 'Once', body: 'Exactly once, please.', idempotency_key: 'req-42' };
    const first = await call(dev, 'send_message', request);
    const again = await call(dev, 'send_message', request);
    expect(again).toMatchObject({ id: first.id, duplicate: true, recipients: [{ bot: 'research', live: false }] });
    const copies = mailFiles(daemon.home).filter((f) => f.includes(first.id.slice(0, 19)) && f.startsWith('mail/research/inbox/'));
    expect(copies).toEqual([`mail/research/inbox/${first.id}.md`]);
    expect(await callError(dev, 'send_message', { ...request, body: 'Something else' })).toMatch(/already used for message .* with different content/);
    // Keys belong to their sender.
    expect((await call(main, 'send_message', request)).duplicate).toBe(false);
  });

  it('also delivers into live sessions, and keeps the message when live delivery fails', async () => {
    delivery.live.add('research');
    delivery.failing.add('main');
    const sent = await call(dev, 'send_message', { to: ['research', 'main'], subject: 'Live', body: 'Are you there?', priority: 'high' });
    expect(sent.recipients).toEqual([
      { bot: 'research', live: true, session: 'agent:research:main' },
      { bot: 'main', live: false, reason: expect.stringMatching(/live delivery failed \(the gateway is unreachable\)/) },
    ]);
    expect(delivery.calls.filter((c) => c.message.id === sent.id)).toEqual([
      { bot: 'research', message: expect.objectContaining({ id: sent.id, from: 'dev', subject: 'Live', body: 'Are you there?', priority: 'high', thread: sent.id }) },
      { bot: 'main', message: expect.objectContaining({ id: sent.id }) },
    ]);
    expect(existsSync(path.join(daemon.home, `mail/main/inbox/${sent.id}.md`))).toBe(true);
    expect((await call(main, 'read_inbox', { peek: true, from: 'dev' })).messages.map((m: any) => m.id)).toContain(sent.id);
    delivery.live.clear();
    delivery.failing.clear();
  });

  it('takes the sender from the connection, never from the arguments', async () => {
    const before = mailFiles(daemon.home);
    expect(await callError(dev, 'send_message', { to: ['research'], body: 'hi', from: 'main' })).toMatch(/from/);
    expect(mailFiles(daemon.home)).toEqual(before);
    const asDev = await httpClient(daemon.url, daemon.tokens.dev, { 'x-roost-bot': 'main' }).catch((error: Error) => error);
    expect(asDev).toBeInstanceOf(Error);
  });
});

describe('hand edits', () => {
  it('drops a message deleted by hand from the inbox', async () => {
    const sent = await call(main, 'send_message', { to: ['research'], subject: 'Temporary', body: 'delete me by hand' });
    expect((await call(research, 'read_inbox', { peek: true })).messages.map((m: any) => m.id)).toContain(sent.id);
    unlinkSync(path.join(daemon.home, `mail/research/inbox/${sent.id}.md`));
    await eventually(async () => !(await call(research, 'read_inbox', { status: 'all' })).messages.some((m: any) => m.id === sent.id));
    const file = `mail/research/inbox/${sent.id}.md`;
    await eventually(() => git(daemon.home, 'ls-tree', '-r', '--name-only', 'HEAD', '--', file) === '' && git(daemon.home, 'status', '--porcelain', '--', 'mail/') === '');
  });
});

describe('waiting and subscriptions', () => {
  it('wakes wait_for_messages when a matching message arrives, with progress while it waits', async () => {
    await call(research, 'read_inbox', { limit: 100 });
    const progress: Progress[] = [];
    const waiting = research.callTool({ name: 'wait_for_messages', arguments: { from: 'main', timeout_seconds: 30 } }, undefined, {
      onprogress: (p) => progress.push(p),
    }) as Promise<CallToolResult>;
    await eventually(() => progress.length > 0);
    const other = await call(dev, 'send_message', { to: ['research'], body: 'not the one you wait for' });
    const awaited = await call(main, 'send_message', { to: ['research'], subject: 'Wake up', body: 'Here it is.' });
    const result = (await waiting).structuredContent as any;
    expect(result.timed_out).toBe(false);
    expect(result.messages.map((m: any) => m.id)).toEqual([awaited.id]);
    expect(progress[0]).toMatchObject({ progress: 0, total: 30_000 });
    // The other message stays unread.
    expect((await call(research, 'read_inbox', { peek: true })).messages.map((m: any) => m.id)).toEqual([other.id]);
  });

  it('returns at once when a matching unread message is already there, and times out cleanly otherwise', async () => {
    const listeners = daemon.roost.events.listenerCount('activity');
    const ready = await call(research, 'wait_for_messages', { timeout_seconds: 5 });
    expect(ready.timed_out).toBe(false);
    expect(ready.messages.length).toBeGreaterThan(0);

    const started = Date.now();
    expect(await call(research, 'wait_for_messages', { timeout_seconds: 1 })).toEqual({ messages: [], unread: 0, timed_out: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(daemon.roost.events.listenerCount('activity')).toBe(listeners);
  });

  it('stops waiting when the client cancels the request', async () => {
    const listeners = daemon.roost.events.listenerCount('activity');
    const controller = new AbortController();
    const waiting = research.callTool({ name: 'wait_for_messages', arguments: { timeout_seconds: 60 } }, undefined, { signal: controller.signal });
    await eventually(() => daemon.roost.events.listenerCount('activity') === listeners + 1);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    await eventually(() => daemon.roost.events.listenerCount('activity') === listeners);
  });

  it('notifies a subscribed client when its inbox or a topic gets a message', async () => {
    const updated: string[] = [];
    research.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await research.subscribeResource({ uri: 'roost://inbox' });
    await research.subscribeResource({ uri: 'roost://topics/dev' });
    await expect(research.subscribeResource({ uri: 'roost://topics/no-such-topic' })).rejects.toThrow(/Cannot subscribe/);

    await call(main, 'send_message', { to: ['research'], body: 'ping' });
    await eventually(() => updated.includes('roost://inbox'));
    await call(main, 'send_message', { to: ['#dev'], body: 'to the dev topic' });
    await eventually(() => updated.includes('roost://topics/dev'));

    const inbox = JSON.parse(((await research.readResource({ uri: 'roost://inbox' })).contents[0] as { text: string }).text);
    expect(inbox.newest_unread[0]).toMatchObject({ from: 'main', subject: 'ping' });
    const topic = JSON.parse(((await research.readResource({ uri: 'roost://topics/dev' })).contents[0] as { text: string }).text);
    expect(topic).toMatchObject({ name: 'dev', members: ['dev'], latest: [expect.objectContaining({ body: 'to the dev topic' })] });

    await research.unsubscribeResource({ uri: 'roost://inbox' });
    await research.unsubscribeResource({ uri: 'roost://topics/dev' });
    const seen = updated.length;
    await call(main, 'send_message', { to: ['research'], body: 'quiet now' });
    await new Promise((r) => setTimeout(r, 200));
    expect(updated).toHaveLength(seen);
  });
});
