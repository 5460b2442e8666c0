import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from './world.js';

describe('roost setup openclaw on a fresh gateway config', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.start('setup');
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('gives the gateway\'s agents working Roost bots with no hand edits, and a second run changes nothing', async () => {
    const [first, second] = world.setupRuns;
    expect(first).toMatch(/wrote a new token of bot dev to .*dev\.token \(mode 0600\)/);
    expect(first).toMatch(/wrote a new token of bot research to .*research\.token/);
    expect(first).toMatch(/backed up .*openclaw\.json/);
    expect(first).toContain('restart the OpenClaw gateway');
    expect(second.trim()).toMatch(/^nothing to change/);

    expect(await world.turn('dev', 'agent:dev:roost:dev', 'Who am I, dev?\nCALL roost_whoami {}')).toContain('"bot":"dev"');
    expect(await world.turn('research', 'agent:research:roost:research', 'Who am I, research?\nCALL roost_whoami {}')).toContain('"bot":"research"');
  });
});
