import path from 'node:path';
import { runningDaemon } from '../core/lock-file.js';
import { Roost } from '../core/roost.js';
import { Tokens } from '../core/tokens.js';
import { daemonOptions } from '../daemon.js';
import { BOTS, type Command, type Flags, HOME, readRegistry, stateDir } from './command.js';

export const init: Command = {
  name: 'init',
  summary: 'Create the data root and a token for every defined bot that has none; prints them once.',
  usage: 'roost init [--home DIR] [--bots DIR]',
  details: `Run it in a second terminal while \`roost serve\` runs, or before starting it: either way the
tokens work at once. A bot that has a token keeps it (\`roost token BOT\` makes a new one).`,
  options: { ...HOME, ...BOTS },
  run: (_args, flags) => initDataRoot(flags),
};

/** Creates the data root when no daemon holds it, then prints a token for each active bot that has none. */
export async function initDataRoot(flags: Flags): Promise<void> {
  const options = daemonOptions(flags);
  if (!(await runningDaemon(path.join(stateDir(options.home), 'daemon.lock')))) {
    const roost = await Roost.open({ home: options.home, botsDir: options.botsDir, operatorToken: options.operatorToken, watch: false });
    if (roost.newOperatorToken) console.log(`${'operator'.padEnd(10)} ${roost.newOperatorToken}`);
    await roost.close();
  }
  console.log(`data root: ${options.home}`);
  const tokens = new Tokens(stateDir(options.home));
  for (const bot of (await readRegistry(flags)).list({ status: 'active' })) {
    if (await tokens.has(bot.id)) console.log(`${bot.id.padEnd(10)} (has a token; \`roost token ${bot.id}\` makes a new one)`);
    else console.log(`${bot.id.padEnd(10)} ${await tokens.issue(bot.id)}`);
  }
}
