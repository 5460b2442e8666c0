import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface FileStat {
  path: string;
  mtimeMs: number;
  size: number;
}

/**
 * Durable file operations under one root folder. Every write goes to a temp file,
 * is fsynced and renamed into place, then the folder is fsynced: once it returns,
 * the content survives a crash.
 */
export class Vault {
  /** What this process last did to each path, so the file watcher can tell its own writes from a person's. */
  private readonly own = new Map<string, string>();

  constructor(readonly root: string) {}

  /** True when the file's current state (null = absent) is what this process wrote or removed. */
  isOwnChange(relative: string, stat: FileStat | null): boolean {
    const mark = this.own.get(relative);
    if (mark === WRITING) return true;
    return mark !== undefined && mark === (stat ? stamp(stat) : GONE);
  }

  private mark(relative: string, state: string): void {
    this.own.delete(relative);
    this.own.set(relative, state);
    if (this.own.size > MAX_MARKS) this.own.delete(this.own.keys().next().value!);
  }

  abs(relative: string): string {
    return path.join(this.root, ...relative.split('/'));
  }

  async read(relative: string): Promise<string | null> {
    try {
      return await fs.readFile(this.abs(relative), 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async stat(relative: string): Promise<FileStat | null> {
    try {
      const s = await fs.stat(this.abs(relative));
      return s.isFile() ? { path: relative, mtimeMs: s.mtimeMs, size: s.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async write(relative: string, content: string): Promise<FileStat> {
    this.mark(relative, WRITING);
    try {
      const stat = await this.writeFile(relative, content);
      this.mark(relative, stamp(stat));
      return stat;
    } catch (error) {
      this.own.delete(relative);
      throw error;
    }
  }

  private async writeFile(relative: string, content: string): Promise<FileStat> {
    const target = this.abs(relative);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`); // matches TEMP_FILE
    const handle = await fs.open(temp, 'w', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await syncDir(dir);
    const s = await fs.stat(target);
    return { path: relative, mtimeMs: s.mtimeMs, size: s.size };
  }

  /** Returns false when there was nothing to delete. Empty parent folders are removed up to `stopAt`. */
  async remove(relative: string, stopAt: string): Promise<boolean> {
    this.mark(relative, GONE);
    try {
      await fs.unlink(this.abs(relative));
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    const dir = path.dirname(this.abs(relative));
    await syncDir(dir);
    await this.pruneEmpty(dir, this.abs(stopAt));
    return true;
  }

  async move(from: string, to: string, stopAt: string): Promise<FileStat> {
    const target = this.abs(to);
    await fs.mkdir(path.dirname(target), { recursive: true });
    this.mark(from, GONE);
    this.mark(to, WRITING);
    await fs.rename(this.abs(from), target);
    const s = await fs.stat(target);
    const stat = { path: to, mtimeMs: s.mtimeMs, size: s.size };
    this.mark(to, stamp(stat));
    await syncDir(path.dirname(target));
    await syncDir(path.dirname(this.abs(from)));
    await this.pruneEmpty(path.dirname(this.abs(from)), this.abs(stopAt));
    return stat;
  }

  /** Every file below `folder` whose name passes `accept`, skipping hidden files and folders. */
  async walk(folder: string, accept: (name: string) => boolean = () => true): Promise<FileStat[]> {
    const out: FileStat[] = [];
    const base = this.abs(folder);
    const visit = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await visit(path.join(dir, entry.name), rel);
        else if (entry.isFile() && accept(entry.name)) {
          const s = await fs.stat(path.join(dir, entry.name)).catch(() => null);
          if (s) out.push({ path: rel, mtimeMs: s.mtimeMs, size: s.size });
        }
      }
    };
    await visit(base, '');
    return out;
  }

  /** Removes temp files left by writes that a crash cut short (they were never acknowledged). */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) {
          if (entry.name !== '.git' && entry.name !== '.roost') await visit(path.join(dir, entry.name));
        } else if (TEMP_FILE.test(entry.name)) {
          await fs.rm(path.join(dir, entry.name), { force: true });
          removed++;
        }
      }
    };
    await visit(this.root);
    return removed;
  }

  private async pruneEmpty(dir: string, stop: string): Promise<void> {
    while (dir.startsWith(stop) && dir !== stop) {
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;
const WRITING = 'writing';
const GONE = 'gone';
const MAX_MARKS = 50_000;

function stamp(stat: FileStat): string {
  return `${stat.mtimeMs}:${stat.size}`;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}
