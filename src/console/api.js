import { useEffect, useRef } from 'preact/hooks';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** What the daemon allows, from the session: a read-only daemon hides every button that would change something. */
export const daemon = { readOnly: false };

let onLoggedOut = () => {};

/** Called when the server says the session is gone (daemon restarted, logged out elsewhere). */
export function whenLoggedOut(handler) {
  onLoggedOut = handler;
}

/** A request to the console API. Every request carries the console header the server requires for changes. */
export async function api(method, path, { query, body } = {}) {
  const url = query ? `${path}?${new URLSearchParams(defined(query))}` : path;
  const res = await fetch(url, {
    method,
    headers: { 'x-roost-console': '1', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/api/login') onLoggedOut();
  if (!res.ok) throw new ApiError(res.status, data.error ?? `${res.status} ${res.statusText}`);
  return data;
}

export const get = (path, query) => api('GET', path, { query });

function defined(query) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}

// ---- the live activity feed (Server-Sent Events) --------------------------------------

const listeners = new Set();
let source = null;

/** Opens the stream once logged in; `onStatus(connected)` reports its state for the header. */
export function connectEvents(onStatus) {
  source?.close();
  source = new EventSource('/events');
  source.addEventListener('open', () => onStatus(true));
  source.addEventListener('error', () => onStatus(source.readyState === EventSource.OPEN));
  source.addEventListener('activity', (event) => {
    const activity = JSON.parse(event.data);
    for (const listener of listeners) listener(activity);
  });
}

export function disconnectEvents() {
  source?.close();
  source = null;
}

/** Calls `handler` with every activity while the component is mounted. */
export function useActivity(handler) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const listener = (activity) => latest.current(activity);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
}
