import { expect, it } from 'vitest';
import { INDEX_IDLE_MS, Mailbox } from '../../src/core/mailbox.js';
import type { Folder, Message } from '../../src/core/message.js';

const message = (n: number, body: string): Message => ({
  id: `20261203T1200000${String(n).padStart(2, '0')}Z-dev-000`,
  from: 'dev',
  to: ['research'],
  recipients: ['research'],
  thread: `t${n}`,
  subject: `message ${n}`,
  created: '2026-12-03T12:00:00.000Z',
  priority: 'normal',
  ack_required: false,
  body,
});

it('searches its mail with an index it drops when idle and builds again from the files, with what arrived meanwhile', async () => {
  const files = new Map<string, Message>();
  const box = new Mailbox();
  const put = (folder: Folder, m: Message) => {
    files.set(`${folder}/${m.id}`, m);
    box.put(folder, m);
  };
  const read = async (folder: Folder, id: string) => files.get(`${folder}/${id}`) ?? null;
  const search = async (query: string) => (await box.search(query, () => true, read)).map((hit) => `${hit.folder}/${hit.meta.id}`).sort();

  put('inbox', message(1, 'the deploy window is friday'));
  put('sent', message(2, 'deploy notes attached'));
  expect(await search('deploy')).toEqual([`inbox/${message(1, '').id}`, `sent/${message(2, '').id}`]);

  box.dropIdleIndex(Date.now() + INDEX_IDLE_MS);
  put('inbox', message(3, 'a late deploy question'));
  box.remove('sent', message(2, '').id);
  expect(await search('deploy')).toEqual([`inbox/${message(1, '').id}`, `inbox/${message(3, '').id}`]);

  // Used recently: kept, and messages put now go straight into it.
  box.dropIdleIndex();
  put('inbox', message(4, 'deploy done'));
  expect(await search('deploy')).toHaveLength(3);
});

it('answers searches that come while its index is being built with every message', async () => {
  const box = new Mailbox();
  const files = new Map<string, Message>();
  for (let n = 1; n <= 5; n++) {
    const m = message(n, `deploy step ${n}`);
    files.set(`inbox/${m.id}`, m);
    box.put('inbox', m);
  }
  box.dropIdleIndex(Date.now() + INDEX_IDLE_MS);
  // A read that takes a turn of the event loop, as a file's stat can.
  const read = (folder: Folder, id: string) => new Promise<Message | null>((resolve) => setImmediate(() => resolve(files.get(`${folder}/${id}`) ?? null)));
  const [first, second] = await Promise.all([box.search('deploy', () => true, read), box.search('deploy', () => true, read)]);
  expect(first).toHaveLength(5);
  expect(second).toHaveLength(5);
});

it('tokenizes mail as notes are: words in backticks, identifiers by their parts, words without diacritics', async () => {
  const box = new Mailbox();
  const files = new Map<string, Message>();
  const bodies = ['set `cacheDir` before the run', 'die Überprüfung ist fertig', 'nothing to see'];
  bodies.forEach((body, n) => {
    const m = message(n + 1, body);
    files.set(`inbox/${m.id}`, m);
    box.put('inbox', m);
  });
  const search = async (query: string) =>
    (await box.search(query, () => true, async (folder, id) => files.get(`${folder}/${id}`) ?? null)).map((hit) => hit.meta.id);
  expect(await search('cachedir')).toEqual([message(1, '').id]);
  expect((await search('cache dir'))[0]).toBe(message(1, '').id);
  expect(await search('uberprufung')).toEqual([message(2, '').id]);
});
