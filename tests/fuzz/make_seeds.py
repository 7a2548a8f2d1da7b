#!/usr/bin/python3
"""Write the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).

libFuzzer starts from these instead of from nothing, so a 60 s run in CI
spends its time past the shapes every run would rediscover: well-formed
frames of each kind the data path handles (TCP/UDP to a VIP, 4in4 and 6in6
tunnels, replies from a DIP, ARP, neighbour discovery, echo, VLAN tags,
fragments, ICMP errors quoting a flow) and API requests of each route.
Deterministic: run it again after changing it, and commit what changes.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import hashlib
import os
from pathlib import Path

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6DestUnreach, ICMPv6EchoRequest,
                       ICMPv6ND_NS, ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment, Raw)

HERE = Path(__file__).resolve().parent / "corpus"
MUX_MAC, GW_MAC, BE_MAC = "02:00:00:00:00:10", "02:00:00:00:00:01", "02:00:00:00:01:02"
CLIENT4, CLIENT6 = "198.51.100.2", "2001:db8:1::2"
VIP4, VIP6 = "203.0.113.10", "2001:db8:100::10"


def frames():
    """(name, port byte for fuzz_dataplane, frame) of each kind."""
    eth = Ether(src=GW_MAC, dst=MUX_MAC)
    syn4 = IP(src=CLIENT4, dst=VIP4) / TCP(sport=40000, dport=80, flags="S")
    syn6 = IPv6(src=CLIENT6, dst=VIP6) / UDP(sport=40000, dport=53) / Raw(b"q" * 12)
    yield "tcp4_syn", 0, eth / syn4
    yield "tcp4_data", 0, eth / IP(src=CLIENT4, dst=VIP4) / TCP(sport=40000, dport=80, flags="PA") / Raw(b"GET / HTTP/1.1\r\n\r\n")
    yield "udp6", 0, eth / syn6
    yield "ipip", 0, eth / IP(src="192.0.2.22", dst="192.0.2.10", proto=4) / syn4
    yield "ip6ip6", 0, eth / IPv6(src="2001:db8:2::22", dst="2001:db8:2::10", nh=41) / syn6
    yield "dip_reply", 1, Ether(src=BE_MAC, dst="02:00:00:00:00:11") / IP(src="198.18.1.2", dst=CLIENT4) / TCP(sport=8080, dport=40000, flags="SA")
    yield "arp", 0, Ether(src=GW_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc="192.0.2.1", pdst="192.0.2.10", hwsrc=GW_MAC)
    yield "nd_ns", 0, Ether(src=GW_MAC, dst="33:33:ff:00:00:10") / IPv6(src="2001:db8:2::1", dst="ff02::1:ff00:10") / ICMPv6ND_NS(tgt="2001:db8:2::10")
    yield "echo4", 0, eth / IP(src="192.0.2.1", dst="192.0.2.10") / ICMP(id=1, seq=1)
    yield "echo6", 0, eth / IPv6(src="2001:db8:2::1", dst="2001:db8:2::10") / ICMPv6EchoRequest(id=1, seq=1)
    yield "vlan", 0, Ether(src=GW_MAC, dst=MUX_MAC) / Dot1Q(vlan=100) / syn4
    yield "frag4", 0, eth / IP(src=CLIENT4, dst=VIP4, flags="MF", frag=0) / TCP(sport=40000, dport=80) / Raw(b"x" * 16)
    yield "frag6", 0, eth / IPv6(src=CLIENT6, dst=VIP6) / IPv6ExtHdrFragment(id=7, m=1) / UDP(sport=40000, dport=53) / Raw(b"x" * 16)
    # ICMP errors quoting a flow of a VIP (what path-MTU discovery sends)
    back4 = IP(src=VIP4, dst=CLIENT4) / TCP(sport=80, dport=40000, flags="A") / Raw(b"y" * 32)
    back6 = IPv6(src=VIP6, dst=CLIENT6) / UDP(sport=53, dport=40000) / Raw(b"y" * 32)
    yield "icmp4_frag_needed", 0, eth / IP(src="198.51.100.1", dst=VIP4) / ICMP(type=3, code=4, nexthopmtu=1300) / bytes(back4)[:48]
    yield "icmp6_too_big", 0, eth / IPv6(src="2001:db8:1::1", dst=VIP6) / ICMPv6PacketTooBig(mtu=1280) / bytes(back6)[:80]
    # a relayed error arriving at a host agent, and a DIP's error about a connection
    yield "ipip_icmp4_frag_needed", 0, eth / IP(src="192.0.2.22", dst="192.0.2.10", proto=4) / IP(src="198.51.100.1", dst=VIP4) / ICMP(type=3, code=4, nexthopmtu=1300) / bytes(back4)[:48]
    seen4 = IP(src=CLIENT4, dst="198.18.1.2") / TCP(sport=40000, dport=8080, flags="A") / Raw(b"z" * 32)
    yield "dip_icmp4_unreach", 1, Ether(src=BE_MAC, dst="02:00:00:00:00:11") / IP(src="198.18.1.2", dst=CLIENT4) / ICMP(type=3, code=3) / bytes(seen4)[:60]
    yield "icmp6_unreach", 0, eth / IPv6(src="2001:db8:1::1", dst=VIP6) / ICMPv6DestUnreach(code=4) / bytes(back6)[:80]


REQUESTS = [
    ("GET", "/v1/vips", "", ""),
    ("GET", "/v1/vips", "consistency=linearizable", ""),
    ("GET", "/v1/vips/tcp/203.0.113.10/80/dips", "consistency=local", ""),
    ("GET", "/v1/vips/udp/2001%3Adb8%3A%3A10/53", "", ""),
    ("POST", "/v1/vips", "", '{"address":"203.0.113.10","protocol":"tcp","port":80,'
     '"dips":[{"address":"198.18.1.2","port":8080,"host":"192.0.2.10","weight":50}]}'),
    ("PUT", "/v1/vips/tcp/203.0.113.10/80", "", '{"dips":[]}'),
    ("POST", "/v1/vips/tcp/203.0.113.10/80/dips", "", '{"address":"198.18.1.3","host":"192.0.2.11"}'),
    ("DELETE", "/v1/vips/tcp/203.0.113.10/80/dips/198.18.1.3/8080", "", ""),
    ("PUT", "/v1/vips/tcp/203.0.113.10/80/dips/198.18.1.3/8080/weight", "", '{"weight":7}'),
    ("POST", "/v1/vips/tcp/203.0.113.10/80/dips/198.18.1.3/8080/drain", "", ""),
    ("POST", "/v1/cluster/members", "", '{"id":4,"address":"192.0.2.4:7000","role":"standby",'
     '"api":"https://192.0.2.4:8443"}'),
    ("DELETE", "/v1/cluster/members/9223372036854775807", "", ""),
    ("POST", "/v1/cluster/transfer", "", '{"id":2}'),
]


def write(target, name, data):
    d = HERE / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}-{hashlib.sha1(data).hexdigest()[:8]}").write_bytes(data)


def main():
    for target in ("fuzz_packet", "fuzz_dataplane", "fuzz_api_route"):
        for f in (HERE / target).glob("*") if (HERE / target).exists() else []:
            f.unlink()
    for name, port, frame in frames():
        raw = bytes(frame)
        write("fuzz_packet", name, raw)
        write("fuzz_dataplane", name, bytes([port]) + raw)
    for method, path, query, body in REQUESTS:
        write("fuzz_api_route", f"{method.lower()}", f"{method}\n{path}\n{query}\n{body}".encode())
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    raise SystemExit(main())
