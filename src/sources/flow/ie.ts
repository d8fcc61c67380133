/**
 * Information elements the flow decoder understands (NetFlow v9 field types and IPFIX IEs share
 * these numbers), the "slot" each one is decoded into, and how its bytes are read.
 *
 * A template is compiled into a flat list of (read kind, slot, offset, length) ops; after a record
 * is read, the template's presence table says which slots hold a value. IEs not listed here, and
 * enterprise IEs other than the RFC 5103 reverse ones, are skipped by their length.
 */

/** How an IE's bytes are read into its slot. */
export const RD_UINT = 0; // unsigned big-endian integer, 1..8 bytes (reduced-size encoding)
export const RD_OFFSET = 1; // the field's byte offset is stored (addresses: copied when the record is built)
export const RD_MAC = 2; // 6 bytes → 48-bit number
export const RD_NTP_US = 3; // NTP 64-bit timestamp → epoch ms (dateTimeMicroseconds)
export const RD_NTP_NS = 4; // NTP 64-bit timestamp → epoch ms (dateTimeNanoseconds)
export const RD_SECTION = 5; // packet section (IE 315, 313): offset in the slot, length in the slot after it

let n = 0;
const slot = (): number => n++;

// Forward counters
export const S_BYTES = slot(); // 1 octetDeltaCount / IN_BYTES
export const S_PKTS = slot(); // 2 packetDeltaCount / IN_PKTS
export const S_BYTES_TOT = slot(); // 85 octetTotalCount
export const S_PKTS_TOT = slot(); // 86 packetTotalCount
export const S_OUT_BYTES = slot(); // 23 postOctetDeltaCount / OUT_BYTES
export const S_OUT_PKTS = slot(); // 24 postPacketDeltaCount / OUT_PKTS
// Keys
export const S_PROTO = slot(); // 4
export const S_TCP_FLAGS = slot(); // 6
export const S_SRC_PORT = slot(); // 7
export const S_DST_PORT = slot(); // 11
export const S_SRC4 = slot(); // 8 (offset)
export const S_DST4 = slot(); // 12 (offset)
export const S_SRC6 = slot(); // 27 (offset)
export const S_DST6 = slot(); // 28 (offset)
export const S_IN_IF = slot(); // 10
export const S_OUT_IF = slot(); // 14
export const S_SRC_AS = slot(); // 16
export const S_DST_AS = slot(); // 17
export const S_IPVER = slot(); // 60
export const S_DIR = slot(); // 61
export const S_ICMP_TC4 = slot(); // 32
export const S_ICMP_TC6 = slot(); // 139
export const S_ICMP_T4 = slot(); // 176
export const S_ICMP_C4 = slot(); // 177
export const S_ICMP_T6 = slot(); // 178
export const S_ICMP_C6 = slot(); // 179
export const S_SRC_MAC = slot(); // 56
export const S_DST_MAC = slot(); // 80
export const S_POST_SRC_MAC = slot(); // 81
export const S_POST_DST_MAC = slot(); // 57
// Times
export const S_LAST_UP = slot(); // 21 (v9: ms of sysUptime; IPFIX: flowEndSysUpTime)
export const S_FIRST_UP = slot(); // 22
export const S_START_S = slot(); // 150
export const S_END_S = slot(); // 151
export const S_START_MS = slot(); // 152
export const S_END_MS = slot(); // 153
export const S_START_US = slot(); // 154 (converted to ms)
export const S_END_US = slot(); // 155
export const S_START_NS = slot(); // 156
export const S_END_NS = slot(); // 157
export const S_START_DUS = slot(); // 158 flowStartDeltaMicroseconds
export const S_END_DUS = slot(); // 159
export const S_SYSINIT = slot(); // 160 systemInitTimeMilliseconds
// Sampling
export const S_SAMP_INT = slot(); // 34 samplingInterval
export const S_SAMP_ALGO = slot(); // 35 samplingAlgorithm
export const S_SAMPLER_ID = slot(); // 48 samplerId / FLOW_SAMPLER_ID
export const S_SAMPLER_MODE = slot(); // 49
export const S_SAMPLER_INT = slot(); // 50 samplerRandomInterval
export const S_SELECTOR_ID = slot(); // 302 selectorId
export const S_SEL_ALGO = slot(); // 304 selectorAlgorithm
export const S_PKT_INTERVAL = slot(); // 305 samplingPacketInterval
export const S_PKT_SPACE = slot(); // 306 samplingPacketSpace
export const S_SAMP_SIZE = slot(); // 309 samplingSize
export const S_SAMP_POP = slot(); // 310 samplingPopulation
// Packet sections (RFC 7133 / RFC 5477): a sampled packet's leading bytes, decoded by the packet parser
export const S_FRAME = slot(); // 315 dataLinkFrameSection (offset)
export const S_FRAME_LEN = slot(); // its length
export const S_IPHDR = slot(); // 313 ipHeaderPacketSection (offset)
export const S_IPHDR_LEN = slot(); // its length
export const S_FRAME_SIZE = slot(); // 312 dataLinkFrameSize
export const S_IP_TOTAL_LEN = slot(); // 224 ipTotalLength
// RFC 5103 reverse IEs (enterprise 29305)
export const R_BYTES = slot();
export const R_PKTS = slot();
export const R_BYTES_TOT = slot();
export const R_PKTS_TOT = slot();
export const R_TCP_FLAGS = slot();
export const R_START_S = slot();
export const R_END_S = slot();
export const R_START_MS = slot();
export const R_END_MS = slot();
export const R_START_DUS = slot();
export const R_END_DUS = slot();
export const R_SRC_MAC = slot();
export const R_DST_MAC = slot();

export const NUM_SLOTS = n;

export const REVERSE_PEN = 29305;

export interface IeSpec {
  slot: number;
  read: number;
  /** Accepted encoded lengths (others: the field is skipped as unusable). */
  minLen: number;
  maxLen: number;
}

const u = (s: number, min = 1, max = 8): IeSpec => ({ slot: s, read: RD_UINT, minLen: min, maxLen: max });

/** IANA (enterprise 0) IEs by number. */
export const IANA_IES: ReadonlyMap<number, IeSpec> = new Map<number, IeSpec>([
  [1, u(S_BYTES)],
  [2, u(S_PKTS)],
  [85, u(S_BYTES_TOT)],
  [86, u(S_PKTS_TOT)],
  [23, u(S_OUT_BYTES)],
  [24, u(S_OUT_PKTS)],
  [315, { slot: S_FRAME, read: RD_SECTION, minLen: 1, maxLen: 0xfffe }],
  [313, { slot: S_IPHDR, read: RD_SECTION, minLen: 1, maxLen: 0xfffe }],
  [312, u(S_FRAME_SIZE)],
  [224, u(S_IP_TOTAL_LEN)],
  [4, u(S_PROTO)],
  [6, u(S_TCP_FLAGS)], // 1 byte in v9, 2 in IPFIX (reduced-size or not): the low byte holds the flags
  [7, u(S_SRC_PORT)],
  [11, u(S_DST_PORT)],
  [8, { slot: S_SRC4, read: RD_OFFSET, minLen: 4, maxLen: 4 }],
  [12, { slot: S_DST4, read: RD_OFFSET, minLen: 4, maxLen: 4 }],
  [27, { slot: S_SRC6, read: RD_OFFSET, minLen: 16, maxLen: 16 }],
  [28, { slot: S_DST6, read: RD_OFFSET, minLen: 16, maxLen: 16 }],
  [10, u(S_IN_IF)],
  [14, u(S_OUT_IF)],
  [16, u(S_SRC_AS)],
  [17, u(S_DST_AS)],
  [60, u(S_IPVER)],
  [61, u(S_DIR)],
  [32, u(S_ICMP_TC4)],
  [139, u(S_ICMP_TC6)],
  [176, u(S_ICMP_T4)],
  [177, u(S_ICMP_C4)],
  [178, u(S_ICMP_T6)],
  [179, u(S_ICMP_C6)],
  [56, { slot: S_SRC_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
  [80, { slot: S_DST_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
  [81, { slot: S_POST_SRC_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
  [57, { slot: S_POST_DST_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
  [21, u(S_LAST_UP)],
  [22, u(S_FIRST_UP)],
  [150, u(S_START_S)],
  [151, u(S_END_S)],
  [152, u(S_START_MS)],
  [153, u(S_END_MS)],
  [154, { slot: S_START_US, read: RD_NTP_US, minLen: 8, maxLen: 8 }],
  [155, { slot: S_END_US, read: RD_NTP_US, minLen: 8, maxLen: 8 }],
  [156, { slot: S_START_NS, read: RD_NTP_NS, minLen: 8, maxLen: 8 }],
  [157, { slot: S_END_NS, read: RD_NTP_NS, minLen: 8, maxLen: 8 }],
  [158, u(S_START_DUS)],
  [159, u(S_END_DUS)],
  [160, u(S_SYSINIT)],
  [34, u(S_SAMP_INT)],
  [35, u(S_SAMP_ALGO)],
  [48, u(S_SAMPLER_ID)],
  [49, u(S_SAMPLER_MODE)],
  [50, u(S_SAMPLER_INT)],
  [302, u(S_SELECTOR_ID)],
  [304, u(S_SEL_ALGO)],
  [305, u(S_PKT_INTERVAL)],
  [306, u(S_PKT_SPACE)],
  [309, u(S_SAMP_SIZE)],
  [310, u(S_SAMP_POP)],
]);

/** RFC 5103 reverse IEs (enterprise 29305) by the forward IE number. */
export const REVERSE_IES: ReadonlyMap<number, IeSpec> = new Map<number, IeSpec>([
  [1, u(R_BYTES)],
  [2, u(R_PKTS)],
  [85, u(R_BYTES_TOT)],
  [86, u(R_PKTS_TOT)],
  [6, u(R_TCP_FLAGS)],
  [150, u(R_START_S)],
  [151, u(R_END_S)],
  [152, u(R_START_MS)],
  [153, u(R_END_MS)],
  [158, u(R_START_DUS)],
  [159, u(R_END_DUS)],
  [56, { slot: R_SRC_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
  [80, { slot: R_DST_MAC, read: RD_MAC, minLen: 6, maxLen: 6 }],
]);

/** Names for template dumps (IANA IPFIX names; NetFlow v9 uses the same numbers for these). */
export const IE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'octetDeltaCount'], [2, 'packetDeltaCount'], [3, 'deltaFlowCount'], [4, 'protocolIdentifier'],
  [5, 'ipClassOfService'], [6, 'tcpControlBits'], [7, 'sourceTransportPort'], [8, 'sourceIPv4Address'],
  [9, 'sourceIPv4PrefixLength'], [10, 'ingressInterface'], [11, 'destinationTransportPort'],
  [12, 'destinationIPv4Address'], [13, 'destinationIPv4PrefixLength'], [14, 'egressInterface'],
  [15, 'ipNextHopIPv4Address'], [16, 'bgpSourceAsNumber'], [17, 'bgpDestinationAsNumber'],
  [18, 'bgpNextHopIPv4Address'], [21, 'flowEndSysUpTime'], [22, 'flowStartSysUpTime'],
  [23, 'postOctetDeltaCount'], [24, 'postPacketDeltaCount'], [27, 'sourceIPv6Address'],
  [28, 'destinationIPv6Address'], [29, 'sourceIPv6PrefixLength'], [30, 'destinationIPv6PrefixLength'],
  [31, 'flowLabelIPv6'], [32, 'icmpTypeCodeIPv4'], [34, 'samplingInterval'], [35, 'samplingAlgorithm'],
  [48, 'samplerId'], [49, 'samplerMode'], [50, 'samplerRandomInterval'], [56, 'sourceMacAddress'],
  [57, 'postDestinationMacAddress'], [58, 'vlanId'], [60, 'ipVersion'], [61, 'flowDirection'],
  [62, 'ipNextHopIPv6Address'], [80, 'destinationMacAddress'], [81, 'postSourceMacAddress'],
  [85, 'octetTotalCount'], [86, 'packetTotalCount'], [89, 'forwardingStatus'], [130, 'exporterIPv4Address'],
  [131, 'exporterIPv6Address'], [136, 'flowEndReason'], [139, 'icmpTypeCodeIPv6'], [144, 'exportingProcessId'],
  [148, 'flowId'], [149, 'observationDomainId'], [150, 'flowStartSeconds'], [151, 'flowEndSeconds'],
  [152, 'flowStartMilliseconds'], [153, 'flowEndMilliseconds'], [154, 'flowStartMicroseconds'],
  [155, 'flowEndMicroseconds'], [156, 'flowStartNanoseconds'], [157, 'flowEndNanoseconds'],
  [158, 'flowStartDeltaMicroseconds'], [159, 'flowEndDeltaMicroseconds'], [160, 'systemInitTimeMilliseconds'],
  [176, 'icmpTypeIPv4'], [177, 'icmpCodeIPv4'], [178, 'icmpTypeIPv6'], [179, 'icmpCodeIPv6'],
  [210, 'paddingOctets'], [302, 'selectorId'], [304, 'selectorAlgorithm'], [305, 'samplingPacketInterval'],
  [306, 'samplingPacketSpace'], [309, 'samplingSize'], [310, 'samplingPopulation'], [315, 'dataLinkFrameSection'],
]);

/** A readable name for a template dump: IANA name, "reverseX" for RFC 5103, else "ENT/ID". */
export function ieName(id: number, enterprise: number): string {
  if (enterprise === 0) return IE_NAMES.get(id) ?? `ie${id}`;
  if (enterprise === REVERSE_PEN) {
    const f = IE_NAMES.get(id);
    return f ? `reverse${f[0]!.toUpperCase()}${f.slice(1)}` : `reverse.ie${id}`;
  }
  return `${enterprise}/${id}`;
}
