"""Multi-process Sluice clusters for the lab tests (docs/lab.md, "Cluster tests").

Every instance runs in a network namespace of its own, so a member can be cut
off the others by taking one link down:

    fabric ns  <tag>-fab   bridge br0 (L2 only, no IPv6) with ports n1, n2, ...
                                │ veth (partition: "ip link set n<i> down" here)
    node ns    <tag>-n<i>  raft0  198.18.0.<i>/24: Raft on 198.18.0.<i>:17000
                           sl-dp<i>  kernel side of the instance's net_tap data port
                                     (the port is 192.0.2.1<i>/24 inside DPDK); tests
                                     send frames and capture on it with scapy

The API is a Unix socket in the work dir and DPDK telemetry a Unix socket in
/var/run/dpdk/<tag>-n<i>/, both reachable from the test's own namespace.
<tag> is "slclu<pid>-<k>" (k counts clusters within one process), so
concurrent runs never collide. Nothing links these namespaces to the root
namespace and none has a route out; every address is in 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24 or 198.18.0.0/15.

Teardown is guaranteed: Cluster is a context manager, registers an atexit
handler, and each new cluster first removes what a crashed run left (its
namespaces and DPDK runtime dirs, once the owning process is gone).
"""
import atexit
import ctypes
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from sluicelab import (KEEP_MARK, KEEP_RUNS, READY_LINE, REPO, Telemetry, delete_ns, ip_batch,
                       owner_alive, run, set_sysctls, tail)

BIN = Path(os.environ.get("SLUICE_BIN", REPO / "build" / "app" / "sluice"))
CTL = BIN.parent.parent / "tools" / "sluicectl"

RAFT_PORT = 17000
API_PORT = 8443                       # HTTPS API of member i: 198.18.0.<i>:8443 (https=True)
CLIENT_NS_ADDR = "198.18.0.200"       # the client namespace on the fabric (https=True)
NFT_TABLE = "sluice_lab_partition"
VIP = "203.0.113.10"
VIP_PORT = 80
CLIENT = "198.51.100.2"               # source of the probe SYNs
CLIENT_MAC = "02:00:00:00:99:01"
# DIP hosts: never real, the mux only needs their MACs (static neighbours)
HOSTS = {"192.0.2.21": "02:00:00:00:00:21", "192.0.2.22": "02:00:00:00:00:22"}
FIRST_DIP = ("198.18.1.2", 8080, "192.0.2.21")

STALE_RE = re.compile(r"^slclu(\d+)-")
NOISE_RE = re.compile(r"^(EAL: |TELEMETRY: |tap_|qdisc_|eth_dev_tap_create)")
WORK_PREFIX = "sluice-cluster-"

CONFIG = """
sluice: {{
  roles = [ "mux" ];
  workers: {{ idle_sleep_us = 200; }};
  ports = ( {{ name = "fabric"; device = "net_tap0"; addresses = [ "{dp_addr}/24" ];
              neighbours = ( {neighbours} ); }} );
  mux: {{ flow_capacity = 1024;{mux_extra} }};
  manager: {{
    id = {i};{join}{extra}
    data_dir = "{dir}/data{i}";
    members = ( {members} );
    api: {{ socket = "{dir}/api{i}.sock";{https} }};
  }};
  vips = ( {{ address = "{vip}"; protocol = "tcp"; port = {vip_port};
             dips = ( {{ address = "{dip[0]}"; port = {dip[1]}; host = "{dip[2]}"; }} ); }} );
}};
"""

_CLUSTERS = [0]
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def raft_address(i):
    return f"198.18.0.{i}:{RAFT_PORT}"


def port_mac(i):
    """MAC of instance i's DPDK data port (net_tap mac= devarg)."""
    return f"02:5e:00:01:00:{i:02x}"


def dp_iface(i):
    return f"sl-dp{i}"


def api_url(i):
    return f"https://198.18.0.{i}:{API_PORT}"


def vip(n):
    """The key of VIP 203.0.113.n tcp/80 as `vips()` returns it."""
    return ("tcp", f"203.0.113.{n}", VIP_PORT)


def cleanup_stale():
    """Remove namespaces and DPDK runtime dirs of cluster runs whose process
    is gone; keep only the newest few work dirs kept for debugging."""
    r = run(["ip", "netns", "list"], check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = STALE_RE.match(name)
        if m and not owner_alive(int(m.group(1))):
            delete_ns(name)
    dpdk = Path("/var/run/dpdk")
    for d in dpdk.iterdir() if dpdk.is_dir() else []:
        m = STALE_RE.match(d.name)
        if m and not owner_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
    kept = sorted((d for d in Path("/tmp").glob(WORK_PREFIX + "*") if (d / KEEP_MARK).exists()),
                  key=lambda d: d.stat().st_mtime)
    for d in kept[:-KEEP_RUNS]:
        shutil.rmtree(d, ignore_errors=True)


def ns_packet_socket(ns, iface):
    """An AF_PACKET socket bound to `iface` of namespace `ns`, opened from this
    process: the calling thread enters the namespace (setns) only for the
    socket() and bind() calls; a socket stays in the namespace it was made in."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {ns}")
            try:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.bind((iface, ETH_P_ALL))
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:  # never run on in the wrong namespace
                    os._exit(70)
        finally:
            os.close(target)
    finally:
        os.close(own)
    return s


class Cluster:
    """Sluice instances with the embedded manager, one namespace each.

    members: ids of the first membership (every instance's `members` list);
    instances started later with join=True list that membership plus themselves."""

    def __init__(self, members=(1, 2, 3), manager_extra="", https=False, mux_extra="",
                 asan_options=()):
        if not BIN.exists() or not CTL.exists():
            pytest.fail(f"{BIN} or {CTL} missing: build first (meson setup build && ninja -C build)")
        cleanup_stale()
        k = _CLUSTERS[0]
        _CLUSTERS[0] += 1
        self.tag = f"slclu{os.getpid()}-{k}"
        self.members = tuple(members)
        self.manager_extra = manager_extra  # more manager settings, e.g. "heartbeat_ms = 200;"
        self.mux_extra = mux_extra          # more mux settings, e.g. "maglev_size = 1021;"
        self.https = https                  # HTTPS API per member, and a client namespace
        self.asan_options = list(asan_options)  # more ASAN_OPTIONS for the instances (ASan builds)
        self.fab = f"{self.tag}-fab"
        self.nodes = []           # ids whose namespace exists
        self.procs = {}
        self.started = set()      # ids ever started (DPDK runtime dirs to remove)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{self.tag}-"))
        self._down = False
        atexit.register(self.down)

    # ------------------------------------------------------------ topology
    def ns(self, i):
        return f"{self.tag}-n{i}"

    @property
    def client_ns(self):
        """Namespace on the fabric from which clients reach the HTTPS APIs."""
        return f"{self.tag}-cli"

    def prefix(self, i):
        return self.ns(i)

    def up(self):
        run(["ip", "netns", "add", self.fab])
        set_sysctls(self.fab, {"net.ipv6.conf.all.disable_ipv6": 1,
                               "net.ipv6.conf.default.disable_ipv6": 1,
                               "net.bridge.bridge-nf-call-iptables": 0,
                               "net.bridge.bridge-nf-call-arptables": 0})
        ip_batch(self.fab, ["link set lo up",
                            "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0",
                            "link set br0 up"])
        for i in self.members:
            self.add_node(i)
        if self.https:
            self.add_client()
        return self

    def add_client(self):
        """The client namespace, CLIENT_NS_ADDR on the fabric bridge; also the
        CA and bearer token its clients use (self.ca, self.token_file)."""
        self._link(self.client_ns, "cli", CLIENT_NS_ADDR)
        self.nodes.append("cli")
        self.ca = self.dir / "ca.pem"
        self.token_file = self.dir / "api.token"
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", self.dir / "ca.key", "-out", self.ca, "-days", "2",
                "-subj", "/CN=sluice lab CA")

    def tls_files(self, i):
        """Certificate (SAN: member i's address, signed by the lab CA) and key,
        made on first use."""
        cert, key = self.dir / f"n{i}.pem", self.dir / f"n{i}.key"
        if not cert.exists():
            ext = self.dir / f"n{i}.ext"
            ext.write_text(f"subjectAltName = IP:198.18.0.{i}\nbasicConstraints = CA:FALSE\n"
                           "extendedKeyUsage = serverAuth\n")
            csr = self.dir / f"n{i}.csr"
            openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN=198.18.0.{i}")
            openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.dir / "ca.key",
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
        return cert, key

    def client_cmd(self, *argv):
        """argv run inside the client namespace."""
        return ["ip", "netns", "exec", self.client_ns] + [str(a) for a in argv]

    def add_node(self, i):
        """Namespace of instance i, linked to the fabric bridge."""
        self._link(self.ns(i), f"n{i}", f"198.18.0.{i}")
        self.nodes.append(i)

    def _link(self, ns, port, address):
        """Namespace ns with raft0 = address/24, its peer `port` on the bridge."""
        run(["ip", "netns", "add", ns])
        # no IPv6 at all: the TAP's kernel side then sends no DAD, RS or MLD
        set_sysctls(ns, {"net.ipv6.conf.all.disable_ipv6": 1,
                         "net.ipv6.conf.default.disable_ipv6": 1})
        ip_batch(ns, ["link set lo up",
                      f"link add raft0 type veth peer name {port} netns {self.fab}",
                      f"addr add {address}/24 dev raft0", "link set raft0 up"])
        ip_batch(self.fab, [f"link set {port} master br0", f"link set {port} up"])

    def partition(self, i):
        """Cut instance i off every other member (its bridge port goes down)."""
        ip_batch(self.fab, [f"link set n{i} down"])

    def heal(self, i):
        ip_batch(self.fab, [f"link set n{i} up"])

    def cut_raft(self, i):
        """Drop Raft traffic (tcp port RAFT_PORT, both ways) inside instance
        i's namespace with nftables; everything else, the API too, still
        flows: clients keep reaching a leader that lost its followers."""
        chains = "".join(f"  chain {c} {{\n    type filter hook {c} priority 0; policy accept;\n"
                         f"    tcp dport {RAFT_PORT} drop\n    tcp sport {RAFT_PORT} drop\n  }}\n"
                         for c in ("input", "output"))
        run(["nft", "-f", "-"], ns=self.ns(i), input=f"table inet {NFT_TABLE} {{\n{chains}}}\n")

    def uncut_raft(self, i):
        run(["nft", "delete", "table", "inet", NFT_TABLE], ns=self.ns(i))

    def send_signal(self, i, sig):
        """Send sig (SIGSTOP, SIGCONT, ...) to running instance i; it stays ours."""
        self.procs[i].send_signal(sig)

    # ------------------------------------------------------------ processes
    def config(self, i, join=False):
        # a joining instance lists itself only for its own address; as a
        # standby, so the file keeps the 3 voters the loader wants
        members = ", ".join([f'{{ id = {m}; address = "{raft_address(m)}";{self._api_of(m)} }}'
                             for m in self.members]
                            + [f'{{ id = {i}; address = "{raft_address(i)}";{self._api_of(i)} '
                               'role = "standby"; }']
                            * (i not in self.members))
        neighbours = ", ".join(f'{{ address = "{a}"; mac = "{m}"; }}' for a, m in HOSTS.items())
        return CONFIG.format(i=i, dir=self.dir, members=members, neighbours=neighbours,
                             dp_addr=f"192.0.2.{10 + i}", join="\n    join = true;" if join else "",
                             extra=f"\n    {self.manager_extra}" if self.manager_extra else "",
                             mux_extra=f" {self.mux_extra}" if self.mux_extra else "",
                             https=self._listener(i),
                             vip=VIP, vip_port=VIP_PORT, dip=FIRST_DIP)

    def _api_of(self, m):
        return f' api = "{api_url(m)}";' if self.https else ""

    def _listener(self, i):
        if not self.https:
            return ""
        cert, key = self.tls_files(i)
        return (f'\n           listen = "198.18.0.{i}:{API_PORT}"; cert = "{cert}"; key = "{key}";'
                f' token_file = "{self.token_file}";')

    def start(self, i, join=False, timeout=30.0):
        """Start instance i and wait for its ready line (its ports are up)."""
        cfg = self.dir / f"n{i}.cfg"
        cfg.write_text(self.config(i, join))
        cmd = ["ip", "netns", "exec", self.ns(i), str(BIN), "--no-huge", "-m", "128", "--no-pci",
               "--no-shconf", "--file-prefix", self.prefix(i), "-l", str(i % 2),
               "--vdev", f"net_tap0,iface={dp_iface(i)},mac={port_mac(i)}", "--", "-c", str(cfg)]
        env = dict(os.environ, ASAN_OPTIONS=":".join(["detect_leaks=0"] + self.asan_options))
        with open(self.log(i), "ab") as log:
            self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.add(i)
        p, end = self.procs[i], time.monotonic() + timeout
        while READY_LINE not in self.log(i).read_text(errors="replace"):
            if p.poll() is not None or time.monotonic() > end:
                pytest.fail(f"instance {i} " + (f"exited ({p.returncode})" if p.poll() is not None
                                                else "not ready in time") + f":\n{tail(self.log(i))}")
            time.sleep(0.1)

    def log(self, i):
        return self.dir / f"log{i}"

    def kill(self, i, sig=signal.SIGKILL):
        """Stop instance i with sig; its exit status."""
        p = self.procs.pop(i)
        p.send_signal(sig)
        return p.wait(timeout=10)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)  # a stopped instance would not see SIGTERM
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.procs.clear()

    def down(self, keep=False):
        """Stop every instance, delete the namespaces and DPDK runtime dirs;
        keep the work dir (configs, logs, Raft data) only if asked."""
        if self._down:
            return
        self._down = True
        try:
            self.stop_all()
        finally:
            for i in self.nodes:
                delete_ns(self.client_ns if i == "cli" else self.ns(i))
            delete_ns(self.fab)
            for i in self.started:
                shutil.rmtree(f"/var/run/dpdk/{self.prefix(i)}", ignore_errors=True)
            if keep:
                (self.dir / KEEP_MARK).write_text("kept: a cluster test failed\n")
                print(f"\ncluster work dir kept: {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down(keep=exc[0] is not None)
        return False

    # ------------------------------------------------------------ API and telemetry
    def ctl(self, i, *args, timeout=20):
        return subprocess.run([str(CTL), "--socket", str(self.dir / f"api{i}.sock"), "--json"]
                              + list(args), capture_output=True, text=True, timeout=timeout)

    def status(self, i, timeout=None):
        """GET /v1/cluster of instance i, None if it does not answer;
        timeout (seconds) bounds the request (a stopped instance)."""
        args = ("--timeout", str(timeout)) if timeout else ()
        r = self.ctl(i, *args, "cluster", "status", timeout=(timeout or 18) + 2)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def vips(self, i):
        r = self.ctl(i, "vip", "list")
        assert r.returncode == 0, r.stderr
        return {(v["protocol"], v["address"], v["port"]) for v in json.loads(r.stdout)["vips"]}

    def dips(self, i, key=f"tcp/{VIP}/{VIP_PORT}"):
        r = self.ctl(i, "dip", "list", key)
        assert r.returncode == 0, r.stderr
        return {(d["address"], d["port"], d["host"]) for d in json.loads(r.stdout)["dips"]}

    def dataplane_vips(self, i):
        return Telemetry(self.prefix(i)).get("/sluice/info")["vips"]

    def logs(self, n=25):
        """The last n lines of every instance's log, without DPDK's start-up chatter."""
        out = []
        for i in sorted(self.started):
            lines = [line for line in self.log(i).read_text(errors="replace").splitlines()
                     if not NOISE_RE.match(line)] if self.log(i).exists() else []
            out.append(f"\n--- instance {i} ({self.log(i)}) ---\n" + "\n".join(lines[-n:]))
        return "".join(out)

    def wait(self, what, predicate, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                value = predicate()
                if value:
                    return value
            except (OSError, ValueError, KeyError, TypeError, AssertionError,
                    subprocess.TimeoutExpired):
                pass  # not up, no answer or no leader yet: ask again
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def leader(self, among=None, timeout=30.0, ask_timeout=None):
        among = tuple(among or self.members)

        def find():
            for i in among:
                s = self.status(i, ask_timeout)
                if s and s["state"] == "leader":
                    return i
            return None
        return self.wait(f"a leader among {among}", find, timeout)

    def create(self, among, n, timeout=30.0):
        """Create VIP n as a careful client does: through whoever leads now,
        retrying across leader changes. True once acknowledged; an "already
        exists" after a retry means the earlier attempt committed."""
        end, tried = time.monotonic() + timeout, False
        while time.monotonic() < end:
            leader = self.leader(among=among, timeout=max(1.0, end - time.monotonic()))
            r = self.ctl(leader, "vip", "create", f"tcp/203.0.113.{n}/{VIP_PORT}",
                         f"198.18.{n}.2:8080,host=192.0.2.21")
            if r.returncode == 0 or (tried and "already exists" in r.stderr):
                return True
            tried = True
            time.sleep(0.2)
        return False

    # ------------------------------------------------------------ the wire
    def probe(self, i, sports, flags="S", timeout=3.0):
        """Send a TCP segment (a SYN: a new flow) from CLIENT:sport to VIP:80
        for each source port into instance i's data port and capture what it
        sends back out. Returns {sport: (outer destination, Ethernet
        destination)} of the IP-in-IP packets carrying those segments, None
        for a segment never seen."""
        from scapy.all import IP, TCP, Ether  # late: scapy takes a second to import
        mac = port_mac(i)
        s = ns_packet_socket(self.ns(i), dp_iface(i))
        seen = {}
        try:
            s.setblocking(False)
            while select.select([s], [], [], 0)[0]:   # drop what came before
                s.recv(65536)
            for sp in sports:
                s.send(bytes(Ether(dst=mac, src=CLIENT_MAC) / IP(src=CLIENT, dst=VIP)
                             / TCP(sport=sp, dport=VIP_PORT, flags=flags, seq=1000 + sp)))
            end = time.monotonic() + timeout
            while len(seen) < len(sports) and time.monotonic() < end:
                if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
                    break
                data, addr = s.recvfrom(65536)
                if addr[2] == PACKET_OUTGOING:
                    continue
                p = Ether(data)
                if p.src.lower() != mac or IP not in p or p[IP].proto != 4:
                    continue
                inner = p[IP].payload
                if (isinstance(inner, IP) and inner.dst == VIP and TCP in inner
                        and inner[TCP].dport == VIP_PORT and inner[TCP].sport in sports
                        and inner[TCP].flags == flags):
                    seen[inner[TCP].sport] = (p[IP].dst, p.dst.lower())
        finally:
            s.close()
        return {sp: seen.get(sp) for sp in sports}


def openssl(*args):
    run(["openssl"] + [str(a) for a in args])


@pytest.fixture
def cluster(request):
    """A started 3-member cluster; torn down whatever happens, its work dir
    (logs, configs, Raft data) kept when the test failed."""
    yield from started_cluster(request)


def started_cluster(request, **kwargs):
    """The body of a cluster fixture: Cluster(**kwargs) up with its members
    started, yielded, then torn down (work dir kept if the test failed)."""
    failed_before = request.session.testsfailed
    c = Cluster(**kwargs)
    try:
        c.up()
        for i in c.members:
            c.start(i)
    except BaseException:
        c.down(keep=True)
        raise
    try:
        yield c
    finally:
        c.down(keep=request.session.testsfailed > failed_before)
