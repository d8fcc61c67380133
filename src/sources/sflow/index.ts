/** sFlow v5 decoding (issue 3 "Flow collection"). */
export { SflowDecoder, SFLOW_ERROR_KINDS, looksLikeSflow } from './decoder.js';
export type { SflowAgentStats, SflowDecoderOptions, SflowErrorKind, SflowSample, SflowSkipped, SflowSubAgentStats } from './decoder.js';
