import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { changeAllowance } from '../../src/core/rate-limit.js';
import { Registry } from '../../src/core/registry.js';
import { Vault } from '../../src/core/vault.js';
import { tempDir } from '../helpers.js';

it('reads the OpenClaw binding, runtime and command of a definition, and reports bad ones', async () => {
  const root = tempDir();
  const bots = path.join(root, 'bots');
  mkdirSync(bots);
  const define = (id: string, frontmatter: string) => writeFileSync(path.join(bots, `${id}.md`), `---\nid: ${id}\n${frontmatter}\n---\nRole.\n`);
  define('dev', 'openclaw: { agent: dev }\nruntime: openclaw');
  define('ops', 'openclaw: { agent: ops, session: agent:ops:roost }\ncommand: node agent.js {task}');
  define('lost', 'openclaw: { agent: ops, session: agent:dev:roost }');
  define('odd', 'runtime: docker');
  const registry = new Registry(new Vault(path.join(root, 'home')), { settle: async () => undefined }, bots, changeAllowance(10, 1));
  await registry.load();
  expect(registry.get('dev')).toMatchObject({ openclaw: { agent: 'dev', session: 'agent:dev:roost:dev' }, runtime: 'openclaw' });
  expect(registry.get('ops')).toMatchObject({ openclaw: { agent: 'ops', session: 'agent:ops:roost' }, command: ['node', 'agent.js', '{task}'] });
  expect(registry.problems).toEqual([
    { file: 'bots/lost.md', problem: 'openclaw.session must be a session key of agent "ops": agent:ops:<name>' },
    { file: 'bots/odd.md', problem: 'runtime "docker" is not one of openclaw, command, none' },
  ]);
});
