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
