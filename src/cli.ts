#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type Command, closest, type Flags, UsageError } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { VERSION } from './package.js';

const ENVIRONMENT = `Environment: ROOST_HOME, ROOST_PORT, ROOST_HOST, ROOST_BOTS, ROOST_BACKUP, ROOST_OPERATOR_TOKEN, ROOST_TOKEN, ROOST_URL.
Limits: ROOST_SEND_BURST, ROOST_SEND_RATE, ROOST_WRITE_BURST, ROOST_WRITE_RATE, ROOST_SPAWN_BURST, ROOST_SPAWN_RATE,
ROOST_MEMORY_QUOTA_MB, ROOST_MAX_SESSIONS (as the flags; a flag wins).
Semantic search: ROOST_EMBEDDINGS_URL, ROOST_EMBEDDINGS_MODEL, ROOST_EMBEDDINGS_KEY.
Task agents: ROOST_OPENCLAW_URL, ROOST_OPENCLAW_TOKEN, ROOST_OPENCLAW_AGENT, ROOST_RUNTIME, ROOST_COMMAND.
Data root: ./memory of a checkout; installed, $XDG_DATA_HOME/roost (~/.local/share/roost). Bot definitions: ./bots of the package.`;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `roost ${VERSION} — a persistent home for a team of AI bots

Usage: roost COMMAND [OPTIONS]

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

  roost COMMAND --help   what a command takes
  roost --version        the version

${ENVIRONMENT}`;
}

function commandHelp(command: Command): string {
  return `${command.usage}\n\n${command.summary}${command.details ? `\n${command.details}` : ''}`;
}

async function main(argv: string[]): Promise<void> {
  const [name = 'help', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    const about = rest[0] === undefined ? undefined : find(rest[0]);
    return void console.log(about ? commandHelp(about) : usage());
  }
  if (name === 'version' || name === '--version' || name === '-v') return void console.log(VERSION);
  const command = find(name);
  const { args, flags } = parse(command, rest);
  if (flags.help) return void console.log(commandHelp(command));
  await command.run(args, flags);
}

function find(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const names = COMMANDS.map((c) => c.name);
  const guess = name.startsWith('-') ? undefined : closest(name, names);
  throw new UsageError(`unknown command "${name}"${guess ? `; did you mean "${guess}"?` : ''} (\`roost help\` lists them: ${names.join(', ')})`);
}

/** A command's arguments and flags: every flag must be one it knows, every value given, every argument there. */
function parse(command: Command, argv: string[]): { args: string[]; flags: Flags } {
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as const;
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as { values: Flags; positionals: string[] };
  } catch (error) {
    throw new UsageError(parseProblem(command, error as Error & { code?: string }));
  }
  const args = parsed.positionals;
  const wanted = command.args ?? [];
  if (!parsed.values.help && args.length !== wanted.length) {
    const problem = args.length < wanted.length ? `needs ${wanted.slice(args.length).join(' ')}` : `takes no argument "${args[wanted.length]}"`;
    throw new UsageError(`${command.name} ${problem}; usage: ${command.usage}`);
  }
  return { args, flags: parsed.values };
}

function parseProblem(command: Command, error: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^'\s]+)/.exec(error.message)?.[1];
  const help = `\`roost ${command.name} --help\` lists what it takes`;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const name = flag.replace(/^-+/, '').split('=')[0];
    const guess = closest(name, Object.keys(command.options));
    return `${command.name} has no option ${flag}${guess ? `; did you mean --${guess}?` : ''} (${help})`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    const name = flag.replace(/^-+/, '').split(/[ =]/)[0];
    const takesValue = command.options[name]?.type === 'string';
    return takesValue ? `${command.name}: ${flag} needs a value (${help})` : `${command.name}: ${flag} is a switch and takes no value (${help})`;
  }
  return `${command.name}: ${error.message} (${help})`;
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(`roost: ${error.message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
