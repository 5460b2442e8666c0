import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { call, type DaemonProcess, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

type Status = 'unread' | 'read' | 'acked';

/** Every message of the inbox with its state, read without marking anything. */
async function statuses(client: Client): Promise<Record<string, Status>> {
  const out: Record<string, Status> = {};
  for (let cursor: string | undefined; ; ) {
    const page = await call(client, 'read_inbox', { status: 'all', peek: true, limit: 100, ...(cursor ? { cursor } : {}) });
    for (const m of page.messages) out[m.id] = m.status;
    cursor = page.next_cursor;
    if (!cursor) return out;
  }
}

const ids = async (client: Client, status: 'unread' | 'unacked') =>
  (await call(client, 'read_inbox', { status, peek: true, limit: 100 })).messages.map((m: { id: string }) => m.id).sort();

describe('read and acknowledged state', () => {
  const home = tempDir('roost-mail-state-');
  let daemon: DaemonProcess | undefined;
  afterAll(async () => {
    await daemon?.kill();
  });
  const connect = (bot: string) => httpClient(daemon!.url, OPERATOR_TOKEN, { 'x-roost-bot': bot });

  it('survives a clean restart and a kill -9: read stays read, acknowledged stays acknowledged, unread stays unread', { timeout: 120_000 }, async () => {
    daemon = await startDaemonProcess(home);
    let [main, dev] = await Promise.all([connect('main'), connect('dev')]);
    const sent: string[] = [];
    for (let i = 0; i < 9; i++) sent.push((await call(main, 'send_message', { to: ['dev'], subject: `m${i}`, body: `message ${i}`, ack_required: true })).id);

    // 0-2 read (by reading them), 3-4 read and then acknowledged, 5 acknowledged without reading, 6-8 untouched.
    expect((await call(dev, 'read_inbox', { limit: 3 })).messages.map((m: { id: string }) => m.id)).toEqual(sent.slice(0, 3));
    expect((await call(dev, 'read_inbox', { limit: 2 })).messages.map((m: { id: string }) => m.id)).toEqual(sent.slice(3, 5));
    expect(await call(dev, 'ack_messages', { ids: sent.slice(3, 6) })).toEqual({ acked: sent.slice(3, 6), already: [] });
    const expected: Record<string, Status> = Object.fromEntries(sent.map((id, i) => [id, i < 3 ? 'read' : i < 6 ? 'acked' : 'unread']));
    expect(await statuses(dev)).toEqual(expected);

    const check = async () => {
      expect(await statuses(dev)).toEqual(expected);
      const unread = Object.keys(expected).filter((id) => expected[id] === 'unread').sort();
      expect(await ids(dev, 'unread')).toEqual(unread);
      expect(await ids(dev, 'unacked')).toEqual(Object.keys(expected).filter((id) => expected[id] !== 'acked').sort());
      expect((await call(dev, 'read_inbox', { peek: true })).unread).toBe(unread.length);
      // The sender sees who acknowledged.
      for (const id of Object.keys(expected)) {
        const { messages } = await call(main, 'get_thread', { thread: id });
        expect(messages[0].acked_by, id).toEqual(expected[id] === 'acked' ? ['dev'] : []);
      }
    };

    // A clean stop and start.
    await Promise.all([main.close(), dev.close()]);
    await daemon.stop();
    daemon = await startDaemonProcess(home);
    [main, dev] = await Promise.all([connect('main'), connect('dev')]);
    await check();

    // Change more, then kill -9 the moment the last change is acknowledged.
    expect((await call(dev, 'read_inbox', { limit: 1 })).messages.map((m: { id: string }) => m.id)).toEqual([sent[6]]);
    expected[sent[6]] = 'read';
    await call(dev, 'ack_messages', { ids: [sent[0], sent[7]] });
    expected[sent[0]] = 'acked';
    expected[sent[7]] = 'acked';
    await daemon.kill();
    await Promise.all([main.close().catch(() => undefined), dev.close().catch(() => undefined)]);
    daemon = await startDaemonProcess(home);
    [main, dev] = await Promise.all([connect('main'), connect('dev')]);
    await check();
    expect(Object.values(expected).filter((s) => s === 'unread')).toHaveLength(1);

    // And once more after a kill with nothing in flight: compacting the state at start lost nothing.
    await daemon.kill();
    await Promise.all([main.close().catch(() => undefined), dev.close().catch(() => undefined)]);
    daemon = await startDaemonProcess(home);
    [main, dev] = await Promise.all([connect('main'), connect('dev')]);
    await check();
    await Promise.all([main.close(), dev.close()]);
  });
});

describe('what mail commits', () => {
  let daemon: TestDaemon;
  afterAll(async () => {
    await daemon?.destroy();
  });

  const commits = () => Number(git(daemon.home, 'rev-list', '--count', 'HEAD').trim());
  /** Waits for queued commits and git's index, so a count taken now is final. */
  const settled = async () => {
    await daemon.roost.history.flush();
    await eventually(() => git(daemon.home, 'status', '--porcelain') === '', 15_000);
  };

  it('reading, peeking, acknowledging, threads, search and topic history commit nothing; sends are committed in groups, by their sender', { timeout: 120_000 }, async () => {
    daemon = await startTestDaemon({ mailLimits: { sendBurst: 1000 } });
    const [main, dev, research] = await Promise.all(['main', 'dev', 'research'].map((b) => httpClient(daemon.url, daemon.tokens[b])));
    await call(main, 'create_topic', { name: 'quiet', members: ['main', 'dev', 'research'] });
    const first = await call(main, 'send_message', { to: ['dev', 'research'], subject: 'Plan', body: 'the zebra plan', ack_required: true });
    await call(dev, 'send_message', { to: ['#quiet'], body: 'zebra answer', reply_to: first.id });
    await settled();

    const before = commits();
    const head = git(daemon.home, 'rev-parse', 'HEAD').trim();
    for (const reader of [dev, research]) {
      await call(reader, 'read_inbox', { peek: true });
      await call(reader, 'read_inbox', {});
      await call(reader, 'read_inbox', { status: 'all' });
      await call(reader, 'ack_messages', { ids: [first.id] });
      await call(reader, 'get_thread', { thread: first.thread });
      await call(reader, 'search_messages', { query: 'zebra' });
      await call(reader, 'topic_history', { topic: 'quiet' });
    }
    expect((await call(dev, 'get_thread', { thread: first.id })).messages.length).toBe(2);
    expect((await call(main, 'get_thread', { thread: first.id })).messages.find((m: { id: string }) => m.id === first.id).acked_by).toEqual(['dev', 'research']);
    await new Promise((r) => setTimeout(r, 300)); // longer than the commit window
    await settled();
    expect(commits()).toBe(before);
    expect(git(daemon.home, 'log', '--format=%an: %s', `${head}..HEAD`)).toBe('');

    // Many sends at once, from two senders: fewer commits than messages, each by the bot that sent what it holds.
    const N = 40;
    const senders: Array<[string, Client, string]> = [['dev', dev, 'research'], ['research', research, 'dev']];
    const sent = await Promise.all(
      senders.flatMap(([, client, to]) => Array.from({ length: N }, (_, i) => call(client, 'send_message', { to: [to], body: `burst ${i}` }))),
    );
    await settled();
    const added = commits() - before;
    expect(added).toBeGreaterThanOrEqual(2);
    expect(added).toBeLessThan(sent.length);
    // `git log -- mail/` names the sender as the author of every commit of these messages, and only its own messages are in it.
    const log = git(daemon.home, 'log', '--format=@%an', '--name-only', `${head}..HEAD`, '--', 'mail/');
    const byAuthor = new Map<string, string[]>();
    for (const block of log.split('@').filter(Boolean)) {
      const [author, ...files] = block.trim().split('\n').filter(Boolean);
      byAuthor.set(author, [...(byAuthor.get(author) ?? []), ...files]);
      for (const file of files) expect(file, `${file} committed by ${author}`).toMatch(new RegExp(`^mail/(dev|research)/(inbox|sent)/[^/]+-${author}-\\d+\\.md$`));
    }
    expect([...byAuthor.keys()].sort()).toEqual(['dev', 'research']);
    for (const [bot] of senders) expect(byAuthor.get(bot)!.filter((f) => f.includes('/sent/'))).toHaveLength(N);
    expect(byAuthor.get('dev')!.length + byAuthor.get('research')!.length).toBe(4 * N);
    await Promise.all([main, dev, research].map((c) => c.close()));
  });
});
