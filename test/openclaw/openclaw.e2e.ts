import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../helpers.js';
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
    const listed = await world.operator.request<{ sessions: Array<{ key: string; label?: string }> }>('sessions.list', { limit: 50 });
    const byKey = new Map(listed.sessions.map((s) => [s.key, s]));
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
});
