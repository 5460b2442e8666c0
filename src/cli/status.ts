import path from 'node:path';
import { savedProgress } from '../core/embeddings.js';
import { runningDaemon } from '../core/lock-file.js';
import { homeOf } from '../daemon.js';
import { type Command, HOME, JSON_OUTPUT, stateDir } from './command.js';

export const status: Command = {
  name: 'status',
  summary: 'Is a daemon running on this data root, and where; how far note embedding has come.',
  usage: 'roost status [--home DIR] [--json]',
  details: 'Exits with 3 when no daemon runs.',
  options: { ...HOME, ...JSON_OUTPUT },
  async run(_args, flags) {
    const home = homeOf(flags);
    const running = await runningDaemon(path.join(stateDir(home), 'daemon.lock'));
    const embedding = running ? await savedProgress(stateDir(home)) : null;
    if (!running) process.exitCode = 3;
    if (flags.json) {
      const report = { running: Boolean(running), home, pid: running?.pid ?? null, url: running?.url ?? null, embeddings: embedding ?? null };
      return void console.log(JSON.stringify(report, null, 2));
    }
    if (running) console.log(`running: pid ${running.pid}, ${running.url ?? 'starting'}, data root ${home}`);
    else console.log(`not running (data root ${home})`);
    if (embedding) {
      console.log(`embeddings (${embedding.model}): ${embedding.embedded} notes embedded, ${embedding.pending} pending${embedding.error ? `; last error: ${embedding.error}` : ''}`);
    }
  },
};
