import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('keeps the run\'s final reply as the result of a task agent that does not call complete_task', async () => {
    const dev = await world.client('dev');
    const ended = await world.spawnAndWait(dev, { task: 'REPLY the count is 8', runtime: 'openclaw', cleanup: 'delete' });
    expect(ended).toMatchObject({ status: 'done', result: 'the count is 8' });
  });
});
