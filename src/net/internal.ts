/** Helpers shared by the net modules (not re-exported from index.ts). */

/** Hex digit value by char code (0-127), -1 for non-hex. */
export const HEXVAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEXVAL[65 + i] = 10 + i;
  HEXVAL[97 + i] = 10 + i;
}

/** Byte → lower-case hex without leading zeros ("0".."ff"). */
export const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
/** Byte → two lower-case hex digits ("00".."ff"). */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Byte → decimal text. */
export const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Quote an input for an error message: JSON string syntax (escapes control characters), capped. */
export function quoteInput(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}
