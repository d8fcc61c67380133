/** Light/dark mode: prefers-color-scheme until the user picks one (kept in localStorage). */
const KEY = 'v6scope.theme';
export type Theme = 'light' | 'dark';

function stored(): Theme | null {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'light' || t === 'dark' ? t : null;
  } catch {
    return null;
  }
}

function system(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

function apply(t: Theme, button: HTMLButtonElement): void {
  document.documentElement.dataset.theme = t;
  button.setAttribute('aria-pressed', String(t === 'dark'));
  button.textContent = t === 'dark' ? 'Light mode' : 'Dark mode';
  button.title = `Switch to ${t === 'dark' ? 'light' : 'dark'} mode`;
  window.dispatchEvent(new CustomEvent('v6scope:theme'));
}

export function initTheme(button: HTMLButtonElement): void {
  apply(stored() ?? system(), button);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!stored()) apply(system(), button);
  });
  button.addEventListener('click', () => {
    const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(KEY, next);
    } catch {
      /* not persisted */
    }
    apply(next, button);
  });
}

/** Colours for charts, read from the CSS custom properties of the current theme. */
export function palette(): { text: string; muted: string; grid: string; v4: string; v6: string; series: string[] } {
  const cs = getComputedStyle(document.documentElement);
  const v = (n: string): string => cs.getPropertyValue(n).trim();
  return {
    text: v('--fg'),
    muted: v('--muted'),
    grid: v('--grid'),
    v4: v('--v4'),
    v6: v('--v6'),
    series: [v('--c1'), v('--c2'), v('--c3'), v('--c4'), v('--c5'), v('--c6')],
  };
}
