/**
 * The AWS parse thread (pipeline/aws-thread.ts): runs `aws ingest`'s job with a store that posts
 * to the calling thread's store, and reports progress, results and failures as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ingestSources, RemoteStore, type FromParser, type ParserInit, type ToParser } from './aws-thread.js';

const port = parentPort;
if (!port) throw new Error('aws-ingest-worker: not in a worker thread');
const init = workerData as ParserInit;
const post = (m: FromParser, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
const store = new RemoteStore(post, init.appendDepth);
port.on('message', (m: ToParser) => store.onMessage(m));

try {
  await ingestSources(init.job, store, {
    onSource: (src, total) => post({ t: 'source', src, total }),
    onProgress: (bytes, lines) => post({ t: 'progress', bytes, lines }),
    onObject: (r, size) => post({ t: 'object', r, size }),
    onSourceEnd: (src) => post({ t: 'sourceEnd', src }),
    onWarning: (text) => post({ t: 'warning', text }),
  });
  post({ t: 'done' });
} catch (e) {
  post({ t: 'failed', message: (e as Error).message ?? String(e) });
}
