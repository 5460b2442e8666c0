import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_LIMITS } from '../core/memory.js';
import { changeAllowance } from '../core/rate-limit.js';
import { Registry } from '../core/registry.js';
import { Vault } from '../core/vault.js';
import { daemonOptions } from '../daemon.js';

/** The flags a command was given, by name: a string, or true for a switch. */
export type Flags = Record<string, string | boolean>;

export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** One `roost` command: how it is called, what it says about itself, and what it does. */
export interface Command {
  name: string;
  /** One line for `roost help`. */
  summary: string;
  /** The call's shape, e.g. `roost token BOT [--home DIR]`. */
  usage: string;
  /** What `roost <command> --help` adds below the usage. */
  details?: string;
  options: ParseArgsOptionsConfig;
  /** Names of the positional arguments it takes, in order; all are required. */
  args?: string[];
  run(args: string[], flags: Flags): Promise<void>;
}

/** A mistake in how `roost` was called: printed with how to get help, never with a stack. */
export class UsageError extends Error {}

export const HOME = { home: { type: 'string' } } as const satisfies ParseArgsOptionsConfig;
export const BOTS = { bots: { type: 'string' } } as const satisfies ParseArgsOptionsConfig;
export const JSON_OUTPUT = { json: { type: 'boolean' } } as const satisfies ParseArgsOptionsConfig;

/** The data root's machine state (`.roost/`). */
export function stateDir(home: string): string {
  return path.join(home, '.roost');
}

/** The registry as the files say, without taking the daemon lock (nothing is written). */
export async function readRegistry(flags: Flags): Promise<Registry> {
  const options = daemonOptions(flags);
  const registry = new Registry(
    new Vault(options.home),
    { settle: async () => undefined },
    options.botsDir,
    changeAllowance(DEFAULT_LIMITS.writeBurst, DEFAULT_LIMITS.writesPerSecond),
  );
  await registry.load();
  return registry;
}

/** The name among `names` closest to a mistyped `given`, when it is close enough to be what was meant. */
export function closest(given: string, names: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(given, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(given.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
