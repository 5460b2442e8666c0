import path from 'node:path';
import { runningDaemon } from '../core/lock-file.js';
import { Roost } from '../core/roost.js';
import { daemonOptions } from '../daemon.js';
import { importOpenClaw } from '../openclaw/import.js';
import { BOTS, type Command, HOME, stateDir, UsageError } from './command.js';

export const importMemory: Command = {
  name: 'import',
  summary: "Bring an OpenClaw agent's memory into a bot's: MEMORY.md, daily files into journal/, other Markdown.",
  usage: 'roost import openclaw WORKSPACE --bot ID [--home DIR] [--bots DIR]',
  details: 'Never replaces a note; one commit. Stop the daemon first.',
  options: { ...HOME, ...BOTS, bot: { type: 'string' } },
  args: ['openclaw', 'WORKSPACE'],
  async run([source, workspace], flags) {
    if (source !== 'openclaw') throw new UsageError(`roost import knows only "openclaw", not "${source}"`);
    if (typeof flags.bot !== 'string') throw new UsageError('roost import openclaw needs --bot ID: the bot whose memory receives the workspace');
    const options = daemonOptions(flags);
    if (await runningDaemon(path.join(stateDir(options.home), 'daemon.lock'))) throw new UsageError('a daemon runs on this data root: stop it, import, and start it again');
    // A window longer than the import: its notes are committed together when Roost closes.
    const roost = await Roost.open({ home: options.home, botsDir: options.botsDir, operatorToken: options.operatorToken, watch: false, commitWindowMs: 3_600_000 });
    try {
      const report = await importOpenClaw(roost, workspace, flags.bot);
      for (const { file, note } of report.brought) console.log(`brought ${file} as ${note}`);
      for (const { file, reason } of report.skipped) console.log(`skipped ${file}: ${reason}`);
      console.log(`${report.brought.length} brought into bot ${flags.bot}'s memory, ${report.skipped.length} skipped`);
    } finally {
      await roost.close();
    }
  },
};
