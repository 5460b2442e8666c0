import { createHash } from 'node:crypto';
import { promises as fs, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface DaemonInfo {
  pid: number;
  started: string;
  url?: string;
}

/**
 * One daemon per data root. The lock itself is held by the kernel: a Unix socket bound in Linux's
 * abstract namespace under a name derived from the data root's real path. Two live processes
 * cannot both bind it, and the kernel frees it the moment its process dies, so a killed daemon
 * or a reboot never leaves it taken (a pid in a file could name a live stranger after a reboot).
 * `.roost/daemon.lock` only tells others who holds it (pid and, once it listens, its URL).
 */
export class DaemonLock {
  private constructor(
    private readonly file: string,
    private readonly server: net.Server,
    private info: DaemonInfo,
  ) {}

  static async acquire(file: string): Promise<DaemonLock> {
    const server = net.createServer((socket) => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path: lockName(path.dirname(file)), exclusive: true }, () => resolve());
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      const holder = await readDaemonInfo(file);
      throw new Error(`another Roost daemon (${holder ? `pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}` : 'starting'}) already owns this data root`);
    }
    // Held for the life of the process, and never a reason to keep it alive.
    server.unref();
    const lock = new DaemonLock(file, server, { pid: process.pid, started: new Date().toISOString() });
    await lock.update({});
    return lock;
  }

  async update(fields: Partial<DaemonInfo>): Promise<void> {
    this.info = { ...this.info, ...fields };
    const temp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(temp, JSON.stringify(this.info));
    await fs.rename(temp, this.file);
  }

  async release(): Promise<void> {
    const holder = await readDaemonInfo(this.file);
    if (holder?.pid === process.pid) await fs.rm(this.file, { force: true });
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The lock's name: one per folder of the lock file (the data root's `.roost/`), whatever path leads to it. */
function lockName(folder: string): string {
  return `\0roost-daemon-${createHash('sha256').update(realpathSync(folder)).digest('hex').slice(0, 32)}`;
}

/** The daemon that holds the lock of a data root, as it wrote in `.roost/daemon.lock`; null when none does. */
export async function runningDaemon(file: string): Promise<DaemonInfo | null> {
  const held = await new Promise<boolean>((resolve) => {
    let name: string;
    try {
      name = lockName(path.dirname(file));
    } catch {
      return resolve(false); // no .roost folder: never started
    }
    const socket = net.connect({ path: name });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  return held ? readDaemonInfo(file) : null;
}

/** What `.roost/daemon.lock` says of the daemon that last held the lock; null when it says nothing. */
export async function readDaemonInfo(file: string): Promise<DaemonInfo | null> {
  try {
    const info = JSON.parse(await fs.readFile(file, 'utf8')) as DaemonInfo;
    return typeof info.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
