import { promises as fs } from 'node:fs';
import { homeOf } from '../daemon.js';
import { runBridge } from '../mcp/bridge.js';
import { BOTS, type Command, HOME, UsageError } from './command.js';

export const mcp: Command = {
  name: 'mcp',
  summary: 'A stdio MCP server acting as one bot, bridged to the daemon.',
  usage: 'roost mcp --bot ID [--token-file FILE] [--url URL] [--home DIR] [--port N] [--host ADDR] [--bots DIR]',
  details: `The bot's token comes from ROOST_TOKEN or --token-file. Without --url, the bridge finds the
daemon of the data root and starts one in the background when none runs; that daemon keeps
running after the bridge ends (stop it with \`kill\`, its pid is in \`roost status\`).
--port, --host and --bots are passed to a daemon the bridge starts.`,
  options: {
    ...HOME,
    ...BOTS,
    bot: { type: 'string' },
    'token-file': { type: 'string' },
    url: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run(_args, flags) {
    const bot = flags.bot;
    if (typeof bot !== 'string') throw new UsageError('mcp needs --bot ID');
    const tokenFile = flags['token-file'];
    const token = typeof tokenFile === 'string' ? (await fs.readFile(tokenFile, 'utf8')).trim() : process.env.ROOST_TOKEN;
    if (!token) throw new UsageError('mcp needs the bot token in ROOST_TOKEN or --token-file');
    const serveArgs = (['port', 'host', 'bots'] as const).flatMap((k) => (typeof flags[k] === 'string' ? [`--${k}`, flags[k]] : []));
    await runBridge({
      bot,
      token,
      url: typeof flags.url === 'string' ? flags.url : process.env.ROOST_URL,
      home: homeOf(flags),
      serveArgs,
    });
  },
};
