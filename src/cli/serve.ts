import path from 'node:path';
import { daemonOptions, startDaemon } from '../daemon.js';
import { BOTS, type Command, HOME, stateDir } from './command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Run the daemon: MCP over Streamable HTTP, the console, /health.',
  usage: 'roost serve [--home DIR] [--port N] [--host ADDR] [--bots DIR] [--read-only] [--backup REMOTE] [LIMITS] [EMBEDDINGS]',
  details: `Serves MCP at http://127.0.0.1:7777/mcp and the console at http://127.0.0.1:7777/ (--port 0 takes a free port).
With --backup, the data root is pushed to that git remote after its commits.
LIMITS, per bot: --send-burst N --send-rate N (messages at once, then per second),
  --write-burst N --write-rate N (changes to its memory), --spawn-burst N --spawn-rate N
  (tasks started), --memory-quota-mb N (size of its notes), --max-sessions N (live MCP sessions).
EMBEDDINGS: --embeddings-url URL --embeddings-model NAME (any OpenAI-compatible /v1/embeddings
  endpoint; its key in ROOST_EMBEDDINGS_KEY): notes get vectors in the background and
  search_memory is hybrid (words and meaning) by default.`,
  options: {
    ...HOME,
    ...BOTS,
    port: { type: 'string' },
    host: { type: 'string' },
    'read-only': { type: 'boolean' },
    backup: { type: 'string' },
    'send-burst': { type: 'string' },
    'send-rate': { type: 'string' },
    'write-burst': { type: 'string' },
    'write-rate': { type: 'string' },
    'spawn-burst': { type: 'string' },
    'spawn-rate': { type: 'string' },
    'memory-quota-mb': { type: 'string' },
    'max-sessions': { type: 'string' },
    'embeddings-url': { type: 'string' },
    'embeddings-model': { type: 'string' },
  },
  async run(_args, flags) {
    const options = daemonOptions(flags);
    const daemon = await startDaemon(options);
    console.error(`roost: serving ${options.home} at ${daemon.url}/mcp${options.readOnly ? ' (read-only)' : ''}`);
    console.error(`roost: console at ${daemon.url}/`);
    if (daemon.roost.newOperatorToken) {
      // Where it is, never the token itself: this output often ends up in a log (journald, a terminal's scrollback).
      const file = path.join(stateDir(options.home), 'operator.token');
      console.error(`roost: made a new operator token and wrote it to ${file} (mode 0600, readable only by this user)`);
      console.error(`roost: read it with \`cat ${file}\` to log in to the console`);
    }
    for (const problem of daemon.roost.registry.problems) console.error(`roost: ${problem.file}: ${problem.problem}`);
    const stop = () => {
      console.error('roost: stopping');
      daemon.close().then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};
