/**
 * Where AWS logs come from: a file, a directory tree in the S3 key layouts, or an S3 bucket/prefix.
 * Every input is an `LogObject` (key, size, tag for "already ingested?", a stream opener), read
 * as lines with constant memory (gzip decompressed while streaming).
 *
 * Key layouts recognised (the log kind is also sniffed from the content when the key says nothing):
 * - AWSLogs/{account}/vpcflowlogs/{region}/yyyy/mm/dd/{account}_vpcflowlogs_{region}_{fl-id}_....log.gz
 * - AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year=yyyy/month=mm/day=dd/...
 * - AWSLogs/{account}/elasticloadbalancing/{region}/yyyy/mm/dd/{account}_elasticloadbalancing_{region}_app.{name}...log.gz
 *   (`net.` instead of `app.` for NLB TLS logs)
 * - CloudFront standard logs: {prefix}/{distribution-id}.yyyy-mm-dd-hh.{unique}.gz
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline, Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';

export type LogKind = 'vpc' | 'tgw' | 'alb' | 'nlb' | 'cloudfront';

export interface LogObject {
  /** Stable identity: absolute path, or s3://bucket/key. */
  key: string;
  /** What error messages name (path as given, or the s3:// URL). */
  display: string;
  size: number;
  /** ETag (S3) or mtime in ms (files): a changed object is ingested again. */
  tag: string;
  /** Kind from the key layout, when it says. */
  kindHint: LogKind | null;
  open(): Promise<Readable>;
}

/** The kind a key layout implies, or null. */
export function kindFromKey(key: string): LogKind | null {
  const k = key.toLowerCase();
  if (k.includes('/vpcflowlogs/') || k.includes('aws-service=vpcflowlogs') || k.includes('_vpcflowlogs_')) return 'vpc';
  if (k.includes('elasticloadbalancing')) {
    const base = k.slice(k.lastIndexOf('/') + 1);
    if (/_net\./.test(base)) return 'nlb';
    if (/_app\./.test(base)) return 'alb';
    return null;
  }
  if (/(^|\/)e[a-z0-9]{8,16}\.\d{4}-\d{2}-\d{2}-\d{2}\.[^/]+$/i.test(key)) return 'cloudfront';
  return null;
}

/** Files we consider logs inside a directory walk. */
function isLogFile(name: string): boolean {
  if (name.startsWith('.')) return false;
  return /\.(log|gz|txt|parquet)$/i.test(name) || /\.\d{4}-\d{2}-\d{2}-\d{2}\.[^.]+$/.test(name);
}

function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && isLogFile(e.name)) out.push(p);
  }
}

function fileObject(p: string, display: string): LogObject {
  const st = statSync(p);
  const abs = path.resolve(p);
  return {
    key: abs,
    display,
    size: st.size,
    tag: String(Math.floor(st.mtimeMs)),
    kindHint: kindFromKey(abs.split(path.sep).join('/')),
    open: async () => createReadStream(abs),
  };
}

/** A file, or every log file under a directory (sorted, recursive). */
export function listLocal(target: string): LogObject[] {
  const st = statSync(target);
  if (st.isFile()) return [fileObject(target, target)];
  const files: string[] = [];
  walk(target, files);
  return files.map((f) => fileObject(f, f));
}

export interface S3Options {
  /** Custom endpoint (a local S3-compatible server); also env AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (default on when an endpoint is given). */
  forcePathStyle?: boolean;
}

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || !m[1]) throw new Error(`invalid S3 URL "${url}" (expected s3://bucket/prefix)`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}

/** An S3 client (the SDK is loaded on first use, so other commands start fast). */
export async function s3Client(opts: S3Options = {}): Promise<S3Client> {
  // v6scope supports Node 20: the SDK's "future versions need Node 22" notice is not for our users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client } = await import('@aws-sdk/client-s3');
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: opts.forcePathStyle ?? true } : {}),
  });
}

/** Every object under s3://bucket/prefix (paged listing, key order). */
export async function* listS3(url: string, client: S3Client): AsyncGenerator<LogObject> {
  const { bucket, prefix } = parseS3Url(url);
  const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const key = o.Key!;
      if (key.endsWith('/')) continue;
      const base = key.slice(key.lastIndexOf('/') + 1);
      if (!isLogFile(base)) continue;
      const full = `s3://${bucket}/${key}`;
      yield {
        key: full,
        display: full,
        size: o.Size ?? 0,
        tag: (o.ETag ?? '').replace(/"/g, '') || String(o.LastModified?.getTime() ?? 0),
        kindHint: kindFromKey(key),
        open: async () => {
          const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const body = r.Body;
          if (!body) throw new Error(`${full}: empty response body`);
          return body instanceof Readable ? body : Readable.fromWeb(body as never);
        },
      };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Lines of a stream (gzip detected by its magic bytes), without the line terminator (\n or \r\n),
 * in batches (one per decoded chunk) so the per-line cost stays a plain loop.
 * `onBytes` reports compressed bytes read, for progress bars.
 */
export async function* readLines(src: Readable, onBytes?: (n: number) => void): AsyncGenerator<string[]> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const raw = Readable.from(
    (async function* () {
      onBytes?.(head.length);
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        onBytes?.(n.value.length);
        yield n.value;
      }
    })(),
    { objectMode: false },
  );
  const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  const dec = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + dec.write(chunk);
    const lines: string[] = [];
    let s = 0;
    for (;;) {
      const nl = text.indexOf('\n', s);
      if (nl < 0) break;
      const e = nl > s && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(text.slice(s, e));
      s = nl + 1;
    }
    rest = text.slice(s);
    if (lines.length) yield lines;
  }
  rest += dec.end();
  if (rest.length) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

/** The first chunk of a stream, put back (for sniffing gzip), or null for an empty stream. */
async function peek(src: Readable): Promise<Buffer | null> {
  for (;;) {
    const c = src.read() as Buffer | null;
    if (c !== null) {
      src.unshift(c);
      return c;
    }
    if (src.readableEnded || src.destroyed) return null;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        src.off('readable', done);
        src.off('end', done);
        src.off('close', done);
        src.off('error', fail);
        resolve();
      };
      const fail = (e: Error): void => {
        src.off('readable', done);
        src.off('end', done);
        src.off('close', done);
        reject(e);
      };
      src.once('readable', done);
      src.once('end', done);
      src.once('close', done);
      src.once('error', fail);
    });
    const e = src.errored;
    if (e) throw e;
  }
}

/**
 * The decompressed bytes of a stream (gzip detected by its magic bytes) as Buffers of up to 256 KiB,
 * for the byte-level parsers. Lines can straddle chunks. `onBytes` reports compressed bytes read.
 */
export async function* readChunks(src: Readable, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  const head = await peek(src);
  if (head === null) return;
  const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  const out: Readable = gz
    ? pipeline(src, count, createGunzip({ chunkSize: 1 << 18 }), () => undefined)
    : pipeline(src, count, () => undefined);
  yield* out as AsyncIterable<Buffer>;
}
