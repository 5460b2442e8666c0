import { cpSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { WriteAheadLog } from '../../src/core/write-ahead-log.js';
import { copiesOf, FileMailbox } from '../../src/core/mail-store.js';
import type { Message } from '../../src/core/message.js';
import { Vault } from '../../src/core/vault.js';
import { tempDir } from '../helpers.js';

const message = (n: number, recipients = ['research', 'ops']): Message => ({
  id: `20261203T120000${String(n).padStart(3, '0')}Z-dev-000`,
  from: 'dev',
  to: [...recipients],
  recipients,
  thread: `t${n}`,
  subject: `message ${n}`,
  created: '2026-12-03T12:00:00.000Z',
  priority: 'normal',
  ack_required: false,
  body: `Body of message ${n}.\n`,
});

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort((a, b) => Number(/\d+/.exec(a)) - Number(/\d+/.exec(b)));

it('finishes the posts a crash interrupted: a copy missing or cut short is written again', async () => {
  const root = tempDir();
  const mailbox = new FileMailbox(new Vault(root), join(root, '.roost', 'mail', 'journal'));
  expect(await mailbox.recover()).toEqual([]);
  const posts = [message(1), message(2)];
  await Promise.all(posts.map((m) => mailbox.post(m)));
  // The process dies here: the copies are acknowledged but their background fsync has not run.
  const crashed = tempDir();
  cpSync(root, crashed, { recursive: true });
  await mailbox.close();

  const [first, second] = posts.map(copiesOf);
  truncateSync(join(crashed, first[0]), 0);
  const after = new FileMailbox(new Vault(crashed), join(crashed, '.roost', 'mail', 'journal'));
  const recovered = await after.recover();
  expect(recovered.map((r) => r.message.id).sort()).toEqual(posts.map((m) => m.id));
  expect(recovered.find((r) => r.message.id === posts[0].id)!.written).toEqual([first[0]]);
  expect(recovered.find((r) => r.message.id === posts[1].id)!.written).toEqual([]);
  for (const copy of [...first, ...second]) expect(readFileSync(join(crashed, copy), 'utf8')).toContain('Body of message');
  await after.close();

  // Once finished, nothing is redone at the next start.
  const again = new FileMailbox(new Vault(crashed), join(crashed, '.roost', 'mail', 'journal'));
  expect(await again.recover()).toEqual([]);
  await again.close();
});

it('closes the records of a clean run: nothing to finish at the next start', async () => {
  const root = tempDir();
  const dir = join(root, '.roost', 'mail', 'journal');
  const mailbox = new FileMailbox(new Vault(root), dir);
  await mailbox.recover();
  await Promise.all(Array.from({ length: 50 }, (_, i) => mailbox.post(message(i, ['research']))));
  await mailbox.close();
  const next = new FileMailbox(new Vault(root), dir);
  expect(await next.recover()).toEqual([]);
  await next.close();
});

it('removes a journal segment once every post in it is finished, and keeps one with a post under way', async () => {
  const dir = join(tempDir(), 'journal');
  const journal = new WriteAheadLog<Message>(dir, 600);
  await journal.open();
  const posts = Array.from({ length: 12 }, (_, i) => message(i));
  for (const m of posts) await journal.begin(m);
  const written = segments(dir);
  expect(written.length).toBeGreaterThan(3);

  await journal.end(posts.slice(1).map((m) => m.id));
  await journal.begin(message(99)); // writes to the newest segment, after the removals queued before it
  // The first segment still holds post 0, under way; the full ones after it are finished and gone.
  const left = segments(dir);
  expect(left).toHaveLength(2);
  expect(left[0]).toBe(written[0]);
  await journal.close();

  const reopened = new WriteAheadLog<Message>(dir, 600);
  expect((await reopened.open()).map((m) => m.id).sort()).toEqual([posts[0].id, message(99).id]);
  await reopened.clear();
  await reopened.close();
  expect(segments(dir)).toHaveLength(1);
});
