import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Caller, OPERATOR } from '../../src/core/access.js';
import { noneOnly } from '../../src/core/agent-runtime.js';
import { NoteCatalogue } from '../../src/core/catalogue.js';
import { inboxOnly } from '../../src/core/delivery.js';
import { UserError } from '../../src/core/errors.js';
import { RoostEvents } from '../../src/core/events.js';
import { History } from '../../src/core/history.js';
import { DEFAULT_MAIL_LIMITS, Mail } from '../../src/core/mail.js';
import { Memory } from '../../src/core/memory.js';
import { changeAllowance } from '../../src/core/rate-limit.js';
import { Registry } from '../../src/core/registry.js';
import { SearchIndex } from '../../src/core/search/index.js';
import { Sessions } from '../../src/core/sessions.js';
import { Tasks } from '../../src/core/tasks/lifecycle.js';
import { TaskFiles } from '../../src/core/tasks/store.js';
import { Tokens } from '../../src/core/tokens.js';
import { Topics } from '../../src/core/topics.js';
import { Vault } from '../../src/core/vault.js';
import { tempDir } from '../helpers.js';

/**
 * Registry, Memory, Topics, Mail and Tasks built directly over a temporary data root, in the order
 * the engine builds them, without a daemon: no lock, no watcher, no HTTP.
 */
async function build() {
  const home = tempDir();
  const botsDir = tempDir('roost-bots-');
  const define = (id: string, kind: string, extra = '') => writeFileSync(path.join(botsDir, `${id}.md`), `---\nid: ${id}\nkind: ${kind}\n${extra}---\nThe ${id} bot.\n`);
  define('main', 'main');
  define('dev', 'specialist', 'topics: [dev]\n');
  define('research', 'specialist');
  const stateDir = path.join(home, '.roost');
  mkdirSync(stateDir, { recursive: true });
  const vault = new Vault(home);
  const history = await History.open(home, { windowMs: 10, commitLeftovers: false });
  await vault.open(path.join(stateDir, 'writes'), history);
  const events = new RoostEvents();
  const changes = changeAllowance(1000, 1000);
  const registry = new Registry(vault, history, botsDir, changes);
  await registry.load();
  const memory = new Memory(vault, new SearchIndex(new NoteCatalogue(), path.join(stateDir, 'index')), history, registry, events, changes);
  const topics = new Topics(vault, history, registry, events, changes);
  await topics.load();
  const sessions = new Sessions(registry);
  const mail = new Mail(vault, stateDir, registry, topics, events, sessions, inboxOnly, DEFAULT_MAIL_LIMITS);
  await mail.open();
  const tokens = new Tokens(stateDir);
  const tasks = new Tasks(new TaskFiles(vault, history), registry, tokens, memory, noneOnly, sessions, mail, events);
  await tasks.load();
  const close = async () => {
    await tasks.close();
    await mail.close();
    await history.close();
    await vault.close();
  };
  return { home, registry, memory, topics, mail, tasks, history, close };
}

type Parts = Awaited<ReturnType<typeof build>>;

const main: Caller = { bot: 'main', kind: 'main', operator: false };
const dev: Caller = { bot: 'dev', kind: 'specialist', operator: false };
const research: Caller = { bot: 'research', kind: 'specialist', operator: false };

/** The code of the `UserError` the call is refused with. */
async function refusal(call: () => unknown): Promise<UserError['code']> {
  try {
    await call();
  } catch (error) {
    if (error instanceof UserError) return error.code;
    throw error;
  }
  throw new Error('the call was not refused');
}

let parts: Parts;
beforeEach(async () => {
  parts = await build();
});
afterEach(async () => {
  await parts.close();
});

describe('Registry', () => {
  it('registers a bot for the main bot as a file of the registry, with the main bot as its parent', async () => {
    const bot = await parts.registry.register(main, { id: 'scout', kind: 'specialist', description: 'Looks around.' });
    expect(bot).toMatchObject({ id: 'scout', parent: 'main', source: 'registered', status: 'active' });
    expect(readFileSync(path.join(parts.home, 'registry/scout.md'), 'utf8')).toMatch(/^id: scout$/m);
  });

  it('refuses by code: a specialist registering, another bot changing a profile, anyone retiring the main bot', async () => {
    expect(await refusal(() => parts.registry.register(dev, { id: 'scout', kind: 'specialist' }))).toBe('forbidden');
    expect(await refusal(() => parts.registry.register(main, { id: 'operator', kind: 'specialist' }))).toBe('invalid');
    expect(await refusal(() => parts.registry.register(main, { id: 'dev', kind: 'specialist' }))).toBe('conflict');
    expect(await refusal(() => parts.registry.changeProfile(dev, 'research', { description: 'mine now' }))).toBe('forbidden');
    expect(await refusal(() => parts.registry.retire(dev, 'research'))).toBe('forbidden');
    expect(await refusal(() => parts.registry.retire(OPERATOR, 'main'))).toBe('forbidden');
    expect(await refusal(() => parts.registry.retire(OPERATOR, 'nobody'))).toBe('not_found');
    expect(existsSync(path.join(parts.home, 'registry/scout.md'))).toBe(false);
    expect(parts.registry.require('research')).toMatchObject({ description: '', status: 'active' });
  });

  it('lets a bot retire itself and the operator change any profile', async () => {
    await parts.registry.changeProfile(OPERATOR, 'research', { description: 'Reads papers.' });
    expect(parts.registry.require('research').description).toBe('Reads papers.');
    expect((await parts.registry.retire(research, 'research')).status).toBe('retired');
  });
});

describe('Memory', () => {
  it("writes a note into the caller's own memory on disk, and commits it with the caller as author", async () => {
    const written = await parts.memory.write(dev, 'notes/plan.md', 'Ship on Friday.', { visibility: 'private' });
    expect(written).toMatchObject({ bot: 'dev', path: 'notes/plan.md', created: true });
    expect(readFileSync(path.join(parts.home, 'bots/dev/notes/plan.md'), 'utf8')).toContain('Ship on Friday.');
    await parts.history.flush();
    expect((await parts.history.log('bots/dev/notes/plan.md', { limit: 1, skip: 0 }))[0]).toMatchObject({ author: 'dev' });
  });

  it('hides a private note from another bot as if it did not exist, and shows it to the main bot', async () => {
    await parts.memory.write(dev, 'notes/secret.md', 'Only mine.', { visibility: 'private' });
    await parts.memory.write(dev, 'notes/open.md', 'For all.', { visibility: 'shared' });
    expect(await refusal(() => parts.memory.read(research, 'dev', 'notes/secret.md'))).toBe('not_found');
    expect((await parts.memory.read(research, 'dev', 'notes/open.md')).body).toContain('For all.');
    expect((await parts.memory.read(main, 'dev', 'notes/secret.md')).body).toContain('Only mine.');
    expect(await refusal(() => parts.memory.search(research, 'mine', { scope: 'all', limit: 10, offset: 0 }))).toBe('forbidden');
  });

  it('refuses a stale version by code and leaves the note as it was', async () => {
    const first = await parts.memory.write(dev, 'a.md', 'one', {});
    await parts.memory.write(dev, 'a.md', 'two', {}, first.version);
    expect(await refusal(() => parts.memory.write(dev, 'a.md', 'three', {}, first.version))).toBe('conflict');
    expect(readFileSync(path.join(parts.home, 'bots/dev/a.md'), 'utf8')).toContain('two');
  });
});

describe('Topics', () => {
  it('creates a topic as a file, with its creator as member, and lets only its creator, main or the operator change it', async () => {
    await parts.topics.create(research, 'papers', { description: 'Reading list' });
    const file = readFileSync(path.join(parts.home, 'topics/papers.md'), 'utf8');
    expect(file).toMatch(/created_by: research/);
    expect(parts.topics.require('papers').listed).toEqual(['research']);
    expect(await refusal(() => parts.topics.update(dev, 'papers', { description: 'Mine' }))).toBe('forbidden');
    await parts.topics.update(main, 'papers', { description: 'Everyone reads' });
    expect(parts.topics.require('papers').description).toBe('Everyone reads');
  });

  it("keeps a topic of the bot definitions the operator's, while any bot may subscribe to it", async () => {
    expect(await refusal(() => parts.topics.create(main, 'dev', {}))).toBe('forbidden');
    await parts.topics.subscribe(research, 'dev');
    expect(parts.topics.members(parts.topics.require('dev'))).toEqual(['dev', 'research']);
    expect(existsSync(path.join(parts.home, 'topics/dev.md'))).toBe(true);
  });
});

describe('Mail', () => {
  it("puts a message in the recipient's inbox on disk and in the sender's sent mail", async () => {
    const sent = await parts.mail.send(dev, { to: ['research'], subject: 'Hi', body: 'Read this paper.' });
    expect(readFileSync(path.join(parts.home, `mail/research/inbox/${sent.id}.md`), 'utf8')).toContain('Read this paper.');
    expect(existsSync(path.join(parts.home, `mail/dev/sent/${sent.id}.md`))).toBe(true);
    const inbox = await parts.mail.readInbox(research, { status: 'unread', limit: 10, peek: false });
    expect(inbox.messages.map((m) => m.id)).toEqual([sent.id]);
    expect(inbox.unread).toBe(0);
  });

  it('refuses a post to a members-only topic by a non-member as forbidden, an unknown recipient as invalid, and sends nothing', async () => {
    await parts.topics.create(research, 'quiet', { post_policy: 'members' });
    expect(await refusal(() => parts.mail.send(dev, { to: ['#quiet'], body: 'Let me in.' }))).toBe('forbidden');
    expect(await refusal(() => parts.mail.send(dev, { to: ['nobody'], body: 'Hello?' }))).toBe('invalid');
    expect((await parts.mail.folder(OPERATOR, 'dev', 'sent', undefined, 10)).total).toBe(0);
  });

  it("shows a bot's mailbox to the operator only, a page at a time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await parts.mail.send(dev, { to: ['research'], body: `Message ${i}` })).id);
    expect(await refusal(() => parts.mail.folder(dev, 'research', 'inbox', undefined, 10))).toBe('forbidden');
    const first = await parts.mail.folder(OPERATOR, 'research', 'inbox', undefined, 2);
    expect(first.messages.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    const second = await parts.mail.folder(OPERATOR, 'research', 'inbox', first.next_cursor, 2);
    expect(second.messages.map((m) => m.id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeUndefined();
  });
});

describe('Tasks', () => {
  it('assigns a task as a task file and a message to the worker, and lets only the worker complete it', async () => {
    const { task, message } = await parts.tasks.assign(main, { bot: 'dev', task: 'Fix the build.' });
    expect(readFileSync(path.join(parts.home, `tasks/${task.id}.md`), 'utf8')).toMatch(/^status: running$/m);
    expect(existsSync(path.join(parts.home, `mail/dev/inbox/${message!.id}.md`))).toBe(true);

    expect(await refusal(() => parts.tasks.complete(research, { id: task.id, result: 'Not mine.' }))).toBe('forbidden');
    expect(await refusal(() => parts.tasks.cancel(research, task.id))).toBe('forbidden');
    expect(await refusal(() => parts.tasks.require(research, task.id))).toBe('forbidden');

    const done = await parts.tasks.complete(dev, { id: task.id, result: 'Fixed.' });
    expect(done.status).toBe('done');
    expect(readFileSync(path.join(parts.home, `tasks/${task.id}.md`), 'utf8')).toMatch(/^status: done$/m);
    expect(await refusal(() => parts.tasks.cancel(main, task.id))).toBe('conflict');
  });

  it('spawns a task agent on runtime none: a registry entry, its brief in its memory, and its task file', async () => {
    const { task, token } = await parts.tasks.spawn(research, { task: 'Summarise three papers.' });
    expect(token).toEqual(expect.any(String));
    expect(parts.registry.require(task.bot)).toMatchObject({ kind: 'task', parent: 'research' });
    expect(readFileSync(path.join(parts.home, `bots/${task.bot}/TASK.md`), 'utf8')).toContain('Summarise three papers.');
    expect(existsSync(path.join(parts.home, `tasks/${task.id}.md`))).toBe(true);
    expect(parts.tasks.tree(research).map((t) => t.id)).toEqual([task.id]);
    expect(parts.tasks.tree(dev)).toEqual([]);
  });
});
