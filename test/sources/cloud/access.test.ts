/**
 * ALB, NLB TLS and CloudFront access log parsing.
 *
 * The ALB entry is the HTTP example of the Elastic Load Balancing guide "Access logs for your
 * Application Load Balancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html),
 * the NLB entry the TLS example of "Access logs for your Network Load Balancer"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html), and the
 * CloudFront lines follow the field list of "Standard logging (access logs)" in the CloudFront
 * developer guide; IPv6 variants are derived from them.
 */
import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import { CloudFrontFormat, parseAlbLine, parseEndpoint, parseNlbLine, requestFlow, splitQuoted } from '../../../src/sources/cloud/alb.js';
import { LogHistogram, RequestAggregate } from '../../../src/sources/cloud/requests.js';

const ALB_DOC =
  'http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90';

describe('ALB access logs', () => {
  it('the documentation example', () => {
    const r = parseAlbLine(ALB_DOC);
    expect(r.family).toBe(4);
    expect(formatIP(r.client, 4)).toBe('192.168.131.39');
    expect(r.clientPort).toBe(2817);
    expect(r.status).toBe(200);
    expect(r.latencyMs).toBeCloseTo(1, 6);
    expect(r.receivedBytes).toBe(34);
    expect(r.sentBytes).toBe(366);
    expect(r.lb).toBe('app/my-loadbalancer/50dc6c495c0c9188');
    expect(r.time).toBe(Date.parse('2018-07-02T22:23:00.186Z'));
  });

  it('IPv6 client:port is split at the last colon; brackets tolerated', () => {
    const v6 = ALB_DOC.replace('192.168.131.39:2817', '2001:db8:85a3::8a2e:370:7334:2817');
    const r = parseAlbLine(v6);
    expect(r.family).toBe(6);
    expect(formatIP(r.client, 6)).toBe('2001:db8:85a3::8a2e:370:7334');
    expect(r.clientPort).toBe(2817);
    const b = parseEndpoint('[3fff::1]:443', 'client:port')!;
    expect(formatIP(b.addr, 6)).toBe('3fff::1');
    expect(b.port).toBe(443);
    // The classic mistake: splitting "fd00::1:443" at the first colon would give "fd00".
    const c = parseEndpoint('fd00::1:443', 'client:port')!;
    expect(formatIP(c.addr, 6)).toBe('fd00::1');
    expect(c.port).toBe(443);
  });

  it('::ffff:192.0.2.1 clients are IPv4', () => {
    const r = parseAlbLine(ALB_DOC.replace('192.168.131.39:2817', '::ffff:192.0.2.1:2817'));
    expect(r.family).toBe(4);
    expect(formatIP(r.client, 4)).toBe('192.0.2.1');
  });

  it('-1 processing times and - targets: not dispatched', () => {
    const r = parseAlbLine(ALB_DOC.replace('10.0.0.1:80 0.000 0.001 0.000 200 200', '- -1 -1 -1 503 -'));
    expect(r.target).toBeNull();
    expect(r.latencyMs).toBeNull();
    expect(r.status).toBe(503);
  });

  it('unknown trailing fields are ignored; quoted fields keep spaces', () => {
    const r = parseAlbLine(`${ALB_DOC} "new field" another`);
    expect(r.status).toBe(200);
    expect(splitQuoted('a "b c" "d \\" e" -')).toEqual(['a', 'b c', 'd " e', '-']);
    expect(() => parseAlbLine('http 2018-07-02T22:23:00Z app/x 1.2.3.4:1 - 0 0 0 200 200 1 2 "GET')).toThrow(/unterminated/);
  });

  it('a request becomes one flow: bytes = received + sent, packets 0', () => {
    const f = requestFlow(parseAlbLine(ALB_DOC));
    expect(f.flows).toBe(1);
    expect(f.bytes).toBe(400);
    expect(f.packets).toBe(0);
    expect(f.source_kind).toBe('alb');
    expect(f.direction).toBe(1);
  });
});

describe('NLB TLS access logs', () => {
  it('the documentation example, and IPv6', () => {
    const line =
      'tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2020-04-01T08:51:42';
    const r = parseNlbLine(line);
    expect(r.family).toBe(4);
    expect(r.latencyMs).toBe(2);
    expect(r.receivedBytes).toBe(98);
    expect(r.sentBytes).toBe(246);
    const v6 = parseNlbLine(line.replace('72.21.218.154:51341', '3fff::1:51341'));
    expect(v6.family).toBe(6);
    expect(v6.clientPort).toBe(51341);
  });
});

describe('CloudFront standard logs', () => {
  const fields =
    '#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end';
  const line = (ip: string, status = '200', taken = '0.001') =>
    ['2019-12-04', '21:02:31', 'LAX1', '392', ip, 'GET', 'd111111abcdef8.cloudfront.net', '/index.html', status, '-', 'Mozilla/5.0', '-', '-', 'Hit', 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==', 'd111111abcdef8.cloudfront.net', 'https', '23', taken, '-', 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'Hit', 'HTTP/2.0', '-', '-', '11040', '0.001', 'Hit', 'text/html', '78', '-', '-'].join('\t');

  it('IPv4 and IPv6 c-ip', () => {
    const f = new CloudFrontFormat(fields);
    const a = f.parse(line('192.0.2.100'));
    expect(a.family).toBe(4);
    expect(a.latencyMs).toBeCloseTo(1, 6);
    expect(a.sentBytes).toBe(392);
    expect(a.receivedBytes).toBe(23);
    expect(a.clientPort).toBe(11040);
    expect(a.time).toBe(Date.parse('2019-12-04T21:02:31Z'));
    const b = f.parse(line('2001:db8::a:b', '503'));
    expect(b.family).toBe(6);
    expect(b.status).toBe(503);
  });
});

describe('request aggregate', () => {
  it('percentiles from the log histogram are within 3 %', () => {
    const h = new LogHistogram();
    const vals: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      vals.push(i * 0.7);
      h.add(i * 0.7);
    }
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = vals[Math.ceil(q * vals.length) - 1]!;
      expect(Math.abs(h.quantile(q)! - exact) / exact).toBeLessThan(0.03);
    }
  });

  it('status classes and serialisation', () => {
    const a = new RequestAggregate();
    a.add(parseAlbLine(ALB_DOC));
    a.add(parseAlbLine(ALB_DOC.replace(' 200 200 ', ' 404 404 ')));
    const b = RequestAggregate.from(JSON.parse(JSON.stringify(a.toJSON())));
    const c = b.cells.get('alb|4')!;
    expect(c.requests).toBe(2);
    expect(c.status['4xx']).toBe(1);
    expect(c.latencyMs.n).toBe(2);
  });
});
