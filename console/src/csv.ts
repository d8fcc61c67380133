/** CSV (RFC 4180): comma-separated, CRLF line ends, fields quoted when they need it. No DOM here. */
export type Cell = string | number | boolean | null | undefined;

export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  // quote fields with separators, quotes, line breaks or leading/trailing spaces; neutralise text
  // a spreadsheet would run as a formula (=, +, -, @ first; not plain negative numbers or "-")
  const text = typeof v === 'string' && s.length > 1 && /^[=+\-@\t\r]/.test(s) && !/^-\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
