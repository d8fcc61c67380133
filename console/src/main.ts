/** The v6scope web console: layout, routing, the access-token prompt. docs/console.md */
import './style.css';
import { ApiFailure, getToken, setToken } from './api.js';
import { h } from './dom.js';
import { disposeCharts } from './panel.js';
import { device, devices } from './pages/devices.js';
import { explorer } from './pages/explorer.js';
import { exportersPage } from './pages/exporters.js';
import { floorPage } from './pages/floor.js';
import { home } from './pages/home.js';
import { currentRoute, href, startRouter, type Route } from './router.js';
import { initTheme } from './theme.js';

const PAGES: { path: string; label: string }[] = [
  { path: '', label: 'Home' },
  { path: 'explorer', label: 'Explorer' },
  { path: 'devices', label: 'Devices' },
  { path: 'floor', label: 'IPv4 floor' },
  { path: 'exporters', label: 'Exporters' },
];

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let controller: AbortController | null = null;

function page(route: Route, signal: AbortSignal): Promise<Node> | null {
  const p = route.path;
  if (p === '') return home(route, signal);
  if (p === 'explorer') return explorer(route, signal);
  if (p === 'devices') return devices(route, signal);
  if (p.startsWith('devices/') && !p.slice(8).includes('/')) return device(route, decodeURIComponent(p.slice(8)), signal);
  if (p === 'floor') return floorPage(route, signal);
  if (p === 'exporters') return exportersPage(route, signal);
  return null;
}

function renderNav(route: Route): void {
  const section = route.path.split('/')[0] ?? '';
  nav.replaceChildren(
    ...PAGES.map((p) => h('a', { href: href(p.path), 'data-link': '', 'aria-current': p.path === section ? 'page' : null }, p.label)),
  );
}

function tokenForm(message: string): HTMLElement {
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, minlength: 16, 'aria-label': 'Access token' });
  return h(
    'form',
    {
      class: 'token',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        setToken(input.value.trim());
        void render();
      },
    },
    h('h1', null, 'Access token'),
    h('p', null, message),
    h('p', { class: 'muted' }, 'It is kept in this browser tab only (sessionStorage) and sent as "Authorization: Bearer" with every API request.'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Use token')),
  );
}

async function render(): Promise<void> {
  controller?.abort();
  const ctl = new AbortController();
  controller = ctl;
  const route = currentRoute();
  renderNav(route);
  main.dataset.state = 'loading';
  main.setAttribute('aria-busy', 'true');
  let content: Node;
  let state = 'ready';
  try {
    const p = page(route, ctl.signal);
    content = p ? await p : h('div', { class: 'page' }, h('h1', null, 'Not found'), h('p', null, 'No such page. ', h('a', { href: href(''), 'data-link': '' }, 'Home')));
  } catch (e) {
    if (ctl.signal.aborted) return;
    state = 'error';
    if (e instanceof ApiFailure && e.body.status === 401) {
      const had = getToken() !== null;
      setToken(null);
      content = tokenForm(had ? 'The token was not accepted. Enter the API access token.' : 'This v6scope API requires an access token.');
    } else if (e instanceof ApiFailure) {
      content = h('div', { class: 'page' }, h('h1', null, e.body.status === 404 ? 'Not found' : 'Error'), h('div', { class: 'error', role: 'alert' }, e.body.message));
    } else {
      content = h('div', { class: 'page' }, h('h1', null, 'Error'), h('div', { class: 'error', role: 'alert' }, `The page could not be shown: ${(e as Error).message}`));
    }
  }
  if (ctl.signal.aborted) return;
  disposeCharts();
  main.replaceChildren(content);
  main.dataset.state = state;
  main.dataset.route = route.path.split('/')[0] ?? '';
  main.removeAttribute('aria-busy');
  const title = main.querySelector('h1')?.textContent;
  document.title = title ? `${title} · v6scope` : 'v6scope';
}

initTheme(document.getElementById('theme') as HTMLButtonElement);
startRouter(() => {
  void render();
  window.scrollTo(0, 0);
});
