/**
 * Test helpers for reports: a tolerant HTML/XML structure check, the SVGs of a page, xmllint, and
 * a small PNG decoder (8-bit RGBA, non-interlaced — what resvg writes) to look at the pixels of
 * the files themselves.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { requireTools } from '../helpers/tools.js';

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/**
 * Checks that every tag is closed in order (HTML void elements excepted), attributes are quoted,
 * and no raw `<` or stray `&` appears in text. Returns the problems found (empty when fine).
 */
export function structureProblems(markup: string, o: { html: boolean }): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const body = markup.replace(/^<!DOCTYPE html>\s*/i, '');
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"<]*"|='[^'<]*')?)*)\s*(\/?)>|<!--[\s\S]*?-->|<|&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[0] === '<') {
      problems.push(`raw "<" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
      continue;
    }
    if (m[0].startsWith('&')) {
      problems.push(`unescaped "&" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
      continue;
    }
    if (m[0].startsWith('<!--')) continue;
    const [, close, name, , self] = m;
    const tag = o.html ? name!.toLowerCase() : name!;
    if (close) {
      const open = stack.pop();
      if (open !== tag) problems.push(`</${tag}> closes <${open ?? 'nothing'}> at ${m.index}`);
    } else if (!self && !(o.html && VOID.has(tag))) {
      stack.push(tag);
    }
    // raw text elements: skip their content (only <style> here; it holds no tags)
    if (!close && (tag === 'style' || tag === 'script')) {
      const end = body.indexOf(`</${tag}>`, re.lastIndex);
      if (end < 0) problems.push(`<${tag}> never closed`);
      else re.lastIndex = end;
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  return problems;
}

/** Every <svg>…</svg> element of a page (they do not nest here). */
export function svgsOf(html: string): string[] {
  return [...html.matchAll(/<svg[\s>][\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/**
 * xmllint --noout on each document. Returns false (skip) when xmllint is missing outside CI;
 * under CI=true a missing xmllint fails (requireTools).
 */
export function xmllintAll(docs: string[]): boolean {
  if (!requireTools('xmllint')) return false;
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-xml-'));
  try {
    const files = docs.map((d, i) => {
      const f = path.join(dir, `${i}.svg`);
      writeFileSync(f, d);
      return f;
    });
    // throws with xmllint's messages when any file is not well-formed
    execFileSync('xmllint', ['--noout', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, row by row. */
  pixels: Buffer;
}

/** Decode an 8-bit RGBA (colour type 6) or RGB (2), non-interlaced PNG. */
export function decodePng(buf: Buffer): DecodedPng {
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG: bad signature');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 4;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colour = data[9];
      if (depth !== 8 || (colour !== 6 && colour !== 2) || data[12] !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${data[12]}`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4, 255);
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const x = line[i]!;
      let v: number;
      if (f === 0) v = x;
      else if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`bad filter ${f} in row ${y}`);
      cur[i] = v & 255;
    }
    for (let px = 0; px < width; px++) for (let k = 0; k < channels; k++) out[(y * width + px) * 4 + k] = cur[px * channels + k]!;
    cur.copy(prev);
  }
  return { width, height, pixels: out };
}

/** Distinct colours and the share of pixels that differ from the most common (background) colour. */
export function pixelStats(img: DecodedPng): { colours: number; nonBackground: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < img.pixels.length; i += 4) {
    const k = img.pixels.readUInt32BE(i);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const bg = Math.max(...counts.values());
  const n = img.pixels.length / 4;
  return { colours: counts.size, nonBackground: (n - bg) / n };
}

/** The expected share text, computed here (not with v6scope's formatter). */
export const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
