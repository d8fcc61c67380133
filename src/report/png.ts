/**
 * PNG export of the report's charts with resvg (@resvg/resvg-js): no browser, no system library
 * beyond a font. resvg draws text only with a font it loaded: we pass the DejaVu/Liberation/Noto
 * files found in the usual places (Debian: `apt-get install fonts-dejavu-core`), or the file given
 * with --font, and refuse to write PNGs without any font rather than write charts without text.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';

/** Where fonts live on Debian/Ubuntu, Fedora, Alpine, macOS. */
const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', '/usr/share/fonts/truetype', '/Library/Fonts', '/System/Library/Fonts'];
/** Preferred sans-serif files, first found wins (DejaVu Sans is what the charts' metrics assume). */
const PREFERRED = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'LiberationSans-Regular.ttf', 'LiberationSans-Bold.ttf', 'NotoSans-Regular.ttf', 'NotoSans-Bold.ttf', 'Verdana.ttf', 'Arial.ttf'];

function walk(dir: string, depth: number, out: Map<string, string>): void {
  if (depth < 0 || !existsSync(dir)) return;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, depth - 1, out);
    else if (PREFERRED.includes(e.name) && !out.has(e.name)) out.set(e.name, p);
  }
}

/** Font files for the charts' text: the preferred sans-serif fonts found on this machine. */
export function findFonts(dirs: readonly string[] = FONT_DIRS): string[] {
  const found = new Map<string, string>();
  for (const d of dirs) walk(d, 4, found);
  return PREFERRED.filter((n) => found.has(n)).map((n) => found.get(n)!);
}

export class NoFontError extends Error {
  override readonly name = 'NoFontError';
  constructor() {
    super('no font found to draw the charts\' text in PNGs: install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or pass --font FILE.ttf');
  }
}

export interface PngOptions {
  /** Font files to use; default: findFonts(). */
  fonts?: string[];
  /** Scale factor (default 2: crisp on slides and high-density screens). */
  zoom?: number;
  /** Background colour (default white: slides). */
  background?: string;
}

export interface Png {
  png: Buffer;
  width: number;
  height: number;
}

/** Render one SVG document to PNG. Throws NoFontError when no font is available. */
export function svgToPng(svg: string, o: PngOptions = {}): Png {
  const fonts = o.fonts ?? findFonts();
  if (fonts.length === 0) throw new NoFontError();
  const base = fonts.map((f) => path.basename(f));
  const family = base.some((b) => b.startsWith('DejaVuSans')) ? 'DejaVu Sans' : base.some((b) => b.startsWith('Liberation')) ? 'Liberation Sans' : base.some((b) => b.startsWith('Noto')) ? 'Noto Sans' : undefined;
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: o.zoom ?? 2 },
    background: o.background ?? '#ffffff',
    font: { loadSystemFonts: false, fontFiles: fonts, ...(family ? { defaultFontFamily: family, sansSerifFamily: family } : {}) },
    logLevel: 'off',
  });
  const img = resvg.render();
  return { png: img.asPng(), width: img.width, height: img.height };
}
