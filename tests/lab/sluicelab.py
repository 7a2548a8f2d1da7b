#!/usr/bin/python3
"""
Sluice lab: a client, a router, a mux and two host agents with one backend
each, all inside network namespaces this module creates (see docs/lab.md).

    client ── router ──┬── fabric bridge ──┬── mux (sluice, TAP)
                       │                   ├── host1 uplink (sluice, TAP) ── be1 bridge ── backend1
                       │                   └── host2 uplink (sluice, TAP) ── be2 bridge ── backend2

Used by the pytest lab (tests/lab/*.py) and by tools/demo. Command line:

    sluicelab.py --selftest          build the topology without sluice, check it, tear it down
    sluicelab.py demo [--check]      the demo (tools/demo calls this after building)
    sluicelab.py cleanup             remove what crashed runs left behind
    sluicelab.py telemetry PREFIX [CMD]   one telemetry command (default /sluice/stats)

Safety: every address lives in namespaces created here, only in the
documentation / benchmark ranges; no namespace has a link to the root
namespace or a route out; every loop is bounded in count and time; teardown
runs from try/finally, atexit and signal handlers, and each start removes what
a crashed earlier run left (namespaces, DPDK runtime dirs, work dirs).
"""

import argparse
import atexit
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO / "build" / "app" / "sluice"
CONFIG_DIR = REPO / "config" / "lab"
PYTHON = "/usr/bin/python3"  # Debian's scapy and pytest live here
HERE = Path(__file__).resolve()

# ---------------------------------------------------------------- addresses

VIP4 = "203.0.113.10"
VIP6 = "2001:db8:100::10"
VIP_PORT = 80
UNKNOWN_VIP4 = "203.0.113.99"     # routed to the mux, served by nobody
UNKNOWN_VIP6 = "2001:db8:100::99"
CLIENT4, CLIENT6 = "198.51.100.2", "2001:db8:1::2"
ROUTER_CLI4, ROUTER_CLI6 = "198.51.100.1", "2001:db8:1::1"
GATEWAY4, GATEWAY6 = "192.0.2.1", "2001:db8:2::1"      # router's fabric leg
MUX4, MUX6 = "192.0.2.10", "2001:db8:2::10"
BACKEND_PORT = 8080

BACKENDS = {
    # name: (ns role, v4, v6, gateway v4, gateway v6, bridge)
    "backend1": ("be1", "198.18.1.2", "2001:db8:11::2", "198.18.1.1", "2001:db8:11::1", "br-be1"),
    "backend2": ("be2", "198.18.2.2", "2001:db8:12::2", "198.18.2.1", "2001:db8:12::1", "br-be2"),
}

# Each sluice instance runs in a namespace of its own (named after it), where
# it creates its kernel interfaces (exception path); the lab moves its data
# TAPs into the lab namespace's bridges (docs/lab.md).
INSTANCE_ROLES = ("mux", "host1", "host2")
ROLES = ("client", "router", "lab", "be1", "be2") + INSTANCE_ROLES
PROBE_ROLE = "probe"  # self-test only



def lcore_args(spec):
    """EAL lcore option: a mapping such as "0@0,1@0,2@1" (more lcores than
    CPUs: several workers in a lab) needs --lcores; a plain list is -l."""
    return ["--lcores" if "@" in spec else "-l", spec]


class Tap:
    """One net_tap port of a sluice instance, as seen in the lab namespace.

    net_tap gives the kernel side of the TAP the port's own MAC, and restores it
    whenever the port starts. A bridge treats the MACs of its ports as local and
    would swallow every frame sent to the DPDK port. So the lab attaches a TAP
    only once its instance is ready (ports started) and first gives the kernel
    side another MAC (kernel_mac); fix_taps() repairs it if it ever reverts."""

    def __init__(self, ifname, pmd_mac, bridge, mtu):
        self.ifname = ifname      # kernel interface name (iface= devarg), <= 15 chars
        self.pmd_mac = pmd_mac    # the DPDK port's MAC (mac= devarg)
        self.kernel_mac = "fe" + pmd_mac[2:]
        self.bridge = bridge
        self.mtu = mtu


class Instance:
    def __init__(self, name, cfg, taps, addrs, lcores, kernel_ifs=()):
        self.name = name
        self.kernel_ifs = kernel_ifs  # what sluice creates in its namespace ("sl-" + port name)
        self.lcores = lcores      # EAL -l
        self.cfg = cfg            # file name in config/lab
        self.taps = taps
        self.addrs = addrs        # addresses it answers ping/ARP/ND for (fabric side)


# net_tap (DPDK 22.11) cannot take an MTU above 1500 (max frame 1522), so the
# fabric stays at 1500 and the client's link gets 1400: client packets (and,
# through the MSS, the backends' replies) leave room for the 20/40-byte tunnel
# header, like a fabric with a larger MTU than the edge.
FABRIC_MTU = 1500
CLIENT_MTU = 1400

INSTANCES = {
    "mux": Instance("mux", "mux.cfg",
                    [Tap("sl-mux", "02:5e:00:00:00:10", "br-fab", FABRIC_MTU)],
                    [MUX4, MUX6], "0", ("sl-fabric",)),
    "host1": Instance("host1", "host1.cfg",
                      [Tap("sl-h1up", "02:5e:00:00:00:21", "br-fab", FABRIC_MTU),
                       Tap("sl-h1be", "02:5e:00:00:01:01", "br-be1", 1500)],
                      ["192.0.2.21", "2001:db8:2::21"], "1", ("sl-fabric", "sl-backend")),
    "host2": Instance("host2", "host2.cfg",
                      [Tap("sl-h2up", "02:5e:00:00:00:22", "br-fab", FABRIC_MTU),
                       Tap("sl-h2be", "02:5e:00:00:02:01", "br-be2", 1500)],
                      ["192.0.2.22", "2001:db8:2::22"], "1", ("sl-fabric", "sl-backend")),
}
MUX_MAC = INSTANCES["mux"].taps[0].pmd_mac

READY_LINE = "sluice: ready"


class LabError(Exception):
    pass


def log(msg):
    print(f"[lab] {msg}", file=sys.stderr, flush=True)


_scapy = None


def scapy():
    """scapy.all, imported on first use (it takes a second or two to load)."""
    global _scapy
    if _scapy is None:
        import scapy.all as s
        _scapy = s
    return _scapy


# ---------------------------------------------------------------- commands

def run(argv, ns=None, check=True, timeout=20, input=None):
    """Run a command (inside namespace ns if given), bounded by timeout."""
    argv = [str(a) for a in argv]
    if ns:
        argv = ["ip", "netns", "exec", ns] + argv
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {' '.join(argv)}") from e
    if check and r.returncode != 0:
        raise LabError(f"failed ({r.returncode}): {' '.join(argv)}\n{r.stderr.strip()}")
    return r


def ip(ns, *args, check=True):
    return run(["ip", "-n", ns] + list(args), check=check)


def ip_batch(ns, lines):
    """Several ip commands in one process (fast); any failure fails the batch."""
    if lines:
        run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")


def set_sysctls(ns, values):
    """Write /proc/sys entries inside namespace ns (net.* sysctls are per namespace)."""
    script = "; ".join(
        f"if [ -e /proc/sys/{k.replace('.', '/')} ]; then echo {v} > /proc/sys/{k.replace('.', '/')}; fi"
        for k, v in values.items())
    run(["sh", "-ec", script], ns=ns)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def kill_pid(pid, grace=5.0):
    """SIGTERM one process by id, SIGKILL it after grace seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        if not pid_alive(pid):
            return
        try:  # reap if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ns_list():
    r = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def ns_pids(ns):
    r = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def delete_ns(ns):
    """Stop every process inside ns (all started by this lab), then delete it."""
    for _ in range(3):
        pids = [p for p in ns_pids(ns) if p != os.getpid()]
        if not pids:
            break
        for p in pids:
            kill_pid(p, grace=3.0)
    run(["ip", "netns", "del", ns], check=False)


def owner_alive(pid):
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"python" in cmd or b"pytest" in cmd or b"demo" in cmd


def cleanup_stale(verbose=True, tag_base="slab", roles=ROLES + (PROBE_ROLE,)):
    """Remove what a crashed earlier run left: only names of our own pattern
    whose owning process is gone."""
    removed = []
    stale_ns_re = re.compile(rf"^{tag_base}(\d+)-(?:\d+-)?({'|'.join(roles)})$")
    tag_re = re.compile(rf"^{tag_base}(\d+)-(?:\d+-)?")
    for ns in ns_list():
        m = stale_ns_re.match(ns)
        if m and not owner_alive(int(m.group(1))):
            delete_ns(ns)
            removed.append(f"netns {ns}")
    kept = []
    for base in (Path("/var/run/dpdk"), Path("/tmp")):
        if not base.is_dir():
            continue
        for d in base.iterdir():
            name = d.name[len("sluicelab-"):] if d.name.startswith("sluicelab-") else d.name
            if base == Path("/tmp") and not d.name.startswith("sluicelab-"):
                continue
            m = tag_re.match(name)
            if m and not owner_alive(int(m.group(1))):
                if (d / KEEP_MARK).exists():
                    kept.append(d)  # logs of a failed run, kept on purpose
                    continue
                shutil.rmtree(d, ignore_errors=True)
                removed.append(str(d))
    # keep the logs of the last few failed runs only
    kept.sort(key=lambda d: d.stat().st_mtime)
    for d in kept[:-KEEP_RUNS]:
        shutil.rmtree(d, ignore_errors=True)
        removed.append(str(d))
    if removed and verbose:
        log("removed leftovers of a crashed run: " + ", ".join(removed))
    return removed


KEEP_MARK = "KEPT-FOR-DEBUGGING"
KEEP_RUNS = 5


def leftovers(tag):
    """Everything of run `tag` still present (for the self-test)."""
    left = [f"netns {n}" for n in ns_list() if n.startswith(tag)]
    for base in (Path("/var/run/dpdk"),):
        if base.is_dir():
            left += [str(d) for d in base.iterdir() if d.name.startswith(tag)]
    left += [str(d) for d in Path("/tmp").iterdir() if d.name.startswith("sluicelab-" + tag)]
    return left


# ---------------------------------------------------------------- telemetry

class Telemetry:
    """Client of DPDK's telemetry socket (AF_UNIX, SOCK_SEQPACKET)."""

    def __init__(self, file_prefix):
        self.path = f"/var/run/dpdk/{file_prefix}/dpdk_telemetry.v2"

    def exists(self):
        return os.path.exists(self.path)

    def command(self, cmd, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(timeout)
        try:
            s.connect(self.path)
            hello = json.loads(s.recv(65536).decode())
            maxlen = max(int(hello.get("max_output_len", 16384)), 16384)
            s.send(cmd.encode())
            data = s.recv(maxlen + 1024)
        finally:
            s.close()
        if not data:
            raise LabError(f"telemetry {self.path}: empty answer to {cmd}")
        return json.loads(data.decode())

    def get(self, cmd, timeout=5.0):
        reply = self.command(cmd, timeout)
        if cmd.split(",")[0] not in reply:
            raise LabError(f"telemetry {self.path}: unexpected answer to {cmd}: {reply}")
        return reply[cmd.split(",")[0]]


# ---------------------------------------------------------------- configs

def dip_line_re(addr):
    return re.compile(r'^[^\n]*\{[^\n]*address\s*=\s*"' + re.escape(addr) + r'"[^\n]*\}[^\n]*\n', re.M)


def remove_dips(text, addrs):
    """Config text without the DIPs at the given addresses (one DIP per line,
    as in config/lab/*.cfg); VIPs left without any DIP are removed."""
    for a in addrs:
        text = dip_line_re(a).sub("", text)
    m = re.search(r"\bvips\s*=\s*\(", text)
    if not m:
        return text
    # split the vips list into its top-level { ... } blocks
    i, depth, start, blocks = m.end(), 0, None, []
    while i < len(text):
        c = text[i]
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                blocks.append(text[start:i + 1])
        elif c == ")" and depth == 0:
            break
        i += 1
    end = i  # the ')' closing the vips list
    kept = [b for b in blocks if not re.search(r"\bdips\s*=\s*\(\s*\)", b)]
    # drop a trailing comma left by a removed last DIP line
    kept = [re.sub(r",(\s*\)\s*;)", r"\1", b) for b in kept]
    body = ",\n    ".join(kept)
    inner = ("\n    " + body + "\n  ") if kept else " "
    return text[:m.end()] + inner + text[end:]


# ---------------------------------------------------------------- the lab

class Lab:
    _count = 0
    # What a lab is made of; a subclass may build another (tests/lab/bgplab.py).
    TAG_BASE = "slab"
    ROLES = ROLES
    INSTANCE_ROLES = INSTANCE_ROLES
    INSTANCES = INSTANCES

    def __init__(self, binary=None, lcores=None, keep_workdir=False, config_dir=CONFIG_DIR):
        n = Lab._count
        Lab._count += 1
        self.tag = f"{self.TAG_BASE}{os.getpid()}-" + (f"{n}-" if n else "")
        self.ns = {r: self.tag + r for r in self.ROLES}
        self.binary = Path(binary or os.environ.get("SLUICE_BIN", DEFAULT_BINARY))
        # One lcore per instance: the main lcore is then the worker and sleeps
        # when idle (idle_sleep_us), so three instances share two cores with
        # few threads. SLUICE_LAB_LCORES="0,1" gives every instance that -l.
        self.lcores = lcores or os.environ.get("SLUICE_LAB_LCORES")
        self.keep_workdir = keep_workdir
        # SLUICE_LAB_CONFIG_DIR: the lab configs to run an older binary with
        # (e.g. `git show REV:config/lab/X.cfg` copies); only when the default is asked for
        if config_dir == CONFIG_DIR and os.environ.get("SLUICE_LAB_CONFIG_DIR"):
            config_dir = os.environ["SLUICE_LAB_CONFIG_DIR"]
        self.config_dir = Path(config_dir)
        self.workdir = None
        self.procs = []          # (name, Popen, logpath)
        self.sluice = {}         # instance name -> Popen
        self.exit_codes = {}
        self.extra_ns = []
        self._down = False
        self._lock = threading.Lock()
        self.macs = {}

    # -- context manager / teardown guarantees
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def prefix(self, inst):
        return self.tag + inst

    def telemetry(self, inst):
        return Telemetry(self.prefix(inst))

    # ------------------------------------------------------------ topology
    def up(self, backends=True):
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, TAP interfaces)")
        cleanup_stale(tag_base=self.TAG_BASE, roles=self.ROLES + (PROBE_ROLE,))
        atexit.register(self.down)
        self.workdir = Path(tempfile.mkdtemp(prefix="sluicelab-" + self.tag, dir="/tmp"))
        log(f"building topology {self.tag}* (work dir {self.workdir})")
        for role in self.ROLES:
            run(["ip", "netns", "add", self.ns[role]])
            ip(self.ns[role], "link", "set", "lo", "up")
        c, r, lab = self.ns["client"], self.ns["router"], self.ns["lab"]

        # lab: L2 only. No IPv6 on bridges and bridge ports (no DAD, RS, MLD noise);
        # set before any interface exists so TAPs created later inherit it.
        set_sysctls(lab, {
            "net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1,
            "net.ipv4.ip_forward": 0,
            "net.bridge.bridge-nf-call-iptables": 0, "net.bridge.bridge-nf-call-ip6tables": 0,
            "net.bridge.bridge-nf-call-arptables": 0,
        })
        set_sysctls(r, {
            "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1,
            "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
            "net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0,
            "net.ipv4.conf.all.send_redirects": 0, "net.ipv4.conf.default.send_redirects": 0,
        })
        # Instances: IPv6 off on new interfaces, so a data TAP's kernel side sends
        # nothing into sluice before the lab moves it; sluice turns IPv6 on for
        # the kernel interfaces it makes (they carry IPv6 addresses).
        for role in self.INSTANCE_ROLES:
            set_sysctls(self.ns[role], {"net.ipv6.conf.default.disable_ipv6": 1})
        for role in ("client", "be1", "be2"):
            set_sysctls(self.ns[role], {
                "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
                "net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0,
                "net.ipv6.conf.default.accept_ra": 0,
            })

        ip_batch(lab, [f"link add {b} type bridge stp_state 0 forward_delay 0 mcast_snooping 0"
                       for b in ("br-fab", "br-be1", "br-be2")]
                 + [f"link set {b} up" for b in ("br-fab", "br-be1", "br-be2")])

        # client <-> router
        ip(c, "link", "add", "eth0", "type", "veth", "peer", "name", "cli0", "netns", r)
        ip_batch(c, ["addr add 198.51.100.2/24 dev eth0", "addr add 2001:db8:1::2/64 dev eth0 nodad",
                     f"link set eth0 mtu {CLIENT_MTU}", "link set eth0 up",
                     "route add default via 198.51.100.1",
                     "route add ::/0 via 2001:db8:1::1"])
        # router <-> fabric bridge
        ip(r, "link", "add", "fab0", "type", "veth", "peer", "name", "rtr", "netns", lab)
        ip_batch(lab, ["link set rtr master br-fab", "link set rtr up"])
        ip_batch(r, ["addr add 198.51.100.1/24 dev cli0", "addr add 2001:db8:1::1/64 dev cli0 nodad",
                     f"link set cli0 mtu {CLIENT_MTU}", "link set cli0 up",
                     "addr add 192.0.2.1/24 dev fab0", "addr add 2001:db8:2::1/64 dev fab0 nodad",
                     "link set fab0 up"] + self.router_routes())
        # backends <-> their bridges
        for name, (role, a4, a6, g4, g6, br) in BACKENDS.items():
            ns = self.ns[role]
            ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", role, "netns", lab)
            ip_batch(lab, [f"link set {role} master {br}", f"link set {role} up"])
            ip_batch(ns, [f"addr add {a4}/24 dev eth0", f"addr add {a6}/64 dev eth0 nodad",
                          "link set eth0 up", f"route add default via {g4}",
                          f"route add ::/0 via {g6}"])
        self.macs["router_fab"] = self.link_mac(r, "fab0")
        self.macs["router_cli"] = self.link_mac(r, "cli0")
        self.macs["client"] = self.link_mac(c, "eth0")
        if backends:
            self.start_backends()
        return self

    def router_routes(self):
        """The router's static routes to the VIPs (ip route commands)."""
        return [f"route add {VIP4}/32 via {MUX4} dev fab0",
                f"route add {UNKNOWN_VIP4}/32 via {MUX4} dev fab0",
                f"route add {VIP6}/128 via {MUX6} dev fab0",
                f"route add {UNKNOWN_VIP6}/128 via {MUX6} dev fab0"]

    def link_mac(self, ns, dev):
        r = ip(ns, "-j", "link", "show", "dev", dev, check=False)
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)[0]["address"].lower()
        except (ValueError, IndexError, KeyError):
            return None

    # ------------------------------------------------------------ processes
    def spawn(self, name, argv, ns=None, stdin=subprocess.DEVNULL, stdout=None):
        argv = [str(a) for a in argv]
        if ns:
            argv = ["ip", "netns", "exec", ns] + argv
        logpath = self.workdir / f"{name}.log"
        logf = open(logpath, "ab")
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout if stdout else logf,
                             stderr=logf, start_new_session=True)
        logf.close()
        with self._lock:
            self.procs.append((name, p, logpath))
        return p, logpath

    def stop(self, p, grace=5.0):
        """SIGTERM a process we started, SIGKILL after grace seconds; returns
        its exit status (negative: killed by that signal)."""
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                return p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} ignored SIGTERM for {grace}s: SIGKILL")
                p.kill()
            except ProcessLookupError:
                pass
        try:
            return p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def start_backends(self, timeout=15):
        for name, (role, *_rest) in BACKENDS.items():
            p, lp = self.spawn(name, [PYTHON, HERE, "_backend", name, "--port", BACKEND_PORT],
                               ns=self.ns[role], stdout=subprocess.PIPE)
            line = read_line(p.stdout, timeout)
            if not line.startswith("ready"):
                raise LabError(f"{name} HTTP server did not start: {line!r}\n{tail(lp)}")

    def write_configs(self, remove=()):
        """Copy config/lab/*.cfg to the work dir, without the DIPs in `remove`."""
        paths = {}
        for name, inst in self.INSTANCES.items():
            text = (self.config_dir / inst.cfg).read_text()
            if remove:
                text = remove_dips(text, remove)
            path = self.workdir / inst.cfg
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)  # never a half-written file at reload
            paths[name] = path
        return paths

    def eal_args(self, inst, lcores=None):
        args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                "--file-prefix", self.prefix(inst.name)] + lcore_args(lcores or self.lcores or inst.lcores)
        for i, t in enumerate(inst.taps):
            args += ["--vdev", f"net_tap{i},iface={t.ifname},mac={t.pmd_mac}"]
        return args

    def start_sluice(self, names=None, timeout=40):
        names = tuple(self.INSTANCES) if names is None else names
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            raise LabError(f"sluice binary not found or not executable: {self.binary} "
                           "(build it: meson setup build && ninja -C build)")
        paths = self.write_configs()
        deadline = time.monotonic() + timeout
        log_from = {}
        for n in names:
            inst = self.INSTANCES[n]
            argv = [self.binary] + self.eal_args(inst) + ["--", "-c", paths[n]]
            lp = self.workdir / f"{n}.log"
            log_from[n] = lp.stat().st_size if lp.exists() else 0  # a restart appends
            p, lp = self.spawn(n, argv, ns=self.ns[n])
            self.sluice[n] = p
            self.exit_codes.pop(n, None)
            log(f"started {n} (pid {p.pid}) in {self.ns[n]}: {' '.join(map(str, argv))}")
        for n in names:
            self.wait_ready(n, deadline, offset=log_from[n])
        for n in names:
            self.attach_taps(self.INSTANCES[n], self.sluice[n], deadline, ns=self.ns[n])
        log("all instances ready, TAPs attached")

    def kill_sluice(self, name, sig=signal.SIGKILL, timeout=10):
        """Signal one instance and wait for it to exit; returns its exit status.
        start_sluice((name,)) brings it back."""
        p = self.sluice[name]
        p.send_signal(sig)
        self.exit_codes[name] = p.wait(timeout=timeout)
        return self.exit_codes[name]

    def attach_taps(self, inst, p, deadline, ns=None):
        """Attach the TAPs of a started instance to their bridges (see Tap),
        moving them first from the namespace `ns` they were made in."""
        lab = self.ns["lab"]
        ns = ns or lab
        for t in inst.taps:
            while True:
                if p.poll() is not None:
                    raise LabError(f"{inst.name} exited ({p.returncode}) before creating "
                                   f"{t.ifname}:\n{tail(self.logpath(inst.name))}")
                mac = self.link_mac(ns, t.ifname)
                if mac is not None:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"{inst.name}: TAP {t.ifname} did not appear:\n"
                                   f"{tail(self.logpath(inst.name))}")
                time.sleep(0.05)
            if ns != lab:  # net_tap keeps reading and writing it through its descriptor
                ip(ns, "link", "set", "dev", t.ifname, "netns", lab)
            ip_batch(lab, [f"link set dev {t.ifname} address {t.kernel_mac}",
                           f"link set dev {t.ifname} mtu {t.mtu}",
                           f"link set dev {t.ifname} master {t.bridge}",
                           f"link set dev {t.ifname} up"])

    def fix_taps(self):
        """Give TAPs whose kernel side took the port's MAC back (a port restart)
        their own MAC again. Returns the names of the TAPs repaired."""
        fixed = []
        for n in self.sluice:
            for t in self.INSTANCES[n].taps if n in self.INSTANCES else []:
                if self.link_mac(self.ns["lab"], t.ifname) == t.pmd_mac:
                    ip(self.ns["lab"], "link", "set", "dev", t.ifname, "address", t.kernel_mac)
                    fixed.append(t.ifname)
        if fixed:
            log(f"TAP kernel MAC had reverted to the port MAC, repaired: {fixed}")
        return fixed

    def logpath(self, name):
        for n, _p, lp in self.procs:
            if n == name:
                return lp
        return None

    def wait_ready(self, name, deadline, line=READY_LINE, offset=0):
        """Wait for `line` in the instance's log after byte `offset`."""
        p, lp = self.sluice[name], self.logpath(name)
        while True:
            with open(lp, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            if line in text:
                return
            if p.poll() is not None:
                raise LabError(f"{name} exited ({p.returncode}) before '{line}':\n{tail(lp)}")
            if time.monotonic() > deadline:
                raise LabError(f"{name} not ready in time (no '{line}' line):\n{tail(lp)}")
            time.sleep(0.1)

    def check_alive(self):
        dead = {n: p.returncode for n, p in self.sluice.items() if p.poll() is not None}
        if dead:
            raise LabError("sluice instance(s) died: " + ", ".join(
                f"{n} (exit {c})\n{tail(self.logpath(n))}" for n, c in dead.items()))

    def stop_sluice(self):
        for n, p in list(self.sluice.items()):
            if n not in self.exit_codes:
                self.exit_codes[n] = self.stop(p, grace=8.0)
        return self.exit_codes

    def signal_all(self, sig, names=None):
        names = tuple(self.INSTANCES) if names is None else names
        for n in names:
            os.kill(self.sluice[n].pid, sig)

    # ------------------------------------------------------------ teardown
    def down(self, keep_workdir=None):
        if self._down:
            return
        self._down = True
        keep = self.keep_workdir if keep_workdir is None else keep_workdir
        try:
            self.stop_sluice()
        except Exception as e:  # teardown continues whatever happens
            log(f"stopping sluice: {e}")
        for _n, p, _lp in reversed(self.procs):
            try:
                self.stop(p, grace=3.0)
            except Exception as e:
                log(f"stopping pid {p.pid}: {e}")
        for ns in list(self.extra_ns) + [self.ns[r] for r in reversed(self.ROLES)]:
            delete_ns(ns)
        for n in list(self.INSTANCES) + ["check"]:
            shutil.rmtree(f"/var/run/dpdk/{self.prefix(n)}", ignore_errors=True)
        if self.workdir and self.workdir.exists():
            if keep:
                (self.workdir / KEEP_MARK).write_text(
                    "sluicelab keeps the work dirs of the last few failed runs\n")
                log(f"kept logs and captures in {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        log(f"topology {self.tag}* removed")

    # ------------------------------------------------------------ traffic
    def curl(self, url, n=1, ns="client", timeout_each=3, headers=(), data_file=None,
             connect_timeout=2):
        """n HTTP requests to url from namespace `ns`, each on a new connection.
        Returns a list of dicts: ok, exit, code, body, local_port."""
        argv = ["curl", "-g", "-s", "--connect-timeout", connect_timeout, "-m", timeout_each,
                "-H", "Connection: close",
                "-w", "\n@@SLUICE@@ %{exitcode} %{http_code} %{local_port} %{errormsg}\n"]
        for h in headers:
            argv += ["-H", h]
        if data_file:
            argv += ["--data-binary", f"@{data_file}"]
        argv += [url] * n
        r = run(argv, ns=self.ns[ns], check=False, timeout=n * (timeout_each + 1) + 10)
        out, body, results = r.stdout.splitlines(), [], []
        for line in out:
            if line.startswith("@@SLUICE@@"):
                _, ex, code, port, *err = line.split()
                text = "\n".join(body).strip()
                res = {"ok": ex == "0" and code == "200" and bool(text),
                       "exit": int(ex), "code": code, "body": text,
                       "local_port": int(port) if port.isdigit() else 0}
                if err:
                    res["error"] = " ".join(err)
                results.append(res)
                body = []
            else:
                body.append(line)
        while len(results) < n:  # curl killed or crashed
            results.append({"ok": False, "exit": -1, "code": "000", "body": "", "local_port": 0})
        return results

    def wait_vip(self, url, timeout=15):
        """Bounded wait until one request to url succeeds (neighbour resolution
        and flow set-up may lose the first SYNs). Returns the last result."""
        end, res = time.monotonic() + timeout, None
        while time.monotonic() < end:
            res = self.curl(url, 1, timeout_each=2, connect_timeout=2)[0]
            if res["ok"]:
                return res
            time.sleep(0.2)
        return res

    def ping(self, ns, addr, count=3):
        """Number of echo replies from addr (count requests, 1 s timeout each)."""
        r = run(["ping", "-n", "-c", count, "-i", "0.2", "-W", "1", addr],
                ns=self.ns[ns], check=False, timeout=count * 2 + 5)
        m = re.search(r"(\d+) received", r.stdout)
        return int(m.group(1)) if m else 0

    def warm_up(self):
        """Let every instance learn its neighbours (ping both ways, bounded)."""
        self.fix_taps()
        for inst in self.INSTANCES.values():
            for a in inst.addrs:
                self.ping("router", a, count=2)
        for name, (role, _a4, _a6, g4, g6, _br) in BACKENDS.items():
            self.ping(role, g4, count=2)
            self.ping(role, g6, count=2)

    def stats(self, inst):
        return self.telemetry(inst).get("/sluice/stats")

    def reload(self, inst):
        return self.telemetry(inst).get("/sluice/reload", timeout=10)

    def all_stats(self):
        out = {}
        for n in self.INSTANCES:
            try:
                out[n] = self.stats(n)
            except Exception as e:
                out[n] = {"error": str(e)}
        return out

    def diag(self):
        """Non-zero counters of every instance and dead instances, for messages."""
        out = []
        for n, st in self.all_stats().items():
            if "error" in st:
                out.append(f"  {n}: telemetry error: {st['error']}")
            else:
                out.append(f"  {n}: " + " ".join(f"{k}={v}" for k, v in st.items()
                                                   if isinstance(v, (int, float)) and v))
        for n, p in self.sluice.items():
            if p.poll() is not None:
                out.append(f"  {n} DIED (exit {p.returncode}):\n{tail(self.logpath(n))}")
        out.append(f"  (instance logs and captures: {self.workdir}, kept when a test fails)")
        return "\n".join(out)

    def check_config(self, path, timeout=20):
        """Run `sluice ... -- -c path --check-config` (no vdevs, lab-safe EAL
        options, inside the lab namespace). Returns the CompletedProcess."""
        eal = ["--no-huge", "-m", "64", "--no-pci", "--no-shconf",
               "--file-prefix", self.tag + "check", "-l", "0"]
        try:
            return run([self.binary] + eal + ["--", "-c", path, "--check-config"],
                       ns=self.ns["lab"], check=False, timeout=timeout)
        finally:
            shutil.rmtree(f"/var/run/dpdk/{self.tag}check", ignore_errors=True)

    # -- capture on an interface (by default in the lab namespace)
    def capture(self, ifname, name="capture", ns="lab"):
        return Capture(self, ifname, name, ns)

    # -- send a pcap of frames from inside a namespace
    def sendp(self, ns, iface, frames, name, interval=0.002):
        from scapy.all import wrpcap  # noqa: imported late: the self-test needs no scapy
        path = self.workdir / f"{name}.pcap"
        wrpcap(str(path), frames)
        run([PYTHON, HERE, "_sendpcap", iface, path, "--interval", interval],
            ns=self.ns[ns], timeout=30 + len(frames) * interval * 2)
        return len(frames)

    def keepalive_client(self, host, want, tries=40):
        return KeepAlive(self, host, want, tries)

    def download(self, url, path, max_time=20, ns="client", connect_timeout=3):
        """One GET of url from namespace `ns` into `path` (curl -m max_time).
        Returns {exit, code, size, local_port, error}; the file holds what arrived."""
        argv = ["curl", "-g", "-s", "-S", "--connect-timeout", connect_timeout, "-m", max_time,
                "-H", "Connection: close", "-o", path,
                "-w", "\n@@SLUICE@@ %{exitcode} %{http_code} %{size_download} %{local_port}\n", url]
        r = run(argv, ns=self.ns[ns], check=False, timeout=max_time + 15)
        res = {"exit": r.returncode, "code": "000", "size": 0, "local_port": 0,
               "error": r.stderr.strip()}
        for line in r.stdout.splitlines():
            if line.startswith("@@SLUICE@@"):
                _, ex, code, size, port = (line.split() + ["0"] * 5)[:5]
                res.update(exit=int(ex), code=code, size=int(size),
                           local_port=int(port) if port.isdigit() else 0)
        return res

    def snmp(self, ns):
        """The kernel's IP/ICMP counters in namespace `ns` (a role): /proc/net/snmp
        as "Icmp.OutDestUnreachs" etc., /proc/net/snmp6 as "Icmp6OutPktTooBigs" etc."""
        r = run(["sh", "-c", "cat /proc/net/snmp; echo @@; cat /proc/net/snmp6"], ns=self.ns[ns])
        v4, _, v6 = r.stdout.partition("@@")
        out, lines = {}, v4.splitlines()
        for head, vals in zip(lines[0::2], lines[1::2]):
            proto, names = head.split(":", 1)
            for k, v in zip(names.split(), vals.split(":", 1)[1].split()):
                out[f"{proto}.{k}"] = int(v)
        for line in v6.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                out[parts[0]] = int(parts[1])
        return out


def reporter(capsys, tag):
    """say(msg) prints "[tag] msg", a measurement, even while pytest
    captures output (capsys: the test's fixture)."""
    def say(msg):
        with capsys.disabled():
            print(f"\n[{tag}] {msg}", flush=True)
    return say


def tail(path, n=30):
    if not path:
        return ""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    | " + line for line in lines[-n:])


def read_line(stream, timeout):
    """One line from a pipe, or '' after timeout (never blocks longer)."""
    fd = stream.fileno()
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        ch = os.read(fd, 1)
        if not ch:
            break
        if ch == b"\n":
            return buf.decode(errors="replace")
        buf += ch
        if len(buf) > 65536:
            break
    return buf.decode(errors="replace")


class Capture:
    """tcpdump on one interface of the lab namespace, into a pcap in the work dir."""

    def __init__(self, lab, ifname, name, ns="lab"):
        self.lab = lab
        self.path = lab.workdir / f"{name}.pcap"
        self.p, self.logpath = lab.spawn(
            name, ["tcpdump", "-i", ifname, "-nn", "-U", "--immediate-mode", "-Z", "root",
                   "-s", "256", "-w", self.path],
            ns=lab.ns[ns])
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if "listening on" in self.logpath.read_text(errors="replace"):
                break
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        else:
            pass
        if "listening on" not in self.logpath.read_text(errors="replace"):
            raise LabError(f"tcpdump on {ifname} did not start:\n{tail(self.logpath)}")

    def stop(self):
        """Stop tcpdump and return the frames. Raises LabError if tcpdump
        reports frames it received but did not write (an incomplete capture
        must not pass for a clean one)."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGINT)
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.lab.stop(self.p, grace=2.0)
        text = self.logpath.read_text(errors="replace")
        cap = re.search(r"(\d+) packets? captured", text)
        got = re.search(r"(\d+) packets? received by filter", text)
        # a few frames may arrive between tcpdump's last read and its exit
        if cap and got and int(cap.group(1)) + 5 < int(got.group(1)):
            raise LabError(f"incomplete capture {self.path.name}: {text.strip()}")
        from scapy.all import rdpcap
        try:
            return rdpcap(str(self.path))
        except Exception as e:
            raise LabError(f"cannot read {self.path}: {e}") from e


def backend_counts(results):
    """{backend name: successful requests} of curl results."""
    counts = {}
    for r in results:
        if r["ok"]:
            b = r["body"].split()[0]
            counts[b] = counts.get(b, 0) + 1
    return counts


def backend_clients(lab, backend):
    """{(client address, client port)} of the requests `backend` has logged."""
    seen = set()
    path = lab.logpath(backend)
    if path and path.exists():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                seen.add((parts[0], int(parts[1])))
    return seen


def tcp_resets(pkts, limit=10):
    """Summaries of the TCP RST frames in a capture."""
    from scapy.all import TCP
    out = [p.summary() for p in pkts if TCP in p and p[TCP].flags & 0x04]
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])


def analyze_mux_capture(pkts, vips=(VIP4, VIP6), port=VIP_PORT, mux_mac=MUX_MAC):
    """Classify frames seen on the mux's link.
    to_vip: client -> VIP:port frames (plain, not tunnelled);
    encap: tunnelled frames sent by the mux;
    replies: frames carrying VIP:port -> client at any layer (must be 0: DSR)."""
    from scapy.all import IP, IPv6, TCP, Ether
    res = {"frames": len(pkts), "to_vip": 0, "encap": 0, "replies": 0, "reply_examples": [],
           "reply_macs": {}}
    mux_mac = mux_mac.lower()
    for p in pkts:
        if Ether not in p:
            continue
        outer = p[Ether].payload
        if isinstance(outer, (IP, IPv6)):
            nh = outer.proto if isinstance(outer, IP) else outer.nh
            if nh in (4, 41) and p[Ether].src.lower() == mux_mac:
                res["encap"] += 1
        layer = outer
        depth = 0
        while isinstance(layer, (IP, IPv6)) and depth < 3:
            l4 = layer.payload
            if isinstance(l4, TCP):
                if layer.dst in vips and l4.dport == port and depth == 0:
                    res["to_vip"] += 1
                if layer.src in vips and l4.sport == port:
                    res["replies"] += 1
                    src = p[Ether].src.lower()
                    res["reply_macs"][src] = res["reply_macs"].get(src, 0) + 1
                    if len(res["reply_examples"]) < 5:
                        res["reply_examples"].append(p.summary())
                break
            layer = l4
            depth += 1
    return res


class KeepAlive:
    """An HTTP/1.1 keep-alive client in the client namespace, kept on a
    connection served by `want` (see _keepalive below)."""

    def __init__(self, lab, host, want, tries):
        self.p, self.logpath = lab.spawn(
            "keepalive", [PYTHON, HERE, "_keepalive", host, "--want", want, "--tries", tries],
            ns=lab.ns["client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lab = lab
        self.hello = self._read(timeout=tries * 6 + 10)

    def _read(self, timeout=10):
        line = read_line(self.p.stdout, timeout)
        try:
            return json.loads(line)
        except ValueError:
            return {"ok": False, "error": f"no answer from keep-alive client ({line!r})",
                    "log": tail(self.logpath)}

    def get(self, timeout=10):
        if self.p.poll() is not None:
            return {"ok": False, "error": f"keep-alive client exited ({self.p.returncode})",
                    "log": tail(self.logpath)}
        self.p.stdin.write(b"get\n")
        self.p.stdin.flush()
        return self._read(timeout)

    def close(self):
        try:
            if self.p.poll() is None:
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.lab.stop(self.p, grace=2.0)


# ---------------------------------------------------------------- helpers run inside namespaces

BYTES_MAX = 8 << 20  # largest /bytes?n=N the backends serve


def pattern_bytes(n, offset=0):
    """n bytes of the content /bytes serves, from `offset`: 16-byte lines
    "%015x\\n" naming their own offset, so a check can say where it differs."""
    first, last = offset // 16, (offset + n + 15) // 16
    blob = b"".join(b"%015x\n" % (16 * i) for i in range(first, last))
    skip = offset - 16 * first
    return blob[skip:skip + n]


def backend_main(name, port):
    """HTTP server answering with its name, dual stack on [::]:port (v4-mapped
    covers 0.0.0.0). Endpoints: / (name), /whoami (name, client address, port),
    /slow?chunks=N (streams N lines, 0.2 s apart), /bytes?n=N (N bytes of
    pattern_bytes, N at most BYTES_MAX), POST / (name and body length)."""
    import http.server
    from urllib.parse import urlparse, parse_qs

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        timeout = 60                   # idle keep-alive connections close after this
        server_version = "sluicelab"

        def _send(self, text):
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urlparse(self.path)
            host, cport = self.client_address[0], self.client_address[1]
            if host.startswith("::ffff:"):
                host = host[7:]
            if u.path == "/whoami":
                self._send(f"{name} {host} {cport}\n")
            elif u.path == "/bytes":
                try:
                    n = int(parse_qs(u.query).get("n", ["0"])[0])
                except ValueError:
                    n = -1
                if not 0 <= n <= BYTES_MAX:
                    self.send_error(400, f"n must be within 0..{BYTES_MAX}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                try:
                    for off in range(0, n, 65536):
                        self.wfile.write(pattern_bytes(min(65536, n - off), off))
                except OSError:  # the client gave up (or a stalled path timed out)
                    self.close_connection = True
            elif u.path == "/slow":
                n = min(int(parse_qs(u.query).get("chunks", ["10"])[0]), 300)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(n * (len(name) + 5)))
                self.end_headers()
                for i in range(n):
                    self.wfile.write(f"{name} {i % 1000:03d}\n".encode())
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                self._send(f"{name}\n")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            got = 0
            while got < length:
                chunk = self.rfile.read(min(65536, length - got))
                if not chunk:
                    break
                got += len(chunk)
            self._send(f"{name} {got}\n")

        def log_message(self, fmt, *args):
            host = self.client_address[0]
            if host.startswith("::ffff:"):
                host = host[7:]
            sys.stderr.write("%s %d %s\n" % (host, self.client_address[1], fmt % args))

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6
        daemon_threads = True
        request_queue_size = 128

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    srv = Server(("::", port), Handler)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever()


def keepalive_main(host, want, tries, deadline_s=300):
    """Open connections to host:80 until one is served by `want`; keep it and
    answer 'get' lines on stdin with one request on that same connection."""
    import http.client

    def request(conn):
        conn.request("GET", "/whoami")
        resp = conn.getresponse()
        return resp.status, resp.read().decode().strip()

    kept, seen = None, []
    for _ in range(tries):
        conn = http.client.HTTPConnection(host, 80, timeout=5)
        try:
            status, body = request(conn)
        except OSError as e:
            seen.append(f"error: {e}")
            conn.close()
            continue
        seen.append(body.split()[0] if body else "")
        if status == 200 and body.split()[0] == want:
            kept = conn
            break
        conn.close()
    if kept is None:
        print(json.dumps({"ok": False, "error": f"no connection served by {want}", "seen": seen}),
              flush=True)
        return 1
    local_port = kept.sock.getsockname()[1]
    print(json.dumps({"ok": True, "backend": want, "local_port": local_port,
                      "attempts": len(seen)}), flush=True)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            break
        try:
            status, body = request(kept)
            parts = body.split()
            print(json.dumps({"ok": status == 200, "status": status, "body": body,
                              "backend": parts[0] if parts else "",
                              "local_port": kept.sock.getsockname()[1]}), flush=True)
        except (OSError, http.client.HTTPException) as e:
            print(json.dumps({"ok": False, "error": repr(e)}), flush=True)
    kept.close()
    return 0


def udp_socket(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


def udpecho_main(port, lifetime_s=600):
    """Send every UDP datagram to [::]:port (IPv4 too) back, for at most lifetime_s."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.monotonic() + lifetime_s
    while end - time.monotonic() > 0:
        sock.settimeout(end - time.monotonic())
        try:
            data, peer = sock.recvfrom(4096)
        except socket.timeout:
            break
        sock.sendto(data, peer)
    return 0


def udpask_main(host, port, tries):
    """Send a datagram to host:port until it comes back (1 s a try); print JSON."""
    sock = udp_socket(host)
    sock.settimeout(1.0)
    for i in range(tries):
        payload = f"sluice-exception-{i}".encode()
        sock.sendto(payload, (host, port))
        try:
            data, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        print(json.dumps({"ok": data == payload, "from": peer[0], "tries": i + 1}), flush=True)
        return 0
    print(json.dumps({"ok": False, "tries": tries}), flush=True)
    return 1


def udpflood_main(host, port, seconds, rate, size=64):
    """Datagrams to host:port at `rate` a second (or as fast as one socket
    goes, if slower), for `seconds`; print how many."""
    sock = udp_socket(host)
    payload, sent, refused = b"f" * size, 0, 0
    start = time.monotonic()
    end = start + seconds
    while (now := time.monotonic()) < end:
        due = int((now - start) * rate) - sent - refused
        if due <= 0:
            time.sleep(0.001)
        for _ in range(min(due, 500)):
            try:
                sock.sendto(payload, (host, port))
                sent += 1
            except OSError:  # ENOBUFS, or ECONNREFUSED from an ICMP error
                refused += 1
    print(json.dumps({"sent": sent, "refused": refused, "seconds": seconds, "rate": rate}), flush=True)
    return 0


def sendpcap_main(iface, path, interval):
    """Send the frames of a pcap byte for byte (no re-dissection, so truncated
    and malformed frames stay exactly as built)."""
    from scapy.all import RawPcapReader
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    n = 0
    for frame, _meta in RawPcapReader(str(path)):
        sock.send(frame)
        n += 1
        if n >= 100000:
            break
        time.sleep(interval)
    sock.close()
    print(f"sent {n} frames on {iface}")
    return 0


# ---------------------------------------------------------------- self-test (no sluice)

def selftest(testpmd=True):
    """Bring the topology up without sluice, check it with stand-ins for the
    instances, tear it down and check nothing is left."""
    failures = []

    def check(cond, what):
        print(("  ok    " if cond else "  FAIL  ") + what, flush=True)
        if not cond:
            failures.append(what)

    lab = Lab()
    tag = lab.tag
    try:
        lab.up()
        c, r, L = lab.ns["client"], lab.ns["router"], lab.ns["lab"]
        # Stand-ins: a probe namespace with legs on every bridge, holding the
        # addresses sluice would hold (mux on the fabric, host agents' backend ports).
        probe = tag + PROBE_ROLE
        lab.extra_ns.append(probe)
        run(["ip", "netns", "add", probe])
        ip(probe, "link", "set", "lo", "up")
        set_sysctls(probe, {"net.ipv6.conf.all.accept_dad": 0,
                            "net.ipv6.conf.default.accept_dad": 0})
        legs = {"pfab": ("br-fab", ["192.0.2.10/24", "2001:db8:2::10/64"]),
                "pbe1": ("br-be1", ["198.18.1.1/24", "2001:db8:11::1/64"]),
                "pbe2": ("br-be2", ["198.18.2.1/24", "2001:db8:12::1/64"])}
        for leg, (br, addrs) in legs.items():
            ip(probe, "link", "add", leg, "type", "veth", "peer", "name", leg, "netns", L)
            ip_batch(L, [f"link set {leg} master {br}", f"link set {leg} up"])
            ip_batch(probe, [f"addr add {a} dev {leg}" + (" nodad" if ":" in a else "")
                             for a in addrs] + [f"link set {leg} up"])
        # like a host agent, the stand-in answers the client via the router
        ip_batch(probe, ["route add 198.51.100.0/24 via 192.0.2.1",
                         "route add 2001:db8:1::/64 via 2001:db8:2::1"])
        print("topology:")
        for name, (role, a4, a6, *_r) in BACKENDS.items():
            for a in (a4, f"[{a6}]"):
                rr = run(["curl", "-g", "-s", "-m", "3", f"http://{a}:{BACKEND_PORT}/whoami"],
                         ns=probe, check=False, timeout=10)
                check(rr.returncode == 0 and rr.stdout.split()[:1] == [name],
                      f"{name} serves HTTP on {a}:{BACKEND_PORT} ({rr.stdout.strip()!r})")
        check(lab.ping("client", ROUTER_CLI4) > 0, "client reaches router (v4)")
        check(lab.ping("client", ROUTER_CLI6) > 0, "client reaches router (v6)")
        for a in (GATEWAY4, GATEWAY6):
            rr = run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", a], ns=probe, check=False,
                     timeout=10)
            check(" 0 received" not in rr.stdout and rr.returncode == 0,
                  f"fabric stand-in reaches the router at {a}")
        routes = ip(c, "-j", "route", "show").stdout + ip(c, "-6", "-j", "route", "show").stdout
        check('"gateway":"198.51.100.1"' in routes.replace(" ", "")
              and '"gateway":"2001:db8:1::1"' in routes.replace(" ", ""),
              "client default routes point at the router")
        rt4 = ip(r, "route", "show").stdout
        rt6 = ip(r, "-6", "route", "show").stdout
        check(f"{VIP4} via {MUX4}" in rt4 and f"{VIP6} via {MUX6}" in rt6,
              "router routes the VIPs to the mux")
        check("default" not in rt4 and "default" not in rt6, "router has no default route")
        check(all(not ip(L, "-j", "addr", "show", "dev", d).stdout.count('"local"')
                  for d in ("br-fab", "br-be1", "br-be2", "rtr", "be1", "be2")),
              "bridges and bridge ports carry no address")
        # The whole path with kernel stand-ins: client -> router -> fabric stand-in.
        rr = run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", MUX4], ns=c, check=False,
                 timeout=10)
        check(rr.returncode == 0, "client reaches the mux address through the router")
        if testpmd and shutil.which("dpdk-testpmd"):
            print("DPDK TAP handling (dpdk-testpmd standing in for the mux):")
            # remove the kernel stand-in of the mux and put a DPDK process in its place
            ip(probe, "link", "del", "pfab")
            inst = INSTANCES["mux"]
            argv = ["dpdk-testpmd"] + lab.eal_args(inst, lcores="0,1") + [
                "--", "--total-num-mbufs=4096", "--forward-mode=5tswap", "--stats-period", "1"]
            p, lp = lab.spawn("testpmd", argv, ns=L)
            lab.sluice["testpmd"] = p
            ok = True
            try:
                lab.wait_ready("testpmd", time.monotonic() + 20, line="start packet forwarding")
                lab.attach_taps(inst, p, time.monotonic() + 20)
            except LabError as e:
                ok = False
                print(e)
            check(ok, f"TAP {inst.taps[0].ifname} appears and is attached to br-fab")
            info = json.loads(ip(L, "-j", "-d", "link", "show", "dev", inst.taps[0].ifname).stdout)[0]
            check(info.get("master") == "br-fab" and info.get("address") == inst.taps[0].kernel_mac,
                  "TAP kernel side: bridged, MAC differs from the DPDK port's")
            tel = lab.telemetry("mux")
            end = time.monotonic() + 10
            while not tel.exists() and time.monotonic() < end:
                time.sleep(0.1)
            try:
                ports = tel.get("/ethdev/list")
                info = tel.get("/ethdev/info,0")
                check(ports == [0] and info.get("mac_addr", "").lower() == MUX_MAC,
                      f"telemetry client talks to {tel.path}")
            except Exception as e:
                check(False, f"telemetry client: {e}")
            # broadcast (ARP) and unicast frames to the port's MAC must reach DPDK
            before = tel.get("/ethdev/stats,0").get("ipackets", 0)
            run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", MUX4], ns=r, check=False,
                timeout=10)
            after = tel.get("/ethdev/stats,0").get("ipackets", 0)
            check(after > before, f"broadcast frames on br-fab reach the DPDK port "
                                  f"({after - before} received)")
            ip(r, "neigh", "replace", "192.0.2.77", "lladdr", MUX_MAC, "dev", "fab0", "nud",
               "permanent")
            before = after
            # testpmd's 5tswap turns the router's echo request into a request from
            # .77, the router answers it, 5tswap turns that into the reply the
            # router's ping waits for: both directions through the bridge and TAP.
            replies = lab.ping("router", "192.0.2.77", count=5)
            after = tel.get("/ethdev/stats,0").get("ipackets", 0)
            ip(r, "neigh", "del", "192.0.2.77", "dev", "fab0", check=False)
            check(after - before >= 5, f"unicast frames to the port's MAC {MUX_MAC} reach the DPDK "
                                       f"port ({after - before} received for 5 pings)")
            check(replies >= 4, f"frames sent by the DPDK port reach the router ({replies}/5 "
                                "pings answered through testpmd 5tswap)")
            code = lab.stop(p)
            lab.exit_codes["testpmd"] = code
            check(lab.link_mac(L, inst.taps[0].ifname) is None, "TAP disappears with its process")
    except Exception as e:
        check(False, f"exception: {e}")
    finally:
        lab.down()
    left = leftovers(tag)
    check(not left, "teardown left nothing behind" + (f": {left}" if left else ""))
    print("self-test " + ("PASSED" if not failures else f"FAILED ({len(failures)})"))
    return 0 if not failures else 1


# ---------------------------------------------------------------- demo

def demo(check_mode, requests, binary=None):
    ok = True
    problems = []
    lab = Lab(binary=binary)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    if not (lab.binary.is_file() and os.access(lab.binary, os.X_OK)):
        print(f"DEMO FAILED: sluice binary not found or not executable: {lab.binary} "
              "(build it: meson setup build && ninja -C build)")
        return 1
    try:
        lab.up()
        lab.start_sluice()
        lab.warm_up()
        for url in (f"http://{VIP4}/", f"http://[{VIP6}]/"):
            res = lab.wait_vip(url, timeout=15)
            if not res or not res["ok"]:
                problems.append(f"{url} does not answer: {res}")
        cap = lab.capture(INSTANCES["mux"].taps[0].ifname, "mux-capture")
        results = {}
        try:
            for label, url in (("IPv4", f"http://{VIP4}/"), ("IPv6", f"http://[{VIP6}]/")):
                results[label] = lab.curl(url, requests)
        finally:
            time.sleep(0.5)
            pkts = cap.stop()
        seen = analyze_mux_capture(pkts)
        print()
        print("Sluice demo: client -> router -> mux -> host agent -> backend, replies by DSR")
        print()
        for label, res in results.items():
            vip = VIP4 if label == "IPv4" else VIP6
            good = [r for r in res if r["ok"]]
            counts = {}
            for r in good:
                counts[r["body"]] = counts.get(r["body"], 0) + 1
            print(f"  {label} VIP {vip}:{VIP_PORT}: {len(good)}/{len(res)} requests succeeded; "
                  + ", ".join(f"{b}: {c}" for b, c in sorted(counts.items())))
            if len(good) != len(res):
                bad = [r for r in res if not r["ok"]][:3]
                problems.append(f"{label}: {len(res) - len(good)} requests failed, e.g. {bad}")
            for b in BACKENDS:
                if counts.get(b, 0) == 0:
                    problems.append(f"{label}: {b} never answered")
        print()
        print(f"  capture on the mux's link ({INSTANCES['mux'].taps[0].ifname}): {seen['frames']} "
              f"frames, {seen['to_vip']} client->VIP, {seen['encap']} tunnelled by the mux, "
              f"{seen['replies']} replies from the VIPs")
        if seen["replies"]:
            problems.append(f"the mux's link carried {seen['replies']} reply packets (DSR broken): "
                            f"{seen['reply_examples']}")
        if seen["to_vip"] == 0:
            problems.append("the capture saw no client->VIP packets on the mux's link")
        print()
        print("  counters (non-zero):")
        for n, st in lab.all_stats().items():
            if "error" in st:
                print(f"    {n}: telemetry error: {st['error']}")
                problems.append(f"{n}: telemetry error: {st['error']}")
                continue
            items = [f"{k}={v}" for k, v in st.items() if isinstance(v, (int, float)) and v]
            print(f"    {n:6s} " + " ".join(items))
        try:
            lab.check_alive()
        except LabError as e:
            problems.append(str(e))
        print()
        if not check_mode:
            print("The lab is up. Try, for example:")
            print(f"  ip netns exec {lab.ns['client']} curl http://{VIP4}/")
            print(f"  ip netns exec {lab.ns['client']} curl -g 'http://[{VIP6}]/whoami'")
            print(f"  ip netns exec {lab.ns['lab']} tcpdump -ni {INSTANCES['mux'].taps[0].ifname}")
            print(f"  {PYTHON} {HERE} telemetry {lab.prefix('mux')} /sluice/stats")
            print(f"  dpdk-telemetry.py -f {lab.prefix('host1')}     (interactive)")
            try:
                input("Press Enter (or Ctrl-C) to tear the lab down... ")
            except (EOFError, KeyboardInterrupt):
                print()
    except KeyboardInterrupt:
        problems.append("interrupted")
    except LabError as e:
        problems.append(str(e))
    finally:
        codes = lab.stop_sluice()
        if codes:
            print("  instances stopped, exit codes: " + ", ".join(f"{n}={c}" for n, c in codes.items()))
        lab.down(keep_workdir=bool(problems))
    ok = not problems
    if problems:
        print("\nDEMO FAILED:")
        for p in problems:
            print("  - " + p)
    else:
        print("\nDEMO OK: every request succeeded, both backends answered for each VIP, "
              "no reply crossed the mux.")
    return 0 if ok else 1


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selftest", action="store_true", help="check the topology without sluice")
    ap.add_argument("--no-testpmd", action="store_true", help="self-test: skip the dpdk-testpmd stage")
    sub = ap.add_subparsers(dest="cmd")
    d = sub.add_parser("demo")
    d.add_argument("--check", action="store_true")
    d.add_argument("--requests", type=int, default=100)
    d.add_argument("--binary")
    sub.add_parser("cleanup")
    t = sub.add_parser("telemetry", help="one telemetry command to a running instance")
    t.add_argument("file_prefix")
    t.add_argument("command", nargs="?", default="/sluice/stats")
    b = sub.add_parser("_backend")
    b.add_argument("name")
    b.add_argument("--port", type=int, default=BACKEND_PORT)
    k = sub.add_parser("_keepalive")
    k.add_argument("host")
    k.add_argument("--want", required=True)
    k.add_argument("--tries", type=int, default=40)
    u = sub.add_parser("_udpecho")
    u.add_argument("port", type=int)
    u = sub.add_parser("_udpask")
    u.add_argument("host")
    u.add_argument("port", type=int)
    u.add_argument("--tries", type=int, default=5)
    u = sub.add_parser("_udpflood")
    u.add_argument("host")
    u.add_argument("port", type=int)
    u.add_argument("--seconds", type=float, default=3.0)
    u.add_argument("--rate", type=int, default=20000)
    s = sub.add_parser("_sendpcap")
    s.add_argument("iface")
    s.add_argument("path")
    s.add_argument("--interval", type=float, default=0.002)
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest(testpmd=not a.no_testpmd)
    if a.cmd == "demo":
        return demo(a.check, max(1, min(a.requests, 1000)), a.binary)
    if a.cmd == "telemetry":
        print(json.dumps(Telemetry(a.file_prefix).command(a.command), indent=1))
        return 0
    if a.cmd == "cleanup":
        cleanup_stale()
        return 0
    if a.cmd == "_backend":
        return backend_main(a.name, a.port)
    if a.cmd == "_keepalive":
        return keepalive_main(a.host, a.want, max(1, min(a.tries, 200)))
    if a.cmd == "_udpecho":
        return udpecho_main(a.port)
    if a.cmd == "_udpask":
        return udpask_main(a.host, a.port, max(1, min(a.tries, 30)))
    if a.cmd == "_udpflood":
        return udpflood_main(a.host, a.port, max(0.1, min(a.seconds, 10.0)), max(1, min(a.rate, 1000000)))
    if a.cmd == "_sendpcap":
        return sendpcap_main(a.iface, a.path, a.interval)
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
