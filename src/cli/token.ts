import { Tokens } from '../core/tokens.js';
import { homeOf } from '../daemon.js';
import { BOTS, type Command, HOME, readRegistry, stateDir, UsageError } from './command.js';

export const token: Command = {
  name: 'token',
  summary: 'Make a new token for a bot (the old one stops working) and print it.',
  usage: 'roost token BOT [--home DIR] [--bots DIR]',
  options: { ...HOME, ...BOTS },
  args: ['BOT'],
  async run([bot], flags) {
    const registry = await readRegistry(flags);
    const known = registry.get(bot);
    if (!known) throw new UsageError(`there is no bot "${bot}"; \`roost bots\` lists them`);
    if (known.status === 'retired') throw new UsageError(`bot "${bot}" is retired`);
    console.log(await new Tokens(stateDir(homeOf(flags))).issue(bot));
  },
};
