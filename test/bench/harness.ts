import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A server started as a child process, so its memory is measured on its own. */
export interface Child {
  process: ChildProcess;
  url: string;
  /** From spawn until it printed "ready". */
  startMs: number;
  /** performance.now() at spawn. */
  began: number;
  stop(): Promise<void>;
  /** Its live heap in MB after a full garbage collection, for a child that answers SIGUSR2 (test/bench/daemon.ts). */
  liveHeapMb(): Promise<number>;
}

const running = new Set<ChildProcess>();

/** Ends every child still running (after a failed measurement), and waits for them to exit. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map((child) => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    })),
  );
}

/** Starts `node script ...args` and waits for its "ready <url>" line. */
export async function startChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<Child> {
  const began = performance.now();
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const ready = /^ready (\S+)$/m.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${stderr}`));
    });
  });
  const startMs = performance.now() - began;
  running.add(child);
  child.once('exit', () => running.delete(child));
  return {
    process: child,
    url,
    startMs,
    began,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
    liveHeapMb: () =>
      new Promise<number>((resolve) => {
        const read = (chunk: Buffer) => {
          const heap = /^heap (\d+)$/m.exec(String(chunk));
          if (!heap) return;
          child.stdout!.off('data', read);
          resolve(Number(heap[1]) / 2 ** 20);
        };
        child.stdout!.on('data', read);
        child.kill('SIGUSR2');
      }),
  };
}

/** Resident memory of a process now and at its peak, in MB (Linux). */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)![1]);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export async function httpClient(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'roost-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } }));
  return client;
}

/** Calls a tool; throws with the error text when it fails, so a benchmark never counts failures as work. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<CallToolResult> {
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${result.content.map((c) => (c.type === 'text' ? c.text : '')).join('')}`);
  return result;
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
}

/** Runs `op(i)` one after the other, `count` times or until `budgetMs` is spent, and reports the latencies in ms. */
export async function latency(count: number, op: (i: number) => Promise<unknown>, budgetMs = 60_000): Promise<Latency> {
  const times: number[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < count && (i < 3 || performance.now() < deadline); i++) {
    const began = performance.now();
    await op(i);
    times.push(performance.now() - began);
  }
  return percentiles(times);
}

export function percentiles(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, p50: at(0.5), p95: at(0.95) };
}

/**
 * Runs `op(i)` `count` times one after the other (or until `budgetMs` is spent), uncounted: the
 * first calls of a code path pay for its compilation and first reads, which a running server has behind it.
 */
export async function warmUp(count: number, op: (i: number) => Promise<unknown>, budgetMs = 20_000): Promise<void> {
  await latency(count, op, budgetMs);
}

export interface Throughput {
  perSecond: number;
  calls: number;
  p95: number;
}

/** Each worker runs `op(worker, i)` in a loop for `ms`; returns completed calls per second and the latencies. */
export async function throughput(workers: number, ms: number, op: (worker: number, i: number) => Promise<unknown>): Promise<Throughput> {
  return summary([await run(workers, ms, op)]);
}

/**
 * `op` for `ms`, bracketed by `baseline` for half as long before and after it: the ratio of the two
 * then holds on a shared machine whose speed drifts (here a no-op's rate moved by a fifth between
 * runs minutes apart). The second baseline waits `settleMs` first, so the work `op` left queued
 * (commits, fsyncs) does not slow it.
 */
export async function bracketed(
  workers: number,
  ms: number,
  settleMs: number,
  baseline: (worker: number, i: number) => Promise<unknown>,
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<{ baseline: Throughput; op: Throughput }> {
  const before = await run(workers, ms / 2, baseline);
  const measured = await run(workers, ms, op);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const after = await run(workers, ms / 2, baseline);
  return { baseline: summary([before, after]), op: summary([measured]) };
}

interface Run {
  times: number[];
  elapsedMs: number;
}

async function run(workers: number, ms: number, op: (worker: number, i: number) => Promise<unknown>): Promise<Run> {
  const began = performance.now();
  const deadline = began + ms;
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await op(w, i);
        times.push(performance.now() - t);
      }
    }),
  );
  return { times, elapsedMs: performance.now() - began };
}

function summary(runs: Run[]): Throughput {
  const times = runs.flatMap((r) => r.times);
  const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  return { perSecond: (times.length * 1000) / elapsedMs, calls: times.length, p95: percentiles(times).p95 ?? 0 };
}
