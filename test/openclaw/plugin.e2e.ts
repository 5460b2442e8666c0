import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LEAN_TOOLS } from '../../src/openclaw/plugin.js';
import { call, eventually, git } from '../helpers.js';
import { World } from './world.js';

const DEV_SESSION = 'agent:dev:roost:dev';
const RESEARCH_SESSION = 'agent:research:roost:research';

describe('Roost\'s OpenClaw plugin in a real gateway', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.start('plugin');
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('gives each agent Roost\'s tools as its own bot: dev by the token in the plugin config, research by its token file', async () => {
    expect(await world.turn('dev', DEV_SESSION, 'Who am I, dev?\nCALL roost_whoami {}')).toContain('"bot":"dev"');
    expect(await world.turn('research', RESEARCH_SESSION, 'Who am I, research?\nCALL roost_whoami {}')).toContain('"bot":"research"');
    expect(world.model.toolsSeen('Who am I, dev?')).toEqual(expect.arrayContaining(['roost_write_note', 'roost_complete_task', 'roost_spawn_agent']));
  });

  it('runs a task agent\'s Roost calls as the task agent: its note lands in its own folder, it completes its task itself, its note is archived', async () => {
    const task = [
      'Count the zebras.',
      'CALL roost_whoami {}',
      'CALL roost_write_note {"path":"notes/count.md","body":"There are 7 zebras."}',
      'CALL roost_complete_task {"result":"the count is 7"}',
    ].join('\n');
    const reply = await world.turn('dev', DEV_SESSION, `Delegate the count.\nCALL roost_spawn_agent ${JSON.stringify({ task, runtime: 'openclaw', cleanup: 'archive' })}`);
    const agent = /"agent":"([^"]+)"/.exec(reply)?.[1];
    expect(agent, reply).toMatch(/^task-[0-9a-f]{6}$/);
    const childSession = `${DEV_SESSION}:${agent}`;

    const dev = await world.client('dev');
    const ended = await world.taskEnd(dev, agent);
    // complete_task's result, not the run's final reply ("DONE …"), which is only the fallback.
    expect(ended).toMatchObject({ status: 'done', result: 'the count is 7', runtime: 'openclaw' });

    const history = await world.history(childSession);
    expect(JSON.stringify(history[0].content)).toContain('call roost_complete_task with your result');
    const whoami = history.find((m) => m.role === 'toolResult' && JSON.stringify(m.content).includes('\\"bot\\":'));
    expect(JSON.stringify(whoami?.content)).toContain(`\\"bot\\":\\"${agent}\\"`);

    // Written by the task agent into its own folder, then archived into dev's memory when the task ended.
    const own = `bots/${agent}/notes/count.md`;
    const archived = `bots/dev/tasks/${agent}/notes/count.md`;
    await eventually(() => git(world.home, 'log', '--format=%an|%s', '--', own).includes(`${agent}|${agent}: create notes/count.md`), 10_000);
    expect(readFileSync(path.join(world.home, archived), 'utf8')).toContain('There are 7 zebras.');
    expect(existsSync(path.join(world.home, own))).toBe(false);
    expect(existsSync(path.join(world.home, 'bots', 'dev', 'notes', 'count.md'))).toBe(false);

    const inbox = (await call<{ messages: Array<{ from: string; body: string }> }>(dev, 'read_inbox', {})).messages;
    expect(inbox.find((m) => m.from === agent)?.body).toContain('the count is 7');
    await eventually(async () => JSON.stringify(await world.history(DEV_SESSION)).includes(`from ${agent}`), 60_000);
    const delivered = (await world.history(DEV_SESSION)).find((m) => m.role === 'user' && JSON.stringify(m.content).includes(`from ${agent}`));
    expect(JSON.stringify(delivered?.content)).toContain('the count is 7');

    // Its session acts as no bot once its task has ended: not as dev either.
    const after = await world.turn('dev', childSession, 'Still there?\nCALL roost_whoami {}');
    expect(after).toContain(`task agent ${agent}'s, whose task has ended (done)`);
    expect(after).not.toContain('"bot":"dev"');
  });

  it('offers each agent the lean profile, cut to the tools its bot may use', async () => {
    await world.turn('research', RESEARCH_SESSION, 'Which tools, research?\nREPLY fine');
    const roostTools = (marker: string) => world.model.toolsSeen(marker).filter((t) => t.startsWith('roost_')).map((t) => t.slice('roost_'.length));
    // research's definition says tools: [memory, registry].
    expect(roostTools('Which tools, research?')).toEqual(['edit_note', 'journal_append', 'list_bots', 'read_note', 'search_memory', 'whoami', 'write_note']);
    expect(roostTools('Who am I, dev?')).toEqual([...LEAN_TOOLS].sort());
  });

  it('answers OpenClaw\'s own memory_search and memory_get from Roost as the calling agent, never with another bot\'s private note', async () => {
    const dev = await world.client('dev');
    const research = await world.client('research');
    await call(dev, 'write_note', { path: 'notes/giraffe-census.md', body: 'The giraffe census starts in May.' });
    await call(research, 'write_note', { path: 'notes/giraffe-budget.md', body: 'The giraffe budget is private.' });

    const found = await world.turn('dev', DEV_SESSION, 'Recall the census.\nCALL memory_search {"query":"giraffe","corpus":"all"}');
    expect(found).toContain('roost/dev/notes/giraffe-census.md');
    expect(found).not.toContain('giraffe-budget');
    const read = await world.turn('dev', DEV_SESSION, 'Read the census note.\nCALL memory_get {"path":"roost/dev/notes/giraffe-census.md","corpus":"all"}');
    expect(read).toContain('The giraffe census starts in May.');

    const theirs = await world.turn('research', RESEARCH_SESSION, 'Recall the budget.\nCALL memory_search {"query":"giraffe","corpus":"all"}');
    expect(theirs).toContain('roost/research/notes/giraffe-budget.md');
    expect(theirs).not.toContain('giraffe-census');
  });

  it('starts a prompt with the bot\'s unread messages, senders and subjects, never their bodies', async () => {
    const main = await world.client('main');
    await call(main, 'send_message', { to: ['dev'], subject: 'Okapi sighting', body: 'The okapi body stays in the inbox.' });
    await world.turn('dev', DEV_SESSION, 'Anything new, dev?\nREPLY noted');
    const prompt = JSON.stringify(world.model.requests.find((r) => JSON.stringify(r.messages).includes('Anything new, dev?'))?.messages);
    expect(prompt).toMatch(/Unread messages: \d+, from [^.]*main/);
    expect(prompt).toContain('\\"Okapi sighting\\" from main');
    // The body reaches the session only by live delivery, never through Roost's news lines.
    const start = prompt.indexOf('## Roost news');
    const news = prompt.slice(start, prompt.indexOf('\\n', prompt.indexOf('Newest subjects', start)));
    expect(news).toContain('Okapi sighting');
    expect(news).not.toContain('okapi body');
  });

  it('is usable again right after a gateway restart; a call made while the gateway is down says it is restarting', async () => {
    const main = await world.client('main');
    await call(main, 'list_sessions', {});
    let whileDown = '';
    await world.restartGateway(async () => {
      whileDown = await failureOf(main, 'list_sessions');
    });
    expect(whileDown).toMatch(/is restarting or down: its connection dropped \d+ s ago/);
    const up = Date.now();
    // The gateway answers its own health check here; Roost dials every half second, so it is back at once.
    await eventually(() => call(main, 'list_sessions', {}).then(() => true, () => false), 5_000);
    console.log(`test:openclaw: Roost used the gateway again ${Date.now() - up} ms after it answered`);
    expect(await world.turn('dev', DEV_SESSION, 'Back?\nCALL roost_whoami {}')).toContain('"bot":"dev"');
  }, 600_000); // a gateway takes minutes to start on a loaded machine

  it('keeps the run\'s final reply as the result of a task agent that does not call complete_task', async () => {
    const dev = await world.client('dev');
    const ended = await world.spawnAndWait(dev, { task: 'REPLY the count is 8', runtime: 'openclaw', cleanup: 'delete' });
    expect(ended).toMatchObject({ status: 'done', result: 'the count is 8' });
  });
});

async function failureOf(client: Client, tool: string): Promise<string> {
  const result = (await client.callTool({ name: tool, arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
  expect(result.isError).toBe(true);
  return result.content.map((c) => c.text).join('\n');
}
