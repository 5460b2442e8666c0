import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { homeOf } from '../daemon.js';
import { BOTS, type Command, HOME, UsageError } from './command.js';
import { initDataRoot } from './init.js';

export const restore: Command = {
  name: 'restore',
  summary: "Rebuild a data root from its backup remote, then make new tokens as init does.",
  usage: 'roost restore REMOTE [--home DIR] [--bots DIR]',
  details: "Restores every bot's memory, mail and registry; tokens are secrets and never leave the machine, so they are made anew.",
  options: { ...HOME, ...BOTS },
  args: ['REMOTE'],
  async run([remote], flags) {
    const home = homeOf(flags);
    const existing = await fs.readdir(home).catch(() => [] as string[]);
    if (existing.some((name) => name !== 'README.md')) {
      throw new UsageError(`${home} is not empty: restore into a new folder with --home`);
    }
    await fs.rm(home, { recursive: true, force: true });
    await promisify(execFile)('git', ['clone', '--quiet', '--branch', 'main', remote, home]);
    console.log(`restored ${home} from ${remote}`);
    await initDataRoot(flags);
  },
};
