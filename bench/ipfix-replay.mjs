/**
 * The IPFIX export replayed by the collector benchmarks (collector-e2e.mjs, collector-store.mjs):
 * two 20-field templates (IPv4, IPv6), 10 IPv4 + 6 IPv6 records per 1376-byte datagram.
 */
export const V4_FIELDS = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [10, 4], [14, 4], [1, 8], [2, 8], [152, 8], [153, 8], [16, 4], [17, 4], [15, 4], [9, 1], [13, 1], [61, 1], [60, 1]];
export const V6_FIELDS = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [10, 4], [14, 4], [1, 8], [2, 8], [152, 8], [153, 8], [16, 4], [17, 4], [62, 16], [29, 1], [30, 1], [61, 1], [60, 1]];
const V4_PER = 10;
const V6_PER = 6;
export const RECS_PER = V4_PER + V6_PER;
const len = (f) => f.reduce((a, x) => a + x[1], 0);

/** One template record (IPFIX and NetFlow v9 share the layout): ID, field count, (IE, length) pairs. */
export function templateRecord(id, fields) {
  const b = Buffer.alloc(4 + fields.length * 4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(fields.length, 2);
  fields.forEach(([ie, l], i) => {
    b.writeUInt16BE(ie, 4 + i * 4);
    b.writeUInt16BE(l, 6 + i * 4);
  });
  return b;
}

export function templateMessage() {
  const body = Buffer.concat([templateRecord(256, V4_FIELDS), templateRecord(257, V6_FIELDS)]);
  const set = Buffer.alloc(4);
  set.writeUInt16BE(2, 0);
  set.writeUInt16BE(body.length + 4, 2);
  const h = Buffer.alloc(16);
  h.writeUInt16BE(10, 0);
  h.writeUInt16BE(16 + 4 + body.length, 2);
  h.writeUInt32BE(1, 12);
  return Buffer.concat([h, set, body]);
}

export function dataMessage(k) {
  const n4 = len(V4_FIELDS) * V4_PER;
  const n6 = len(V6_FIELDS) * V6_PER;
  const b = Buffer.alloc(16 + 4 + n4 + 4 + n6);
  b.writeUInt16BE(10, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(1, 12);
  let o = 16;
  b.writeUInt16BE(256, o);
  b.writeUInt16BE(4 + n4, o + 2);
  o += 4;
  const now = BigInt(Date.UTC(2026, 11, 1));
  for (let i = 0; i < V4_PER; i++) {
    const r = k * RECS_PER + i;
    b.writeUInt32BE(((10 << 24) | (r & 0xffffff)) >>> 0, o); o += 4;
    b.writeUInt32BE(((198 << 24) | (51 << 16) | (100 << 8) | (r & 255)) >>> 0, o); o += 4;
    b.writeUInt16BE(1024 + (r % 60000), o); o += 2;
    b.writeUInt16BE(443, o); o += 2;
    b[o++] = 6; b[o++] = 0x18; b[o++] = 0;
    b.writeUInt32BE(1, o); o += 4;
    b.writeUInt32BE(2, o); o += 4;
    b.writeBigUInt64BE(BigInt(1000 + r % 5000), o); o += 8;
    b.writeBigUInt64BE(BigInt(1 + r % 10), o); o += 8;
    b.writeBigUInt64BE(now, o); o += 8;
    b.writeBigUInt64BE(now + 1000n, o); o += 8;
    b.writeUInt32BE(64500, o); o += 4;
    b.writeUInt32BE(15169, o); o += 4;
    b.writeUInt32BE(0xc0000201, o); o += 4;
    b[o++] = 24; b[o++] = 24; b[o++] = 1; b[o++] = 4;
  }
  b.writeUInt16BE(257, o);
  b.writeUInt16BE(4 + n6, o + 2);
  o += 4;
  for (let i = 0; i < V6_PER; i++) {
    const r = k * RECS_PER + V4_PER + i;
    b.writeUInt32BE(0x20010db8, o); b.writeUInt32BE(1, o + 4); b.writeUInt32BE(0, o + 8); b.writeUInt32BE(r, o + 12); o += 16;
    b.writeUInt32BE(0x2a001450, o); b.writeUInt32BE(0, o + 4); b.writeUInt32BE(0, o + 8); b.writeUInt32BE(r & 0xffff, o + 12); o += 16;
    b.writeUInt16BE(1024 + (r % 60000), o); o += 2;
    b.writeUInt16BE(443, o); o += 2;
    b[o++] = 6; b[o++] = 0x18; b[o++] = 0;
    b.writeUInt32BE(1, o); o += 4;
    b.writeUInt32BE(2, o); o += 4;
    b.writeBigUInt64BE(BigInt(1500 + r % 5000), o); o += 8;
    b.writeBigUInt64BE(BigInt(1 + r % 10), o); o += 8;
    b.writeBigUInt64BE(now, o); o += 8;
    b.writeBigUInt64BE(now + 1000n, o); o += 8;
    b.writeUInt32BE(64500, o); o += 4;
    b.writeUInt32BE(15169, o); o += 4;
    b.writeUInt32BE(0xfe800000, o); b.writeUInt32BE(0, o + 4); b.writeUInt32BE(0, o + 8); b.writeUInt32BE(1, o + 12); o += 16;
    b[o++] = 48; b[o++] = 48; b[o++] = 1; b[o++] = 6;
  }
  return b;
}

