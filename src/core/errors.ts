import path from 'node:path';

/** An error the caller can fix. Its message says how; tools turn it into an `isError` result. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'too_large' | 'rate_limited' = 'invalid',
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * The message of an error no caller caused (a file system or git failure), as a caller may read it:
 * paths in the data root `home` are written relative to it, since where it lies on disk is the
 * operator's business.
 */
export function messageWithin(home: string, error: unknown): string {
  const root = path.resolve(home);
  const message = error instanceof Error ? error.message : String(error);
  return message.replaceAll(root + path.sep, '').replaceAll(root, '.');
}
