import { BOTS, type Command, HOME, JSON_OUTPUT, readRegistry } from './command.js';

export const bots: Command = {
  name: 'bots',
  summary: 'List the bots: definitions and registered ones.',
  usage: 'roost bots [--home DIR] [--bots DIR] [--json]',
  options: { ...HOME, ...BOTS, ...JSON_OUTPUT },
  async run(_args, flags) {
    const registry = await readRegistry(flags);
    if (flags.json) {
      const list = registry.list().map((b) => ({ id: b.id, name: b.name, kind: b.kind, status: b.status, topics: b.topics }));
      return void console.log(JSON.stringify({ bots: list, problems: registry.problems }, null, 2));
    }
    for (const b of registry.list()) {
      console.log(`${b.id.padEnd(12)} ${b.kind.padEnd(10)} ${b.status.padEnd(8)} ${b.topics.join(',').padEnd(20)} ${b.name}`);
    }
    for (const p of registry.problems) console.error(`problem: ${p.file}: ${p.problem}`);
  },
};
