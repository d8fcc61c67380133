/**
 * Templates (NetFlow v9 / IPFIX) and their compilation into a flat op list.
 *
 * A compiled template is an Int32Array of 4-int ops: [read kind, slot, offset, length]. Offsets are
 * fixed, computed once per template, relative to the start of the record — or, after a
 * variable-length field, relative to the end of that field (an RD_VARLEN op moves the base; its
 * "slot" is the length of the fixed segment that follows, checked against the set's end).
 * Fixed-length packet sections (IE 315/313) are RD_SECTION ops (offset and length into two slots).
 * Only IEs the decoder uses become ops; everything else (unknown IEs, enterprise IEs, repeated IEs
 * after the first, fields of an unusable length) is skipped by its length at no per-record cost.
 */
import {
  IANA_IES,
  NUM_SLOTS,
  R_BYTES,
  R_BYTES_TOT,
  R_PKTS,
  R_PKTS_TOT,
  RD_SECTION,
  REVERSE_IES,
  REVERSE_PEN,
  S_BYTES,
  S_BYTES_TOT,
  S_DST_MAC,
  S_OUT_BYTES,
  S_OUT_PKTS,
  S_PKTS,
  S_PKTS_TOT,
  S_POST_DST_MAC,
  S_POST_SRC_MAC,
  S_SRC_MAC,
  type IeSpec,
} from './ie.js';

import type { RecordFn } from './codegen.js';

/** Variable-length field (IPFIX length 65535): 1-byte length, or 255 then a 2-byte length. */
export const RD_VARLEN = 15;
export const VARLEN = 0xffff;

export interface TemplateField {
  /** IE number (enterprise bit cleared). */
  id: number;
  /** Encoded length in bytes; 65535 = variable length. */
  length: number;
  /** Private enterprise number (0 = IANA). */
  enterprise: number;
}

export interface Template {
  readonly id: number;
  /** Options template (its data records configure the exporter state, e.g. sampling). */
  readonly options: boolean;
  /** Number of scope fields (options templates), first in `fields`. */
  readonly scopeCount: number;
  readonly fields: readonly TemplateField[];
  /** NetFlow v9 (9) or IPFIX (10): v9 options scope fields are not IEs and are skipped. */
  readonly version: 9 | 10;
  /** The template record's wire bytes as a string, to skip recompiling identical refreshes. */
  readonly wire: string;
  readonly ops: Int32Array;
  /** has[slot] = 1 when the template fills that slot. */
  readonly has: Uint8Array;
  /** True when the record length is fixed (no variable-length field). */
  readonly fixed: boolean;
  /** Fixed record length, or the minimum one (a variable-length field takes at least 1 byte). */
  readonly minLen: number;
  /** Length of the fixed segment before the first variable-length field (= minLen when fixed). */
  readonly firstSegLen: number;
  readonly bytesSlot: number;
  readonly pktsSlot: number;
  readonly rBytesSlot: number;
  readonly rPktsSlot: number;
  readonly srcMacSlot: number;
  readonly dstMacSlot: number;
  /** Records decoded with this template so far (the decoder generates a function for hot ones). */
  hits: number;
  /**
   * The generated record function (codegen.ts) once the template is hot: undefined until then,
   * null when the template is not compilable (the interpreter decodes it).
   */
  fn: RecordFn | null | undefined;
}

function specFor(f: TemplateField): IeSpec | undefined {
  if (f.enterprise === 0) return IANA_IES.get(f.id);
  if (f.enterprise === REVERSE_PEN) return REVERSE_IES.get(f.id);
  return undefined;
}

/**
 * Compile a template. Returns null when it cannot describe a record (no bytes at all: a data set
 * would never advance).
 */
export function compileTemplate(
  id: number,
  fields: readonly TemplateField[],
  opts: { options: boolean; scopeCount: number; version: 9 | 10; wire: string },
): Template | null {
  const has = new Uint8Array(NUM_SLOTS);
  const ops: number[] = [];
  let seg = 0; // current fixed-segment length
  let total = 0;
  let firstSeg = -1;
  let lastVarOp = -1;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length === VARLEN) {
      if (lastVarOp >= 0) ops[lastVarOp + 1] = seg;
      else firstSeg = seg;
      lastVarOp = ops.length;
      // A variable-length packet section (IE 315/313) keeps its content's offset and length: the
      // op's last int is the section's slot + 1 (0: the field is skipped).
      const vs = specFor(f);
      let keep = 0;
      if (vs && vs.read === RD_SECTION && has[vs.slot] === 0) {
        has[vs.slot] = 1;
        keep = vs.slot + 1;
      }
      ops.push(RD_VARLEN, 0, seg, keep);
      total += 1;
      seg = 0;
      continue;
    }
    const skipScope = opts.version === 9 && opts.options && i < opts.scopeCount;
    const spec = skipScope ? undefined : specFor(f);
    if (spec && has[spec.slot] === 0 && f.length >= spec.minLen && f.length <= spec.maxLen) {
      has[spec.slot] = 1;
      ops.push(spec.read, spec.slot, seg, f.length);
    }
    seg += f.length;
    total += f.length;
  }
  if (lastVarOp >= 0) ops[lastVarOp + 1] = seg;
  else firstSeg = seg;
  if (total === 0) return null;
  const pick = (...slots: number[]): number => {
    for (const s of slots) if (has[s]) return s;
    return -1;
  };
  return {
    id,
    options: opts.options,
    scopeCount: opts.scopeCount,
    fields: fields.map((f) => ({ id: f.id, length: f.length, enterprise: f.enterprise })),
    version: opts.version,
    wire: opts.wire,
    ops: Int32Array.from(ops),
    has,
    fixed: lastVarOp < 0,
    minLen: total,
    firstSegLen: firstSeg,
    bytesSlot: pick(S_BYTES, S_BYTES_TOT, S_OUT_BYTES),
    pktsSlot: pick(S_PKTS, S_PKTS_TOT, S_OUT_PKTS),
    rBytesSlot: pick(R_BYTES, R_BYTES_TOT),
    rPktsSlot: pick(R_PKTS, R_PKTS_TOT),
    srcMacSlot: pick(S_SRC_MAC, S_POST_SRC_MAC),
    dstMacSlot: pick(S_DST_MAC, S_POST_DST_MAC),
    hits: 0,
    fn: undefined,
  };
}
