/**
 * The shareable report: one self-contained HTML file — inline CSS, inline SVG, no scripts, no
 * external requests — readable in light and dark mode and on paper. Every number shown is also
 * machine-readable as `<data value="exact">shown</data>`; every name from the network is escaped.
 */
import type { Report } from '../analysis/report.js';
import { CAUSES } from '../analysis/find.js';
import { formatIP } from '../net/ip.js';
import { CAUSE_LABEL, deviceName, laggardLabel, reportCharts } from './charts.js';
import { esc } from './escape.js';
import { fmtBytes, fmtCount, fmtShare } from './format.js';

const DAY = 86_400_000;

/** A number as shown, with its exact value for machines. */
const num = (value: number | null, shown: string): string => (value === null ? esc(shown) : `<data value="${esc(String(value))}">${esc(shown)}</data>`);
const share = (s: number | null): string => num(s, fmtShare(s));
const bytes = (n: number): string => num(n, fmtBytes(n));
const count = (n: number): string => num(n, fmtCount(n));
const utc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const time = (ms: number): string => `<time datetime="${esc(new Date(ms).toISOString())}">${esc(utc(ms))}</time>`;

const CSS = `
:root{color-scheme:light dark;--bg:#f6f6f4;--card:#ffffff;--fg:#1b1b1b;--muted:#5c5c5c;--grid:#d9d9d9;--border:#e2e2e2;
--ipv6:#0072B2;--ipv4:#E69F00;--infrastructure:#999999;--ipv4-only-device:#D55E00;--legacy-destination:#CC79A7;--fixable:#009E73;--unknown:#56B4E9;--link:#005a8e}
@media (prefers-color-scheme:dark){:root{--bg:#111315;--card:#1b1e21;--fg:#e6e6e6;--muted:#a9adb2;--grid:#3a3f44;--border:#2e3338;
--ipv6:#3d9be0;--ipv4:#f0b030;--infrastructure:#8a8a8a;--ipv4-only-device:#ee7433;--legacy-destination:#d98cb8;--fixable:#19b386;--unknown:#78c6f0;--link:#7cc0f2}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 'DejaVu Sans',system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 12px}h3{font-size:16px;margin:18px 0 8px}
a{color:var(--link)}
section,header,footer{background:var(--card);border:1px solid var(--border);border-radius:8px;padding:16px 20px;margin:0 0 16px}
.muted,.period{color:var(--muted)}
.headline{font-size:20px;margin:8px 0}.headline .big{font-size:40px;font-weight:bold;color:var(--ipv6)}
.whatif{font-weight:bold}
figure{margin:8px 0 16px}figure svg{width:100%;max-width:900px;height:auto;display:block}
svg.v6-chart .c-bg{fill:var(--card)}svg.v6-chart .fg,svg.v6-chart .c-fg{fill:var(--fg)}svg.v6-chart .muted{fill:var(--muted)}
svg.v6-chart .grid{stroke:var(--grid)}svg.v6-chart .fg-stroke{stroke:var(--fg)}svg.v6-chart .muted-stroke{stroke:var(--muted)}
${['ipv6', 'ipv4', ...CAUSES].map((c) => `svg.v6-chart .c-${c}{fill:var(--${c})}`).join('')}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:baseline}
${CAUSES.map((c) => `.swatch.c-${c}{background:var(--${c})}`).join('')}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 12px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--border);vertical-align:top}
th{color:var(--muted);font-weight:normal}td.n,th.n{text-align:right;white-space:nowrap}
td.addr{font-family:'DejaVu Sans Mono',ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere}td.nowrap{white-space:nowrap}
.no{font-weight:bold;color:var(--ipv4-only-device)}
pre{background:var(--bg);border:1px solid var(--border);border-radius:6px;padding:8px 10px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
ol.fixes>li{margin:0 0 14px}
details summary{cursor:pointer;color:var(--muted)}
@media print{:root{--bg:#fff;--card:#fff;--fg:#000;--muted:#444;--grid:#ccc;--border:#ccc;--ipv6:#0072B2;--ipv4:#E69F00;--infrastructure:#999999;--ipv4-only-device:#D55E00;--legacy-destination:#CC79A7;--fixable:#009E73;--unknown:#56B4E9;--link:#000}
body{background:#fff;font-size:11pt}main{max-width:none;padding:0}section,header,footer{border:none;padding:0;margin:0 0 14pt}
figure,tr,li{break-inside:avoid}h2{break-after:avoid}details>summary{display:none}details{display:block}
a[href^="http"]::after{content:" (" attr(href) ")";font-size:9pt}}
`;

function fig(svg: string): string {
  return `<figure>${svg}</figure>`;
}

function whatIfText(before: number, after: number): string {
  return `IPv6 ${share(before)} → ${share(after)}`;
}

function headline(r: Report): string {
  const s = r.share;
  const hp = r.hostPenetration;
  const top = r.findings?.fixes.find((f) => f.after);
  return [
    `<p class="headline"><span class="big" id="share-bytes">${share(s.bytes.ipv6Share)}</span> of the bytes went over IPv6</p>`,
    `<p>By packets ${share(s.packets.ipv6Share)}, by flows ${share(s.flows.ipv6Share)} · IPv6 ${bytes(s.bytes.ipv6)} and IPv4 ${bytes(s.bytes.ipv4)} · ` +
      `host penetration: <span id="host-penetration">${count(hp.withIPv6)} of ${count(hp.all)} devices used IPv6 (${share(hp.ratio)})</span></p>`,
    top?.after ? `<p>Biggest lever: <strong>${esc(top.title)}</strong> — <span class="whatif">${whatIfText(top.before.bytes, top.after.bytes)}</span> by bytes.</p>` : '',
  ].join('\n');
}

function trendTable(r: Report): string {
  const rows = (r.share.series ?? []).map(
    (p) => `<tr><td>${time(p.time)}</td><td class="n">${bytes(p.bytes.ipv4)}</td><td class="n">${bytes(p.bytes.ipv6)}</td><td class="n">${share(p.bytes.ipv6Share)}</td><td class="n">${share(p.packets.ipv6Share)}</td><td class="n">${share(p.flows.ipv6Share)}</td></tr>`,
  );
  return `<details><summary>Data table</summary><table><thead><tr><th>bucket start</th><th class="n">IPv4 bytes</th><th class="n">IPv6 bytes</th><th class="n">share bytes</th><th class="n">share packets</th><th class="n">share flows</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}

function fixesSection(r: Report): string {
  const f = r.findings!;
  const list = f.fixes.slice(0, 10).map((x) => {
    const gain = x.after
      ? `<span class="whatif">${whatIfText(x.before.bytes, x.after.bytes)}</span> by bytes (packets ${share(x.after.packets)}, flows ${share(x.after.flows)})`
      : 'nothing to fix locally';
    return `<li data-fix="${esc(x.id)}"><strong>${esc(x.title)}</strong><br>${bytes(x.ipv4.bytes)} of IPv4 · ${gain}<br><span class="muted">${esc(x.advice)}</span>${x.snippet ? `<pre><code>${esc(x.snippet)}</code></pre>` : ''}</li>`;
  });
  return `<section id="fixes"><h2>What to fix first</h2>${list.length ? `<ol class="fixes">${list.join('\n')}</ol>` : '<p class="muted">No IPv4 traffic: nothing to fix.</p>'}</section>`;
}

function laggardsSection(r: Report, svgs: Map<string, string>): string {
  const f = r.findings!;
  const parts = (['device', 'app', 'destination'] as const).map((by) => {
    const rows = f.laggards[by].map(
      (l) =>
        `<tr data-laggard="${esc(l.key)}"><td>${esc(laggardLabel(r, by, l))}${by === 'device' && laggardLabel(r, by, l) !== l.key ? ` <span class="muted">${esc(l.key)}</span>` : ''}</td><td class="n">${bytes(l.ipv4.bytes)}</td><td class="n">${share(l.shareOfIPv4Bytes)}</td><td>${CAUSES.filter((c) => (l.causes[c]?.bytes ?? 0) > 0)
          .map((c) => `<span class="swatch c-${c}"></span>${esc(CAUSE_LABEL[c])} ${share(l.causes[c]!.bytes / l.ipv4.bytes)}`)
          .join('<br>')}</td><td class="n">${(l.causes.fixable?.bytes ?? 0) > 0 ? share(l.whatIfFixed.bytes) : '—'}</td></tr>`,
    );
    return `<h3>By ${by === 'app' ? 'application' : by}</h3>${fig(svgs.get(`laggards-${by}`)!)}<table><thead><tr><th>${by === 'app' ? 'application' : by}</th><th class="n">IPv4 bytes</th><th class="n">of IPv4</th><th>causes</th><th class="n">IPv6 share if fixed</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  });
  return `<section id="laggards"><h2>Laggards</h2><p class="muted">What carries the most IPv4, its share of all IPv4 bytes split by cause, and the network's IPv6 share by bytes if its fixable part moved to IPv6.</p>${parts.join('\n')}</section>`;
}

function floorSection(r: Report, svgs: Map<string, string>): string {
  const f = r.findings!;
  const rows = f.floor.map((c) => {
    const top = c.top.map((t) => `${bytes(t.ipv4.bytes)} ${esc(deviceName(r, t.device))} · ${esc(t.app)} · ${esc(t.destination)}`).join('<br>');
    return `<tr data-cause="${esc(c.cause)}"><td><span class="swatch c-${c.cause}"></span>${esc(CAUSE_LABEL[c.cause])}<br><span class="muted">${esc(c.description)}</span></td><td class="n">${bytes(c.ipv4.bytes)}</td><td class="n">${share(c.shareOfIPv4Bytes)}</td><td class="n">${count(c.ipv4.flows)}</td><td>${top || '<span class="muted">—</span>'}</td></tr>`;
  });
  return `<section id="floor"><h2>The IPv4 floor</h2><p class="muted">Every IPv4 byte (${bytes(f.ipv4.bytes)}) in exactly one cause, in this order of precedence.</p>${fig(svgs.get('floor')!)}<table><thead><tr><th>cause</th><th class="n">IPv4 bytes</th><th class="n">of IPv4</th><th class="n">flows</th><th>top contributors (device · application · destination)</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function devicesSection(r: Report): string {
  const f = r.findings!;
  const hp = r.hostPenetration;
  const rows = f.devices.map((d) => {
    const v4 = d.addresses.filter((a) => a.family === 4).map((a) => esc(a.addr));
    const v6 = d.addresses.filter((a) => a.family === 6).map((a) => `${esc(a.addr)}${a.kind === 'privacy-or-stable' ? '' : ` <span class="muted">(${esc(a.kind)})</span>`}`);
    return `<tr data-device="${esc(d.id)}"><td>${esc(deviceName(r, d.id))}</td><td class="addr nowrap">${esc(d.mac ?? d.id)}</td><td class="addr nowrap">${v4.join('<br>') || '—'}</td><td class="addr">${v6.join('<br>') || '—'}</td><td class="n">${bytes(d.ipv4.bytes + d.ipv6.bytes)}</td><td class="n">${share(d.ipv6Share)}</td><td>${d.usedIPv6 ? 'yes' : '<span class="no">NO</span>'}</td></tr>`;
  });
  return `<section id="devices"><h2>Devices</h2><p>Host penetration: ${count(hp.withIPv6)} of ${count(hp.all)} devices used IPv6 (${share(hp.ratio)}).</p><table><thead><tr><th>name</th><th>MAC</th><th>IPv4</th><th>IPv6</th><th class="n">bytes</th><th class="n">IPv6 share</th><th>ever IPv6</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function notesSection(r: Report): string {
  const s = r.share;
  const lines = [
    ...s.notMeasurable.map((n) => `Not measurable: ${esc(n.exporterName || formatIP(n.exporterAddr))} (${esc(n.reason)}); ${bytes(n.bytes)} kept out of the shares.`),
    ...s.notes.map((n) => esc(n)),
  ];
  return lines.length ? `<section id="notes"><h2>Notes</h2><ul>${lines.map((l) => `<li>${l}</li>`).join('')}</ul></section>` : '';
}

const FOOTER = `<footer id="method"><h2>How these numbers are computed</h2>
<p>Bytes are IP-layer bytes (IPv4 total length, IPv6 payload length + 40), sampled flows scaled by their sampling rate. The <strong>IPv6 share</strong> is IPv6 ÷ (IPv4 + IPv6), computed separately for bytes, packets and flows; sources that cannot see IPv6 (NetFlow v5) are kept out of every denominator. <strong>Host penetration</strong> is the devices that sent or received any IPv6 flow ÷ all devices (a device is its MAC when the data has one).</p>
<p>The <strong>floor</strong> puts every IPv4 byte in exactly one cause, in this precedence: infrastructure (DNS, NTP, DHCP, traffic within the LAN), IPv4-only device (it never used IPv6), legacy destination (its DNS names have no AAAA record), fixable (device and destination both have IPv6), unknown (no DNS evidence). <strong>Laggards</strong> rank devices, applications and destinations by IPv4 bytes. A fix's <strong>what-if</strong> is the IPv6 share if the IPv4 traffic it concerns moved to IPv6, totals unchanged.</p>
<p>Details in the v6scope documentation (the <code>docs/</code> folder of the package and repository): <a href="docs/reports.md">docs/reports.md</a> (this report), <a href="docs/metrics.md">docs/metrics.md</a> (the shares), <a href="docs/find-and-fix.md">docs/find-and-fix.md</a> (laggards, floor, fixes). Addresses are written as RFC 5952 text; times are UTC.</p>
</footer>`;

export function renderHtml(r: Report, o: { generatedAt?: number } = {}): string {
  const charts = reportCharts(r);
  const svgs = new Map(charts.map((c) => [c.id, c.svg]));
  const s = r.share;
  const bucket = r.bucketMs >= DAY ? `${r.bucketMs / DAY} d` : r.bucketMs >= 3_600_000 ? `${r.bucketMs / 3_600_000} h` : `${r.bucketMs / 60_000} min`;
  const body = [
    `<header><h1>IPv6 adoption report</h1><p class="period">${time(s.since)} → ${time(s.until)}${o.generatedAt !== undefined ? ` · generated ${time(o.generatedAt)}` : ''} · by v6scope</p></header>`,
    `<section id="share"><h2>IPv6 share</h2>${headline(r)}${fig(svgs.get('share')!)}</section>`,
    `<section id="trend"><h2>Trend</h2><p class="muted">Bytes per ${esc(bucket)} bucket, and the IPv6 share by bytes.</p>${fig(svgs.get('trend')!)}${trendTable(r)}</section>`,
    r.findings ? fixesSection(r) : '',
    r.findings ? laggardsSection(r, svgs) : '',
    r.findings ? floorSection(r, svgs) : '',
    r.findings ? devicesSection(r) : '',
    notesSection(r),
    FOOTER,
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="v6scope">
<title>IPv6 report ${esc(utc(s.since))} – ${esc(utc(s.until))}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.filter(Boolean).join('\n')}
</main>
</body>
</html>
`;
}
