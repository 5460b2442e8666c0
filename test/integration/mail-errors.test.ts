import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, callError, httpClient, mailFiles, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
let dev: Client;
let research: Client;
let main: Client;

beforeAll(async () => {
  daemon = await startTestDaemon({ mailLimits: { maxBodyBytes: 1000, maxRecipients: 2, sendBurst: 20, sendsPerSecond: 0.05 } });
  [dev, research, main] = await Promise.all(['dev', 'research', 'main'].map((bot) => httpClient(daemon.url, daemon.tokens[bot])));
  await call(main, 'create_topic', { name: 'leads', members: ['main'], post_policy: 'members' });
  await call(main, 'create_topic', { name: 'old' });
  await call(main, 'archive_topic', { topic: 'old' });
  await call(main, 'create_topic', { name: 'crowd', members: ['main', 'dev', 'research', 'monitoring'] });
  const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
  await call(operator, 'register_bot', { id: 'gone', kind: 'task' });
  await call(operator, 'retire_bot', { id: 'gone' });
  await operator.close();
});

afterAll(async () => {
  await Promise.all([dev, research, main].map((c) => c?.close()));
  await daemon?.destroy();
});

/** Each refused send names the problem and how to fix it, and writes nothing for anyone. */
it.each([
  ['an unknown bot among good ones', { to: ['research', 'reserch'], body: 'hi' }, /Nothing was sent: there is no bot "reserch" \(call list_bots/],
  ['an unknown topic', { to: ['research', '#opps'], body: 'hi' }, /there is no topic "#opps" \(call list_topics\)/],
  ['no recipient', { to: [], body: 'hi' }, /"to" is empty/],
  ['an empty body', { to: ['research'], body: '' }, /The body is empty/],
  ['a blank body', { to: ['research'], body: ' \n\t ' }, /The body is empty/],
  ['an oversized body', { to: ['research'], body: 'x'.repeat(1001) }, /The body is 1001 bytes; the limit is 1000: shorten it, or write the details to a shared note/],
  ['a members-only topic', { to: ['research', '#leads'], body: 'hi' }, /only members post to "#leads": call subscribe_topic first/],
  ['an archived topic', { to: ['#old'], body: 'hi' }, /"#old" is archived/],
  ['two topics', { to: ['#crowd', '#dev'], body: 'hi' }, /a message goes to one topic at most/],
  ['too many recipients', { to: ['research', 'main', 'monitoring'], body: 'hi' }, /would reach 3 bots; the limit is 2/],
  ['a topic with too many members', { to: ['#crowd'], body: 'hi' }, /would reach 3 bots; the limit is 2/],
  ['a retired bot', { to: ['gone'], body: 'hi' }, /"gone" is retired/],
  ['a subject on two lines', { to: ['research'], subject: 'a\nb', body: 'hi' }, /subject has a line break/],
  ['a subject split by a Unicode line separator', { to: ['research'], subject: 'a\u2028b', body: 'hi' }, /subject has a line break/],
  ['a reply to an unknown message', { to: ['research'], body: 'hi', reply_to: '20260101T000000000Z-main-000' }, /reply_to .* is not a message in your inbox or sent mail/],
  ['a malformed thread', { to: ['research'], body: 'hi', thread: '../../etc' }, /not a valid thread id/],
  ['an empty idempotency key', { to: ['research'], body: 'hi', idempotency_key: '' }, /idempotency_key must be 1-200 characters/],
  ['a priority that does not exist', { to: ['research'], body: 'hi', priority: 'critical' }, /priority/],
])('refuses %s and sends nothing to anyone', async (_name, args, message) => {
  const before = mailFiles(daemon.home);
  expect(await callError(dev, 'send_message', args)).toMatch(message);
  expect(mailFiles(daemon.home)).toEqual(before);
});

it('refuses sends past the rate limit, saying when to retry, and sends nothing', async () => {
  const sent: string[] = [];
  let refusal = '';
  // research has sent nothing yet: its bucket holds 20 sends, refilled by one every 20 s.
  for (let i = 0; i < 25 && !refusal; i++) {
    const result = (await research.callTool({ name: 'send_message', arguments: { to: ['dev'], body: `burst ${i}` } })) as any;
    if (result.isError) refusal = result.content[0].text;
    else sent.push(result.structuredContent.id);
  }
  expect(sent).toHaveLength(20);
  expect(refusal).toMatch(/sending faster than allowed \(20 at once, then 0.05 per second\): retry in 1?\d\.\d s\. Nothing was sent\./);
  const files = mailFiles(daemon.home).filter((f) => f.startsWith('mail/dev/inbox/') && f.includes('-research-'));
  expect(files).toHaveLength(20);
  // Other bots have their own allowance.
  await call(main, 'send_message', { to: ['dev'], body: 'still fine' });
});
