import { bots } from './bots.js';
import type { Command } from './command.js';
import { doctor } from './doctor.js';
import { importMemory } from './import.js';
import { init } from './init.js';
import { mcp } from './mcp.js';
import { restore } from './restore.js';
import { serve } from './serve.js';
import { setup } from './setup.js';
import { status } from './status.js';
import { token } from './token.js';

/** Every `roost` command, in the order `roost help` lists them: adding a command is one entry here. */
export const COMMANDS: Command[] = [serve, mcp, init, token, bots, status, doctor, setup, importMemory, restore];
