/** NetFlow v5 / v9 and IPFIX decoding (issue 3 "Flow collection"). */
export { FlowDecoder, FLOW_ERROR_KINDS } from './decoder.js';
export type { DomainStats, ExporterStats, FlowDecoderOptions, FlowErrorKind, FlowSnapshot, TemplateDump } from './decoder.js';
export { SequenceTracker } from './sequence.js';
export type { SequenceStats } from './sequence.js';
export { compileTemplate } from './template.js';
export type { Template, TemplateField } from './template.js';
export { ieName } from './ie.js';
export { decodeCapture, looksLikeFlowExport, udpPayload } from './capture.js';
export type { CaptureFlowStats } from './capture.js';
