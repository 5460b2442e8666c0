import { type FSWatcher, statSync, watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Watches a folder tree with one watch per folder, and reports the relative posix path of every
 * entry that may have changed (the receiver stats it to learn what happened). chokidar, used before,
 * stats and watches every file: at 100,000 notes that took half a minute and most of a gigabyte.
 */
export class TreeWatcher {
  private readonly folders = new Map<string, FSWatcher>();
  private closed = false;
  private warned = false;

  /**
   * @param ignored relative paths not to watch or report
   * @param changed an entry changed; for a folder that appeared, each file in it is reported too
   */
  constructor(
    private readonly root: string,
    private readonly ignored: (relative: string) => boolean,
    private readonly changed: (relative: string) => void,
  ) {}

  /** Resolves when every folder present is watched. */
  start(): Promise<void> {
    return this.add('', false);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  private async add(folder: string, report: boolean): Promise<void> {
    if (this.closed || this.folders.has(folder)) return;
    const abs = path.join(this.root, ...folder.split('/'));
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, (_event, name) => {
        if (name) this.event(folder ? `${folder}/${name}` : name.toString());
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EMFILE') && !this.warned) {
        this.warned = true;
        console.error(
          `roost: cannot watch ${abs} and maybe more folders: the system's limit of inotify watches is reached (${code}). Edits by hand there are noticed only at the next start; raise the limit, e.g. sysctl fs.inotify.max_user_watches=524288.`,
        );
      }
      return; // gone already, or not watchable
    }
    watcher.on('error', () => this.forget(folder));
    this.folders.set(folder, watcher);
    const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
    const subfolders: Array<Promise<void>> = [];
    for (const entry of entries) {
      const relative = folder ? `${folder}/${entry.name}` : entry.name;
      if (this.ignored(relative)) continue;
      if (entry.isDirectory()) subfolders.push(this.add(relative, report));
      else if (report) this.changed(relative);
    }
    await Promise.all(subfolders);
  }

  private event(relative: string): void {
    if (this.closed || this.ignored(relative)) return;
    // Synchronously: the entry's inode is in the cache, and a trip through libuv's pool costs more.
    let isFolder: boolean;
    try {
      isFolder = statSync(path.join(this.root, ...relative.split('/'))).isDirectory();
    } catch {
      this.forget(relative);
      return this.changed(relative);
    }
    if (isFolder) void this.add(relative, true);
    else this.changed(relative);
  }

  /** A folder is gone: stop watching it and everything below it. */
  private forget(folder: string): void {
    for (const [watched, watcher] of this.folders) {
      if (watched === folder || watched.startsWith(`${folder}/`)) {
        watcher.close();
        this.folders.delete(watched);
      }
    }
  }
}
