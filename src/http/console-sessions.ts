import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const SESSION_COOKIE = 'roost_console';
/** A console session ends after this long without a request. */
const IDLE_MS = 12 * 60 * 60_000;
/** Logins beyond this many live sessions push out the least recently used one. */
const MAX_SESSIONS = 200;

/**
 * Console logins: the operator token is exchanged once for a random session id, kept only in
 * memory (a daemon restart logs everyone out) and held by the browser in an HttpOnly,
 * SameSite=Strict cookie.
 */
export class ConsoleSessions {
  /** Session id → when it expires; Map order is least recently used first. */
  private readonly sessions = new Map<string, number>();

  start(res: ServerResponse): void {
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, Date.now() + IDLE_MS);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`);
  }

  /** True when the request carries a live session (and keeps it alive). */
  check(req: IncomingMessage): boolean {
    const id = sessionIdOf(req);
    const expires = id === undefined ? undefined : this.sessions.get(id);
    if (id === undefined || expires === undefined) return false;
    this.sessions.delete(id);
    if (expires < Date.now()) return false;
    this.sessions.set(id, Date.now() + IDLE_MS);
    return true;
  }

  end(req: IncomingMessage, res: ServerResponse): void {
    const id = sessionIdOf(req);
    if (id !== undefined) this.sessions.delete(id);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
  }
}

function sessionIdOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === SESSION_COOKIE && value) return value;
  }
  return undefined;
}
