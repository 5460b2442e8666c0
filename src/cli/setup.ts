import path from 'node:path';
import { runningDaemon } from '../core/lock-file.js';
import { daemonOptions } from '../daemon.js';
import { setupOpenClaw } from '../openclaw/setup.js';
import { BOTS, type Command, HOME, stateDir, UsageError } from './command.js';

export const setup: Command = {
  name: 'setup',
  summary: "Connect OpenClaw: a bot and a token file for every agent in its config, and Roost's plugin loaded there.",
  usage: 'roost setup openclaw [--config FILE] [--dry-run] [--url URL] [--home DIR] [--bots DIR]',
  details:
    "Reads OpenClaw's config (default $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json), backs it up, and\n" +
    'writes the plugin entry; --dry-run shows what would change and changes nothing. Running it again\n' +
    'changes nothing. Then restart the gateway.',
  options: { ...HOME, ...BOTS, config: { type: 'string' }, 'dry-run': { type: 'boolean' }, url: { type: 'string' } },
  args: ['openclaw'],
  async run([target], flags) {
    if (target !== 'openclaw') throw new UsageError(`roost setup knows only "openclaw", not "${target}"`);
    const options = daemonOptions(flags);
    const running = await runningDaemon(path.join(stateDir(options.home), 'daemon.lock'));
    const url = typeof flags.url === 'string' ? flags.url : (running?.url ?? `http://127.0.0.1:${options.port}`);
    const dryRun = flags['dry-run'] === true;
    const report = await setupOpenClaw({ home: options.home, botsDir: options.botsDir, configPath: typeof flags.config === 'string' ? flags.config : undefined, url, dryRun });
    if (dryRun && report.diff) console.log(report.diff);
    for (const change of report.changes) console.log(`${dryRun ? '(dry run, not done) ' : ''}${change}`);
    if (!dryRun && report.diff) console.log('restart the OpenClaw gateway to load the plugin (openclaw gateway restart)');
  },
};
