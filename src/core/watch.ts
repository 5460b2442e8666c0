import { type FSWatcher, lstatSync, type Stats, watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Watches a folder tree with one watch per folder, and reports the relative posix path of every
 * entry that may have changed (the receiver stats it to learn what happened). chokidar, used before,
 * stats and watches every file: at 100,000 notes that took half a minute and most of a gigabyte.
 *
 * A watch follows its folder, not its name: a folder renamed, replaced or removed by hand gets its
 * watches (and those below it) dropped, and a folder that appears under a name, new or reused, is
 * watched anew and reported, itself and every file in it. A symbolic link is reported as an entry,
 * never followed.
 */
export class TreeWatcher {
  /** Each watched folder with the identity it had when its watch began. */
  private readonly folders = new Map<string, { watcher: FSWatcher; identity: string }>();
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
    for (const { watcher } of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  private async add(folder: string, report: boolean): Promise<void> {
    if (this.closed || this.folders.has(folder)) return;
    const abs = path.join(this.root, ...folder.split('/'));
    let watcher: FSWatcher;
    let identity: string;
    try {
      const s = lstatSync(abs);
      if (folder !== '' && !s.isDirectory()) return; // a link, or a file now
      identity = identityOf(s);
      watcher = watch(abs, (_event, name) => {
        if (name) this.event(folder ? `${folder}/${name}` : name.toString());
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EMFILE') && !this.warned) {
        this.warned = true;
        console.error(
          `roost: cannot watch ${abs} and maybe more folders: the system's limit of inotify watches is reached (${code}). Edits by hand there are noticed only by the sweep that compares the data root with git every minute; raise the limit, e.g. sysctl fs.inotify.max_user_watches=524288.`,
        );
      }
      return; // gone already, or not watchable
    }
    watcher.on('error', () => this.forget(folder));
    this.folders.set(folder, { watcher, identity });
    const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
    const subfolders: Array<Promise<void>> = [];
    for (const entry of entries) {
      const relative = folder ? `${folder}/${entry.name}` : entry.name;
      if (this.ignored(relative)) continue;
      // readdir does not follow links: a linked folder is not a folder here.
      if (entry.isDirectory()) subfolders.push(this.add(relative, report));
      else if (report) this.changed(relative);
    }
    await Promise.all(subfolders);
  }

  private event(relative: string): void {
    if (this.closed || this.ignored(relative)) return;
    // Synchronously: the entry's inode is in the cache, and a trip through libuv's pool costs more.
    const now = lstatSync(path.join(this.root, ...relative.split('/')), { throwIfNoEntry: false });
    const watched = this.folders.get(relative);
    if (now?.isDirectory() && watched?.identity === identityOf(now)) return; // the same folder, still watched
    // A watch of a folder renamed away would go on reporting its files under this name. A folder
    // gone or replaced is reported itself: what was under its name may be gone.
    if (watched) this.forget(relative);
    if (watched || !now?.isDirectory()) this.changed(relative);
    if (now?.isDirectory()) void this.add(relative, true);
  }

  /** A folder is gone: stop watching it and everything below it. */
  private forget(folder: string): void {
    for (const [watched, { watcher }] of this.folders) {
      if (watched === folder || watched.startsWith(`${folder}/`)) {
        watcher.close();
        this.folders.delete(watched);
      }
    }
  }
}

/**
 * What tells one folder from another under the same name: its inode number and its birth time, as a
 * folder removed by hand frees an inode number that the next folder made (maybe one moved in) gets.
 */
function identityOf(s: Stats): string {
  return `${s.ino}:${s.birthtimeMs}`;
}
