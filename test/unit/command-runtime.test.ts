import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/core/lock-file.js';
import { CommandRuntime } from '../../src/runtimes/command.js';

describe('command runtime', () => {
  const runtime = new CommandRuntime(() => 'http://127.0.0.1:7777');
  const signal = new AbortController().signal;
  afterEach(() => runtime.close());

  const node = (script: string) => [process.execPath, '-e', script];

  it('runs the command with Roost\'s address, the bot, its token and the brief; its output is the result', async () => {
    const script = 'console.log([process.env.ROOST_URL, process.env.ROOST_BOT, process.env.ROOST_TOKEN, process.env.ROOST_TASK, process.env.ROOST_TASK_ID].join("|"))';
    const run = await runtime.start({ bot: 'task-1', task: 't1', brief: 'Do it.', token: 'roost_task-1_x', command: node(script) });
    expect(run.runtime).toBe('command');
    expect(run.runId).toBe(`pid:${run.pid}`);
    expect(await runtime.wait(run, 10_000, signal)).toEqual({ status: 'done', result: 'http://127.0.0.1:7777|task-1|roost_task-1_x|Do it.|t1' });
  });

  it('reports a failing exit with the tail of its error output', async () => {
    const run = await runtime.start({ bot: 'b', task: 't', brief: '', command: node('console.error("no luck"); process.exit(3)') });
    expect(await runtime.wait(run, 10_000, signal)).toEqual({ status: 'failed', error: 'the process exited with 3: no luck' });
  });

  it('refuses a command that cannot start, and a missing template', async () => {
    await expect(runtime.start({ bot: 'b', task: 't', brief: '', command: ['/nonexistent/agent'] })).rejects.toThrow(/could not start: .*ENOENT/);
    await expect(runtime.start({ bot: 'b', task: 't', brief: '' })).rejects.toThrow(/no command to run for "b"/);
  });

  it('reports a long run as still going, and cancels it', async () => {
    const run = await runtime.start({ bot: 'b', task: 't', brief: '', command: node('setTimeout(() => {}, 60000)') });
    expect(await runtime.wait(run, 100, signal)).toBeNull();
    await runtime.cancel(run);
    expect((await runtime.wait(run, 5_000, signal))?.status).toBe('failed');
    expect(isAlive(run.pid!)).toBe(false);
  });

  it('watches a process it did not start (after a restart) by its pid', async () => {
    const other = new CommandRuntime(() => undefined);
    const run = await other.start({ bot: 'b', task: 't', brief: '', command: node('setTimeout(() => {}, 300)') });
    expect(await runtime.wait(run, 50, signal)).toBeNull();
    const end = await runtime.wait(run, 10_000, signal);
    expect(end).toEqual({ status: 'failed', error: 'the process ended while Roost was not running, without completing the task' });
    await other.close();
  });
});
