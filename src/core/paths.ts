import { UserError } from './errors.js';

const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Message ids, thread ids and ids of messages written by hand (their file name): no "/", never hidden. */
const MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$/;
const MAX_PATH = 512;
/** Bytes per file or folder name: file systems allow 255, and a temp file adds a prefix and suffix. */
const MAX_SEGMENT_BYTES = 200;

/**
 * The one path rule. Everything from outside that names a place in the data root passes one of these
 * before it reaches the file system: bot ids, topic names and task ids (`checkId`), message and
 * thread ids (`isMessageId`), note paths and folders inside a bot's memory (`checkNotePath`,
 * `checkFolder`), and, in the vault itself, every data-root path (`checkDataPath`), so that a path
 * no command checked still cannot leave the root.
 */

/** True for a valid bot id, topic name or task id. */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

/** True for a valid message or thread id. */
export function isMessageId(value: string): boolean {
  return typeof value === 'string' && MESSAGE_ID.test(value);
}

/** Bot ids, topic names and task ids: lower-case letters, digits, `-` and `_`, at most 64 characters. */
export function checkId(id: string, what = 'bot id'): string {
  if (!isId(id)) {
    throw new UserError(
      `"${id}" is not a valid ${what}: use 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit.`,
    );
  }
  return id;
}

/**
 * Validates a note path relative to a bot's folder and returns it in normal form
 * (posix separators, no duplicate slashes). Rejects anything that could leave the folder.
 */
export function checkNotePath(input: string, what = 'path'): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new UserError(`The ${what} is empty: give a relative path such as "notes/plan.md".`);
  }
  if (/[\u0000-\u001f\u007f]/.test(input)) {
    throw new UserError(`The ${what} contains a control or NUL character: use printable characters only.`);
  }
  if (!input.isWellFormed() || /\p{Cf}/u.test(input)) {
    throw new UserError(`The ${what} contains invisible formatting characters or broken Unicode: use visible characters only.`);
  }
  input = input.normalize('NFC');
  if (input.includes('\\')) {
    throw new UserError(`The ${what} "${input}" contains a backslash: separate folders with "/".`);
  }
  if (input.startsWith('/') || /^[a-zA-Z]:/.test(input)) {
    throw new UserError(`The ${what} "${input}" is absolute: give it relative to your memory, e.g. "notes/plan.md".`);
  }
  if (input.length > MAX_PATH) {
    throw new UserError(`The ${what} is ${input.length} characters long: keep it under ${MAX_PATH}.`);
  }
  const segments = input.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..') {
      throw new UserError(`The ${what} "${input}" contains "${s}": paths may not leave or refer to folders that way.`);
    }
    if (s.startsWith('.')) {
      throw new UserError(`The ${what} "${input}" has a hidden segment "${s}": names may not start with ".".`);
    }
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) {
      throw new UserError(`The ${what} has a name longer than ${MAX_SEGMENT_BYTES} bytes: shorten "${s.slice(0, 40)}…".`);
    }
    if (s !== s.trim()) {
      throw new UserError(`The ${what} "${input}" has a name with leading or trailing spaces: remove them.`);
    }
  }
  const path = segments.join('/');
  if (!path.endsWith('.md')) {
    throw new UserError(`The ${what} "${input}" does not end in ".md": notes are Markdown files, e.g. "${path.replace(/\.[^./]*$/, '')}.md".`);
  }
  if (path === '.md' || path.endsWith('/.md')) {
    throw new UserError(`The ${what} "${input}" has no file name before ".md".`);
  }
  return path;
}

/** Validates a folder prefix (no `.md` needed); '' means the whole memory. */
export function checkFolder(input: string | undefined): string {
  if (input === undefined || input === '' || input === '/') return '';
  const normal = checkNotePath(`${input.replace(/\/+$/, '')}/x.md`, 'folder');
  return normal.slice(0, -'/x.md'.length);
}

/**
 * Checks a path relative to the data root, as the vault gets it: "/"-separated names, none empty,
 * none "." or "..", none hidden (so `.roost/` and `.git/` are out of reach), no NUL. Returns it unchanged.
 */
export function checkDataPath(relative: string): string {
  if (typeof relative !== 'string' || relative === '' || relative.includes('\0') || relative.split('/').some((s) => s === '' || s.startsWith('.'))) {
    throw new UserError(`"${relative}" is not a path inside the data root: name a file or folder below it, without "." or ".." and without hidden names.`);
  }
  return relative;
}
