import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, httpClient, RecordingDelivery, startTestDaemon, type TestDaemon } from '../helpers.js';

// Messages arrive in the order they were sent, per sender and recipient: in the inbox, in live
// delivery, and again after a restart.
let daemon: TestDaemon;
const delivery = new RecordingDelivery();
const clients: Client[] = [];
const connect = async (bot: string) => {
  const client = await httpClient(daemon.url, daemon.tokens[bot]);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  daemon = await startTestDaemon({ delivery });
  delivery.live.add('research');
  await call(await connect('main'), 'create_topic', { name: 'order', members: ['dev', 'research'] });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await daemon?.destroy();
});

/** The bodies of research's messages from dev, oldest first, as read_inbox lists them. */
async function inbox(research: Client): Promise<string[]> {
  const bodies: string[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await call(research, 'read_inbox', { status: 'all', from: 'dev', peek: true, limit: 100, ...(cursor ? { cursor } : {}) });
    bodies.push(...page.messages.map((m: { body: string }) => m.body));
    cursor = page.next_cursor;
    if (!cursor) return bodies;
  }
}

const liveToResearch = () => delivery.calls.filter((c) => c.bot === 'research').map((c) => c.message.body);

it('keeps one sender\'s messages in sending order, direct and by topic, live and after a restart', async () => {
  const dev = await connect('dev');
  const bodies = Array.from({ length: 20 }, (_, n) => `sequence ${n}`);
  for (const [n, body] of bodies.entries()) await call(dev, 'send_message', { to: n % 2 ? ['#order'] : ['research'], body });

  expect(await inbox(await connect('research'))).toEqual(bodies);
  expect(liveToResearch()).toEqual(bodies);

  await daemon.stop();
  daemon = await startTestDaemon({ home: daemon.home, delivery });
  expect(await inbox(await connect('research'))).toEqual(bodies);
});

it('keeps the order of concurrent sends from several connections of one sender, as acknowledged', async () => {
  const research = await connect('research');
  const before = (await inbox(research)).length;
  delivery.calls.length = 0;
  const senders = await Promise.all([0, 1, 2, 3].map(() => connect('dev')));
  const acknowledged: Array<{ id: string; body: string }> = [];
  await Promise.all(
    senders.map(async (sender, s) => {
      for (let n = 0; n < 10; n++) {
        const body = `connection ${s} message ${n}`;
        const sent = await call(sender, 'send_message', { to: n % 3 ? ['research'] : ['#order'], body });
        acknowledged.push({ id: sent.id, body });
      }
    }),
  );
  // The inbox lists them in the order of their ids, which is the order they were sent in.
  const inOrder = [...acknowledged].sort((a, b) => (a.id < b.id ? -1 : 1)).map((m) => m.body);
  const listed = (await inbox(research)).slice(before);
  expect(listed).toEqual(inOrder);
  expect(liveToResearch()).toEqual(inOrder);
  // Each connection's own messages keep the order it sent them in.
  for (let s = 0; s < 4; s++) {
    expect(listed.filter((body) => body.startsWith(`connection ${s} `))).toEqual(Array.from({ length: 10 }, (_, n) => `connection ${s} message ${n}`));
  }
});
