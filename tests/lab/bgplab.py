#!/usr/bin/python3
"""
The BGP lab: a pool of two muxes behind a router that learns the VIPs from
them over BGP (BIRD on both sides, BFD) and spreads the clients over them
with kernel ECMP (L4 hash); two host agents with real HTTP backends. The
client reaches the VIPs only through the router, which has no static VIP
route: what it knows, BGP told it. See docs/lab.md, "BGP pool".

    client ── router (BIRD: AS 65000, ECMP) ──┬── br-fab ──┬── mux1 (sluice + BIRD, AS 65001) 192.0.2.10
                                              │            ├── mux2 (sluice + BIRD, AS 65001) 192.0.2.11
                                              │            ├── host1 ── backend1
                                              │            └── host2 ── backend2

Each mux's BIRD runs in the mux's namespace with the configuration
`sluice --bird-config` generates from the mux's file and peers over the
mux's kernel interface sl-fabric, so BGP and BFD cross the DPDK data path.
Namespaces are "bgp<pid>-<role>"; everything else is sluicelab.Lab's.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import sluicelab as sl

MUXES = {
    # name: (v4, v6, TAP MAC, lcore)
    "mux1": ("192.0.2.10", "2001:db8:2::10", "02:5e:00:00:00:10", "0"),
    "mux2": ("192.0.2.11", "2001:db8:2::11", "02:5e:00:00:00:11", "1"),
}
ROUTER_AS, MUX_AS = 65000, 65001

INSTANCES = {
    name: sl.Instance(name, f"{name}.cfg", [sl.Tap(f"sl-{name}", mac, "br-fab", sl.FABRIC_MTU)],
                      [a4, a6], lcore, ("sl-fabric",))
    for name, (a4, a6, mac, lcore) in MUXES.items()
}
INSTANCES.update({h: sl.INSTANCES[h] for h in ("host1", "host2")})

MUX_BGP = """
  bgp:
  {{
    local_as = {mux_as};
    peers = (
      {{ name = "router"; address = "{gw4}"; as = {router_as}; }},
      {{ name = "router6"; address = "{gw6}"; as = {router_as}; }}
    );
    # 1 s, not the default 250 ms: four ASan instances, three BIRDs and the
    # backends share two cores here (with whatever else runs on the machine),
    # and a starved worker is a stalled worker to the watchdog.
    watchdog_ms = 1000;
    drain_quiet_ms = 1000;
    drain_timeout_ms = 10000;
    bird_socket = "{socket}";
  }};
"""

ROUTER_BIRD = """
router id {gw4};
log stderr all;
protocol device {{ scan time 10; }}
protocol kernel {{ merge paths on; ipv4 {{ import none; export all; }}; }}
protocol kernel {{ merge paths on; ipv6 {{ import none; export all; }}; }}
protocol bfd {{
  interface "fab0" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }};
}}
template bgp mux {{
  local as {router_as};
  interface "fab0";
  direct;
  bfd on;
  hold time 9;
  keepalive time 3;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
}}
{peers}
"""

ROUTER_PEER = """
protocol bgp {name} from mux {{
  local {local};
  neighbor {addr} as {mux_as};
  {family} {{ import where net ~ [ {range} ]; export none; }};
}}
"""


class BgpLab(sl.Lab):
    TAG_BASE = "bgp"
    INSTANCE_ROLES = tuple(INSTANCES)
    ROLES = ("client", "router", "lab", "be1", "be2") + INSTANCE_ROLES
    INSTANCES = INSTANCES

    def __init__(self, **kw):
        super().__init__(**kw)
        self.sluicectl = self.binary.parents[1] / "tools" / "sluicectl"
        self.bird = {}  # "router", mux name -> Popen

    def router_routes(self):
        return []  # BGP's job

    def bird_socket(self, name):
        return self.workdir / f"{name}-bird.ctl"

    def write_configs(self, remove=()):
        """The muxes: config/lab/mux.cfg with their own addresses and a bgp
        group; the host agents: theirs, taking tunnels from both muxes."""
        paths = {}
        mux = (self.config_dir / "mux.cfg").read_text()
        a4, a6 = MUXES["mux1"][:2]
        for name, (m4, m6, _mac, _lc) in MUXES.items():
            text = mux.replace(f'"{a4}', f'"{m4}').replace(f'"{a6}', f'"{m6}')
            end = text.rindex("};")
            text = text[:end] + MUX_BGP.format(
                mux_as=MUX_AS, router_as=ROUTER_AS, gw4=sl.GATEWAY4, gw6=sl.GATEWAY6,
                socket=self.bird_socket(name)) + text[end:]
            paths[name] = self.workdir / f"{name}.cfg"
            paths[name].write_text(text)
        sources = ", ".join(f'"{m[0]}"' for m in MUXES.values()) + ", " + \
            ", ".join(f'"{m[1]}"' for m in MUXES.values())
        for h in ("host1", "host2"):
            text = (self.config_dir / f"{h}.cfg").read_text()
            old = f'tunnel_sources = [ "{a4}", "{a6}" ];'
            if old not in text:
                raise sl.LabError(f"config/lab/{h}.cfg: no line '{old}' to extend")
            paths[h] = self.workdir / f"{h}.cfg"
            paths[h].write_text(text.replace(old, f"tunnel_sources = [ {sources} ];"))
        return paths

    # ------------------------------------------------------------ BIRD
    def up(self, backends=True):
        super().up(backends)
        sl.set_sysctls(self.ns["router"], {"net.ipv4.fib_multipath_hash_policy": 1,
                                           "net.ipv6.fib_multipath_hash_policy": 1})
        peers = ""
        for name, (m4, m6, _mac, _lc) in MUXES.items():
            peers += ROUTER_PEER.format(name=name, local=sl.GATEWAY4, addr=m4, mux_as=MUX_AS,
                                        family="ipv4", range="203.0.113.0/24{32,32}")
            peers += ROUTER_PEER.format(name=name + "_6", local=sl.GATEWAY6, addr=m6, mux_as=MUX_AS,
                                        family="ipv6", range="2001:db8:100::/48{128,128}")
        conf = self.workdir / "router-bird.conf"
        conf.write_text(ROUTER_BIRD.format(gw4=sl.GATEWAY4, router_as=ROUTER_AS, peers=peers))
        self.start_bird("router", conf)
        return self

    def start_bird(self, name, conf, timeout=10):
        sock = self.bird_socket(name)
        sock.unlink(missing_ok=True)  # a stopped BIRD's: wait for the new one's
        p, lp = self.spawn(f"{name}-bird", ["bird", "-f", "-c", conf, "-s", sock,
                                            "-P", self.workdir / f"{name}-bird.pid"],
                           ns=self.ns[name])
        self.bird[name] = p
        end = time.monotonic() + timeout
        while not sock.exists():
            if p.poll() is not None or time.monotonic() > end:
                raise sl.LabError(f"BIRD ({name}) did not start:\n{sl.tail(lp)}")
            time.sleep(0.05)
        return p

    def start_sluice(self, names=None, timeout=40):
        """BIRD first, beside each mux to start: sluice refuses to start
        without a BIRD running its configuration (bgp.require_bird)."""
        names = tuple(self.INSTANCES) if names is None else names
        self.write_configs()
        self.start_mux_birds([n for n in names if n in MUXES])
        super().start_sluice(names, timeout)

    def start_mux_birds(self, names=tuple(MUXES)):
        """Each mux's BIRD with the configuration sluice generates for it,
        restarted with the mux: a BIRD 2.0.12 left running while sluice's
        kernel interface is re-created keeps that interface's IPv6 BFD
        session down (seen for 40 s and more; IPv4 recovers), so the next
        withdrawal would wait for the 9 s hold time (docs/operations.md)."""
        paths = {n: self.workdir / f"{n}.cfg" for n in names}
        for n in names:
            conf = self.workdir / f"{n}-bird.conf"
            r = sl.run([self.binary, "-c", paths[n], "--bird-config", conf], check=False)
            if r.returncode != 0:
                raise sl.LabError(f"sluice --bird-config for {n} failed: {r.stderr}")
            if n in self.bird:
                self.stop(self.bird[n])
            self.start_bird(n, conf)

    def birdc(self, name, *cmd):
        return sl.run(["birdc", "-s", self.bird_socket(name)] + list(cmd), check=False).stdout

    # ------------------------------------------------------------ what the router knows
    def router_gateways(self, args, dsts=None, v6=False):
        """The gateways of the router's routes `ip [-6] -j route show ARGS`
        lists (those whose dst is in dsts, when given): a set."""
        r = sl.ip(self.ns["router"], *(["-6"] if v6 else []), "-j", "route", "show", *args,
                  check=False)
        try:
            routes = json.loads(r.stdout or "[]")
        except ValueError:
            return set()
        hops = set()
        for rt in routes:
            if dsts is not None and rt.get("dst") not in dsts:
                continue
            if "gateway" in rt:
                hops.add(rt["gateway"])
            for nh in rt.get("nexthops", []):
                if "gateway" in nh:
                    hops.add(nh["gateway"])
        return hops

    def bfd_up(self):
        """Addresses of the muxes whose BFD session with the router is Up
        (`show bfd sessions`: address, interface, state, ...): a set."""
        up = set()
        for line in self.birdc("router", "show", "bfd", "sessions").splitlines():
            f = line.split()
            if len(f) >= 3 and f[2] == "Up" and (f[0] in mux_addrs(4) or f[0] in mux_addrs(6)):
                up.add(f[0])
        return up

    def nexthops(self, vip):
        """The router's next hops (gateway addresses) for vip: a set."""
        return self.router_gateways([vip], (vip, vip + "/32", vip + "/128"), v6=":" in vip)

    def wait_nexthops(self, vip, want, timeout, step=0.005):
        """Bounded wait until the router's next hops for vip are exactly want;
        returns the seconds it took, or None on timeout."""
        return wait_until(lambda: self.nexthops(vip) == set(want), timeout, step)

    def ctl(self, name, *args):
        """sluicectl about one mux (telemetry and its BIRD), --json."""
        r = sl.run([self.sluicectl, "--file-prefix", self.prefix(name), "--json"] + list(args),
                   check=False, timeout=20)
        try:
            return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}
        except ValueError:
            return r.returncode, {"raw": r.stdout, "stderr": r.stderr}

    def bgp_state(self, name):
        return self.telemetry(name).get("/sluice/bgp")

    def pause(self, name):
        os.kill(self.sluice[name].pid, signal.SIGSTOP)

    def resume(self, name):
        os.kill(self.sluice[name].pid, signal.SIGCONT)

    def wait_exit(self, name, timeout):
        try:
            self.exit_codes[name] = self.sluice[name].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_codes[name]


def wait_until(cond, timeout, step):
    """Bounded wait until cond() holds: the seconds it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def mux_addrs(family=4):
    return {m[0 if family == 4 else 1] for m in MUXES.values()}


def started(request=None):
    """A BgpLab, up, every sluice and BIRD started, routes learned."""
    lab = BgpLab(binary=Path(os.environ.get("SLUICE_BIN", sl.DEFAULT_BINARY)))
    try:
        lab.up()
        lab.start_sluice()
        lab.warm_up()
        for vip, fam in ((sl.VIP4, 4), (sl.VIP6, 6)):
            if lab.wait_nexthops(vip, mux_addrs(fam), timeout=30, step=0.1) is None:
                raise sl.LabError(f"router did not learn {vip} from both muxes: {lab.nexthops(vip)}\n"
                                  + lab.birdc("router", "show", "protocols"))
    except BaseException:
        lab.down(keep_workdir=True)
        raise
    return lab


# ---------------------------------------------------------------- long-lived connections

class LongLived:
    """n HTTP/1.1 keep-alive connections from the client namespace, each
    opened with a request; get() sends one more request on each and says
    how many were answered (by the backend that answered first)."""

    def __init__(self, lab, host, n):
        self.p, self.logpath = lab.spawn(
            "longlived", [sl.PYTHON, Path(__file__).resolve(), "_longlived", host, str(n)],
            ns=lab.ns["client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.hello = self._read(timeout=30)

    def _read(self, timeout):
        line = sl.read_line(self.p.stdout, timeout)
        try:
            return json.loads(line)
        except ValueError:
            return {"error": f"no answer from the long-lived client ({line!r})",
                    "log": sl.tail(self.logpath)}

    def get(self, timeout=30):
        if self.p.poll() is not None:
            return {"error": f"long-lived client exited ({self.p.returncode})"}
        self.p.stdin.write(b"get\n")
        self.p.stdin.flush()
        return self._read(timeout)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()


def longlived_main(host, n):
    import http.client
    import sys
    conns, first = [], []
    for _ in range(n):
        c = http.client.HTTPConnection(host, 80, timeout=5)
        try:
            c.request("GET", "/")
            first.append(c.getresponse().read().decode().strip())
        except OSError as e:
            first.append(f"error: {e}")
        conns.append(c)
    print(json.dumps({"opened": sum(not b.startswith("error") for b in first), "backends": first}),
          flush=True)
    for line in sys.stdin:  # bounded by the test: it closes stdin
        if line.strip() != "get":
            break
        same = 0
        errors = []
        for c, b in zip(conns, first):
            try:
                c.request("GET", "/")
                same += c.getresponse().read().decode().strip() == b
            except (OSError, http.client.HTTPException) as e:
                errors.append(str(e))
        print(json.dumps({"answered_same": same, "of": n, "errors": errors[:5]}), flush=True)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 4 and sys.argv[1] == "_longlived":
        longlived_main(sys.argv[2], int(sys.argv[3]))


# ---------------------------------------------------------------- one stalled thread

class ThreadStop:
    """Stop one thread of a process (not the whole process, as SIGSTOP
    would) with ptrace: PTRACE_SEIZE, PTRACE_INTERRUPT; resume() detaches.
    The kernel detaches by itself if this process dies."""

    PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
    WALL = 0x40000000

    def __init__(self, tid):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        self.tid = tid
        self.stopped = False

    def _ptrace(self, req):
        import ctypes
        if self.libc.ptrace(req, self.tid, None, None) != 0:
            raise OSError(ctypes.get_errno(), f"ptrace({req}, {self.tid})")

    def stop(self):
        self._ptrace(self.PTRACE_SEIZE)
        self.stopped = True
        self._ptrace(self.PTRACE_INTERRUPT)
        os.waitpid(self.tid, self.WALL)

    def resume(self):
        if self.stopped:
            self.stopped = False
            self._ptrace(self.PTRACE_DETACH)


def worker_thread(pid):
    """The thread id of a lab sluice's first worker: an "lcore-worker-N"
    thread, or with one lcore (the lab's default) its main thread."""
    for task in sorted(Path(f"/proc/{pid}/task").iterdir(), key=lambda p: int(p.name)):
        try:
            if (task / "comm").read_text().startswith("lcore-worker"):
                return int(task.name)
        except OSError:
            continue
    return pid
