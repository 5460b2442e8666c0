import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, git } from '../helpers.js';
import { World } from './world.js';

const DEV_SESSION = 'agent:dev:roost:dev';
const RESEARCH_SESSION = 'agent:research:roost:research';

describe('Roost with a real OpenClaw gateway', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.start();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('creates the persistent session of every bot bound to an OpenClaw agent', async () => {
    // Roost creates them in the background once connected: the gateway may come up after Roost.
    const byKey = await eventually(async () => {
      const listed = await world.operator.request<{ sessions: Array<{ key: string; label?: string }> }>('sessions.list', { limit: 50 });
      const found = new Map(listed.sessions.map((s) => [s.key, s]));
      return found.has(DEV_SESSION) && found.has(RESEARCH_SESSION) && found;
    }, 30_000);
    expect(byKey.get(DEV_SESSION)?.label).toBe('Roost dev');
    expect(byKey.get(RESEARCH_SESSION)?.label).toBe('Roost research');
  });

  it('lets an OpenClaw agent write and search its own memory as itself', async () => {
    const reply = await world.turn(
      'dev',
      DEV_SESSION,
      [
        'Keep this plan.',
        'CALL roost_dev__write_note {"path":"notes/zebra-plan.md","body":"The zebra migration ships on Friday.","tags":["plan"]}',
        'CALL roost_dev__search_memory {"query":"zebra migration"}',
      ].join('\n'),
    );
    expect(reply).toMatch(/^DONE /);
    expect(reply).toContain('"path":"notes/zebra-plan.md"');
    expect(reply).toContain('"bot":"dev"');
    const note = readFileSync(path.join(world.home, 'bots', 'dev', 'notes', 'zebra-plan.md'), 'utf8');
    expect(note).toContain('The zebra migration ships on Friday.');
    expect(git(world.home, 'log', '--format=%an|%s', '--', 'bots/dev/notes/zebra-plan.md').trim()).toBe('dev|dev: create notes/zebra-plan.md');

    // Each agent is offered only its own Roost server.
    const tools = world.model.toolsSeen('zebra migration');
    expect(tools).toContain('roost_dev__write_note');
    expect(tools.filter((t) => t.startsWith('roost_research__'))).toEqual([]);
  });

  it('keeps agents apart: research is itself, and cannot find dev\'s private note', async () => {
    const whoami = await world.turn('research', RESEARCH_SESSION, 'Who am I?\nCALL roost_research__whoami {}');
    expect(whoami).toContain('"bot":"research"');
    const search = await world.turn('research', RESEARCH_SESSION, 'Is there a zebra plan?\nCALL roost_research__search_memory {"query":"zebra","scope":"shared"}');
    expect(search).toContain('"total":0');
    expect(world.model.toolsSeen('Who am I').filter((t) => t.startsWith('roost_dev__'))).toEqual([]);
  });

  it('spawns a task agent through the gateway: a real session gets the brief, the result reaches the parent\'s inbox and session', async () => {
    const reply = await world.turn(
      'dev',
      DEV_SESSION,
      'Delegate the count.\nCALL roost_dev__spawn_agent {"task":"REPLY the count is 7","runtime":"openclaw","cleanup":"archive"}',
    );
    const agent = /"agent":"([^"]+)"/.exec(reply)?.[1];
    expect(agent, reply).toMatch(/^task-[0-9a-f]{6}$/);
    const childSession = `${DEV_SESSION}:${agent}`;
    expect(reply).toContain(`"session":"${childSession}"`);

    const dev = await world.client('dev');
    const ended = await world.taskEnd(dev, agent);
    expect(ended).toMatchObject({ status: 'done', result: 'the count is 7', runtime: 'openclaw' });

    const [brief] = await world.history(childSession);
    expect(brief.role).toBe('user');
    expect(JSON.stringify(brief.content)).toContain(`You are ${agent}, a task agent started by dev`);
    expect(JSON.stringify(brief.content)).toContain('REPLY the count is 7');
    expect(JSON.stringify(brief.content)).not.toContain('complete_task'); // no Roost plugin in this gateway

    const inbox = (await call<{ messages: Array<{ from: string; body: string }> }>(dev, 'read_inbox', {})).messages;
    expect(inbox.find((m) => m.from === agent)?.body).toContain('the count is 7');
    await eventually(async () => JSON.stringify(await world.history(DEV_SESSION)).includes(`from ${agent}`), 60_000);
    const delivered = (await world.history(DEV_SESSION)).find((m) => m.role === 'user' && JSON.stringify(m.content).includes(`from ${agent}`));
    expect(JSON.stringify(delivered?.content)).toContain('the count is 7');

    const sessions = (await call<{ sessions: Array<{ key: string; bot?: string }> }>(dev, 'list_sessions', {})).sessions;
    expect(sessions.find((s) => s.key === childSession)?.bot).toBe(agent);
    const turns = (await call<{ turns: Array<{ role: string; text: string }> }>(dev, 'session_history', { session: childSession })).turns;
    expect(turns.at(-1)).toMatchObject({ role: 'assistant', text: 'the count is 7' });
  });

  it('injects a message sent to a bot into that bot\'s session', async () => {
    const main = await world.client('main');
    const sent = await call(main, 'send_message', { to: ['research'], subject: 'Sources', body: 'Please collect sources on zebras.' });
    expect(sent.recipients).toEqual([expect.objectContaining({ bot: 'research', live: true, session: RESEARCH_SESSION })]);
    // The gateway admits the message at once and writes it to the transcript as the turn starts.
    const injected = await eventually(async () => {
      const history = await world.history(RESEARCH_SESSION);
      return history.find((m) => m.role === 'user' && JSON.stringify(m.content).includes('Please collect sources on zebras.'));
    }, 60_000);
    expect(JSON.stringify(injected.content)).toContain(`id ${sent.id}, from main, to research`);
  });

  it('sends into a session that is no bot\'s, keeping the message in the sender\'s sent mail', async () => {
    const scratch = 'agent:research:scratch';
    await world.operator.request('sessions.create', { agentId: 'research', key: scratch, label: 'Scratch' });
    const main = await world.client('main');
    const sent = await call(main, 'send_to_session', { session: scratch, subject: 'Note', body: 'A word from main.' });
    expect(sent).toMatchObject({ session: scratch, live: true });
    expect(readFileSync(path.join(world.home, 'mail', 'main', 'sent', `${sent.id}.md`), 'utf8')).toContain(`session:${scratch}`);
    await eventually(async () => JSON.stringify(await world.history(scratch)).includes('A word from main.'), 60_000);
  });

  it('expires a task agent at its deadline: its run is aborted, the parent told, its memory cleaned up', async () => {
    const dev = await world.client('dev');
    const spawned = await call(dev, 'spawn_agent', { task: 'Think very long.\nSLEEP 120000', runtime: 'openclaw', deadline: '5s', cleanup: 'delete' });
    const ended = await world.taskEnd(dev, spawned.agent, 60_000);
    expect(ended).toMatchObject({ status: 'expired', error: expect.stringMatching(/passed its deadline/) });
    const inbox = (await call<{ messages: Array<{ from: string; subject: string }> }>(dev, 'read_inbox', {})).messages;
    expect(inbox.some((m) => m.from === spawned.agent && m.subject.includes('expired'))).toBe(true);
    expect((await call(dev, 'get_bot', { id: spawned.agent })).status).toBe('retired');
    expect(existsSync(path.join(world.home, 'bots', spawned.agent, 'TASK.md'))).toBe(false);
    const run = await world.operator.request<{ status: string }>('agent.wait', { runId: spawned.run_id, timeoutMs: 10_000 });
    expect(run.status).toBe('error');
  });

  it('keeps a bound bot\'s session across a restart of Roost', async () => {
    const before = await sessionIdOf(DEV_SESSION);
    await world.daemon.close();
    await world.startRoost();
    await eventually(async () => (await sessionIdOf(DEV_SESSION)) === before, 30_000);
    const reply = await world.turn('dev', DEV_SESSION, 'Still me?\nCALL roost_dev__whoami {}');
    expect(reply).toContain('"bot":"dev"');
  });

  async function sessionIdOf(key: string): Promise<string | undefined> {
    const listed = await world.operator.request<{ sessions: Array<{ key: string; sessionId?: string }> }>('sessions.list', { limit: 100 });
    return listed.sessions.find((s) => s.key === key)?.sessionId;
  }
});
