/**
 * Realistic exports for the neighbour importers, modelled on each tool's documented output.
 * Addresses are from the documentation ranges; MACs are made up (some upper case, as tools print).
 */

/** `ip neigh show nud all` (iproute2 6.x; note the trailing blank after the state). */
export const IP_NEIGH = [
  '192.168.1.1 dev eth0 lladdr 00:0d:b9:4f:2a:10 REACHABLE ',
  '192.168.1.23 dev eth0 lladdr D4:CA:6D:01:02:03 STALE ',
  '192.168.1.50 dev eth0  FAILED ',
  '192.168.1.51 dev eth0  INCOMPLETE ',
  'fe80::20d:b9ff:fe4f:2a10 dev eth0 lladdr 00:0d:b9:4f:2a:10 router REACHABLE ',
  '2001:db8:4a1:10::1 dev eth0 lladdr 00:0d:b9:4f:2a:10 router STALE ',
  '2001:DB8:4A1:10:D6CA:6DFF:FE01:203 dev eth0 lladdr d4:ca:6d:01:02:03 DELAY ',
  'fe80::1c2b:3a4f:5e6d:7c8b dev wlan0 lladdr 3a:1b:22:c4:5d:6e PROBE ',
  '10.0.0.254 dev eth1 lladdr 52:54:00:12:34:56 PERMANENT ',
  '2001:db8:4a1:10::99 dev eth0  proxy ',
  'ff02::1:ff01:203 dev eth0 lladdr 33:33:ff:01:02:03 NOARP ',
  '::1 dev lo lladdr 00:00:00:00:00:00 NOARP ',
  '',
].join('\n');

/** `ip -s neigh show dev eth0` (no "dev", cache statistics). */
export const IP_NEIGH_STATS = [
  '192.168.1.1 lladdr 00:0d:b9:4f:2a:10 ref 1 used 12/7/5 probes 1 REACHABLE ',
  '192.168.1.23 lladdr d4:ca:6d:01:02:03 used 300/240/240 probes 0 STALE ',
  '',
].join('\n');

/** `ip -j neigh show` (one line, as iproute2 prints it). */
export const IP_NEIGH_JSON =
  '[{"dst":"192.168.1.1","dev":"eth0","lladdr":"00:0d:b9:4f:2a:10","state":["REACHABLE"]},' +
  '{"dst":"192.168.1.50","dev":"eth0","state":["FAILED"]},' +
  '{"dst":"fe80::20d:b9ff:fe4f:2a10","dev":"eth0","lladdr":"00:0d:b9:4f:2a:10","router":null,"state":["REACHABLE"]},' +
  '{"dst":"2001:db8:4a1:10::99","dev":"eth0","proxy":null},' +
  '{"dst":"2001:db8:4a1:10:d6ca:6dff:fe01:203","dev":"eth0","lladdr":"D4:CA:6D:01:02:03","state":["DELAY"]}]\n';

/** `ip -j -p -s neigh show` (pretty: one member per line). */
export const IP_NEIGH_JSON_PRETTY = `[ {
        "dst": "192.168.1.1",
        "dev": "eth0",
        "lladdr": "00:0d:b9:4f:2a:10",
        "refcnt": 1,
        "used": 12,
        "confirmed": 7,
        "updated": 5,
        "probes": 1,
        "state": [ "REACHABLE" ]
    },{
        "dst": "fe80::20d:b9ff:fe4f:2a10",
        "dev": "eth0",
        "lladdr": "00:0d:b9:4f:2a:10",
        "router": null,
        "refcnt": 1,
        "used": 30,
        "confirmed": 20,
        "updated": 20,
        "probes": 0,
        "state": [ "STALE" ]
    } ]
`;

/** RouterOS 6.49 `/ip arp print` (no STATUS column in v6). */
export const ROS6_ARP = [
  '[admin@MikroTik] > /ip arp print',
  'Flags: X - disabled, I - invalid, H - DHCP, D - dynamic, P - published, C - complete ',
  ' #     ADDRESS         MAC-ADDRESS       INTERFACE                                    ',
  ' 0  DC 192.168.88.1    4C:5E:0C:11:22:33 ether1                                       ',
  ' 1 HDC 192.168.88.10   D4:CA:6D:01:02:03 bridge                                       ',
  ' 2  D  192.168.88.20                     bridge                                       ',
  ' 3     192.168.88.5    00:0C:42:AA:BB:CC bridge                                       ',
  ' 4 X   192.168.88.6    00:0C:42:AA:BB:CD bridge                                       ',
  ' 5   P 192.168.88.7    00:0C:42:AA:BB:CE bridge                                       ',
  '',
].join('\n');

/** RouterOS 6.49 `/ipv6 neighbor print`. */
export const ROS6_ND = [
  'Flags: R - router ',
  ' #   ADDRESS                                    INTERFACE             MAC-ADDRESS       STATUS        ',
  ' 0 R fe80::4e5e:cff:fe11:2233                   ether1                4C:5E:0C:11:22:33 stale         ',
  ' 1   2001:db8:4a1:10:d6ca:6dff:fe01:203         bridge                D4:CA:6D:01:02:03 reachable     ',
  ' 2   2001:db8:4a1:10::77                        bridge                                  failed        ',
  '',
].join('\n');

/** RouterOS 7.15 `/ip arp print` (legend in capitals, Columns line, STATUS column). */
export const ROS7_ARP = [
  'Flags: D - DYNAMIC; P - PUBLISHED; C - COMPLETE',
  'Columns: ADDRESS, MAC-ADDRESS, INTERFACE, STATUS',
  '#    ADDRESS         MAC-ADDRESS        INTERFACE  STATUS    ',
  '0 DC 192.168.88.1    4C:5E:0C:11:22:33  ether1     reachable ',
  '1 DC 192.168.88.254  d4:ca:6d:01:02:03  bridge     stale     ',
  '2 D  192.168.88.30                      bridge     failed    ',
  ';;; office printer',
  '3  C 192.168.88.5    00:0C:42:AA:BB:CC  bridge     permanent ',
  '',
].join('\n');

/** RouterOS 7.15 `/ipv6 neighbor print`. */
export const ROS7_ND = [
  'Flags: R - ROUTER',
  'Columns: ADDRESS, INTERFACE, MAC-ADDRESS, STATUS',
  '#   ADDRESS                   INTERFACE  MAC-ADDRESS        STATUS    ',
  '0 R fe80::4e5e:cff:fe11:2233  ether1     4C:5E:0C:11:22:33  reachable ',
  '1   fe80::d6ca:6dff:fe01:203  bridge     D4:CA:6D:01:02:03  stale     ',
  '2   2001:db8:4a1:10::2b       bridge                        incomplete',
  '',
].join('\n');

/** RouterOS 6 `/ip arp print terse`. */
export const ROS6_ARP_TERSE = [
  ' 0 DC address=192.168.88.1 mac-address=4C:5E:0C:11:22:33 interface=ether1 published=no ',
  ' 1  D address=192.168.88.20 interface=bridge published=no ',
  ' 2 X  address=192.168.88.6 mac-address=00:0C:42:AA:BB:CD interface=bridge published=no ',
  '',
].join('\n');

/** RouterOS 7 `/ipv6 neighbor print terse`. */
export const ROS7_ND_TERSE = [
  '0 R address=fe80::4e5e:cff:fe11:2233 interface=ether1 mac-address=4C:5E:0C:11:22:33 status=reachable ',
  '1   address=2001:db8:4a1:10:d6ca:6dff:fe01:203 interface=bridge mac-address=D4:CA:6D:01:02:03 status=stale ',
  '',
].join('\n');

/** RouterOS 7 `/ip arp print detail` (wrapped continuation lines, comment after the flags). */
export const ROS7_ARP_DETAIL = [
  'Flags: X - DISABLED, I - INVALID; H - DHCP, D - DYNAMIC; P - PUBLISHED; C - COMPLETE ',
  ' 0 DC address=192.168.88.1 mac-address=4C:5E:0C:11:22:33 interface=ether1 published=no status=reachable ',
  '',
  ' 1  C ;;; office printer',
  '      address=192.168.88.5 mac-address=00:0C:42:AA:BB:CC interface=bridge published=no ',
  '      status=permanent ',
  '',
  ' 2 D  address=192.168.88.40 interface=bridge published=no status=failed ',
  '',
].join('\n');

/** dnsmasq lease file with a DHCPv6 section (OpenWrt /tmp/dhcp.leases). */
export const DNSMASQ = [
  '1700003600 d4:ca:6d:01:02:03 192.168.1.23 laptop 01:d4:ca:6d:01:02:03',
  '0 52:54:00:12:34:56 192.168.1.2 * *',
  '1700007200 3A:1B:22:C4:5D:6E 192.168.1.42 Pixel-7 01:3a:1b:22:c4:5d:6e',
  '1700001000 20-80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de 192.168.1.60 ib-node *',
  'duid 00:01:00:01:2c:1f:3a:4b:52:54:00:12:34:56',
  '1700003600 114453427 2001:db8:4a1:10::1a2 laptop 00:01:00:01:2a:bb:cc:dd:d4:ca:6d:01:02:03',
  '1700003700 3528394 2001:db8:4a1:10::1b7 tv 00:03:00:01:a8:23:fe:11:22:33',
  '1700003600 2193718 2001:db8:4a1:10::1c9 * 00:04:7f:2b:1e:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd',
  '1700003600 T33 2001:db8:4a1:10::1d0 phone 00:02:00:00:ab:11:12:34:56:78:9a:bc',
  '',
].join('\n');

/** odhcpd lease file (/tmp/hosts/odhcpd): lease comment lines plus hosts lines. */
export const ODHCPD = [
  '# br-lan 000100012a3bccddd4ca6d010203 5fd4ca6d laptop 1700003600 c1 128 2001:db8:4a1:10::c1/128 fd4a:1:2:10::c1/128 ',
  '2001:db8:4a1:10::c1\tlaptop.lan\tlaptop',
  'fd4a:1:2:10::c1\tlaptop.lan\tlaptop',
  '# br-lan 00030001a823fe112233 1 - -1 c2 128 2001:db8:4a1:10::c2/128 ',
  '# br-lan 00020000ab11123456789abc 2 printer 1700003600 c3 128 2001:db8:4a1:10::c3/128 ',
  '# br-lan 000100012a3bccddd4ca6d010203 7 laptop 1700003600 40 60 2001:db8:4a1:20::/60 ',
  '# br-lan 3a1b22c45d6e ipv4 Pixel-7 1700007200 2a 32 192.168.1.42/32 ',
  '',
].join('\n');

/** ISC dhcpd.leases (DHCPv4), append-only: 192.168.1.23 appears twice. */
export const DHCPD_LEASES = `# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

lease 192.168.1.23 {
  starts 3 2023/11/15 10:00:00;
  ends 3 2023/11/15 22:00:00;
  cltt 3 2023/11/15 10:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet d4:ca:6d:01:02:03;
  uid "\\001\\324\\312m\\001\\002\\003";
  set vendor-class-identifier = "MSFT 5.0";
  client-hostname "laptop";
}
lease 192.168.1.42 {
  starts 3 2023/11/15 11:00:00;
  ends 3 2023/11/15 23:00:00;
  tstp 3 2023/11/15 23:00:00;
  cltt 3 2023/11/15 11:00:00;
  binding state free;
  hardware ethernet 3a:1b:22:c4:5d:6e;
  uid "\\001:\\033\\"\\304]n";
}
lease 192.168.1.23 {
  starts 3 2023/11/15 16:00:00;
  ends 4 2023/11/16 04:00:00;
  cltt 3 2023/11/15 16:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet d4:ca:6d:01:02:03;
  client-hostname "laptop";
}
lease 192.168.1.99 {
  starts 3 2023/11/15 12:00:00;
  ends 3 2023/11/15 12:00:00;
  binding state abandoned;
  next binding state free;
  client-hostname "conflict";
}
lease 192.168.1.5 {
  starts 3 2023/11/15 09:00:00;
  ends never;
  cltt 3 2023/11/15 09:00:00;
  binding state active;
  hardware ethernet 0:c:29:a:b:c;
}
lease 192.168.1.77 {
  starts epoch 1700000000; # Tue Nov 14 22:13:20 2023
  ends epoch 1700043200; # Wed Nov 15 10:13:20 2023
  cltt epoch 1700000000; # Tue Nov 14 22:13:20 2023
  binding state active;
  hardware ethernet 0C:4D:E9:AA:BB:CC;
  client-hostname "mac-mini";
}
`;

/** ISC dhcpd6.leases: ia-na ids are IAID (little-endian here) + DUID, octal-escaped. */
export const DHCPD6_LEASES = `# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\\000\\001\\000\\001,\\037:KRT\\000\\0224V";

ia-na "m\\312\\324_\\000\\001\\000\\001*\\273\\314\\335\\324\\312m\\001\\002\\003" {
  cltt 3 2023/11/15 10:00:00;
  iaaddr 2001:db8:4a1:10::1a2 {
    binding state active;
    preferred-life 27000;
    max-life 43200;
    ends 3 2023/11/15 22:00:00;
  }
}

ia-na "\\001\\000\\000\\000\\000\\003\\000\\001\\250#\\376\\021\\"3" {
  cltt 3 2023/11/15 10:30:00;
  iaaddr 2001:db8:4a1:10::2b {
    binding state active;
    preferred-life 27000;
    max-life 43200;
    ends never;
    set ddns-fwd-name = "tv.example.org";
  }
}

ia-na "\\002\\000\\000\\000\\000\\002\\000\\000\\253\\021\\0224Vx\\232\\274" {
  cltt 3 2023/11/15 10:40:00;
  iaaddr 2001:db8:4a1:10::3c {
    binding state active;
    ends 3 2023/11/15 22:40:00;
  }
}

ia-pd "m\\312\\324_\\000\\001\\000\\001*\\273\\314\\335\\324\\312m\\001\\002\\003" {
  cltt 3 2023/11/15 10:00:00;
  iaprefix 2001:db8:4a1:20::/60 {
    binding state active;
    ends 3 2023/11/15 22:00:00;
  }
}
`;

/** Kea kea-leases4.csv (2.4 schema with pool_id). */
export const KEA4 = [
  'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id',
  '192.0.2.10,d4:ca:6d:01:02:03,01:d4:ca:6d:01:02:03,3600,1700003600,1,0,0,laptop.example.org,0,,0',
  '192.0.2.11,3A:1B:22:C4:5D:6E,,3600,1700007200,1,1,1,pixel&#x2c 7,0,{ "comment": "a&#x2c b" },0',
  '192.0.2.12,52:54:00:12:34:56,,3600,1700001000,1,0,0,,1,,0',
  '192.0.2.10,d4:ca:6d:01:02:03,01:d4:ca:6d:01:02:03,3600,1700005400,1,0,0,laptop.example.org,0,,0',
  '192.0.2.13,00:0c:42:aa:bb:cc,,0,1700000000,1,0,0,,0,,0',
  '192.0.2.14,00:0c:42:aa:bb:cd,,4294967295,4294967295,1,0,0,nas,0,,0',
  '',
].join('\n');

/** Kea kea-leases6.csv (2.4 schema). */
export const KEA6 = [
  'address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id',
  '2001:db8:1::100,00:01:00:01:2a:bb:cc:dd:d4:ca:6d:01:02:03,4000,1700004000,1,3000,0,1607781997,128,0,0,laptop.example.org,d4:ca:6d:01:02:03,0,,1,2,0',
  '2001:db8:1::101,00:03:00:01:a8:23:fe:11:22:33,4000,1700004000,1,3000,0,1,128,0,0,,,0,,0,0,0',
  '2001:db8:1::102,00:02:00:00:ab:11:12:34:56:78:9a:bc,4000,1700004000,1,3000,0,2,128,0,0,,,0,,0,0,0',
  '2001:db8:1:8000::,00:01:00:01:2a:bb:cc:dd:d4:ca:6d:01:02:03,4000,1700004000,1,3000,2,3,56,0,0,,,0,,0,0,0',
  '2001:db8:1::103,00:03:00:01:a8:23:fe:11:22:44,4000,1700004000,1,3000,0,4,128,0,0,,,2,,0,0,0',
  '2001:db8:1::104,00:02:00:00:ab:11:12:34:56:78:9a:bd,4000,1700004000,1,3000,0,5,128,0,0,printer,0C:4D:E9:AA:BB:CC,0,,1,4,0',
  '',
].join('\n');
