/** Flow collection (issue 3): UDP collectors, store writer, live capture, the serve runner. */
export { CollectorSet, datagramKind, EXPORTERS_FILE, TEMPLATES_FILE, writeAtomic } from './collector.js';
export type { CollectorHealth, DatagramKind, ExporterHealth, ListenerHealth, SflowDecodeFn } from './collector.js';
export { StoreWriter } from './writer.js';
export type { StoreWriterOptions, StoreWriterStats } from './writer.js';
export { bindListeners, closeListeners, readSocketStats } from './udp.js';
export type { SocketKernelStats, UdpListener } from './udp.js';
export { startLiveCapture } from './live-capture.js';
export type { LiveCapture, LiveCaptureOptions, LiveCaptureResult } from './live-capture.js';
export { openConfiguredStore, startServe } from './serve.js';
export type { ServeHandle, ServeOptions, ServeSummary } from './serve.js';
