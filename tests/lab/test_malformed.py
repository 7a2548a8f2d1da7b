"""Malformed and unwanted traffic: every kind is dropped and counted under its
own drop reason, and the VIPs keep serving meanwhile.

Frames the router's kernel would itself refuse to forward (truncated headers,
bad IP checksum, non-IP), fragments (so that no defragmenter can interfere) and
packets too big to encapsulate on the 1500-byte fabric are sent with scapy from the router namespace straight onto the fabric
segment, to the mux's MAC. Packets a router forwards (bad TCP checksum, ICMP
echo, an unrouted VIP) go from the client namespace through the router."""

import threading
import time

import pytest

import sluicelab as sl

N = 20  # frames of each kind (bounded)

def mux_mac(lab):
    """The MAC the router resolved for the mux (what the mux answers ARP with)."""
    out = sl.ip(lab.ns["router"], "neigh", "show", sl.MUX4, "dev", "fab0").stdout.split()
    if "lladdr" in out:
        return out[out.index("lladdr") + 1].lower()
    return sl.MUX_MAC


def fabric_frames(lab, kind):
    """Frames put on the fabric segment by the router, towards the mux."""
    s = sl.scapy()
    eth = s.Ether(src=lab.macs["router_fab"], dst=mux_mac(lab))
    out = []
    for i in range(N):
        sport = 20000 + i
        tcp4 = s.IP(src=sl.CLIENT4, dst=sl.VIP4, id=1000 + i) / s.TCP(sport=sport, dport=80, flags="S")
        tcp6 = s.IPv6(src=sl.CLIENT6, dst=sl.VIP6) / s.TCP(sport=sport, dport=80, flags="S")
        if kind == "truncated":  # 12 of the 20 bytes of an IPv4 header, 24 of 40 of IPv6
            out.append(s.Ether(src=eth.src, dst=eth.dst, type=0x0800) / s.Raw(bytes(tcp4)[:12]))
            out.append(s.Ether(src=eth.src, dst=eth.dst, type=0x86DD) / s.Raw(bytes(tcp6)[:24]))
        elif kind == "bad_ip_checksum":
            good = s.IP(bytes(tcp4)).chksum
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.VIP4, id=1000 + i, chksum=good ^ 0x5555)
                       / s.TCP(sport=sport, dport=80, flags="S"))
        elif kind == "fragment":
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.VIP4, id=3000 + i, flags="MF", frag=0)
                       / s.TCP(sport=sport, dport=80, flags="S") / s.Raw(b"x" * 16))
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.VIP4, id=3000 + i, frag=5, proto=6)
                       / s.Raw(b"y" * 16))
            out.append(eth / s.IPv6(src=sl.CLIENT6, dst=sl.VIP6)
                       / s.IPv6ExtHdrFragment(id=4000 + i, m=1, offset=0)
                       / s.TCP(sport=sport, dport=80, flags="S") / s.Raw(b"z" * 16))
        elif kind == "too_big":  # full 1500-byte packets: no room left for the tunnel header
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.VIP4, flags="DF")
                       / s.TCP(sport=sport, dport=80, flags="A") / s.Raw(b"b" * 1460))
            out.append(eth / s.IPv6(src=sl.CLIENT6, dst=sl.VIP6)
                       / s.TCP(sport=sport, dport=80, flags="A") / s.Raw(b"b" * 1440))
        elif kind == "l2_group":  # to the VIP, but flooded to every station on the segment
            out.append(s.Ether(src=eth.src, dst="ff:ff:ff:ff:ff:ff") / tcp4)
            out.append(s.Ether(src=eth.src, dst="33:33:00:00:00:01") / tcp6)
        elif kind == "wrong_vlan":  # the mux's port has no `vlan`: every tag is foreign
            out.append(eth / s.Dot1Q(vlan=5) / tcp4)
            out.append(eth / s.Dot1Q(vlan=4094) / tcp6)
        elif kind == "martian_src":
            for src in ("0.0.0.0", "127.0.0.1", "255.255.255.255", "224.0.0.9"):
                out.append(eth / s.IP(src=src, dst=sl.VIP4) / s.TCP(sport=sport, dport=80, flags="S"))
            for src in ("::1", "::ffff:198.51.100.2", "ff02::1"):
                out.append(eth / s.IPv6(src=src, dst=sl.VIP6) / s.TCP(sport=sport, dport=80, flags="S"))
        elif kind == "src_is_vip":  # the backend's answer would come back to the mux
            out.append(eth / s.IP(src=sl.VIP4, dst=sl.VIP4) / s.TCP(sport=sport, dport=80, flags="S"))
            out.append(eth / s.IPv6(src=sl.VIP6, dst=sl.VIP6) / s.TCP(sport=sport, dport=80, flags="S"))
        elif kind == "tunnel_martian":  # a well-formed tunnel to host1 carrying a loopback source
            host1 = sl.INSTANCES["host1"]
            out.append(s.Ether(src=eth.src, dst=host1.taps[0].pmd_mac)
                       / s.IP(src=sl.MUX4, dst=host1.addrs[0]) / s.IP(src="127.0.0.1", dst=sl.VIP4)
                       / s.TCP(sport=sport, dport=80, flags="S"))
        elif kind == "non_ip":
            out.append(s.Ether(src=lab.macs["router_fab"], dst=mux_mac(lab), type=0x88B5)
                       / s.Raw(b"sluice lab: not IP " * 3))
        else:
            raise ValueError(kind)
    return out


def client_frames(lab, kind):
    """Packets the client sends through the router."""
    s = sl.scapy()
    eth = s.Ether(src=lab.macs["client"], dst=lab.macs["router_cli"])
    out = []
    for i in range(N):
        sport = 30000 + i
        if kind == "bad_l4_checksum":
            for ipl in (s.IP(src=sl.CLIENT4, dst=sl.VIP4), s.IPv6(src=sl.CLIENT6, dst=sl.VIP6)):
                p = ipl / s.TCP(sport=sport, dport=80, flags="S", seq=1000 + i)
                good = p.__class__(bytes(p))[s.TCP].chksum
                p[s.TCP].chksum = good ^ 0x5555
                out.append(eth / p)
        elif kind == "unsupported_l4":
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.VIP4) / s.ICMP(id=77, seq=i))
            out.append(eth / s.IPv6(src=sl.CLIENT6, dst=sl.VIP6) / s.ICMPv6EchoRequest(id=77, seq=i))
        elif kind == "unknown_vip":
            out.append(eth / s.IP(src=sl.CLIENT4, dst=sl.UNKNOWN_VIP4)
                       / s.TCP(sport=sport, dport=80, flags="S"))
            out.append(eth / s.IPv6(src=sl.CLIENT6, dst=sl.UNKNOWN_VIP6)
                       / s.TCP(sport=sport, dport=80, flags="S"))
        else:
            raise ValueError(kind)
    return out


# kind: (who sends, drop counter, instances whose counters are summed)
CASES = {
    "truncated": ("router", "drop_truncated", ("mux",)),
    "bad_ip_checksum": ("router", "drop_bad_ip_checksum", ("mux",)),
    "fragment": ("router", "drop_fragment", ("mux",)),
    "non_ip": ("router", "drop_non_ip", ("mux",)),
    "l2_group": ("router", "drop_l2_multicast", ("mux",)),
    "wrong_vlan": ("router", "drop_wrong_vlan", ("mux",)),
    "martian_src": ("router", "drop_martian_src", ("mux",)),
    "src_is_vip": ("router", "drop_src_is_dst", ("mux",)),
    "tunnel_martian": ("router", "drop_martian_src", ("host1",)),
    "too_big": ("router", "drop_too_big", ("mux",)),
    "bad_l4_checksum": ("client", "drop_bad_l4_checksum", ("host1", "host2")),
    "unsupported_l4": ("client", "drop_unsupported_l4", ("mux",)),
    "unknown_vip": ("client", "drop_unknown_vip", ("mux",)),
}


def counter_sum(lab, counter, instances):
    total, missing = 0, []
    for n in instances:
        st = lab.stats(n)
        if counter not in st:
            missing.append(n)
        total += int(st.get(counter, 0))
    return total, missing


def send(lab, kind):
    who, _counter, _inst = CASES[kind]
    if who == "router":
        frames = fabric_frames(lab, kind)
        return lab.sendp("router", "fab0", frames, f"malformed-{kind}")
    frames = client_frames(lab, kind)
    return lab.sendp("client", "eth0", frames, f"malformed-{kind}")


def wait_counter(lab, counter, instances, target, timeout=5):
    end = time.monotonic() + timeout
    while True:
        value, missing = counter_sum(lab, counter, instances)
        if value >= target or time.monotonic() > end:
            return value, missing
        time.sleep(0.2)


@pytest.mark.parametrize("kind", list(CASES))
def test_malformed_is_dropped_and_counted(lab, kind):
    _who, counter, instances = CASES[kind]
    before, _ = counter_sum(lab, counter, instances)
    sent = send(lab, kind)
    after, missing = wait_counter(lab, counter, instances, before + sent)
    assert not missing, f"{counter} missing from /sluice/stats of {missing}"
    assert after - before >= sent, (
        f"{kind}: sent {sent} frames, {counter} on {'+'.join(instances)} rose by "
        f"{after - before}\n{lab.diag()}")
    res = lab.curl(f"http://{sl.VIP4}/", 4) + lab.curl(f"http://[{sl.VIP6}]/", 4)
    assert all(r["ok"] for r in res), f"VIP broken after {kind}: {res}\n{lab.diag()}"
    lab.check_alive()


def test_vips_serve_during_malformed_traffic(lab):
    """All kinds at once while curl keeps opening connections to both VIPs."""
    results, stop = [], threading.Event()

    def client_loop():
        end = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < end:
            results.extend(lab.curl(f"http://{sl.VIP4}/", 5) + lab.curl(f"http://[{sl.VIP6}]/", 5))

    before = {k: counter_sum(lab, c, i)[0] for k, (_w, c, i) in CASES.items()}
    t = threading.Thread(target=client_loop, daemon=True)
    t.start()
    sent = {}
    try:
        for kind in CASES:
            sent[kind] = send(lab, kind)
    finally:
        time.sleep(1)
        stop.set()
        t.join(timeout=40)
    short = {}
    for kind, (_w, counter, inst) in CASES.items():
        after, _missing = wait_counter(lab, counter, inst, before[kind] + sent[kind])
        if after - before[kind] < sent[kind]:
            short[kind] = (sent[kind], after - before[kind])
    assert results, "no request completed during the malformed traffic"
    failed = [r for r in results if not r["ok"]]
    assert not failed, (f"{len(failed)}/{len(results)} requests failed during malformed traffic: "
                        f"{failed[:5]}\n{lab.diag()}")
    assert not short, f"drop counters short of what was sent (sent, counted): {short}"
    lab.check_alive()


# Bigger than the fabric's 1500-byte MTU and than the 2 KiB mbufs the port
# receives into: net_tap reads it truncated and counts it in ierrors; sluice
# never sees it, so only the port's own counter can account for it.
OVERSIZED = 4000


def test_oversized_frame_is_a_counted_port_drop(lab):
    s = sl.scapy()
    tap = sl.INSTANCES["mux"].taps[0]
    counter = "port_fabric_ierrors"
    frames = [s.Ether(src=lab.macs["router_fab"], dst=mux_mac(lab))
              / s.IP(src=sl.CLIENT4, dst=sl.VIP4) / s.UDP(sport=40000 + i, dport=80)
              / s.Raw(b"o" * (OVERSIZED - 42)) for i in range(N)]
    before, missing = counter_sum(lab, counter, ("mux",))
    assert not missing, f"{counter} missing from /sluice/stats"
    # The kernel side of the TAP must carry the frame to the PMD: write it
    # there directly (a packet socket refuses frames above the MTU).
    sl.ip(lab.ns["lab"], "link", "set", "dev", tap.ifname, "mtu", "9000")
    try:
        sent = lab.sendp("lab", tap.ifname, frames, "oversized")
    finally:
        sl.ip(lab.ns["lab"], "link", "set", "dev", tap.ifname, "mtu", str(tap.mtu))
    after, _ = wait_counter(lab, counter, ("mux",), before + sent)
    assert after - before >= sent, (
        f"sent {sent} frames of {OVERSIZED} bytes, {counter} rose by {after - before}\n{lab.diag()}")
    res = lab.curl(f"http://{sl.VIP4}/", 4)
    assert all(r["ok"] for r in res), f"VIP broken after oversized frames: {res}\n{lab.diag()}"
    lab.check_alive()
