import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';

/**
 * Loads data for a view and reloads it when `deps` change or `reload()` is called.
 * The last data stays on screen while a reload runs, so live updates do not flicker.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error) => mine === generation.current && setState({ data: null, error, loading: false }),
    );
  }, deps);
  useEffect(reload, [reload]);
  return [state, reload];
}

/** Calls `fn` at most once per `ms`, after the last call (for reloads triggered by bursts of activity). */
export function useDebounced(fn, ms) {
  const timer = useRef();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  }, [ms]);
}

export function Loading() {
  return html`<p class="muted loading">Loading…</p>`;
}

export function ErrorBox({ error }) {
  return error ? html`<p class="error" role="alert">${error.message ?? String(error)}</p>` : null;
}

/** Shows the error, the loading line, or the content made from the data. */
export function Loaded({ state, children }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.data) return html`<${Loading} />`;
  return children(state.data);
}

export function KindBadge({ kind }) {
  return html`<span class="badge kind-${kind}">${kind}</span>`;
}

export function Online({ online }) {
  return html`<span class=${`dot ${online ? 'on' : 'off'}`} title=${online ? 'online: has a live session' : 'offline'}></span>`;
}

export function Chips({ items }) {
  if (!items?.length) return html`<span class="muted">—</span>`;
  return html`<span class="chips">${items.map((t) => html`<span class="chip">${t}</span>`)}</span>`;
}
