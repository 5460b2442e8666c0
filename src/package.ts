import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json: two up from src/ (tests) and three up from dist/src/ (built). */
export const PACKAGE_ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++) {
    dir = path.dirname(dir);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error('roost: cannot find its package.json');
})();

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The built command-line entry, for starting a daemon from a bridge. */
export const CLI_PATH = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
