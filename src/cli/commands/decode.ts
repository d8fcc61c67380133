import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { formatIP } from '../../net/ip.js';
import { formatMac } from '../../net/mac.js';
import { FIELDS, type FlowRecord } from '../../schema/fields.js';
import { CaptureFormatError } from '../../sources/packets/pcap.js';
import { decodeCapture, FlowDecoder } from '../../sources/flow/index.js';
import { SflowDecoder } from '../../sources/sflow/index.js';
import { displayPath, globals, printJson, table, UsageError } from '../common.js';

/** One record as JSON with the schema's field names: addresses RFC 5952, MACs aa:bb:.. */
export function recordToJson(r: FlowRecord): Record<string, string | number> {
  const o: Record<string, string | number> = {};
  const fam = r.family as 4 | 6;
  for (const f of FIELDS) {
    const v = r[f.name];
    if (f.kind === 'addr') {
      const a = v as Uint8Array;
      // Flow addresses follow the record's family; the exporter's own address is formatted as is.
      o[f.name] = f.name === 'exporter_addr' ? formatIP(a, isMapped(a) ? 4 : 6) : formatIP(a, fam === 4 && isMapped(a) ? 4 : 6);
    } else if (f.kind === 'mac') o[f.name] = formatMac(v as number);
    else o[f.name] = v as string | number;
  }
  return o;
}

function isMapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

export function register(program: Command): void {
  program
    .command('decode')
    .description('decode the NetFlow v5/v9, IPFIX and sFlow v5 datagrams of a capture of exporter traffic (UDP on any port)')
    .argument('<file>', 'pcap or pcapng capture')
    .option('--stats', 'print per-exporter (and per sFlow agent) counts, errors, sequence loss and template dumps instead of records')
    .addHelpText('after', '\nPrints one JSON object per flow record per line, with the schema\'s field names (see "v6scope fields").')
    .action(async (file: string, opts: { stats?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (!existsSync(file)) throw new UsageError(`no such file: ${displayPath(file)}`);
      const decoder = new FlowDecoder();
      const sflow = new SflowDecoder();
      const out = process.stdout;
      let buf = '';
      const flush = (): void => {
        if (buf) out.write(buf);
        buf = '';
      };
      let st;
      try {
        st = await decodeCapture(
          file,
          decoder,
          (recs) => {
            if (opts.stats) return;
            for (const r of recs) buf += `${JSON.stringify(recordToJson(r))}\n`;
            if (buf.length > 1 << 16) flush();
          },
          { name: displayPath(file), sflow },
        );
      } catch (e) {
        flush();
        if (e instanceof CaptureFormatError) throw new Error(`${displayPath(file)}: ${e.message}`);
        const err = e as NodeJS.ErrnoException;
        throw new Error(`cannot read ${displayPath(file)}: ${err.message}`);
      }
      flush();
      if (!opts.stats) return;
      const exporters = decoder.stats();
      const sflowAgents = sflow.stats();
      const capture = { packets: st.packets, flowDatagrams: st.flowDatagrams, sflowDatagrams: st.sflowDatagrams, otherUdp: st.otherUdp, notUdp: st.notUdp, skipped: st.skipped };
      if (g.json) {
        printJson({ file: displayPath(file), capture, exporters, sflowAgents });
        return;
      }
      const lines: string[] = [
        `${displayPath(file)}: ${st.packets} packets, ${st.flowDatagrams} NetFlow/IPFIX datagrams, ${st.sflowDatagrams} sFlow datagrams, ${st.otherUdp} other UDP, ${st.notUdp} not UDP, ${st.skipped} skipped (fragments, cut)`,
      ];
      for (const a of sflowAgents) {
        const errs = Object.entries(a.errors).filter(([, n]) => n > 0);
        const skipped = Object.entries(a.skipped).filter(([, n]) => n > 0);
        lines.push(
          '',
          `sFlow agent ${a.agent} (port ${a.port}): ${a.datagrams} datagrams, ${a.flowSamples} flow samples, ${a.counterSamples} counter samples, ${a.records} records, ${a.datagramsRejected} rejected`,
          `  errors: ${errs.length ? errs.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
          `  skipped: ${skipped.length ? skipped.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
          `  sampling rates: ${a.samplingRates.join(', ') || '-'}`,
        );
        for (const sa of a.subAgents) {
          const q = sa.sequence;
          const m = sa.samples;
          lines.push(
            `  sub-agent ${sa.subAgent}: datagram sequence missing ${q.missing}, late ${q.late}, duplicates ${q.duplicates}, resets ${q.resets}; samples (${m.sources} sources) missing ${m.missing}, late ${m.late}, duplicates ${m.duplicates}; agent drops ${sa.agentDrops}`,
          );
        }
      }
      for (const e of exporters) {
        const errs = Object.entries(e.errors).filter(([, n]) => n > 0);
        lines.push(
          '',
          `exporter ${e.exporter} (port ${e.port}): ${e.datagrams} datagrams (v5 ${e.byVersion['5']}, v9 ${e.byVersion['9']}, IPFIX ${e.byVersion['10']}), ${e.records} records, ${e.optionsRecords} options records, ${e.datagramsRejected} rejected`,
          `  errors: ${errs.length ? errs.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
          `  sampling rates: ${e.samplingRates.join(', ') || '-'}`,
        );
        for (const d of e.domains) {
          const s = d.sequence;
          lines.push(
            `  domain ${d.domain} (${d.version === 10 ? 'IPFIX' : `v${d.version}`}): sequence (${s.unit}) missing ${s.missing}, late ${s.late}, duplicates ${s.duplicates}, resets ${s.resets}; samplers ${JSON.stringify(d.samplers)}${d.defaultRate ? `, default rate ${d.defaultRate}` : ''}`,
          );
          for (const t of d.templates) {
            // "compiled": decoded by a function generated for this template once it was hot (codegen.ts)
            lines.push(`    ${t.options ? 'options template' : 'template'} ${t.id}${t.options ? ` (${t.scopeCount} scope)` : ''}${t.compiled ? ' (compiled)' : ''}:`);
            lines.push(
              table(
                ['#', 'IE', 'enterprise', 'length', 'name'],
                t.fields.map((f, i) => [String(i + 1), String(f.id), String(f.enterprise), f.length === 65535 ? 'var' : String(f.length), f.name]),
                [true, true, true, true, false],
              )
                .split('\n')
                .map((l) => `      ${l}`)
                .join('\n'),
            );
          }
        }
      }
      out.write(`${lines.join('\n')}\n`);
    });
}
