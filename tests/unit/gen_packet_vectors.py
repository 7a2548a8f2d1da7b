#!/usr/bin/python3
"""Build lib/packet test vectors with scapy and write them as a C header.

Usage: gen_packet_vectors.py OUTPUT.h   (meson runs it at build time)

scapy is the independent reference: it builds every input frame and every
expected output (checksums computed from scratch), and the expected parse
results are read back from scapy's own dissection. The C code under test
must reproduce the output bytes exactly.

Randomised vectors use a fixed seed so the header is reproducible.
"""
import random
import socket
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                                ICMPv6ParamProblem, ICMPv6TimeExceeded, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, PadN)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import checksum

MAC_A = '02:00:00:00:00:0a'
MAC_B = '02:00:00:00:00:0b'
V4_A, V4_B, V4_C = '192.0.2.10', '198.51.100.20', '203.0.113.30'
V6_A, V6_B, V6_C = '2001:db8::10', '2001:db8:1::20', '2001:db8:ffff::30'
ENCAP_FLOW_HASH = 0x9e3779b9  # what the C test passes; the label is its low 20 bits

# pkt_info.flags, as in packet.h
FRAG, FIRST, PORTS = 0x01, 0x02, 0x04
V6_EXT = (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment)

rng = random.Random(0x51c3)


def eth(ethertype=None):
    if ethertype is None:
        return Ether(dst=MAC_B, src=MAC_A)
    return Ether(dst=MAC_B, src=MAC_A, type=ethertype)


def addr_bytes(text):
    """16-byte sl_addr image: v4 in the first four bytes, rest zero."""
    if ':' in text:
        return socket.inet_pton(socket.AF_INET6, text)
    return socket.inet_pton(socket.AF_INET, text) + bytes(12)


def payload(n):
    return Raw(bytes(rng.getrandbits(8) for _ in range(n)))


# ---------------------------------------------------------------- C output

class Out:
    def __init__(self):
        self.arrays = []
        self.count = 0

    def array(self, data):
        """Emit a byte array, return its C name."""
        name = 'pv_bytes_%d' % self.count
        self.count += 1
        body = ', '.join('0x%02x' % b for b in data)
        self.arrays.append('static const uint8_t %s[%d] = {%s};' % (name, max(len(data), 1), body))
        return name


def c_bytes16(data):
    return '{' + ', '.join('0x%02x' % b for b in data) + '}'


def c_str(s):
    return '"' + s.replace('"', '\\"') + '"'


# ---------------------------------------------------------------- parse vectors

DROPS = ('NONE', 'TRUNCATED', 'NON_IP', 'BAD_VERSION', 'BAD_IHL', 'BAD_LENGTH', 'BAD_IP_CHECKSUM',
         'BAD_EXT_HEADER')


def l4_of_v6(ip6):
    """Layer after the extension headers, and its next-header value; stops
    after the fragment header of a non-first fragment, like the parser."""
    layer, nh = ip6.payload, ip6.nh
    while isinstance(layer, V6_EXT):
        nh = layer.nh
        non_first = isinstance(layer, IPv6ExtHdrFragment) and layer.offset != 0
        layer = layer.payload
        if non_first:
            break
    return layer, nh


def expect_ok(data, flags, ip_family=-1):
    """Expected sl_pkt_info for a frame the parser must accept, read from
    scapy's dissection of the exact bytes (any padding is ignored by both)."""
    if ip_family == -1:
        pkt = Ether(data)
    else:
        pkt = (IP if ip_family == 4 else IPv6)(data)
    e = dict(drop='NONE', flags=flags, vlan=0, sport=0, dport=0, l3_len=0, l4_off=0, proto=0, ttl=0,
             src=bytes(16), dst=bytes(16), family=0)
    if ip_family == -1:
        e['vlan'] = pkt[Dot1Q].vlan if Dot1Q in pkt else 0
        e['ethertype'] = pkt[Dot1Q].type if Dot1Q in pkt else pkt.type
        e['l3_off'] = 18 if Dot1Q in pkt else 14
    else:
        e['ethertype'] = 0x0800 if ip_family == 4 else 0x86dd
        e['l3_off'] = 0
    l3 = pkt if ip_family != -1 else pkt.payload
    if isinstance(l3, Dot1Q):
        l3 = l3.payload
    if isinstance(l3, IP):
        e.update(family=4, l3_len=l3.len, ttl=l3.ttl, proto=l3.proto, l4_off=e['l3_off'] + l3.ihl * 4,
                 src=addr_bytes(l3.src), dst=addr_bytes(l3.dst))
        l4 = l3.payload
    elif isinstance(l3, IPv6):
        l4, nh = l4_of_v6(l3)
        off, layer = 40, l3.payload  # add up the extension header lengths
        while layer is not l4:
            off += len(bytes(layer)) - len(bytes(layer.payload))
            layer = layer.payload
        e.update(family=6, l3_len=40 + l3.plen, ttl=l3.hlim, proto=nh, l4_off=e['l3_off'] + off,
                 src=addr_bytes(l3.src), dst=addr_bytes(l3.dst))
    else:
        l4 = None
    if flags & PORTS:
        e.update(sport=l4.sport, dport=l4.dport)
    return e


class ParseVectors:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def ok(self, name, pkt, flags, pad=0, ip_family=-1):
        data = bytes(pkt)
        e = expect_ok(data, flags, ip_family)
        self._add(name, data + bytes(pad), ip_family, e)
        return data

    def err(self, name, data, drop, ip_family=-1):
        assert drop in DROPS and drop != 'NONE'
        e = dict(drop=drop, ethertype=0, vlan=0, l3_off=0, l4_off=0, l3_len=0, family=0, proto=0, ttl=0,
                 flags=0, sport=0, dport=0, src=bytes(16), dst=bytes(16))
        self._add(name, bytes(data), ip_family, e)

    def _add(self, name, data, ip_family, e):
        arr = self.out.array(data)
        self.rows.append(
            '\t{%s, %s, %d, %d, SL_DROP_%s, 0x%04x, %d, %d, %d, %d, %d, %d, %d, 0x%02x, %d, %d, %s, %s},' %
            (c_str(name), arr, len(data), ip_family, e['drop'], e['ethertype'], e['vlan'], e['l3_off'],
             e['l4_off'], e['l3_len'], e['family'], e['proto'], e['ttl'], e['flags'], e['sport'], e['dport'],
             c_bytes16(e['src']), c_bytes16(e['dst'])))


def fix_ipv4_csum(buf, off):
    """Recompute the IPv4 header checksum of a hand-patched header at off."""
    hlen = (buf[off] & 0x0f) * 4 or 20
    buf[off + 10:off + 12] = b'\0\0'
    c = checksum(bytes(buf[off:off + hlen]))
    buf[off + 10:off + 12] = c.to_bytes(2, 'big')
    return buf


def add_parse_vectors(pv):
    tcp4 = eth() / IP(src=V4_A, dst=V4_B, ttl=61) / TCP(sport=40000, dport=80, flags='S') / payload(11)
    tcp6 = eth() / IPv6(src=V6_A, dst=V6_B, hlim=33) / TCP(sport=40001, dport=443) / payload(7)
    pv.trunc = [pv.ok('tcp4', tcp4, PORTS), pv.ok('tcp6', tcp6, PORTS)]
    pv.ok('udp4', eth() / IP(src=V4_C, dst=V4_A) / UDP(sport=53, dport=33333) / payload(20), PORTS)
    pv.ok('udp6', eth() / IPv6(src=V6_C, dst=V6_A) / UDP(sport=5353, dport=53) / payload(3), PORTS)
    pv.ok('tcp4 options', eth() / IP(src=V4_A, dst=V4_B, options=b'\x01\x01\x01\x00') /
          TCP(sport=1, dport=2, options=[('MSS', 1460), ('NOP', None), ('WScale', 7)]), PORTS)
    pv.trunc.append(pv.ok('vlan tcp4', eth() / Dot1Q(vlan=100, prio=5) / IP(src=V4_A, dst=V4_B) /
                          TCP(sport=1234, dport=8080), PORTS))
    pv.ok('vlan udp6', eth() / Dot1Q(vlan=4094) / IPv6(src=V6_A, dst=V6_B) / UDP(sport=9, dport=10), PORTS)
    pv.ok('vlan 0 tcp4', eth() / Dot1Q(vlan=0) / IP() / TCP(), PORTS)
    pv.ok('icmp4', eth() / IP(src=V4_A, dst=V4_B) / ICMP() / payload(8), 0)
    pv.ok('icmp6', eth() / IPv6(src=V6_A, dst=V6_B) / ICMPv6EchoRequest(), 0)
    pv.ok('gre4 no ports', eth() / IP(src=V4_A, dst=V4_B, proto=47) / payload(24), 0)
    pv.ok('ipip outer', eth() / IP(src=V4_A, dst=V4_B) / IP(src=V4_C, dst=V4_B) / TCP(), 0)
    pv.ok('ip6ip6 outer', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6(src=V6_C, dst=V6_B) / UDP(), 0)
    pv.ok('arp', eth() / ARP(psrc=V4_A, pdst=V4_B), 0)
    pv.ok('vlan arp', eth() / Dot1Q(vlan=7) / ARP(psrc=V4_A, pdst=V4_B), 0)
    pv.ok('padded udp4', eth() / IP(src=V4_A, dst=V4_B) / UDP(sport=7, dport=7), PORTS, pad=18)
    pv.ok('padded tcp6', eth() / IPv6(src=V6_A, dst=V6_B) / TCP(sport=7, dport=7), PORTS, pad=6)
    pv.ok('udp4 empty payload', eth() / IP() / UDP(sport=3, dport=4), PORTS)

    # Fragments: ports only in a first fragment that holds the whole header.
    pv.ok('frag4 first', eth() / IP(src=V4_A, dst=V4_B, flags='MF', frag=0) / TCP(sport=5, dport=6) /
          payload(16), FRAG | FIRST | PORTS)
    pv.ok('frag4 first partial l4', eth() / IP(src=V4_A, dst=V4_B, flags='MF', proto=6) /
          Raw(bytes(TCP(sport=5, dport=6))[:8]), FRAG | FIRST)
    pv.ok('frag4 middle', eth() / IP(src=V4_A, dst=V4_B, flags='MF', frag=185, proto=6) / payload(32), FRAG)
    pv.ok('frag4 last', eth() / IP(src=V4_A, dst=V4_B, frag=370, proto=17) / payload(33), FRAG)
    pv.ok('frag4 df not frag', eth() / IP(flags='DF') / UDP(sport=1, dport=2), PORTS)
    pv.ok('frag6 first', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrFragment(offset=0, m=1, id=7) /
          TCP(sport=100, dport=200) / payload(8), FRAG | FIRST | PORTS)
    pv.ok('frag6 first partial l4', eth() / IPv6(src=V6_A, dst=V6_B) /
          IPv6ExtHdrFragment(offset=0, m=1, id=7, nh=17) / Raw(b'\x00\x01\x00'), FRAG | FIRST)
    pv.ok('frag6 non-first', eth() / IPv6(src=V6_A, dst=V6_B) /
          IPv6ExtHdrFragment(offset=100, m=0, id=7, nh=6) / payload(24), FRAG)
    pv.ok('frag6 offset 1', eth() / IPv6(src=V6_A, dst=V6_B) /
          IPv6ExtHdrFragment(offset=1, m=1, id=7, nh=17) / payload(24), FRAG)
    pv.ok('frag4 offset 1', eth() / IP(src=V4_A, dst=V4_B, frag=1, proto=17) / payload(8), FRAG)
    pv.ok('frag6 atomic', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrFragment(offset=0, m=0, id=9) /
          UDP(sport=11, dport=12), FRAG | PORTS)

    # IPv6 extension headers.
    ext = pv.ok('ext6 hbh dstopt tcp', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrHopByHop() /
                IPv6ExtHdrDestOpt() / TCP(sport=22, dport=2222) / payload(5), PORTS)
    pv.trunc.append(ext)
    pv.ok('ext6 routing udp', eth() / IPv6(src=V6_A, dst=V6_B) /
          IPv6ExtHdrHopByHop(options=[PadN(optdata=bytes(10))]) /
          IPv6ExtHdrRouting(addresses=[V6_C, V6_A]) / UDP(sport=1, dport=2), PORTS)
    pv.ok('ext6 dstopt frag-first', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrFragment(offset=0, m=1) / UDP(sport=8, dport=9), FRAG | FIRST | PORTS)
    eight = IPv6ExtHdrHopByHop()
    for _ in range(7):
        eight = eight / IPv6ExtHdrDestOpt()
    pv.ok('ext6 eight headers', eth() / IPv6(src=V6_A, dst=V6_B) / eight / UDP(sport=1, dport=1), PORTS)

    # Bare IP for sl_pkt_parse_ip (the inner packet of a tunnel).
    pv.ok('ip4 tcp bare', IP(src=V4_C, dst=V4_B, ttl=9) / TCP(sport=9, dport=99), PORTS, ip_family=4)
    pv.ok('ip6 ext udp bare', IPv6(src=V6_C, dst=V6_B) / IPv6ExtHdrDestOpt() / UDP(sport=9, dport=99), PORTS,
          ip_family=6)
    pv.ok('ip4 bare padded', IP(src=V4_C, dst=V4_B) / UDP(sport=1, dport=2), PORTS, pad=5, ip_family=4)

    add_parse_errors(pv, tcp4)


def add_parse_errors(pv, tcp4):
    full = bytes(tcp4)
    v6tcp = bytes(eth() / IPv6(src=V6_A, dst=V6_B) / TCP())

    pv.err('empty frame', b'', 'TRUNCATED')
    pv.err('eth 13 bytes', full[:13], 'TRUNCATED')
    pv.err('vlan tag cut', bytes(eth() / Dot1Q(vlan=3) / IP())[:17], 'TRUNCATED')
    pv.err('arp body 27', bytes(eth() / ARP())[:14 + 27], 'TRUNCATED')
    pv.err('ipv4 19 bytes', full[:14 + 19], 'TRUNCATED')
    pv.err('ipv4 options cut', bytes(eth() / IP(options=b'\x01\x01\x01\x00') / UDP())[:14 + 20], 'TRUNCATED')
    pv.err('tcp4 data offset 4', bytes(eth() / IP() / TCP(dataofs=4)), 'TRUNCATED')
    pv.err('tcp4 data offset 15', bytes(eth() / IP() / TCP(dataofs=15)), 'TRUNCATED')
    pv.err('tcp4 19 bytes', bytes(eth() / IP(proto=6) / Raw(bytes(TCP())[:19])), 'TRUNCATED')
    pv.err('udp4 7 bytes', bytes(eth() / IP(proto=17) / Raw(bytes(7))), 'TRUNCATED')
    pv.err('ipv6 39 bytes', v6tcp[:14 + 39], 'TRUNCATED')
    pv.err('tcp6 19 bytes', bytes(eth() / IPv6(nh=6) / Raw(bytes(19))), 'TRUNCATED')
    pv.err('udp6 after ext 7 bytes', bytes(eth() / IPv6() / IPv6ExtHdrDestOpt(nh=17) / Raw(bytes(7))),
           'TRUNCATED')
    pv.err('bare ip4 19 bytes', bytes(IP() / TCP())[:19], 'TRUNCATED', ip_family=4)

    pv.err('lldp', bytes(eth(0x88cc) / Raw(bytes(46))), 'NON_IP')
    pv.err('qinq 88a8', bytes(eth(0x88a8) / Dot1Q() / IP()), 'NON_IP')
    pv.err('two 8100 tags', bytes(eth() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / IP()), 'NON_IP')
    pv.err('short ipx', bytes(eth(0x8137)), 'NON_IP')

    pv.err('v6 in v4 ethertype', bytes(eth(0x0800) / IPv6() / TCP()), 'BAD_VERSION')
    pv.err('v4 in v6 ethertype', bytes(eth(0x86dd) / IP() / TCP()), 'BAD_VERSION')
    pv.err('ipv4 version 5', fix_ipv4_csum(bytearray(full[:14]) + bytes([0x55]) + full[15:], 14), 'BAD_VERSION')
    pv.err('bare ip4 given v6', bytes(IPv6() / TCP()), 'BAD_VERSION', ip_family=4)
    pv.err('bare ip6 given v4', bytes(IP() / TCP()), 'BAD_VERSION', ip_family=6)
    pv.err('bare family none', bytes(IP() / TCP()), 'BAD_VERSION', ip_family=0)

    pv.err('ihl 4', fix_ipv4_csum(bytearray(bytes(eth() / IP(ihl=4) / TCP())), 14), 'BAD_IHL')
    pv.err('ihl 0', fix_ipv4_csum(bytearray(bytes(eth() / IP(ihl=0) / TCP())), 14), 'BAD_IHL')

    pv.err('total length past frame', bytes(eth() / IP(len=1000) / TCP()), 'BAD_LENGTH')
    pv.err('total length < ihl', bytes(eth() / IP(len=19) / TCP()), 'BAD_LENGTH')
    pv.err('total length < options', bytes(eth() / IP(len=22, options=b'\x01\x01\x01\x00') / TCP()),
           'BAD_LENGTH')
    pv.err('ipv6 payload past frame', bytes(eth() / IPv6(plen=21) / TCP()), 'BAD_LENGTH')
    pv.err('tcp4 cut in payload', full[:-1], 'BAD_LENGTH')

    bad = bytearray(full)
    bad[14 + 10] ^= 0x40
    pv.err('ipv4 checksum', bad, 'BAD_IP_CHECKSUM')
    bad = bytearray(bytes(eth() / IP(options=b'\x01\x01\x01\x00') / TCP()))
    bad[14 + 21] ^= 0x01
    pv.err('ipv4 checksum covers options', bad, 'BAD_IP_CHECKSUM')

    nine = IPv6ExtHdrHopByHop()
    for _ in range(8):
        nine = nine / IPv6ExtHdrDestOpt()
    pv.err('ext6 nine headers', bytes(eth() / IPv6() / nine / UDP()), 'BAD_EXT_HEADER')
    pv.err('ext6 length past payload', bytes(eth() / IPv6() / IPv6ExtHdrDestOpt(len=2) / UDP()), 'BAD_EXT_HEADER')
    pv.err('ext6 hbh not first', bytes(eth() / IPv6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP()),
           'BAD_EXT_HEADER')
    pv.err('ext6 two fragment headers', bytes(eth() / IPv6() / IPv6ExtHdrFragment(m=1) /
                                              IPv6ExtHdrFragment(m=1) / UDP()), 'BAD_EXT_HEADER')
    pv.err('ext6 header under 8 bytes', bytes(eth() / IPv6(nh=60) / Raw(bytes(4))), 'BAD_EXT_HEADER')
    pv.err('ext6 padding not in payload', bytes(eth() / IPv6(nh=0, plen=0) / Raw(bytes(8))), 'BAD_EXT_HEADER')


# ---------------------------------------------------------------- NAT, TTL, checksums

def rand_v4():
    return '.'.join(str(rng.randrange(256)) for _ in range(4))


def rand_v6():
    return ':'.join('%x' % rng.choice((0, 0xffff, rng.randrange(0x10000))) for _ in range(8))


def ip_layer(family, src, dst, **kw):
    return IP(src=src, dst=dst, **kw) if family == 4 else IPv6(src=src, dst=dst, **kw)


def force_zero_checksum(build):
    """Return a payload that makes build(payload) have a one's complement sum
    of zero, so its computed TCP/UDP checksum is 0 (UDP sends 0xffff)."""
    probe = Ether(bytes(build(Raw(bytes(2)))))
    l4 = probe[TCP] if TCP in probe else probe[UDP]
    c = l4.chksum
    if UDP in probe and c == 0xffff:
        c = 0  # scapy already mapped a zero; the sum is already right
    return Raw(c.to_bytes(2, 'big'))


class NatVectors:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, name, side, before, after, new_addr, new_port):
        b, a = bytes(before), bytes(after)
        assert len(a) == len(b), name
        self.rows.append('\t{%s, %d, %s, %s, %d, %s, %d},' %
                         (c_str(name), side == 'dst', self.out.array(b), self.out.array(a), len(b),
                          c_bytes16(addr_bytes(new_addr)), new_port))

    def pair(self, name, side, family, l4cls, src, dst, sport, dport, new_addr, new_port, pay,
             vlan=None, ext=None, ip_kw=None, l4_kw=None):
        """The same packet before and after translation, both built by scapy."""
        ip_kw, l4_kw = ip_kw or {}, l4_kw or {}

        def build(s, d, sp, dp, body):
            pkt = eth() / Dot1Q(vlan=vlan) if vlan is not None else eth()
            pkt = pkt / ip_layer(family, s, d, **ip_kw)
            if ext is not None:
                pkt = pkt / ext()
            return pkt / l4cls(sport=sp, dport=dp, **l4_kw) / body

        def after(body):
            if side == 'dst':
                return build(src, new_addr, sport, new_port, body)
            return build(new_addr, dst, new_port, dport, body)

        if pay == 'zero-after':
            pay = force_zero_checksum(after)
        before = build(src, dst, sport, dport, pay)
        self.add(name, side, before, after(pay), new_addr, new_port)


def add_nat_vectors(nv):
    for family, (a, b, c) in ((4, (V4_A, V4_B, V4_C)), (6, (V6_A, V6_B, V6_C))):
        for l4cls in (TCP, UDP):
            p = '%s%d' % (l4cls.__name__.lower(), family)
            nv.pair(p + ' dnat', 'dst', family, l4cls, a, b, 40000, 80, c, 8080, payload(10))
            nv.pair(p + ' snat', 'src', family, l4cls, c, a, 8080, 40000, b, 80, payload(9))
            nv.pair(p + ' dnat zero sum after', 'dst', family, l4cls, a, b, 1, 2, c, 3, 'zero-after')
            nv.pair(p + ' snat zero sum after', 'src', family, l4cls, a, b, 1, 2, c, 3, 'zero-after')
            for i in range(12):
                rand = rand_v4 if family == 4 else rand_v6
                side = ('dst', 'src')[i & 1]
                port = rng.choice((0, 0xffff, rng.randrange(0x10000)))
                nv.pair('%s random %d' % (p, i), side, family, l4cls, rand(), rand(), rng.randrange(0x10000),
                        rng.randrange(0x10000), rand(), port, payload(rng.randrange(40)))
    # UDP over IPv4 without a checksum keeps none.
    nv.pair('udp4 zero csum dnat', 'dst', 4, UDP, V4_A, V4_B, 53, 53, V4_C, 5353, payload(12),
            l4_kw=dict(chksum=0))
    nv.pair('udp4 zero csum snat', 'src', 4, UDP, V4_A, V4_B, 53, 53, V4_C, 5353, payload(12),
            l4_kw=dict(chksum=0))
    nv.pair('vlan tcp4 dnat', 'dst', 4, TCP, V4_A, V4_B, 1000, 80, V4_C, 8000, payload(4), vlan=42)
    nv.pair('ipv4 options udp dnat', 'dst', 4, UDP, V4_A, V4_B, 1000, 80, V4_C, 8000, payload(4),
            ip_kw=dict(options=b'\x01\x01\x01\x00'))
    nv.pair('ext6 tcp dnat', 'dst', 6, TCP, V6_A, V6_B, 1000, 80, V6_C, 8000, payload(4), ext=IPv6ExtHdrDestOpt)
    nv.pair('ext6 udp snat', 'src', 6, UDP, V6_A, V6_B, 1000, 80, V6_C, 8000, payload(4), ext=IPv6ExtHdrHopByHop)
    # Without ports only the address (and the IPv4 header checksum) changes;
    # ICMPv4 has no pseudo-header so its checksum stays right.
    icmp = payload(8)
    nv.add('icmp4 dnat address only', 'dst', eth() / IP(src=V4_A, dst=V4_B) / ICMP(id=1) / icmp,
           eth() / IP(src=V4_A, dst=V4_C) / ICMP(id=1) / icmp, V4_C, 9)
    frag = payload(16)
    nv.add('frag4 middle dnat address only', 'dst', eth() / IP(src=V4_A, dst=V4_B, frag=10, proto=6) / frag,
           eth() / IP(src=V4_A, dst=V4_C, frag=10, proto=6) / frag, V4_C, 9)


class TtlVectors:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, name, before, after, drop):
        b, a = bytes(before), bytes(after)
        self.rows.append('\t{%s, %s, %s, %d, SL_DROP_%s},' %
                         (c_str(name), self.out.array(b), self.out.array(a), len(b), drop))


def add_ttl_vectors(tv):
    for i, ttl in enumerate((64, 2, 255, 128, 3) + tuple(rng.randrange(2, 256) for _ in range(6))):
        kw = dict(src=rand_v4(), dst=rand_v4(), id=rng.randrange(0x10000), tos=rng.randrange(256),
                  proto=rng.choice((17, 1, 47, 0xff)))  # 8 bytes: too short for TCP
        body = payload(8)
        tv.add('ttl4 %d from %d' % (i, ttl), eth() / IP(ttl=ttl, **kw) / body, eth() / IP(ttl=ttl - 1, **kw) / body,
               'NONE')
    body = payload(8)
    tv.add('ttl4 options', eth() / IP(ttl=9, options=b'\x01\x01\x01\x00') / UDP() / body,
           eth() / IP(ttl=8, options=b'\x01\x01\x01\x00') / UDP() / body, 'NONE')
    tv.add('vlan ttl4', eth() / Dot1Q(vlan=5) / IP(ttl=9) / UDP() / body,
           eth() / Dot1Q(vlan=5) / IP(ttl=8) / UDP() / body, 'NONE')
    tv.add('hlim6 64', eth() / IPv6(hlim=64) / UDP() / body, eth() / IPv6(hlim=63) / UDP() / body, 'NONE')
    tv.add('hlim6 2', eth() / IPv6(hlim=2) / TCP() / body, eth() / IPv6(hlim=1) / TCP() / body, 'NONE')
    for ttl in (1, 0):
        p4 = eth() / IP(ttl=ttl) / UDP() / body
        p6 = eth() / IPv6(hlim=ttl) / UDP() / body
        tv.add('ttl4 %d expires' % ttl, p4, p4, 'TTL_EXCEEDED')
        tv.add('hlim6 %d expires' % ttl, p6, p6, 'TTL_EXCEEDED')


class L4CsumVectors:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, name, pkt, ok):
        data = bytes(pkt)
        self.rows.append('\t{%s, %s, %d, %d},' % (c_str(name), self.out.array(data), len(data), ok))


def corrupt(pkt, from_end=1):
    data = bytearray(bytes(pkt))
    data[-from_end] ^= 0x10
    return data


def add_l4csum_vectors(cv):
    for family, (a, b) in ((4, (V4_A, V4_B)), (6, (V6_A, V6_B))):
        for l4cls in (TCP, UDP):
            n = '%s%d' % (l4cls.__name__.lower(), family)
            for plen in (0, 1, 7, 64):
                pkt = eth() / ip_layer(family, a, b) / l4cls(sport=plen, dport=99) / payload(plen)
                cv.add('%s payload %d' % (n, plen), pkt, 1)
                if plen:
                    cv.add('%s payload %d corrupt' % (n, plen), corrupt(pkt), 0)
            pkt = eth() / ip_layer(family, a, b) / l4cls(sport=1, dport=2) / payload(30)
            cv.add(n + ' corrupt port', corrupt(pkt, len(pkt[l4cls]) - 1), 0)
            cv.add(n + ' padded', bytes(pkt) + b'\x55' * 6, 1)
            cv.add(n + ' zero sum', eth() / ip_layer(family, a, b) / l4cls(sport=1, dport=2) /
                   force_zero_checksum(lambda body: eth() / ip_layer(family, a, b) /
                                       l4cls(sport=1, dport=2) / body), 1)
    udp = UDP(sport=1, dport=2, chksum=0) / payload(5)
    cv.add('udp4 no checksum', eth() / IP(src=V4_A, dst=V4_B) / udp, 1)
    cv.add('udp6 zero checksum invalid', eth() / IPv6(src=V6_A, dst=V6_B) / udp, 0)
    cv.add('udp4 length past ip payload', eth() / IP(src=V4_A, dst=V4_B) / UDP(len=100) / payload(4), 0)
    cv.add('udp4 length under 8', eth() / IP(src=V4_A, dst=V4_B) / UDP(len=7) / payload(4), 0)
    # The UDP length, not the IP length, says what the checksum covers.
    udp = bytes(IP(src=V4_A, dst=V4_B) / UDP(sport=5, dport=6) / Raw(b'abcd'))[20:]
    cv.add('udp4 shorter than ip payload', eth() / IP(src=V4_A, dst=V4_B, proto=17) / Raw(udp + b'ef'), 1)
    cv.add('tcp6 ext headers', eth() / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
           TCP() / payload(9), 1)
    cv.add('tcp4 options', eth() / IP(src=V4_A, dst=V4_B, options=b'\x01\x01\x01\x00') / TCP() / payload(9), 1)
    cv.add('icmp4 not verified', eth() / IP() / ICMP(), 0)
    cv.add('frag4 first not verified', eth() / IP(flags='MF') / TCP() / payload(8), 0)


# ---------------------------------------------------------------- forwarding checks

class ForwardVectors:
    """Frames that parse, with the verdict of the checks every forwarding stage
    applies (sl_pkt_vlan_ok with port_vlan, then sl_pkt_martian)."""

    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, name, pkt, drop, port_vlan=0):
        data = bytes(pkt)
        self.rows.append('\t{%s, %s, %d, %d, SL_DROP_%s},' %
                         (c_str(name), self.out.array(data), len(data), port_vlan, drop))


def add_forward_vectors(fv):
    tcp = TCP(sport=40000, dport=80)
    for src in ('0.0.0.0', '0.1.2.3', '127.0.0.1', '127.255.255.254', '255.255.255.255', '224.0.0.1',
                '239.255.255.250'):
        fv.add('src4 ' + src, eth() / IP(src=src, dst=V4_B) / tcp, 'MARTIAN_SRC')
    # Class E is allowed (as for VIPs); so are the neighbours of the martian ranges.
    for src in ('240.0.0.1', '255.255.255.254', '1.0.0.0', '126.255.255.255', '128.0.0.1', '223.255.255.255'):
        fv.add('src4 ' + src, eth() / IP(src=src, dst=V4_B) / tcp, 'NONE')
    for dst in ('0.0.0.0', '127.0.0.1', '255.255.255.255', '224.0.0.5'):
        fv.add('dst4 ' + dst, eth() / IP(src=V4_A, dst=dst) / tcp, 'MARTIAN_DST')
    fv.add('src4 is dst', eth() / IP(src=V4_B, dst=V4_B) / tcp, 'SRC_IS_DST')
    for src in ('::', '::1', '::192.0.2.1', '::ffff:192.0.2.1', '::ffff:0:0', 'ff02::1', 'ff0e::1'):
        fv.add('src6 ' + src, eth() / IPv6(src=src, dst=V6_B) / tcp, 'MARTIAN_SRC')
    for src in ('fe80::1', '::1:0:0', '0:0:0:1:ffff::', '::fffe:c000:201', '2001:db8::1'):
        fv.add('src6 ' + src, eth() / IPv6(src=src, dst=V6_B) / tcp, 'NONE')
    for dst in ('::1', '::', 'ff02::1', '::ffff:192.0.2.1'):
        fv.add('dst6 ' + dst, eth() / IPv6(src=V6_A, dst=dst) / tcp, 'MARTIAN_DST')
    fv.add('src6 is dst', eth() / IPv6(src=V6_B, dst=V6_B) / tcp, 'SRC_IS_DST')
    fv.add('martian src wins over src is dst', eth() / IP(src='127.0.0.1', dst='127.0.0.1') / tcp, 'MARTIAN_SRC')
    good = IP(src=V4_A, dst=V4_B) / tcp
    fv.add('untagged, no port vlan', eth() / good, 'NONE')
    fv.add('untagged, port vlan 7', eth() / good, 'NONE', port_vlan=7)
    fv.add('priority tag, no port vlan', eth() / Dot1Q(vlan=0, prio=5) / good, 'NONE')
    fv.add('tag 7, no port vlan', eth() / Dot1Q(vlan=7) / good, 'WRONG_VLAN')
    fv.add('tag 7, port vlan 7', eth() / Dot1Q(vlan=7) / good, 'NONE', port_vlan=7)
    fv.add('tag 7, port vlan 8', eth() / Dot1Q(vlan=7) / good, 'WRONG_VLAN', port_vlan=8)
    fv.add('tag 4095, no port vlan', eth() / Dot1Q(vlan=4095) / good, 'WRONG_VLAN')
    fv.add('tag 9 v6, no port vlan', eth() / Dot1Q(vlan=9) / IPv6(src=V6_A, dst=V6_B) / tcp, 'WRONG_VLAN')
    fv.add('tag 7, martian src', eth() / Dot1Q(vlan=7) / IP(src='0.0.0.0', dst=V4_B) / tcp, 'MARTIAN_SRC',
           port_vlan=7)


# ---------------------------------------------------------------- encapsulation

class EncapVectors:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def add(self, name, outer_family, inner, src, dst, ttl):
        inner = bytes(inner)
        if inner[0] >> 4 == 4:
            tos, proto = inner[1], 4
        else:
            tos, proto = ((inner[0] & 0x0f) << 4) | (inner[1] >> 4), 41
        if outer_family == 4:
            outer = eth() / IP(src=src, dst=dst, tos=tos, ttl=ttl, flags='DF', id=0, proto=proto)
        else:
            outer = eth() / IPv6(src=src, dst=dst, tc=tos, fl=ENCAP_FLOW_HASH & 0xfffff, hlim=ttl, nh=proto)
        frame = bytes(outer / Raw(inner))
        self.rows.append('\t{%s, %d, %s, %d, %s, %d, %s, %s, %d, %d},' %
                         (c_str(name), outer_family, self.out.array(inner), len(inner), self.out.array(frame),
                          len(frame), c_bytes16(addr_bytes(src)), c_bytes16(addr_bytes(dst)), tos, ttl))


def add_encap_vectors(ev):
    ev.add('ip4 in ip4', 4, IP(src=V4_A, dst=V4_B, tos=0xb8) / TCP(sport=1, dport=80) / payload(20),
           V4_C, '10.1.2.3', 64)
    ev.add('ip4 in ip4 tos 0', 4, IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=53) / payload(3),
           '255.255.255.254', '0.0.0.1', 64)
    ev.add('ip6 in ip6', 6, IPv6(src=V6_A, dst=V6_B, tc=0x2e, fl=0x12345) / TCP(sport=1, dport=443) / payload(9),
           V6_C, '2001:db8:5::1', 64)
    ev.add('ip6 in ip6 tc ff', 6, IPv6(src=V6_A, dst=V6_B, tc=0xff) / UDP() / payload(1), V6_C, V6_A, 255)
    ev.add('ip4 in ip6', 6, IP(src=V4_A, dst=V4_B, tos=0x10) / UDP() / payload(2), V6_C, V6_B, 64)
    ev.add('ip6 in ip4', 4, IPv6(src=V6_A, dst=V6_B, tc=0x41) / UDP() / payload(2), V4_C, V4_B, 64)


# ---------------------------------------------------------------- ICMP errors

class IcmpVectors:
    """An ICMP error about a translated connection, before and after
    translation, both built by scapy from the packet it quotes as it was
    (or would have been) on the wire: what the DIP's or the client's stack
    must see is the error it would get had there been no balancer."""

    def __init__(self, out):
        self.out = out
        self.rows = []

    def row(self, name, before, after, to_dip, addr, port, drop, quote=None):
        b, a = bytes(before), bytes(after if after is not None else before)
        assert len(a) == len(b), name
        q = quote or dict(proto=0, sport=0, dport=0, src='0.0.0.0', dst='0.0.0.0', ip_off=0, l4_off=0)
        self.rows.append('\t{%s, %s, %s, %d, %d, %s, %d, SL_DROP_%s, %d, %d, %d, %s, %s, %d, %d, %d},' % (
            c_str(name), self.out.array(b), self.out.array(a), len(b), to_dip,
            c_bytes16(addr_bytes(addr)), port, drop, q['proto'], q['sport'], q['dport'],
            c_bytes16(addr_bytes(q['src'])), c_bytes16(addr_bytes(q['dst'])), q['ip_off'], q['l4_off'],
            len(b) - q['ip_off'] if quote else 0))

    def pair(self, name, family, icmp, outer, quoted, to_dip, new, qlen, ext=None):
        """outer: (src, dst); quoted: (l4cls, src, dst, sport, dport, payload,
        l4 kwargs); new: (addr, port). The quote is the first qlen bytes."""
        l4cls, qs, qd, qsp, qdp, body, l4_kw = quoted
        addr, port = new

        def quote(s, d, sp, dp):
            ip = ip_layer(family, s, d)
            if ext is not None:
                ip = ip / ext()
            return bytes(ip / l4cls(sport=sp, dport=dp, **l4_kw) / body)[:qlen]

        def error(o_src, o_dst, q):
            return ip_layer(family, o_src, o_dst) / icmp / Raw(q)

        if to_dip:  # router -> VIP about VIP:vport -> client: becomes router -> DIP about DIP:port -> client
            before = error(outer[0], outer[1], quote(qs, qd, qsp, qdp))
            after = error(outer[0], addr, quote(addr, qd, port, qdp))
        else:       # DIP -> client about client -> DIP:port: becomes VIP -> client about client -> VIP:vport
            before = error(outer[0], outer[1], quote(qs, qd, qsp, qdp))
            after = error(addr, outer[1], quote(qs, addr, qsp, port))
        ip_off = (20 if family == 4 else 40) + 8
        l4_off = ip_off + (20 if family == 4 else 40) + (len(ext()) if ext is not None else 0)
        info = dict(proto=6 if l4cls is TCP else 17, sport=qsp, dport=qdp, src=qs, dst=qd,
                    ip_off=ip_off, l4_off=l4_off)
        self.row(name, before, after, to_dip, addr, port, 'NONE', info)

    def refused(self, name, pkt, drop):
        self.row(name, pkt, None, 1, '0.0.0.0', 0, drop)


ROUTER4, ROUTER6 = '192.0.2.1', '2001:db8:2::1'
VIP4, VIP6 = '203.0.113.10', '2001:db8:100::10'
DIP4, DIP6 = '198.18.1.2', '2001:db8:11::2'
CLIENT4, CLIENT6 = '198.51.100.2', '2001:db8:1::2'


def add_icmp_vectors(iv):
    frag_needed = ICMP(type=3, code=4, nexthopmtu=1300)
    for l4cls, kw in ((TCP, dict(flags='PA', seq=12345, ack=678)), (UDP, {})):
        n = l4cls.__name__.lower()
        body = payload(1200)
        # 28: header + 8 bytes (RFC 792; TCP checksum not quoted), 48, and a
        # long quote as Linux sends (576 bytes in all)
        for qlen in (28, 48, 548):
            iv.pair('%s4 frag-needed to dip quote %d' % (n, qlen), 4, frag_needed, (ROUTER4, VIP4),
                    (l4cls, VIP4, CLIENT4, 80, 40000, body, kw), 1, (DIP4, 8080), qlen)
            iv.pair('%s4 unreachable from dip quote %d' % (n, qlen), 4, ICMP(type=3, code=3),
                    (DIP4, CLIENT4), (l4cls, CLIENT4, DIP4, 40000, 8080, body, kw), 0, (VIP4, 80), qlen)
        for qlen in (48, 56, 1232):
            iv.pair('%s6 packet-too-big to dip quote %d' % (n, qlen), 6, ICMPv6PacketTooBig(mtu=1300),
                    (ROUTER6, VIP6), (l4cls, VIP6, CLIENT6, 80, 40000, body, kw), 1, (DIP6, 8080), qlen)
            iv.pair('%s6 parameter problem from dip quote %d' % (n, qlen), 6, ICMPv6ParamProblem(ptr=6),
                    (DIP6, CLIENT6), (l4cls, CLIENT6, DIP6, 40000, 8080, body, kw), 0, (VIP6, 80), qlen)
    iv.pair('udp4 zero checksum stays zero', 4, ICMP(type=11), (ROUTER4, VIP4),
            (UDP, VIP4, CLIENT4, 53, 5353, payload(40), dict(chksum=0)), 1, (DIP4, 5300), 68)
    iv.pair('tcp4 time exceeded', 4, ICMP(type=11, code=0), (ROUTER4, VIP4),
            (TCP, VIP4, CLIENT4, 80, 1, payload(10), {}), 1, (DIP4, 65535), 40)
    iv.pair('tcp4 parameter problem from dip', 4, ICMP(type=12, ptr=20), (DIP4, CLIENT4),
            (TCP, CLIENT4, DIP4, 65535, 8080, payload(10), {}), 0, (VIP4, 443), 40)
    iv.pair('tcp6 time exceeded ext header quoted', 6, ICMPv6TimeExceeded(), (ROUTER6, VIP6),
            (TCP, VIP6, CLIENT6, 80, 40001, payload(30), {}), 1, (DIP6, 8080), 96, ext=IPv6ExtHdrDestOpt)
    iv.pair('udp6 unreachable from dip', 6, ICMPv6DestUnreach(code=4), (DIP6, CLIENT6),
            (UDP, CLIENT6, DIP6, 5353, 53, payload(30), {}), 0, (VIP6, 53), 78)
    for v in range(8):  # random addresses and ports, both directions
        fam = 4 if v < 4 else 6
        rand = rand_v4 if fam == 4 else rand_v6
        icmp = frag_needed if fam == 4 else ICMPv6PacketTooBig(mtu=1280 + v)
        l4cls = (TCP, UDP)[v & 1]
        iv.pair('random %d' % v, fam, icmp, (rand(), rand()),
                (l4cls, rand(), rand(), rng.randrange(0x10000), rng.randrange(0x10000), payload(64), {}),
                (v >> 1) & 1, (rand(), rng.randrange(0x10000)), (28 if fam == 4 else 48) + rng.randrange(60))

    tcp_quote = bytes(IP(src=VIP4, dst=CLIENT4) / TCP(sport=80, dport=40000) / payload(100))
    tcp6_quote = bytes(IPv6(src=VIP6, dst=CLIENT6) / TCP(sport=80, dport=40000) / payload(100))
    out4 = IP(src=ROUTER4, dst=VIP4)
    out6 = IPv6(src=ROUTER6, dst=VIP6)
    iv.refused('echo request is no error', out4 / ICMP(type=8) / Raw(tcp_quote[:28]), 'UNSUPPORTED_L4')
    iv.refused('icmpv6 echo is no error', out6 / ICMPv6EchoRequest() / Raw(tcp6_quote[:48]), 'UNSUPPORTED_L4')
    iv.refused('quote 4 bytes of tcp', out4 / frag_needed / Raw(tcp_quote[:24]), 'ICMP_BAD_QUOTE')
    iv.refused('quote 7 bytes of tcp v6', out6 / ICMPv6PacketTooBig() / Raw(tcp6_quote[:47]), 'ICMP_BAD_QUOTE')
    iv.refused('no quote at all', out4 / frag_needed, 'ICMP_BAD_QUOTE')
    iv.refused('icmp header cut', IP(src=ROUTER4, dst=VIP4, proto=1) / Raw(bytes(frag_needed)[:6]), 'ICMP_BAD_QUOTE')
    iv.refused('quote of an icmp packet', out4 / frag_needed /
               Raw(bytes(IP(src=VIP4, dst=CLIENT4) / ICMP(type=0) / payload(20))), 'ICMP_BAD_QUOTE')
    iv.refused('ipv6 quoted in icmpv4', out4 / frag_needed / Raw(tcp6_quote[:48]), 'ICMP_BAD_QUOTE')
    iv.refused('quote ihl below 5', out4 / frag_needed / Raw(b'\x44' + tcp_quote[1:28]), 'ICMP_BAD_QUOTE')
    iv.refused('quote of a later fragment', out4 / frag_needed /
               Raw(bytes(IP(src=VIP4, dst=CLIENT4, frag=100, proto=6) / payload(20))), 'ICMP_BAD_QUOTE')
    iv.refused('quote of a later v6 fragment', out6 / ICMPv6PacketTooBig() /
               Raw(bytes(IPv6(src=VIP6, dst=CLIENT6) / IPv6ExtHdrFragment(nh=6, offset=10) / payload(20))),
               'ICMP_BAD_QUOTE')
    iv.refused('quote ext header chain cut', out6 / ICMPv6PacketTooBig() /
               Raw(bytes(IPv6(src=VIP6, dst=CLIENT6) / IPv6ExtHdrDestOpt(len=4) / TCP())[:60]), 'ICMP_BAD_QUOTE')
    iv.refused('fragmented error', IP(src=ROUTER4, dst=VIP4, flags='MF') / frag_needed / Raw(tcp_quote[:28]),
               'FRAGMENT')
    iv.refused('tcp is no error', out4 / TCP(), 'UNSUPPORTED_L4')


# ---------------------------------------------------------------- main

PRELUDE = '''/* Generated by tests/unit/gen_packet_vectors.py (scapy). Do not edit. */
#ifndef PACKET_VECTORS_H
#define PACKET_VECTORS_H

#include <stdint.h>

#include "packet/packet.h"

#define PV_ENCAP_FLOW_HASH 0x%08xu

/* ip_family -1: Ethernet frame for sl_pkt_parse; otherwise the family
 * passed to sl_pkt_parse_ip. Fields after drop matter when drop is NONE. */
struct pv_parse {
	const char *name;
	const uint8_t *frame;
	uint32_t len;
	int ip_family;
	enum sl_drop drop;
	uint16_t ethertype, vlan, l3_off, l4_off, l3_len;
	uint8_t family, proto, ttl, flags;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

/* An Ethernet frame before and after sl_pkt_nat_dst (dst 1) or _src. */
struct pv_nat {
	const char *name;
	int dst;
	const uint8_t *in, *out;
	uint32_t len;
	uint8_t addr[16];
	uint16_t port;
};

struct pv_ttl {
	const char *name;
	const uint8_t *in, *out;
	uint32_t len;
	enum sl_drop drop;
};

struct pv_l4csum {
	const char *name;
	const uint8_t *frame;
	uint32_t len;
	int ok;
};

/* frame = Ethernet (MAC_A -> MAC_B) + outer header + inner. */
struct pv_encap {
	const char *name;
	int outer_family;
	const uint8_t *inner;
	uint32_t inner_len;
	const uint8_t *frame;
	uint32_t frame_len;
	uint8_t src[16], dst[16];
	uint8_t tos, ttl;
};

struct pv_forward {
	const char *name;
	const uint8_t *frame;
	uint32_t len;
	uint16_t port_vlan;
	enum sl_drop drop;
};

/* A bare IP packet before and after sl_pkt_icmp_nat_to_dip (to_dip 1) or
 * _to_client, with what sl_pkt_parse_icmp_error must return for it. */
struct pv_icmp {
	const char *name;
	const uint8_t *in, *out;
	uint32_t len;
	int to_dip;
	uint8_t addr[16];
	uint16_t port;
	enum sl_drop drop;
	uint8_t qproto;
	uint16_t qsport, qdport;
	uint8_t qsrc[16], qdst[16];
	uint16_t q_ip_off, q_l4_off, q_len;
};

struct pv_frame {
	const uint8_t *frame;
	uint32_t len;
};

'''


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(':'))


def main():
    out = Out()
    pv, nv, tv, cv, ev = ParseVectors(out), NatVectors(out), TtlVectors(out), L4CsumVectors(out), EncapVectors(out)
    add_parse_vectors(pv)
    add_nat_vectors(nv)
    add_ttl_vectors(tv)
    add_l4csum_vectors(cv)
    add_encap_vectors(ev)
    fv = ForwardVectors(out)
    add_forward_vectors(fv)
    iv = IcmpVectors(out)
    add_icmp_vectors(iv)
    trunc = ['\t{%s, %d},' % (out.array(f), len(f)) for f in pv.trunc]

    text = [PRELUDE % ENCAP_FLOW_HASH]
    text += out.arrays
    text.append('')
    text.append('static const uint8_t pv_mac_a[6] = %s;' % c_bytes16(mac_bytes(MAC_A)))
    text.append('static const uint8_t pv_mac_b[6] = %s;' % c_bytes16(mac_bytes(MAC_B)))
    for ctype, name, rows in (('pv_parse', 'pv_parse', pv.rows), ('pv_nat', 'pv_nat', nv.rows),
                              ('pv_ttl', 'pv_ttl', tv.rows), ('pv_l4csum', 'pv_l4csum', cv.rows),
                              ('pv_encap', 'pv_encap', ev.rows), ('pv_frame', 'pv_truncation', trunc),
                              ('pv_forward', 'pv_forward', fv.rows), ('pv_icmp', 'pv_icmp', iv.rows)):
        text.append('\nstatic const struct %s %s[] = {' % (ctype, name))
        text += rows
        text.append('};')
        text.append('#define %s_COUNT ((int)(sizeof(%s) / sizeof(%s[0])))' % (name.upper(), name, name))
    text.append('\n#endif')
    with open(sys.argv[1], 'w') as f:
        f.write('\n'.join(text) + '\n')


if __name__ == '__main__':
    main()
