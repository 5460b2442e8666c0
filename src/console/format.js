import { html } from './html.js';

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function ago(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (Math.abs(seconds) < 10) return 'just now';
  const span = duration(Math.abs(seconds));
  if (!span) return iso.slice(0, 10);
  return seconds < 0 ? `in ${span}` : `${span} ago`;
}

function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  if (seconds < 86400 * 30) return `${Math.floor(seconds / 86400)} d`;
  return null;
}

/** A relative time with the exact one on hover. */
export function Time({ at }) {
  return html`<time datetime=${at} title=${at ? new Date(at).toLocaleString() : ''}>${ago(at)}</time>`;
}

export function shortCommit(commit) {
  return commit.slice(0, 8);
}
