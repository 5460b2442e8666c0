import { useEffect, useState } from 'preact/hooks';

/** The page's place lives in the hash: #/bots/dev?path=notes/plan.md */
export function currentRoute() {
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A link target: href('bots', 'dev', { path: 'a.md' }) → '#/bots/dev?path=a.md'. */
export function href(...parts) {
  const query = typeof parts.at(-1) === 'object' ? parts.pop() : null;
  const search = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return `#/${parts.map(encodeURIComponent).join('/')}${search ? `?${search}` : ''}`;
}

export function go(...parts) {
  location.hash = href(...parts);
}
