import { promises as fs } from 'node:fs';

export interface DaemonInfo {
  pid: number;
  started: string;
  url?: string;
}

/**
 * One daemon per data root: `.roost/daemon.lock` holds the owner's pid (and, once it listens,
 * its URL). A lock left by a killed process is taken over.
 */
export class DaemonLock {
  private constructor(
    private readonly file: string,
    private info: DaemonInfo,
  ) {}

  static async acquire(file: string): Promise<DaemonLock> {
    const info: DaemonInfo = { pid: process.pid, started: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.writeFile(file, JSON.stringify(info), { flag: 'wx' });
        return new DaemonLock(file, info);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readDaemonInfo(file);
      if (holder && isAlive(holder.pid) && holder.pid !== process.pid) {
        throw new Error(`another Roost daemon (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}) already owns this data root`);
      }
      await fs.rm(file, { force: true });
    }
    throw new Error(`could not take the daemon lock ${file}`);
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
  }
}

/** The running daemon of a data root, or null when none is alive. */
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
