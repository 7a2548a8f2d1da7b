"""ICMP errors through the balancer with direct server return (issue 9;
docs/lab.md): the cases test_pmtud.py does not reach, with crafted frames.

* An error a DIP sends about a client's connection (its quote is the client's
  packet as the DIP saw it, client -> DIP:8080) reaches the client translated:
  outer source the VIP, quote destination VIP:80, every checksum valid
  (host_icmp_to_client).
* An error sent to the VIP about a flow's packet (quote VIP:80 -> client) is
  relayed by the mux to the flow's host agent (mux_icmp_relayed) and reaches
  the DIP translated: outer destination the DIP, quote source DIP:8080
  (host_icmp_to_dip).
* Errors to the VIP with a quote that is truncated (under 8 bytes of TCP),
  malformed, not TCP/UDP or not from the VIP are drop_icmp_bad_quote on the
  mux; a quote for a VIP port not served (81) is drop_icmp_no_flow; nothing
  of either is relayed. Errors from a DIP that are truncated, about another
  address, about no connection or with a wrong ICMP checksum are dropped by
  the host agent and never reach the client.
* A burst of 300 errors to the VIP is cut by the rate limit
  (drop_icmp_rate_limited).

Errors to the VIP are put on the fabric by the router (fab0) to the mux's
MAC; errors from a DIP leave backend1's eth0 for host1's backend port. Their
quotes name a live keep-alive connection served by backend1 (so only the
defect under test can make a difference), with a sequence number outside
its window, so the endpoints' TCP ignores them and the connection survives.
Before issue 9 the mux dropped every ICMP error to a VIP as
drop_unsupported_l4 and host agents dropped a DIP's as drop_no_connection.
"""
import struct
import time

import pytest

import sluicelab as sl

N = 6                 # frames per drop case
OOW_SEQ = 0x5EED0001  # quoted sequence number: outside any window of the live connection
HOST1 = sl.INSTANCES["host1"]
HOST1_BACKEND_MAC = HOST1.taps[1].pmd_mac

FAM = {
    "v4": {"vip": sl.VIP4, "client": sl.CLIENT4, "gw": sl.GATEWAY4, "dip": "198.18.1.2",
           "other_dip": "198.18.2.2", "not_vip": "203.0.113.11"},
    "v6": {"vip": sl.VIP6, "client": sl.CLIENT6, "gw": sl.GATEWAY6, "dip": "2001:db8:11::2",
           "other_dip": "2001:db8:12::2", "not_vip": "2001:db8:100::11"},
}

# ------------------------------------------------------------ the live connections

class Conns:
    """One keep-alive connection per family through the VIP, served by
    backend1 (so by host1); opened on first use, checked before each use."""

    def __init__(self):
        self.ka = {}

    def port(self, lab, family):
        ka = self.ka.get(family)
        if ka is not None and ka.get().get("ok"):
            return ka.hello["local_port"]
        if ka is not None:
            ka.close()
        ka = lab.keepalive_client(FAM[family]["vip"], "backend1")
        self.ka[family] = ka
        assert ka.hello.get("ok"), f"no keep-alive connection to {FAM[family]['vip']} served by " \
                                   f"backend1: {ka.hello}\n{lab.diag()}"
        return ka.hello["local_port"]

    def alive(self, family):
        return self.ka[family].get()

    def close(self):
        for ka in self.ka.values():
            ka.close()


@pytest.fixture(scope="module")
def conns():
    c = Conns()
    try:
        yield c
    finally:
        c.close()


# ------------------------------------------------------------ frames

def ip_layer(family, src, dst, **kw):
    s = sl.scapy()
    return s.IP(src=src, dst=dst, **kw) if family == "v4" else s.IPv6(src=src, dst=dst)


def vip_packet(family, lport, sport=80, src=None, payload=32, complete=False):
    """The VIP's packet to the client, as a router on the way quotes it."""
    s = sl.scapy()
    f = FAM[family]
    p = ip_layer(family, src or f["vip"], f["client"], flags="DF", id=4242) \
        / s.TCP(sport=sport, dport=lport, flags="A" if complete else "PA", seq=OOW_SEQ, ack=77)
    if complete:  # a whole small packet: its TCP checksum can be checked after translation
        return bytes(p)
    return bytes(p / s.Raw(sl.pattern_bytes(payload + 48)))[:(20 if family == "v4" else 40) + 20 + payload]


def client_packet(family, lport, dst=None, dport=sl.BACKEND_PORT):
    """The client's packet to the DIP as the DIP received it (whole: 40 / 60 bytes)."""
    s = sl.scapy()
    f = FAM[family]
    return bytes(ip_layer(family, f["client"], dst or f["dip"], flags="DF", id=4343, ttl=62)
                 / s.TCP(sport=lport, dport=dport, flags="A", seq=OOW_SEQ, ack=99, window=501))


def icmp_error(family, kind, quote):
    """An ICMP error header and quote: kind 'too_big' (fragmentation needed /
    packet too big) or 'param' (parameter problem)."""
    s = sl.scapy()
    if family == "v4":
        if kind == "too_big":
            return s.ICMP(type=3, code=4, nexthopmtu=1400) / s.Raw(quote)
        return s.ICMP(type=12, code=0, ptr=8) / s.Raw(quote)
    if kind == "too_big":
        return s.ICMPv6PacketTooBig(mtu=1400) / s.Raw(quote)
    return s.ICMPv6ParamProblem(code=0, ptr=7) / s.Raw(quote)


# bytes 4-7 of each error icmp_error builds: next-hop MTU, MTU, pointer
WORD = {("v4", "too_big"): struct.pack("!HH", 0, 1400), ("v4", "param"): bytes([8, 0, 0, 0]),
        ("v6", "too_big"): struct.pack("!I", 1400), ("v6", "param"): struct.pack("!I", 7)}


def to_vip(lab, family, quote, kind="too_big"):
    """An error from the router (its fabric address) to the VIP, onto the fabric to the mux."""
    s = sl.scapy()
    f = FAM[family]
    return s.Ether(src=lab.macs["router_fab"], dst=sl.MUX_MAC) \
        / ip_layer(family, f["gw"], f["vip"]) / icmp_error(family, kind, quote)


def from_dip(lab, family, quote, kind="too_big", src=None):
    """An error from backend1 to the client, onto backend1's link to host1's backend port."""
    s = sl.scapy()
    f = FAM[family]
    return s.Ether(src=lab.link_mac(lab.ns["be1"], "eth0"), dst=HOST1_BACKEND_MAC) \
        / ip_layer(family, src or f["dip"], f["client"]) / icmp_error(family, kind, quote)


# ------------------------------------------------------------ checking what arrived

def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_zero(data, off):
    return data[:off] + b"\0\0" + data[off + 2:]


def check_field(problems, name, data, off, want):
    got = struct.unpack("!H", data[off:off + 2])[0]
    if got != want:
        problems.append(f"{name} checksum 0x{got:04x}, should be 0x{want:04x}")


def parse_icmp_error(family, ip):
    """Fields of an ICMP error (raw IP packet, Ethernet header removed) and
    the checksums that are wrong: outer IP header, ICMP, quoted IP header,
    quoted TCP (only when the quote holds the whole quoted packet)."""
    problems = []
    if family == "v4":
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        if len(ip) < tot:
            return None
        ip = ip[:tot]
        check_field(problems, "outer IPv4 header", ip, 10, csum(with_zero(ip[:ihl], 10)))
        icmp = ip[ihl:]
        check_field(problems, "ICMP", icmp, 2, csum(with_zero(icmp, 2)))
        src, dst = sl.socket.inet_ntop(sl.socket.AF_INET, ip[12:16]), \
            sl.socket.inet_ntop(sl.socket.AF_INET, ip[16:20])
        q = icmp[8:]
        qihl = (q[0] & 15) * 4 if q else 0
        out = {"src": src, "dst": dst, "type": icmp[0], "code": icmp[1], "word": icmp[4:8],
               "ttl": ip[8]}
        if len(q) >= 20 and qihl >= 20 and len(q) >= qihl:
            check_field(problems, "quoted IPv4 header", q, 10, csum(with_zero(q[:qihl], 10)))
            out.update(q_src=sl.socket.inet_ntop(sl.socket.AF_INET, q[12:16]),
                       q_dst=sl.socket.inet_ntop(sl.socket.AF_INET, q[16:20]), q_proto=q[9])
            l4 = q[qihl:]
            qtot = struct.unpack("!H", q[2:4])[0]
            pseudo = q[12:20] + struct.pack("!BBH", 0, 6, len(l4))
        else:
            l4, qtot, pseudo = b"", -1, b""
        whole = qtot == len(q)
    else:
        if ip[6] != 58:
            return None
        plen = struct.unpack("!H", ip[4:6])[0]
        if len(ip) < 40 + plen:
            return None
        ip = ip[:40 + plen]
        icmp = ip[40:]
        pseudo6 = ip[8:40] + struct.pack("!IxxxB", len(icmp), 58)
        check_field(problems, "ICMPv6", icmp, 2, csum(pseudo6 + with_zero(icmp, 2)))
        out = {"src": sl.socket.inet_ntop(sl.socket.AF_INET6, ip[8:24]),
               "dst": sl.socket.inet_ntop(sl.socket.AF_INET6, ip[24:40]),
               "type": icmp[0], "code": icmp[1], "word": icmp[4:8], "ttl": ip[7]}
        q = icmp[8:]
        if len(q) >= 40:
            out.update(q_src=sl.socket.inet_ntop(sl.socket.AF_INET6, q[8:24]),
                       q_dst=sl.socket.inet_ntop(sl.socket.AF_INET6, q[24:40]), q_proto=q[6])
            l4 = q[40:]
            whole = 40 + struct.unpack("!H", q[4:6])[0] == len(q)
            pseudo = q[8:40] + struct.pack("!IxxxB", len(l4), 6)
        else:
            l4, whole, pseudo = b"", False, b""
    if len(l4) >= 8:
        out["q_sport"], out["q_dport"], out["q_seq"] = struct.unpack("!HHI", l4[:8])
    if whole and len(l4) >= 20 and out.get("q_proto") == 6:
        check_field(problems, "quoted TCP", l4, 16, csum(pseudo + with_zero(l4, 16)))
        out["q_tcp_checked"] = True
    out["bad_checksums"] = problems
    return out


def icmp_errors_in(pkts, family):
    s = sl.scapy()
    out = []
    for p in pkts:
        if s.Ether not in p:
            continue
        raw = bytes(p)
        et = struct.unpack("!H", raw[12:14])[0]
        if (family == "v4" and et == 0x0800 and raw[14 + 9] == 1) or (family == "v6" and et == 0x86DD):
            e = parse_icmp_error(family, raw[14:])
            if e is not None and e["type"] in ((3, 11, 12) if family == "v4" else (1, 2, 3, 4)):
                out.append(e)
    return out


# ------------------------------------------------------------ counters

def stat(lab, inst, key):
    return int(lab.stats(inst).get(key, 0))


def snapshot(lab):
    out = {}
    for inst in ("mux", "host1", "host2"):
        st = lab.stats(inst)
        for k, v in st.items():
            if isinstance(v, (int, float)):
                out[f"{inst}.{k}"] = int(v)
        out[f"{inst}.__keys"] = set(st)
    return out


def deltas(before, after):
    return {k: after[k] - before.get(k, 0) for k in after
            if not k.endswith("__keys") and after[k] != before.get(k, 0)
            and not k.endswith(("idle_polls", "_flows", "host_conns"))}


def wait_until(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while True:
        ok = pred()
        if ok or time.monotonic() > end:
            return ok
        time.sleep(0.1)


def wait_received(lab, inst, before, n, timeout=5.0):
    """Until instance `inst` has received n more frames than `before` (its
    rx_packets), then a moment for the burst that held them to be counted."""
    wait_until(lambda: stat(lab, inst, "rx_packets") >= before[f"{inst}.rx_packets"] + n, timeout)
    time.sleep(0.3)


def missing_counters(snap, names):
    return [f"{inst}.{k}" for inst, k in (n.split(".") for n in names)
            if k not in snap[f"{inst}.__keys"]]


def send_and_capture(lab, sender, frames, capture_ns, receiver, counter, name):
    """Send frames from sender (namespace role, interface) while capturing on
    capture_ns's eth0; wait until host1's counter rose by as many and the
    receiving instance saw them all. Returns (captured, counters after, deltas)."""
    before = snapshot(lab)
    cap = lab.capture("eth0", f"icmp-{name}-at-{capture_ns}", ns=capture_ns)
    try:
        lab.sendp(sender[0], sender[1], frames, f"icmp-{name}")
        wait_until(lambda: stat(lab, "host1", counter) >= before[f"host1.{counter}"] + len(frames))
        wait_received(lab, receiver, before, len(frames))
    finally:
        pkts = cap.stop()
    after = snapshot(lab)
    return pkts, after, deltas(before, after)


# ------------------------------------------------------------ DIP -> client

@pytest.mark.parametrize("family", list(FAM))
def test_dip_icmp_error_reaches_client_as_vip(lab, conns, family):
    f = FAM[family]
    lport = conns.port(lab, family)
    frames = [from_dip(lab, family, client_packet(family, lport), kind)
              for kind in ("too_big", "param")]
    pkts, after, d = send_and_capture(lab, ("be1", "eth0"), frames, "client", "host1",
                                      "host_icmp_to_client", f"from-dip-{family}")
    errs = icmp_errors_in(pkts, family)
    ctx = (f"\n  client connection {f['client']}:{lport} -> {f['vip']}:80 (backend1 sees it as "
           f"-> {f['dip']}:{sl.BACKEND_PORT})\n  counter deltas: {d}\n  ICMP errors the client "
           f"captured ({len(pkts)} frames): {errs}\n{lab.diag()}")
    problems = []
    miss = missing_counters(after, ["host1.host_icmp_to_client"])
    if miss:
        problems.append(f"counters missing from /sluice/stats: {miss}")
    if d.get("host1.host_icmp_to_client", 0) < len(frames):
        problems.append(f"host1 host_icmp_to_client rose by {d.get('host1.host_icmp_to_client', 0)}, "
                        f"sent {len(frames)}")
    want_types = (3, 12) if family == "v4" else (2, 4)
    for kind, t in zip(("too_big", "param"), want_types):
        mine = [e for e in errs if e["type"] == t and e.get("q_sport") == lport]
        if not mine:
            problems.append(f"{kind} (type {t}) about {f['client']}:{lport} never reached the client")
            continue
        e = mine[0]
        want = {"src": f["vip"], "dst": f["client"], "q_src": f["client"], "q_dst": f["vip"],
                "q_proto": 6, "q_sport": lport, "q_dport": 80, "q_seq": OOW_SEQ}
        wrong = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
        if wrong:
            problems.append(f"{kind}: wrong fields (got, want): {wrong}")
        if e["bad_checksums"]:
            problems.append(f"{kind}: " + "; ".join(e["bad_checksums"]))
        if not e.get("q_tcp_checked"):
            problems.append(f"{kind}: the quote no longer holds the whole TCP header")
        if e["word"] != WORD[family, kind]:
            problems.append(f"{kind}: MTU / pointer word changed: {e['word'].hex()}")
    assert not problems, "\n  - ".join([f"DIP's ICMP errors ({family}) at the client:"] + problems) + ctx
    res = conns.alive(family)
    assert res.get("ok"), f"the keep-alive connection broke after the errors: {res}{ctx}"


# ------------------------------------------------------------ VIP -> DIP (the relay)

@pytest.mark.parametrize("family", list(FAM))
def test_icmp_error_to_vip_is_relayed_to_the_dip(lab, conns, family):
    f = FAM[family]
    lport = conns.port(lab, family)
    frames = [to_vip(lab, family, vip_packet(family, lport)),
              to_vip(lab, family, vip_packet(family, lport, complete=True)),
              to_vip(lab, family, vip_packet(family, lport), "param")]
    pkts, after, d = send_and_capture(lab, ("router", "fab0"), frames, "be1", "mux",
                                      "host_icmp_to_dip", f"to-vip-{family}")
    errs = [e for e in icmp_errors_in(pkts, family) if e.get("q_dport") == lport]
    ctx = (f"\n  flow {f['client']}:{lport} -> {f['vip']}:80 served by backend1 ({f['dip']})"
           f"\n  counter deltas: {d}\n  ICMP errors backend1 captured: {errs}\n{lab.diag()}")
    problems = []
    miss = missing_counters(after, ["mux.mux_icmp_relayed", "host1.host_icmp_to_dip"])
    if miss:
        problems.append(f"counters missing from /sluice/stats: {miss}")
    if d.get("mux.mux_icmp_relayed", 0) != len(frames):
        problems.append(f"mux_icmp_relayed rose by {d.get('mux.mux_icmp_relayed', 0)}, sent {len(frames)}")
    if d.get("host1.host_icmp_to_dip", 0) != len(frames):
        problems.append(f"host1 host_icmp_to_dip rose by {d.get('host1.host_icmp_to_dip', 0)}, "
                        f"sent {len(frames)}")
    if len(errs) != len(frames):
        problems.append(f"backend1 received {len(errs)} of the {len(frames)} errors")
    for e in errs:
        want = {"src": f["gw"], "dst": f["dip"], "q_src": f["dip"], "q_dst": f["client"],
                "q_proto": 6, "q_sport": sl.BACKEND_PORT, "q_dport": lport, "q_seq": OOW_SEQ}
        wrong = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
        if wrong:
            problems.append(f"type {e['type']}: wrong fields (got, want): {wrong}")
        if e["bad_checksums"]:
            problems.append(f"type {e['type']}: " + "; ".join(e["bad_checksums"]))
    if errs and not any(e.get("q_tcp_checked") for e in errs):
        problems.append("the whole quoted packet did not arrive whole (quoted TCP checksum not checkable)")
    assert not problems, "\n  - ".join([f"ICMP errors to the VIP ({family}) at the DIP:"] + problems) + ctx
    res = conns.alive(family)
    assert res.get("ok"), f"the keep-alive connection broke after the errors: {res}{ctx}"


# ------------------------------------------------------------ errors to the VIP that are dropped

def mux_drop_frames(lab, family, kind, lport):
    s = sl.scapy()
    f = FAM[family]
    hl = 20 if family == "v4" else 40
    out = []
    for i in range(N):
        if kind == "truncated_quote":  # the IP header and 4 or 7 bytes of TCP (ports, no more)
            out.append(to_vip(lab, family, vip_packet(family, lport)[:hl + (4 if i % 2 else 7)]))
        elif kind == "quote_not_from_vip":  # from another address, or the flow's other direction
            out.append(to_vip(lab, family, vip_packet(family, lport, src=f["not_vip"]) if i % 2
                              else client_packet(family, lport, dst=f["vip"], dport=80)))
        elif kind == "quote_not_tcp_udp":  # an echo reply from the VIP
            echo = s.ICMP(type=0, id=7, seq=i) if family == "v4" else s.ICMPv6EchoReply(id=7, seq=i)
            out.append(to_vip(lab, family, bytes(ip_layer(family, f["vip"], f["client"]) / echo
                                                 / s.Raw(b"x" * 24))))
        elif kind == "quote_malformed":
            good = vip_packet(family, lport)
            if i % 3 == 0:    # cut inside the quoted IP header
                q = good[:hl - 8]
            elif i % 3 == 1:  # v4: IHL 4 (16 bytes); v6: version nibble 4
                q = bytes([0x44 if family == "v4" else 0x46]) + good[1:]
            else:             # the other family's header inside
                other = "v6" if family == "v4" else "v4"
                q = bytes(ip_layer(other, FAM[other]["vip"], FAM[other]["client"])
                          / s.TCP(sport=80, dport=lport, seq=OOW_SEQ))
            out.append(to_vip(lab, family, q))
        elif kind == "port_not_served":  # a quote from VIP:81, which no VIP serves
            out.append(to_vip(lab, family, vip_packet(family, lport, sport=81)))
        else:
            raise ValueError(kind)
    return out


MUX_CASES = {
    "truncated_quote": "drop_icmp_bad_quote",
    "quote_not_from_vip": "drop_icmp_bad_quote",
    "quote_not_tcp_udp": "drop_icmp_bad_quote",
    "quote_malformed": "drop_icmp_bad_quote",
    "port_not_served": "drop_icmp_no_flow",
}


def check_dropped(lab, sender, frames, inst, counter, passed_on, what):
    """Send frames from sender (namespace role, interface); inst must count
    every one as counter, and none of the counters in passed_on may move."""
    before = snapshot(lab)
    lab.sendp(sender[0], sender[1], frames, what.replace(" ", "-"))
    wait_received(lab, inst, before, len(frames))
    after = snapshot(lab)
    d = deltas(before, after)
    ctx = f"\n  counter deltas: {d}\n{lab.diag()}"
    miss = missing_counters(after, [f"{inst}.{counter}"] + list(passed_on))
    assert not miss, f"counters missing from /sluice/stats: {miss}{ctx}"
    sent, got = len(frames), d.get(f"{inst}.{counter}", 0)
    assert got == sent, f"{what}: sent {sent} ICMP errors, {inst} {counter} rose by {got}{ctx}"
    moved = {k: d.get(k, 0) for k in passed_on if d.get(k, 0)}
    assert not moved, f"{what}: passed on anyway: {moved}{ctx}"


@pytest.mark.parametrize("family", list(FAM))
@pytest.mark.parametrize("kind", list(MUX_CASES))
def test_bad_icmp_error_to_vip_is_dropped(lab, conns, kind, family):
    frames = mux_drop_frames(lab, family, kind, conns.port(lab, family))
    check_dropped(lab, ("router", "fab0"), frames, "mux", MUX_CASES[kind],
                  ("mux.mux_icmp_relayed", "host1.host_icmp_to_dip", "host2.host_icmp_to_dip"),
                  f"{kind} {family} to {FAM[family]['vip']}")


# ------------------------------------------------------------ errors from a DIP that are dropped

def host_drop_frames(lab, family, kind, lport):
    f = FAM[family]
    hl = 20 if family == "v4" else 40
    out = []
    for i in range(N):
        if kind == "truncated_quote":
            out.append(from_dip(lab, family, client_packet(family, lport)[:hl + (4 if i % 2 else 7)]))
        elif kind == "quote_not_to_sender":  # quoting a packet to backend2, or its own to the client
            out.append(from_dip(lab, family, client_packet(family, lport, dst=f["other_dip"]) if i % 2
                                else vip_packet(family, lport, src=f["dip"], sport=sl.BACKEND_PORT)))
        elif kind == "no_connection":  # client port 1023: no connection
            out.append(from_dip(lab, family, client_packet(family, 1023)))
        elif kind == "bad_icmp_checksum":  # the ICMP checksum flipped, byte for byte
            raw = bytearray(bytes(from_dip(lab, family, client_packet(family, lport))))
            raw[14 + hl + 2] ^= 0x55
            raw[14 + hl + 3] ^= 0x55
            out.append(sl.scapy().Ether(bytes(raw)))  # dissected, so written back unchanged
        else:
            raise ValueError(kind)
    return out


HOST_CASES = {
    "truncated_quote": "drop_icmp_bad_quote",
    "quote_not_to_sender": "drop_icmp_bad_quote",
    "no_connection": "drop_icmp_no_flow",
    "bad_icmp_checksum": "drop_bad_l4_checksum",
}


@pytest.mark.parametrize("family", list(FAM))
@pytest.mark.parametrize("kind", list(HOST_CASES))
def test_bad_icmp_error_from_dip_is_dropped(lab, conns, kind, family):
    frames = host_drop_frames(lab, family, kind, conns.port(lab, family))
    check_dropped(lab, ("be1", "eth0"), frames, "host1", HOST_CASES[kind],
                  ("host1.host_icmp_to_client",), f"{kind} {family} from backend1")


# ------------------------------------------------------------ rate limit

BURST = 300  # well over the bucket of 100; sent in a few ms, far faster than 1000/s refills


def test_icmp_error_burst_is_rate_limited(lab, conns):
    lport = conns.port(lab, "v4")
    frames = [to_vip(lab, "v4", vip_packet("v4", lport))] * BURST
    time.sleep(0.2)  # a full bucket (refills at 1/ms) whatever ran before
    before = snapshot(lab)
    lab.sendp("router", "fab0", frames, "icmp-burst", interval=0)
    wait_received(lab, "mux", before, BURST)
    after = snapshot(lab)
    d = deltas(before, after)
    ctx = f"\n  counter deltas: {d}\n{lab.diag()}"
    miss = missing_counters(after, ["mux.drop_icmp_rate_limited", "mux.mux_icmp_relayed"])
    assert not miss, f"counters missing from /sluice/stats: {miss}{ctx}"
    limited, relayed = d.get("mux.drop_icmp_rate_limited", 0), d.get("mux.mux_icmp_relayed", 0)
    print(f"\nburst of {BURST}: relayed {relayed}, rate-limited {limited}, "
          f"host1 host_icmp_to_dip +{d.get('host1.host_icmp_to_dip', 0)}")
    assert limited > 0, f"{BURST} ICMP errors to the VIP at once, none rate-limited{ctx}"
    assert relayed > 0, f"{BURST} ICMP errors to the VIP at once, none relayed{ctx}"
    assert relayed + limited <= BURST, (
        f"relayed {relayed}, rate-limited {limited} of {BURST}{ctx}")
    assert d.get("host1.host_icmp_to_dip", 0) <= relayed, ctx
    res = conns.alive("v4")
    assert res.get("ok"), f"the keep-alive connection broke after the burst: {res}{ctx}"
