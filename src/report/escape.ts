/**
 * Escaping for XML and HTML text and attribute values. Names in reports (device hostnames from
 * leases, DNS names, application labels) come from the network: every one goes through here.
 * Characters XML 1.0 forbids (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/FFFF)
 * become U+FFFD, so a hostile name cannot make a document ill-formed either.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escape text for XML/HTML content and (double- or single-quoted) attribute values. */
export function esc(text: string | number): string {
  return String(text).replace(INVALID_XML, '\uFFFD').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Shorten text to at most `max` characters, with an ellipsis (before escaping). */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
