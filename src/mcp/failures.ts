import { messageWithin, UserError } from '../core/errors.js';
import type { Roost } from '../core/roost.js';

/**
 * A resource's read callback whose failures reach the client as a tool's do: a `UserError` as it
 * is; anything else logged, and told without the data root's place on disk.
 */
export function guarded<Args extends unknown[], Result>(roost: Pick<Roost, 'options'>, read: (...args: Args) => Promise<Result>): (...args: Args) => Promise<Result> {
  return async (...args) => {
    try {
      return await read(...args);
    } catch (error) {
      if (error instanceof UserError) throw error;
      console.error('roost: reading a resource failed:', error);
      throw new Error(`Roost could not read the resource: ${messageWithin(roost.options.home, error)}. Try again.`);
    }
  };
}
