/**
 * Tiny SVG writer: elements as strings with every attribute value and text escaped, a document
 * wrapper with title/description for screen readers, and the palette.
 *
 * Colours: every shape carries an explicit colour (so the SVG renders standalone and as PNG, where
 * no stylesheet applies) and a class; the HTML report's stylesheet maps the classes to CSS
 * variables, which follow prefers-color-scheme (CSS rules win over presentation attributes).
 */
import { esc } from '../escape.js';

export type Attrs = Record<string, string | number | null | undefined | false>;

/** Round coordinates to 0.01 so the output stays small and stable. */
export const r2 = (v: number): number => Math.round(v * 100) / 100;

function attrs(a: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === null || v === undefined || v === false) continue;
    out += ` ${k}="${esc(typeof v === 'number' ? r2(v) : v)}"`;
  }
  return out;
}

/** An element; `children` are already-built markup (use `text()`/esc() for strings). */
export function el(name: string, a: Attrs = {}, ...children: string[]): string {
  return children.length === 0 ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${children.join('')}</${name}>`;
}

/** A text element; `content` is escaped. */
export function text(x: number, y: number, content: string, a: Attrs = {}): string {
  return `<text${attrs({ x, y, class: 'fg', fill: PALETTE.fg, ...a })}>${esc(content)}</text>`;
}

/** A tooltip for the parent element (browsers show it on hover). */
export const tooltip = (content: string): string => `<title>${esc(content)}</title>`;

/** Light-theme colours (Okabe–Ito, colour-blind safe) with the class that restyles each in HTML. */
export const PALETTE = {
  bg: '#ffffff',
  fg: '#1b1b1b',
  muted: '#5c5c5c',
  grid: '#d9d9d9',
  ipv6: '#0072B2',
  ipv4: '#E69F00',
  infrastructure: '#999999',
  'ipv4-only-device': '#D55E00',
  'legacy-destination': '#CC79A7',
  fixable: '#009E73',
  unknown: '#56B4E9',
} as const;
export type ColorName = keyof typeof PALETTE;

/** fill + class for a palette colour. */
export const fill = (c: ColorName): Attrs => ({ fill: PALETTE[c], class: `c-${c}` });

export const FONT = "'DejaVu Sans', Verdana, 'Liberation Sans', Arial, sans-serif";

export interface SvgDocOptions {
  /** Unique within the HTML page: used for the title/desc ids. */
  id: string;
  width: number;
  height: number;
  title: string;
  /** A one-sentence summary of what the chart shows, for screen readers. */
  desc: string;
}

/** The complete, standalone SVG document (XML, no declaration so it can also be inlined in HTML). */
export function svgDoc(o: SvgDocOptions, body: string[]): string {
  const a: Attrs = {
    xmlns: 'http://www.w3.org/2000/svg',
    width: o.width,
    height: o.height,
    viewBox: `0 0 ${o.width} ${o.height}`,
    role: 'img',
    'aria-labelledby': `${o.id}-title ${o.id}-desc`,
    class: 'v6-chart',
    'font-family': FONT,
    'font-size': 12,
  };
  return [
    `<svg${attrs(a)}>`,
    `<title id="${esc(o.id)}-title">${esc(o.title)}</title>`,
    `<desc id="${esc(o.id)}-desc">${esc(o.desc)}</desc>`,
    el('rect', { x: 0, y: 0, width: o.width, height: o.height, ...fill('bg') }),
    text(16, 24, o.title, { 'font-size': 15, 'font-weight': 'bold' }),
    ...body,
    '</svg>',
  ].join('\n');
}

/** A chart area's "no traffic" message instead of empty axes or NaN. */
export function noData(x: number, y: number, message = 'no traffic in this period'): string {
  return text(x, y, message, { class: 'muted', fill: PALETTE.muted, 'text-anchor': 'middle', 'font-size': 14 });
}

/** Legend: swatches with labels, laid out left to right, wrapping at `width`. Returns markup and height used. */
export function legend(x: number, y: number, width: number, items: { color: ColorName; label: string }[]): { svg: string; height: number } {
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  for (const it of items) {
    const w = 18 + approxTextWidth(it.label, 12) + 16;
    if (cx > x && cx + w > x + width) {
      cx = x;
      cy += 18;
    }
    parts.push(el('rect', { x: cx, y: cy - 10, width: 12, height: 12, rx: 2, ...fill(it.color) }), text(cx + 18, cy, it.label));
    cx += w;
  }
  return { svg: parts.join(''), height: cy - y + 18 };
}

/** Approximate rendered width of text in DejaVu Sans / Verdana-like fonts (no DOM to measure). */
export function approxTextWidth(s: string, fontSize: number): number {
  return [...s].length * fontSize * 0.62;
}
