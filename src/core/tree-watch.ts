import { type FSWatcher, watch } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Watches a folder tree with one `fs.watch` per folder, reporting the root-relative path of every
 * file added, changed or removed (hidden names skipped). Each event names its file, so a folder of
 * thousands of files costs no more to watch than a small one; chokidar instead rereads and stats a
 * whole folder on every change in it, which mailboxes cannot afford.
 */
export class TreeWatcher {
  private readonly folders = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onFile: (relative: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.add('', false);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  /** Watches a folder and those below it; `report` tells of the files already in it (a folder that just appeared). */
  private async add(folder: string, report: boolean): Promise<void> {
    if (this.closed || this.folders.has(folder)) return;
    const abs = path.join(this.root, folder);
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, (_event, name) => {
        if (name && !name.startsWith('.')) void this.changed(folder ? `${folder}/${name}` : name);
      });
    } catch {
      return; // gone already
    }
    watcher.on('error', () => this.drop(folder));
    this.folders.set(folder, watcher);
    const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relative = folder ? `${folder}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await this.add(relative, report);
      else if (report && entry.isFile()) this.onFile(relative);
    }
  }

  private async changed(relative: string): Promise<void> {
    const stats = await stat(path.join(this.root, relative)).catch(() => null);
    if (stats?.isDirectory()) return this.add(relative, true);
    // A removed folder reports each of its files as they go; only its watchers are left to end.
    if (!stats && this.folders.has(relative)) return this.drop(relative);
    if (!this.closed) this.onFile(relative);
  }

  private drop(folder: string): void {
    for (const [name, watcher] of this.folders) {
      if (folder === '' || name === folder || name.startsWith(`${folder}/`)) {
        watcher.close();
        this.folders.delete(name);
      }
    }
  }
}
