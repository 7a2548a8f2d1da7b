"""Benchmark stages: the traffic each one replays and the sluice config it runs.

A stage is a small class registered in STAGES.  To add a packet stage:
subclass Stage, fill in `traffic()` (frame spec, VIP list, flow list),
`config()` (libconfig text for sluice) and `work_counter` (the telemetry
counter that must account for >= 99% of received frames, so the bench can
tell that the stage did its work rather than measuring a drop path), then
add an instance to STAGES.  Everything else (pcap cache, baseline, rounds,
JSON) is shared.  The `config` and `failover` stages are different
(cluster_bench = True): they measure the control plane, see benchlib/cluster.py
and benchlib/failover.py.

Addressing (documentation and benchmark ranges only):
  clients     198.18.0.0/15              (random, seeded)
  VIPs        203.0.113.1 .. 203.0.113.N, TCP port 80
  mux         192.0.2.10/24 on port "fabric"
  hosts       192.0.2.21 .. (host agents; static neighbours of the mux)
  DIPs        198.51.100.0/24
  router MAC  02:00:00:00:00:01 (source MAC of client traffic)

Destination MAC of every frame is the port's own MAC.  net_pcap gives its
first port the fixed address 02:70:63:61:70:00 ("\\x02pcap\\x00"; the n-th
pcap port gets ...:0n), which is what sluice reads with
rte_eth_macaddr_get(); the bench checks it through telemetry
(/ethdev/info,0) on every run and fails if it differs.
"""

import collections
import struct

from . import pcapgen

PCAP_PORT_MAC = "02:70:63:61:70:00"
ROUTER_MAC = "02:00:00:00:00:01"
PORT_DEVICE = "net_pcap0"


def mac_for(addr_text, prefix="02:00"):
    """A locally administered MAC derived from an IPv4 address."""
    return prefix + "".join(":%02x" % int(o) for o in addr_text.split("."))


def pow2_at_least(n):
    p = 1
    while p < n:
        p <<= 1
    return p


class Stage:
    name = None
    description = None
    work_counter = None
    frame_len = 60

    def __init__(self):
        self.flows = 65536
        self.vips = 16
        self.seed = 1

    def params(self):
        """Everything that determines the pcap (cache key)."""
        return {"stage": self.name, "flows": self.flows, "vips": self.vips, "seed": self.seed,
                "gen": 1}

    def vip_addrs(self):
        return [pcapgen.ip4("203.0.113.1") + i for i in range(self.vips)]

    def traffic(self):
        raise NotImplementedError

    def config(self):
        raise NotImplementedError

    def describe(self):
        return {}

    def check_output(self, frames_in, frames_out):
        """Check every frame sluice transmitted in a one-pass replay (frames_out)
        against the frame that caused it (frames_in, same order: one worker).
        Raise AssertionError on the first wrong frame; return a summary."""
        raise NotImplementedError


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def fmt_mac(b):
    return ":".join("%02x" % x for x in b)


def expect(cond, i, what, *args):
    """i: index of the output frame concerned, or -1 for the output as a whole."""
    if not cond:
        where = "output frame %d: " % i if i >= 0 else "output: "
        raise AssertionError(where + (what % args if args else what))


def check_eth(i, fr, dst_mac, src_mac):
    expect(fr[12:14] == b"\x08\x00", i, "ethertype %s, want IPv4", fr[12:14].hex())
    expect(fr[6:12] == src_mac, i, "source MAC %s, want the port's %s", fmt_mac(fr[6:12]),
           fmt_mac(src_mac))
    expect(fr[0:6] == dst_mac, i, "destination MAC %s, want %s", fmt_mac(fr[0:6]),
           fmt_mac(dst_mac))


def check_ipv4(i, ip, what):
    expect(ip[0] == 0x45, i, "%s: version/IHL 0x%02x", what, ip[0])
    expect(pcapgen.ipv4_header_ok(ip[:20]), i, "%s: bad IPv4 header checksum", what)
    total = struct.unpack("!H", ip[2:4])[0]
    expect(total == len(ip), i, "%s: IPv4 total length %d but %d bytes follow the Ethernet "
           "header", what, total, len(ip))


# --------------------------------------------------------------------------
# libconfig text helpers


def _s(v):
    return '"%s"' % v


def port_block(name, device, addresses, neighbours, gateway=None, queues=1, mtu=1500):
    lines = ["    {",
             "      name = %s;" % _s(name),
             "      device = %s;" % _s(device),
             "      queues = %d;" % queues,
             "      mtu = %d;" % mtu,
             # no kernel interface: benches run in the machine's own namespace
             "      kernel_interface = false;",
             "      addresses = [ %s ];" % ", ".join(_s(a) for a in addresses)]
    if gateway:
        lines.append("      gateway = %s;" % _s(gateway))
    lines.append("      neighbours = (")
    lines.append(",\n".join('        { address = %s; mac = %s; }' % (_s(a), _s(m))
                            for a, m in neighbours))
    lines.append("      );")
    lines.append("    }")
    return "\n".join(lines)


def vip_block(vip, port, dips):
    """dips: list of (address, port, host)."""
    lines = ["    {",
             "      address = %s;" % _s(vip),
             '      protocol = "tcp";',
             "      port = %d;" % port,
             "      dips = ("]
    lines.append(",\n".join('        { address = %s; port = %d; host = %s; weight = 100; }'
                            % (_s(a), p, _s(h)) for a, p, h in dips))
    lines.append("      );")
    lines.append("    }")
    return "\n".join(lines)


def config_text(comment, roles, ports, sections, vips):
    return "\n".join([
        "# Generated by tools/bench: %s" % comment,
        "sluice:",
        "{",
        "  roles = [ %s ];" % ", ".join(_s(r) for r in roles),
        "",
        "  workers:",
        "  {",
        "    burst = 32;",
        "    idle_sleep_us = 0;",
        "  };",
        "",
        "  ports = (",
        ",\n".join(ports),
        "  );",
        "",
        "\n\n".join(sections),
        "",
        "  vips = (",
        ",\n".join(vips),
        "  );",
        "};",
        "",
    ])


# --------------------------------------------------------------------------
# mux: client frames to VIPs -> Maglev/flow table -> IP-in-IP to the DIP's host


class MuxStage(Stage):
    name = "mux"
    description = ("mux data path: TCP to 16 VIPs from >=65536 client flows; flow-table lookup "
                   "(Maglev on first sight), IPv4-in-IPv4 encapsulation to the DIP's host")
    work_counter = "mux_encap"
    frame_len = 60

    mux_addr = "192.0.2.10"
    dips_per_vip = 8
    hosts = ["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"]

    def spec(self):
        return {"kind": "plain", "dst_mac": PCAP_PORT_MAC, "src_mac": ROUTER_MAC,
                "vip_port": 80, "tcp_flags": "A", "seq": 1, "ack": 1, "window": 8192,
                "inner_ttl": 64, "frame_len": self.frame_len}

    def traffic(self):
        return self.spec(), self.vip_addrs(), pcapgen.make_flows(self.flows, self.vips, self.seed)

    def dips(self, v):
        base = pcapgen.ip4("198.51.100.1") + v * self.dips_per_vip
        return [(pcapgen.ip4s(base + j), 8080, self.hosts[j % len(self.hosts)])
                for j in range(self.dips_per_vip)]

    def config(self):
        port = port_block("fabric", PORT_DEVICE, [self.mux_addr + "/24"],
                          [(h, mac_for(h)) for h in self.hosts])
        cap = pow2_at_least(max(262144, 2 * self.flows))
        mux = "\n".join([
            "  mux:",
            "  {",
            "    maglev_size = 65537;",
            "    hash_seed = 0x5eed5eedL;",
            "    flow_capacity = %d;" % cap,
            "    flow_idle_timeout = 300;",
            "    tunnel_source = %s;" % _s(self.mux_addr),
            "  };"])
        vips = [vip_block(pcapgen.ip4s(a), 80, self.dips(v))
                for v, a in enumerate(self.vip_addrs())]
        return config_text("mux stage, %d VIPs x %d DIPs on %d hosts"
                           % (self.vips, self.dips_per_vip, len(self.hosts)),
                           ["mux"], [port], [mux], vips)

    def check_output(self, frames_in, frames_out):
        expect(len(frames_out) == len(frames_in), -1, "%d frames transmitted for %d received",
               len(frames_out), len(frames_in))
        port_mac = mac_bytes(PCAP_PORT_MAC)
        hosts = {pcapgen.ip4(h): h for h in self.hosts}
        mux = pcapgen.ip4(self.mux_addr)
        per_host = collections.Counter()
        for i, (a, b) in enumerate(zip(frames_in, frames_out)):
            inner = a[14:14 + struct.unpack("!H", a[16:18])[0]]   # without Ethernet padding
            expect(len(b) == 14 + 20 + len(inner), i, "%d bytes, want %d (Ethernet + outer "
                   "IPv4 + the %d-byte inner packet, no padding)", len(b), 34 + len(inner),
                   len(inner))
            outer = b[14:]
            check_ipv4(i, outer, "outer header")
            expect(outer[9] == 4, i, "outer protocol %d, want 4 (IPv4-in-IPv4)", outer[9])
            src, dst = struct.unpack("!II", outer[12:20])
            expect(src == mux, i, "outer source %s, want the tunnel source %s",
                   pcapgen.ip4s(src), self.mux_addr)
            expect(dst in hosts, i, "outer destination %s is none of the DIP hosts",
                   pcapgen.ip4s(dst))
            expect(outer[8] > 0, i, "outer TTL 0")
            check_eth(i, b, mac_bytes(mac_for(hosts[dst])), port_mac)
            expect(outer[20:] == inner, i, "inner packet changed:\n  in  %s\n  out %s",
                   inner.hex(), outer[20:].hex())
            per_host[hosts[dst]] += 1
        n = len(frames_out)
        for h in self.hosts:
            expect(per_host[h] > n // (4 * len(self.hosts)), -1,
                   "host %s got %d of %d flows: Maglev spread is badly skewed (%s)", h,
                   per_host[h], n, dict(per_host))
        return {"frames": n, "per_host": dict(sorted(per_host.items()))}

    def describe(self):
        return {"vips": self.vips, "vip_port": 80, "dips_per_vip": self.dips_per_vip,
                "hosts": len(self.hosts), "dst_mac": PCAP_PORT_MAC,
                "frame": "Ether/IPv4/TCP(ACK), zero-padded to 60 bytes",
                "clients": "198.18.0.0/15", "one_packet_per_flow": True}

    def params(self):
        p = super().params()
        p["dips_per_vip"] = self.dips_per_vip
        return p


# --------------------------------------------------------------------------
# host: IP-in-IP from the mux -> decap, connection table, NAT VIP:port -> DIP:port


class HostStage(Stage):
    name = "host"
    description = ("host agent data path: IPv4-in-IPv4 from the mux to this host, >=65536 inner "
                   "TCP flows to 16 VIPs; decapsulation, connection lookup, NAT VIP:80 -> local "
                   "DIP:port, delivery on the backend port (same port as the uplink)")
    work_counter = "host_to_dip"
    frame_len = 74

    host_addr = "192.0.2.21"
    mux_addr = "192.0.2.10"
    gateway = "192.0.2.1"
    dip_net_addr = "198.51.100.254/24"
    dips_per_vip = 8

    def spec(self):
        return {"kind": "ipip", "dst_mac": PCAP_PORT_MAC, "src_mac": mac_for(self.mux_addr),
                "outer_src": self.mux_addr, "outer_dst": self.host_addr, "outer_ttl": 64,
                "vip_port": 80, "tcp_flags": "A", "seq": 1, "ack": 1, "window": 8192,
                "inner_ttl": 63, "frame_len": self.frame_len}

    def traffic(self):
        return self.spec(), self.vip_addrs(), pcapgen.make_flows(self.flows, self.vips, self.seed)

    def dip_addrs(self):
        base = pcapgen.ip4("198.51.100.1")
        return [pcapgen.ip4s(base + j) for j in range(self.dips_per_vip)]

    def config(self):
        neigh = [(self.gateway, mac_for(self.gateway)), (self.mux_addr, mac_for(self.mux_addr))]
        neigh += [(d, mac_for(d)) for d in self.dip_addrs()]
        port = port_block("fabric", PORT_DEVICE, [self.host_addr + "/24", self.dip_net_addr],
                          neigh, gateway=self.gateway)
        # two entries per connection (both directions), kept under half full
        cap = pow2_at_least(max(262144, 4 * self.flows))
        host = "\n".join([
            "  host:",
            "  {",
            "    address = %s;" % _s(self.host_addr),
            '    uplink = "fabric";',
            '    backend = "fabric";',
            "    conn_capacity = %d;" % cap,
            "    conn_idle_timeout = 300;",
            # the outer source of the replayed tunnels (spec()'s outer_src)
            "    tunnel_sources = [ %s ];" % _s(self.mux_addr),
            "  };"])
        # Every VIP uses the same 8 local DIP addresses, each VIP on its own
        # DIP port (8080 + index), so (DIP, port) is unique per VIP and only
        # 8 static neighbours are needed.
        vips = [vip_block(pcapgen.ip4s(a), 80,
                          [(d, 8080 + v, self.host_addr) for d in self.dip_addrs()])
                for v, a in enumerate(self.vip_addrs())]
        return config_text("host stage, %d VIPs x %d local DIPs" % (self.vips, self.dips_per_vip),
                           ["host"], [port], [host], vips)

    def check_output(self, frames_in, frames_out):
        expect(len(frames_out) == len(frames_in), -1, "%d frames transmitted for %d received",
               len(frames_out), len(frames_in))
        port_mac = mac_bytes(PCAP_PORT_MAC)
        dips = {pcapgen.ip4(d): d for d in self.dip_addrs()}
        vip0 = pcapgen.ip4("203.0.113.1")
        per_dip = collections.Counter()
        for i, (a, b) in enumerate(zip(frames_in, frames_out)):
            inner = a[34:34 + struct.unpack("!H", a[36:38])[0]]
            expect(len(b) == 14 + len(inner), i, "%d bytes, want %d (Ethernet + the "
                   "decapsulated packet)", len(b), 14 + len(inner))
            ip = b[14:]
            check_ipv4(i, ip, "IPv4 header")
            src, dst = struct.unpack("!II", ip[12:20])
            vsrc, vdst = struct.unpack("!II", inner[12:20])
            expect(src == vsrc, i, "source %s, want the client %s", pcapgen.ip4s(src),
                   pcapgen.ip4s(vsrc))
            expect(dst in dips, i, "destination %s is not a local DIP", pcapgen.ip4s(dst))
            expect(ip[8] == inner[8] - 1, i, "TTL %d, want %d", ip[8], inner[8] - 1)
            expect(pcapgen.tcp_ok(ip), i, "bad TCP checksum after translation")
            sport, dport = struct.unpack("!HH", ip[20:24])
            isport = struct.unpack("!H", inner[20:22])[0]
            want_port = 8080 + (vdst - vip0)
            expect(sport == isport, i, "source port %d, want %d", sport, isport)
            expect(dport == want_port, i, "destination port %d, want the DIP port %d of VIP %s",
                   dport, want_port, pcapgen.ip4s(vdst))
            # seq, ack, offset, flags, window, urgent (the checksum at +16 changes with NAT)
            expect(ip[24:36] == inner[24:36] and ip[38:] == inner[38:], i,
                   "TCP header after the ports changed:\n  in  %s\n  out %s",
                   inner[20:].hex(), ip[20:].hex())
            check_eth(i, b, mac_bytes(mac_for(dips[dst])), port_mac)
            per_dip[dips[dst]] += 1
        n = len(frames_out)
        for d in self.dip_addrs():
            expect(per_dip[d] > n // (4 * self.dips_per_vip), -1,
                   "DIP %s got %d of %d flows: spread is badly skewed (%s)", d, per_dip[d], n,
                   dict(per_dip))
        return {"frames": n, "per_dip": dict(sorted(per_dip.items()))}

    def describe(self):
        return {"vips": self.vips, "vip_port": 80, "dips_per_vip": self.dips_per_vip,
                "hosts": 1, "dst_mac": PCAP_PORT_MAC,
                "frame": "Ether/IPv4(%s->%s, proto 4)/IPv4/TCP(ACK), 74 bytes"
                         % (self.mux_addr, self.host_addr),
                "clients": "198.18.0.0/15", "one_packet_per_flow": True,
                "backend_port": "same as uplink (fabric)"}

    def params(self):
        p = super().params()
        p["dips_per_vip"] = self.dips_per_vip
        return p


# --------------------------------------------------------------------------
# config: API write -> every instance's data path, on a 3-instance cluster


class ConfigStage(Stage):
    """Not a packet stage: no pcap, no testpmd.  runner.run() hands stages with
    `cluster_bench` to their run_cluster(), here benchlib.cluster.run_config()."""
    name = "config"
    description = ("control plane: 3-instance Raft cluster (net_null ports, own netns); ms from "
                   "an API write's response to the change on every data path (p50/p99 over "
                   "--changes), and committed writes/s from --writers concurrent clients")
    cluster_bench = True

    def run_cluster(self, args, sluice, buildtype, root, env):
        from .cluster import run_config
        return run_config(args, sluice, buildtype, root, env)


# --------------------------------------------------------------------------
# failover: write unavailability after faults, on a 3-instance cluster


class FailoverStage(Stage):
    """Not a packet stage either: benchlib.failover.run_failover()."""
    name = "failover"
    description = ("control plane: 3-instance Raft cluster; ms without an acknowledged write "
                   "after each fault (leader kill/stop/partition, follower partition healed, "
                   "restart of all), p50/max over --trials, and the term increase")
    cluster_bench = True

    def run_cluster(self, args, sluice, buildtype, root, env):
        from .failover import run_failover
        return run_failover(args, sluice, buildtype, root, env)


STAGES = {s.name: s for s in (MuxStage(), HostStage(), ConfigStage(), FailoverStage())}
