import type { IncomingMessage } from 'node:http';

/**
 * The most a request body may hold, at /mcp and /api alike. The largest body a caller needs is a
 * 1 MB note (the most a note may hold) sent as JSON, where quotes, backslashes and line ends take
 * two bytes each: 4 MB holds that with room for the rest of the request.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A body that is refused: too large (413) or not JSON (400). The message says what to send instead. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its request was read: there is nobody to answer, and nothing to log. */
export class ClientGone extends Error {}

/**
 * The request's body, parsed as JSON (`undefined` when it is empty). A body over the limit is read
 * to its end without being kept, so that the client gets its 413 answer rather than a reset connection.
 */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
    }
  } catch {
    throw new ClientGone();
  }
  if (size > MAX_BODY_BYTES) {
    throw new BodyError(413, `The request body is ${size} bytes, over the limit of ${MAX_BODY_BYTES} (4 MB): send less at once (a note holds at most 1 MB).`);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'The request body is not JSON: send a JSON value.');
  }
}
