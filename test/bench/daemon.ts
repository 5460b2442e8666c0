// The Roost daemon as `roost serve` runs it, plus one tool that does nothing: the ceiling the
// benchmark measures every other tool against. Only the benchmark starts this file.
import { z } from 'zod';
import { defineTool, type Tool } from '../../tools/define.js';
import { allTools } from '../../tools/index.js';
import { daemonOptions, startDaemon } from '../../src/daemon.js';

const noop = defineTool({
  name: 'noop',
  title: 'Do nothing',
  description: 'Benchmark only: returns at once.',
  toolset: 'memory',
  type: 'readOnly',
  input: {},
  output: { ok: z.boolean() },
  handler: async () => ({ ok: true }),
});
allTools.push(noop as unknown as Tool);

const flags: Record<string, string> = {};
for (let i = 2; i < process.argv.length; i += 2) flags[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const daemon = await startDaemon(daemonOptions(flags));
console.log(`ready ${daemon.url}`);
process.once('SIGTERM', () => void daemon.close().then(() => process.exit(0)));
// The live heap on request (started with --expose-gc): resident memory also holds the free heap V8 keeps, which grows with the load.
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`heap ${process.memoryUsage().heapUsed}`);
});
