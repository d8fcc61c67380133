/**
 * History routing relative to the console's root (document.baseURI, set by the server's <base>):
 * the page and its state live in the URL (path + query), so a view can be shared and a reload
 * restores it.
 */
export interface Route {
  /** Path below the root without leading slash: '', 'explorer', 'devices/aa:bb:...'. */
  path: string;
  query: URLSearchParams;
}

function root(): URL {
  return new URL('./', document.baseURI);
}

export function currentRoute(): Route {
  const r = root().pathname;
  const p = location.pathname.startsWith(r) ? location.pathname.slice(r.length) : location.pathname.replace(/^\//, '');
  return { path: p.replace(/\/$/, ''), query: new URLSearchParams(location.search) };
}

/** A link target for a route (relative to the root). */
export function href(path: string, query?: URLSearchParams | Record<string, string | undefined>): string {
  const u = new URL(path, root());
  if (query) {
    const q = query instanceof URLSearchParams ? query : new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
    u.search = q.toString();
  }
  return u.pathname + u.search;
}

let onChange: (() => void) | null = null;

export function navigate(to: string, o: { replace?: boolean } = {}): void {
  if (o.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  onChange?.();
}

export function startRouter(render: () => void): void {
  onChange = render;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.('a[data-link]');
    if (!(a instanceof HTMLAnchorElement) || a.origin !== location.origin) return;
    ev.preventDefault();
    navigate(a.pathname + a.search);
  });
  render();
}
