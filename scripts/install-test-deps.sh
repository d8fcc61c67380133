#!/usr/bin/env bash
# Installs the system packages the test suite drives as real peers (Debian/Ubuntu).
# - tcpdump: real captures on loopback; tshark: independent per-family packet/byte counts.
# - nfdump: nfpcapd/nfdump as a cross-check and benchmark peer.
# - softflowd: a real NetFlow v5/v9/IPFIX exporter the flow decoder is checked against (with nfcapd).
# - libmaxmind-db-writer-perl, mmdb-bin: build a real MMDB and read it back with libmaxminddb (ASN lookups).
# - unbound, dnsutils: a real resolver sending dnstap and log-replies while dig asks it.
# - iproute2, curl, python3: network namespaces and generated traffic in the exporter/capture tests.
# - pmacct, nfdump-sflow, iputils-ping: pmacctd (sfprobe/nfprobe) in a test namespace, sfcapd as the sFlow cross-check.
# - prometheus: promtool lints the /metrics exposition.
# - clickhouse-server: the ClickHouse store's tests start their own server on loopback.
# - zookeeper (with a Java runtime): coordination for the replicated ClickHouse engines' test.
# - chromium: the web console's end-to-end tests drive it headless (playwright-core).
# - libxml2-utils: xmllint checks the report's SVG charts are well-formed XML.
# - fonts-dejavu-core, fonts-liberation: text in the PNG charts (resvg) and in Chromium's screenshots.
# Runs apt-get only when something is missing. Needs root for that; otherwise it says what to install.
set -euo pipefail

need=()
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tshark >/dev/null 2>&1 && command -v editcap >/dev/null 2>&1 || need+=(tshark)
command -v nfpcapd >/dev/null 2>&1 || need+=(nfdump)
command -v softflowd >/dev/null 2>&1 || need+=(softflowd)
perl -MMaxMind::DB::Writer::Tree -e1 >/dev/null 2>&1 || need+=(libmaxmind-db-writer-perl)
command -v mmdblookup >/dev/null 2>&1 || need+=(mmdb-bin)
command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || need+=(unbound)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v pmacctd >/dev/null 2>&1 || need+=(pmacct)
command -v sfcapd >/dev/null 2>&1 || need+=(nfdump-sflow)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || [ -x /usr/bin/clickhouse ] || need+=(clickhouse-server)
[ -e /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1 || need+=(zookeeper)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -d /usr/share/fonts/truetype/liberation ] || need+=(fonts-liberation)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "install-test-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  # Not fatal here: the tests that need them fail under CI=true and skip otherwise, each naming the tool.
  exit 0
fi
echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
