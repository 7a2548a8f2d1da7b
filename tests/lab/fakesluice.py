#!/usr/bin/python3
"""
A slow stand-in for build/app/sluice, in Python, used only to validate the lab
harness itself (tests/lab, tools/demo) while the real binary is not there:

    SLUICE_BIN=tests/lab/fakesluice.py /usr/bin/python3 -m pytest tests/lab

It follows the binary's contract as the lab sees it: the same command line
(EAL options, `--`, `-c CONFIG`), TAP interfaces named by --vdev
net_tapN,iface=NAME,mac=MAC with the kernel side given the port's MAC,
"sluice: ready" on stderr, the telemetry socket with /sluice/stats and
/sluice/reload, SIGHUP reload, ARP/ND/ping for its addresses, the mux
(flow table + hash, IP-in-IP to the DIP's host) and the host agent (decap,
L4 checksum check, NAT to the DIP, DSR replies out of the uplink). It is not
the product: no DPDK, no performance, a tiny libconfig subset.
"""

import fcntl
import ipaddress
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import zlib

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply, ICMPv6EchoRequest,
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                       IPv6)

COUNTERS = ["rx_packets", "tx_packets", "tx_full", "idle_polls", "mux_flow_hit", "mux_flow_new",
            "mux_flow_full", "mux_encap", "host_decap", "host_conn_new", "host_conn_full",
            "host_to_dip", "host_reply", "exception", "from_control", "flow_expired"]
DROPS = ["truncated", "non_ip", "bad_version", "bad_ihl", "bad_length", "bad_ip_checksum",
         "bad_l4_checksum", "bad_ext_header", "fragment", "ttl_exceeded", "unknown_vip",
         "unknown_port", "unsupported_l4", "not_for_us", "no_backend", "no_neighbour",
         "no_connection", "bad_tunnel", "no_headroom", "too_big", "exception_full", "no_role",
         "bad_tunnel_source"]


# ------------------------------------------------------------ libconfig subset

class CfgError(Exception):
    pass


TOKEN = re.compile(r'\s+|#[^\n]*|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|0x[0-9a-fA-F]+L?|-?\d+L?'
                   r'|[A-Za-z_][A-Za-z0-9_\-]*|[{}()\[\];:=,]', re.S)


def parse_cfg(text, path):
    toks, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise CfgError(f"{path}:{text.count(chr(10), 0, pos) + 1}: syntax error")
        t = m.group(0)
        if not (t.isspace() or t.startswith("#") or t.startswith("//") or t.startswith("/*")):
            toks.append((t, text.count("\n", 0, pos) + 1))
        pos = m.end()
    i = 0

    def peek():
        return toks[i][0] if i < len(toks) else None

    def take(expect=None):
        nonlocal i
        if i >= len(toks):
            raise CfgError(f"{path}:{toks[-1][1] if toks else 1}: syntax error")
        t, line = toks[i]
        if expect and t != expect:
            raise CfgError(f"{path}:{line}: syntax error")
        i += 1
        return t, line

    def value():
        t, line = take()
        if t == "{":
            return group("}")
        if t in "([":
            close = ")" if t == "(" else "]"
            items = []
            while peek() != close:
                items.append(value())
                if peek() == ",":
                    take()
            take(close)
            return items
        if t.startswith('"'):
            return t[1:-1]
        if re.match(r"^(0x[0-9a-fA-F]+|-?\d+)L?$", t):
            return int(t.rstrip("L"), 0)
        raise CfgError(f"{path}:{line}: syntax error")

    def group(close):
        g = {}
        while peek() != close:
            name, line = take()
            if peek() in ("=", ":"):
                take()
            g[name] = value()
            g["_line_" + name] = line
            if peek() in (";", ","):
                take()
        if close:
            take(close)
        return g

    return group(None)


def load_config(path):
    try:
        text = open(path).read()
    except OSError as e:
        raise CfgError(f"{path}: cannot open: {e.strerror}")
    root = parse_cfg(text, path)
    s = root.get("sluice")
    if not isinstance(s, dict):
        raise CfgError(f"{path}:1: sluice: required setting is missing")

    def addr(v, where, line):
        try:
            return ipaddress.ip_address(v)
        except ValueError:
            raise CfgError(f"{path}:{line}: {where}: '{v}' is not an IP address")

    cfg = {"roles": s.get("roles", []), "ports": [], "vips": [], "host": None,
           "idle_sleep_us": s.get("workers", {}).get("idle_sleep_us", 0)}
    for p in s.get("ports", []):
        cfg["ports"].append({
            "name": p["name"], "device": p["device"], "mtu": p.get("mtu", 1500),
            "ifaces": [ipaddress.ip_interface(a) for a in p.get("addresses", [])],
            "gw4": ipaddress.ip_address(p["gateway"]) if "gateway" in p else None,
            "gw6": ipaddress.ip_address(p["gateway6"]) if "gateway6" in p else None})
    if "host" in cfg["roles"]:
        h = s["host"]
        cfg["host"] = {"a4": ipaddress.ip_address(h["address"]) if "address" in h else None,
                       "a6": ipaddress.ip_address(h["address6"]) if "address6" in h else None,
                       "uplink": h["uplink"], "backend": h["backend"],
                       "sources": [ipaddress.ip_network(n) for n in h.get("tunnel_sources", [])]}
    mux = s.get("mux", {})
    cfg["tsrc4"] = ipaddress.ip_address(mux["tunnel_source"]) if "tunnel_source" in mux else None
    cfg["tsrc6"] = ipaddress.ip_address(mux["tunnel_source6"]) if "tunnel_source6" in mux else None
    for vi, v in enumerate(s.get("vips", [])):
        vip = {"addr": addr(v["address"], f"sluice.vips.[{vi}].address", v["_line_address"]),
               "proto": 6 if v["protocol"] == "tcp" else 17, "port": v["port"], "dips": []}
        for di, d in enumerate(v.get("dips", [])):
            w = f"sluice.vips.[{vi}].dips.[{di}]"
            vip["dips"].append((addr(d["address"], w + ".address", d["_line_address"]),
                                d.get("port", v["port"]),
                                addr(d["host"], w + ".host", d["_line_host"])))
        cfg["vips"].append(vip)
    return cfg


# ------------------------------------------------------------ helpers

def l4_checksum_ok(pkt):
    l4 = pkt[TCP] if TCP in pkt else pkt[UDP] if UDP in pkt else None
    if l4 is None:
        return True
    got = l4.chksum
    c = pkt.copy()
    del c[l4.__class__].chksum
    want = c.__class__(bytes(c))[l4.__class__].chksum
    return got == want


def ip_header_ok(data):
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) + data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


class Port:
    def __init__(self, name, iface, mac, cfg):
        self.name, self.iface, self.mac, self.cfg = name, iface, mac.lower(), cfg
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, 0x400454CA, struct.pack("16sH", iface.encode(), 0x0002 | 0x1000))
        subprocess.run(["ip", "link", "set", "dev", iface, "address", self.mac, "up"], check=True)
        self.neigh = {}

    def addrs(self):
        return [i.ip for i in self.cfg["ifaces"]]

    def onlink(self, a):
        return any(a in i.network for i in self.cfg["ifaces"] if i.version == a.version)

    def src_for(self, a):
        for i in self.cfg["ifaces"]:
            if i.version == a.version:
                return i.ip
        return None


class Fake:
    def __init__(self, argv):
        self.prefix, self.vdevs, self.cfg_path = None, [], None
        eal, _, app = (argv[:argv.index("--")], None, argv[argv.index("--") + 1:]) \
            if "--" in argv else (argv, None, [])
        for k, a in enumerate(eal):
            if a == "--file-prefix":
                self.prefix = eal[k + 1]
            if a == "--vdev":
                name, *kv = eal[k + 1].split(",")
                self.vdevs.append((name, dict(x.split("=", 1) for x in kv)))
        if "-c" in app:
            self.cfg_path = app[app.index("-c") + 1]
        if "--check-config" in app:
            load_config(self.cfg_path)
            sys.exit(0)
        self.stats = {c: 0 for c in COUNTERS}
        self.stats.update({"drop_" + d: 0 for d in DROPS})
        self.cfg = load_config(self.cfg_path)
        self.ports = {}
        for p in self.cfg["ports"]:
            dev = dict(self.vdevs).get(p["device"])
            if dev is None:
                raise CfgError(f"{self.cfg_path}: port '{p['name']}': no device {p['device']}")
            self.ports[p["name"]] = Port(p["name"], dev["iface"], dev.get("mac", "02:00:00:00:00:01"), p)
        self.flows = {}   # mux: 5-tuple -> (dip, dport, host)
        self.conns = {}   # host: (client, cport, vip, vport, proto) -> (dip, dport)
        self.rconns = {}  # host: (dip, dport, client, cport, proto) -> (vip, vport)
        self.reload_flag = self.stop_flag = False
        self.tel_path = f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2"
        os.makedirs(os.path.dirname(self.tel_path), exist_ok=True)
        if os.path.exists(self.tel_path):
            os.unlink(self.tel_path)
        self.tel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.tel.bind(self.tel_path)
        self.tel.listen(4)
        self.tel.setblocking(False)
        self.clients = []

    # -------------------------------------------------------- control
    def reload(self):
        try:
            new = load_config(self.cfg_path)
        except (CfgError, KeyError, ValueError) as e:
            msg = str(e) if isinstance(e, CfgError) else f"{self.cfg_path}:1: {e}"
            print(f"sluice: reload rejected: {msg}", file=sys.stderr, flush=True)
            return {"result": "error", "message": msg}
        self.cfg["vips"] = new["vips"]
        if os.environ.get("FAKESLUICE_FAULT") == "flush_on_reload":
            self.flows.clear()
            self.conns.clear()
            self.rconns.clear()
        print("sluice: reload applied", file=sys.stderr, flush=True)
        return {"result": "ok"}

    def telemetry(self, cmd):
        if cmd == "/sluice/stats":
            return {cmd: dict(self.stats)}
        if cmd == "/sluice/reload":
            return {cmd: self.reload()}
        return {cmd: None}

    # -------------------------------------------------------- output
    def send(self, port, frame):
        os.write(port.fd, bytes(frame))
        self.stats["tx_packets"] += 1

    def resolve(self, port, nh):
        mac = port.neigh.get(nh)
        if mac:
            return mac
        src = port.src_for(nh)
        if nh.version == 4:
            self.send(port, Ether(src=port.mac, dst="ff:ff:ff:ff:ff:ff")
                      / ARP(op=1, hwsrc=port.mac, psrc=str(src), pdst=str(nh)))
        else:
            sn = ipaddress.ip_address(int(ipaddress.ip_address("ff02::1:ff00:0")) | (int(nh) & 0xFFFFFF))
            dmac = "33:33:" + ":".join(f"{b:02x}" for b in sn.packed[-4:])
            self.send(port, Ether(src=port.mac, dst=dmac) / IPv6(src=str(src), dst=str(sn), hlim=255)
                      / ICMPv6ND_NS(tgt=str(nh)) / ICMPv6NDOptSrcLLAddr(lladdr=port.mac))
        return None

    def route_out(self, port, dst, l3):
        nh = dst if port.onlink(dst) else (port.cfg["gw4"] if dst.version == 4 else port.cfg["gw6"])
        if nh is None:
            self.stats["drop_not_for_us"] += 1
            return
        mac = self.resolve(port, nh)
        if mac is None:
            self.stats["drop_no_neighbour"] += 1
            return
        self.send(port, Ether(src=port.mac, dst=mac) / l3)

    # -------------------------------------------------------- input
    def rx(self, port, data):
        self.stats["rx_packets"] += 1
        if os.environ.get("FAKESLUICE_FAULT") == "no_drop_counters":
            self.stats = {k: 0 if k.startswith("drop_") else v for k, v in self.stats.items()}
        if len(data) < 14:
            self.stats["drop_truncated"] += 1
            return
        dmac = ":".join(f"{b:02x}" for b in data[:6])
        if dmac != port.mac and not (data[0] & 1):
            return  # flooded unicast for someone else
        et = struct.unpack("!H", data[12:14])[0]
        l3 = data[14:]
        if et == 0x0806:
            return self.arp(port, Ether(data))
        if et == 0x0800:
            if len(l3) < 20 or len(l3) < (l3[0] & 15) * 4:
                self.stats["drop_truncated"] += 1
                return
            if l3[0] >> 4 != 4:
                self.stats["drop_bad_version"] += 1
                return
            if (l3[0] & 15) < 5:
                self.stats["drop_bad_ihl"] += 1
                return
            if not ip_header_ok(l3[:(l3[0] & 15) * 4]):
                self.stats["drop_bad_ip_checksum"] += 1
                return
            tot = struct.unpack("!H", l3[2:4])[0]
            if tot > len(l3) or tot < (l3[0] & 15) * 4:
                self.stats["drop_bad_length"] += 1
                return
            return self.ip(port, IP(l3[:tot]))
        if et == 0x86DD:
            if len(l3) < 40:
                self.stats["drop_truncated"] += 1
                return
            if l3[0] >> 4 != 6:
                self.stats["drop_bad_version"] += 1
                return
            return self.ip(port, IPv6(l3[:40 + struct.unpack("!H", l3[4:6])[0]]))
        self.stats["drop_non_ip"] += 1

    def arp(self, port, f):
        a = f[ARP]
        port.neigh[ipaddress.ip_address(a.psrc)] = a.hwsrc.lower()
        if a.op == 1 and ipaddress.ip_address(a.pdst) in port.addrs():
            self.send(port, Ether(src=port.mac, dst=a.hwsrc)
                      / ARP(op=2, hwsrc=port.mac, psrc=a.pdst, hwdst=a.hwsrc, pdst=a.psrc))

    def vip_of(self, dst):
        return [v for v in self.cfg["vips"] if v["addr"] == dst]

    def ip(self, port, p):
        dst, src = ipaddress.ip_address(p.dst), ipaddress.ip_address(p.src)
        v6 = p.version == 6
        proto = p.nh if v6 else p.proto
        frag = (not v6 and (p.flags.MF or p.frag)) or (v6 and proto == 44)
        h = self.cfg["host"]
        if v6 and proto == 58 and ICMPv6ND_NS in p:
            tgt = ipaddress.ip_address(p[ICMPv6ND_NS].tgt)
            if ICMPv6NDOptSrcLLAddr in p:
                port.neigh[src] = p[ICMPv6NDOptSrcLLAddr].lladdr.lower()
            if tgt in port.addrs():
                self.send(port, Ether(src=port.mac, dst=port.neigh.get(src, "33:33:00:00:00:01"))
                          / IPv6(src=str(tgt), dst=str(src), hlim=255)
                          / ICMPv6ND_NA(tgt=str(tgt), R=0, S=1, O=1)
                          / ICMPv6NDOptDstLLAddr(lladdr=port.mac))
            return
        if v6 and proto == 58 and ICMPv6ND_NA in p:
            if ICMPv6NDOptDstLLAddr in p:
                port.neigh[ipaddress.ip_address(p[ICMPv6ND_NA].tgt)] = p[ICMPv6NDOptDstLLAddr].lladdr.lower()
            return
        if dst.is_multicast:
            return
        if dst in port.addrs():
            if not v6 and ICMP in p and p[ICMP].type == 8:
                r = IP(src=p.dst, dst=p.src) / ICMP(type=0, id=p[ICMP].id, seq=p[ICMP].seq) / p[ICMP].payload
                return self.route_out(port, src, r)
            if v6 and ICMPv6EchoRequest in p:
                q = p[ICMPv6EchoRequest]
                return self.route_out(port, src, IPv6(src=p.dst, dst=p.src)
                                      / ICMPv6EchoReply(id=q.id, seq=q.seq, data=q.data))
            if h and proto in (4, 41) and dst in (h["a4"], h["a6"]):
                return self.decap(p)
            self.stats["exception"] += 1
            return
        vips = self.vip_of(dst) if "mux" in self.cfg["roles"] else []
        if vips:
            if frag:
                self.stats["drop_fragment"] += 1
                return
            if proto not in (6, 17):
                self.stats["drop_unsupported_l4"] += 1
                return
            l4 = p[TCP] if proto == 6 else p[UDP]
            vip = [v for v in vips if v["proto"] == proto and v["port"] == l4.dport]
            if not vip:
                self.stats["drop_unknown_port"] += 1
                return
            return self.mux(p, vip[0], proto, l4)
        if h and port.name == h["backend"] and proto in (6, 17):
            return self.reply(p, proto)
        if "mux" in self.cfg["roles"]:
            self.stats["drop_unknown_vip"] += 1
        else:
            self.stats["drop_not_for_us"] += 1

    def mux(self, p, vip, proto, l4):
        key = (p.src, p.dst, proto, l4.sport, l4.dport)
        d = self.flows.get(key)
        if d:
            self.stats["mux_flow_hit"] += 1
        else:
            if not vip["dips"]:
                self.stats["drop_no_backend"] += 1
                return
            d = vip["dips"][zlib.crc32(repr(key).encode()) % len(vip["dips"])]
            self.flows[key] = d
            self.stats["mux_flow_new"] += 1
        host = d[2]
        fab = next(iter(self.ports.values()))
        if host.version == 4:
            outer = IP(src=str(self.cfg["tsrc4"] or fab.src_for(host)), dst=str(host), proto=4,
                       flags="DF", ttl=64) / p
        else:
            outer = IPv6(src=str(self.cfg["tsrc6"] or fab.src_for(host)), dst=str(host), nh=41,
                         hlim=64) / p
        if len(outer) > fab.cfg["mtu"]:
            self.stats["drop_too_big"] += 1
            return
        self.stats["mux_encap"] += 1
        self.route_out(fab, host, outer)

    def decap(self, outer):
        inner = outer.payload
        src = ipaddress.ip_address(outer.src)
        if not any(src in n for n in self.cfg["host"]["sources"]):
            self.stats["drop_bad_tunnel_source"] += 1
            return
        if not isinstance(inner, (IP, IPv6)):
            self.stats["drop_bad_tunnel"] += 1
            return
        self.stats["host_decap"] += 1
        proto = inner.nh if inner.version == 6 else inner.proto
        if proto not in (6, 17) or not l4_checksum_ok(inner):
            self.stats["drop_bad_l4_checksum" if proto in (6, 17) else "drop_unsupported_l4"] += 1
            return
        h = self.cfg["host"]
        l4 = inner[TCP] if proto == 6 else inner[UDP]
        key = (inner.src, l4.sport, inner.dst, l4.dport, proto)
        d = self.conns.get(key)
        if d is None:
            me = (h["a4"], h["a6"])
            for v in self.cfg["vips"]:
                if str(v["addr"]) == inner.dst and v["port"] == l4.dport and v["proto"] == proto:
                    local = [x for x in v["dips"] if x[2] in me]
                    if local:
                        d = (str(local[0][0]), local[0][1])
            if d is None:
                self.stats["drop_no_backend"] += 1
                return
            self.conns[key] = d
            self.rconns[(d[0], d[1], inner.src, l4.sport, proto)] = (inner.dst, l4.dport)
            self.stats["host_conn_new"] += 1
        pkt = inner.copy()
        pkt.dst = d[0]
        pkt[l4.__class__].dport = d[1]
        del pkt[l4.__class__].chksum
        if pkt.version == 4:
            del pkt.chksum
        self.stats["host_to_dip"] += 1
        self.route_out(self.ports[h["backend"]], ipaddress.ip_address(d[0]), pkt)

    def reply(self, p, proto):
        l4 = p[TCP] if proto == 6 else p[UDP]
        v = self.rconns.get((p.src, l4.sport, p.dst, l4.dport, proto))
        if v is None:
            self.stats["drop_no_connection"] += 1
            return
        pkt = p.copy()
        pkt.src = v[0]
        pkt[l4.__class__].sport = v[1]
        del pkt[l4.__class__].chksum
        if pkt.version == 4:
            del pkt.chksum
        self.stats["host_reply"] += 1
        self.route_out(self.ports[self.cfg["host"]["uplink"]], ipaddress.ip_address(p.dst), pkt)

    # -------------------------------------------------------- loop
    def run(self):
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "reload_flag", True))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_flag", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stop_flag", True))
        print("sluice: ready (fake, tests/lab/fakesluice.py)", file=sys.stderr, flush=True)
        byfd = {p.fd: p for p in self.ports.values()}
        while not self.stop_flag:
            if self.reload_flag:
                self.reload_flag = False
                self.reload()
            try:
                r, _, _ = select.select(list(byfd) + [self.tel] + self.clients, [], [], 0.2)
            except InterruptedError:
                continue
            for x in r:
                if x is self.tel:
                    c, _ = self.tel.accept()
                    c.send(json.dumps({"version": "fake", "pid": os.getpid(),
                                       "max_output_len": 16384}).encode())
                    self.clients.append(c)
                elif isinstance(x, socket.socket):
                    try:
                        cmd = x.recv(1024).decode()
                    except OSError:
                        cmd = ""
                    if not cmd:
                        self.clients.remove(x)
                        x.close()
                        continue
                    x.send(json.dumps(self.telemetry(cmd.split(",")[0])).encode())
                else:
                    for _ in range(64):
                        try:
                            data = os.read(x, 65536)
                        except BlockingIOError:
                            break
                        try:
                            self.rx(byfd[x], data)
                        except Exception as e:  # a stand-in must not die on odd input
                            print(f"fake: {e!r}", file=sys.stderr, flush=True)
        os.unlink(self.tel_path)
        return 0


def main():
    try:
        return Fake(sys.argv[1:]).run()
    except CfgError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
