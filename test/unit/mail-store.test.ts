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

const LOG = '.roost/writes';

it('finishes the posts a crash interrupted: a copy missing or cut short is written again', async () => {
  const root = tempDir();
  const vault = new Vault(root);
  await vault.open(join(root, LOG));
  const mailbox = new FileMailbox(vault);
  const posts = [message(1), message(2)];
  await Promise.all(posts.map((m) => mailbox.post(m)));
  // The process dies here: the copies are acknowledged but their background fsync has not run.
  const crashed = tempDir();
  cpSync(root, crashed, { recursive: true });
  await vault.close();

  const [first, second] = posts.map(copiesOf);
  truncateSync(join(crashed, first[0]), 0);
  const after = new Vault(crashed);
  expect(await after.open(join(crashed, LOG))).toEqual([first[0]]);
  for (const copy of [...first, ...second]) expect(readFileSync(join(crashed, copy), 'utf8')).toContain('Body of message');
  await after.close();

  // Once finished, nothing is redone at the next start.
  const again = new Vault(crashed);
  expect(await again.open(join(crashed, LOG))).toEqual([]);
  await again.close();
});

it('closes the records of a clean run: nothing to finish at the next start', async () => {
  const root = tempDir();
  const vault = new Vault(root);
  await vault.open(join(root, LOG));
  await Promise.all(Array.from({ length: 50 }, (_, i) => new FileMailbox(vault).post(message(i, ['research']))));
  await vault.close();
  const next = new Vault(root);
  expect(await next.open(join(root, LOG))).toEqual([]);
  await next.close();
});

it('removes journal segments oldest first, once every change in them and before them is finished', async () => {
  const dir = join(tempDir(), 'journal');
  const journal = new WriteAheadLog<Message>(dir, 600);
  await journal.open();
  const posts = Array.from({ length: 12 }, (_, i) => message(i));
  for (const m of posts) await journal.begin(m);
  const written = segments(dir);
  expect(written.length).toBeGreaterThan(3);

  await journal.end(posts.slice(1).map((m) => m.id));
  await journal.begin(message(99)); // writes to the newest segment, after the removals queued before it
  // The first segment still holds post 0, under way: it and every segment after it stay, so the log keeps the order of changes.
  expect(segments(dir).slice(0, written.length)).toEqual(written);
  await journal.end([posts[0].id]);
  await journal.begin(message(100));
  // Only the segments from the one holding post 99 (under way) on are left.
  expect(segments(dir).filter((name) => written.slice(0, -1).includes(name))).toEqual([]);
  await journal.close();

  const reopened = new WriteAheadLog<Message>(dir, 600);
  const found = await reopened.open();
  expect(found.filter((entry) => !entry.finished).map((entry) => entry.record.id).sort()).toEqual([message(100).id, message(99).id].sort());
  await reopened.clear();
  await reopened.close();
  expect(segments(dir)).toHaveLength(1);
});
