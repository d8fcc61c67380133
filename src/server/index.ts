/**
 * The HTTP API and /metrics (issue 5). For `v6scope serve` (wiring left to src/config and
 * src/collect/serve.ts): validate the `api:` section with `validateApiSection` (src/server/config.ts),
 * open the store once and give it to both `startServe({store})` and `startApiForServe`:
 *
 *   const store = await openConfiguredStore(config, dataDir);
 *   const h = await startServe({ config, dataDir, log, warn, store });
 *   const api = config.api.listen.length ? await startApiForServe({ api: config.api, handle: h, store, dataDir, log: warn }) : null;
 *   ... on stop: await api?.close(); await h.stop(); await store.close();
 */
import type { ServeHandle } from '../collect/serve.js';
import type { FlowStore } from '../store/store.js';
import { startApiServer, type ApiServer } from './api.js';
import { checkExposure, type ApiConfig } from './config.js';
import { serveMetricsSource } from './metrics.js';

export { Api, ApiError, checkBearer, flowJson, startApiServer, API_PREFIX } from './api.js';
export type { ApiOptions, ApiServer } from './api.js';
export * from './config.js';
export { Exposition, fileMetricsSource, renderMetrics, serveMetricsSource, escapeLabel } from './metrics.js';
export type { MetricsSource } from './metrics.js';

/** Start the API of a running `serve`: live collector health and writer counters on /metrics. */
export async function startApiForServe(o: { api: ApiConfig; handle: Pick<ServeHandle, 'collectors' | 'writer'>; store: FlowStore; dataDir: string; log?: (line: string) => void }): Promise<ApiServer> {
  const exposure = checkExposure(o.api.listen, o.api.token);
  if (exposure) throw new Error(exposure);
  return startApiServer({
    store: o.store,
    dataDir: o.dataDir,
    listen: o.api.listen,
    token: o.api.token,
    shareWindowMs: o.api.share_window,
    metrics: serveMetricsSource(o.handle),
    log: o.log,
  });
}
