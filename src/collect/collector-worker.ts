/**
 * The collector worker (worker_threads entry): owns the UDP sockets and the decoders (a
 * CollectorSet without persistence), and posts decoded flows to the main thread as columnar
 * batches (src/collect/flow-batch.ts) with their buffers transferred.
 *
 * Bounded hand-off: flows posted and not yet acknowledged by the main thread are limited to
 * `maxInFlightFlows`; a batch that would exceed it is dropped here and counted (the main thread adds
 * the counts to the store writer's overload counters). Health (CollectorSet.health()) and the
 * decoder's template snapshot go to the main thread every `stateIntervalMs`, which persists them.
 * Protocol: see worker-collector.ts (WorkerInit, ToWorker, FromWorker).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FlowRecord } from '../schema/fields.js';
import { CollectorSet } from './collector.js';
import { ColumnarBuilder } from './flow-batch.js';
import type { FromWorker, HandoffCounters, ToWorker, WorkerInit } from './worker-collector.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer ?? []);

const counters: HandoffCounters = { postedFlows: 0, postedBatches: 0, droppedFlows: 0, droppedBatches: 0, inFlightFlows: 0 };
const builder = new ColumnarBuilder(init.batchFlows);
let since = 0;

function send(force: boolean): void {
  const n = builder.n;
  if (n === 0) return;
  if (!force && counters.inFlightFlows + n > init.maxInFlightFlows) {
    counters.droppedFlows += n;
    counters.droppedBatches++;
    builder.clear();
    return;
  }
  const { batch, transfer } = builder.take();
  counters.inFlightFlows += n;
  counters.postedFlows += n;
  counters.postedBatches++;
  post({ t: 'batch', batch }, transfer);
}

const onRecords = (recs: FlowRecord[]): void => {
  for (let i = 0; i < recs.length; i++) {
    if (builder.n === 0) since = Date.now();
    builder.push(recs[i]!);
    if (builder.full) send(false);
  }
};

// onRecords encodes each datagram's records into the batch before it returns: they may be reused.
const cs = new CollectorSet({ collectors: init.collectors, dataDir: null, onRecords, transientRecords: true });
if (init.snapshot) cs.templatesRestored = cs.decoder.restore(init.snapshot);

const state = (t: 'state' | 'stopped' = 'state'): FromWorker => ({ t, health: cs.health(), snapshot: cs.decoder.snapshot(), handoff: { ...counters } });

let flushTimer: NodeJS.Timeout | null = null;
let stateTimer: NodeJS.Timeout | null = null;
let stopping = false;

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'ack':
      counters.inFlightFlows -= m.flows;
      break;
    case 'recycle':
      builder.recycle(m.buffers);
      break;
    case 'stop':
      void stop();
      break;
    case 'crash':
      // Test hook: an uncaught exception in the worker, as a decoder bug would raise.
      setImmediate(() => {
        throw new Error('collector worker: crash requested');
      });
      break;
  }
});

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (flushTimer) clearInterval(flushTimer);
  if (stateTimer) clearInterval(stateTimer);
  // Sockets closed first (the kernel counters are read before), then what was accepted goes out.
  await cs.stop();
  send(true);
  post(state('stopped'));
}

try {
  await cs.start();
} catch (e) {
  post({ t: 'error', message: (e as Error).message });
  port.close();
  process.exit(1);
}
post(state());
post({
  t: 'ready',
  listeners: cs.boundListeners.map((l) => ({ address: l.address, port: l.port, receiveBuffer: l.receiveBuffer })),
  templatesRestored: cs.templatesRestored,
});
flushTimer = setInterval(() => {
  if (builder.n > 0 && Date.now() - since >= init.batchDelayMs) send(false);
}, Math.max(2, Math.floor(init.batchDelayMs / 2)));
stateTimer = setInterval(() => post(state()), init.stateIntervalMs);
