"""A 3-instance manager cluster configured through sluicectl (issue 3).

Three sluice processes (net_null ports: this test is about the control
plane) in a network namespace of their own, Raft over that namespace's
loopback, the API on Unix sockets. Checks: election and bootstrap from
the file; writes through sluicectl reach every instance's data plane;
after the leader is killed (SIGKILL) a new leader takes writes and no
acknowledged write is lost; the killed instance, restarted, catches up.
Every wait is bounded; the namespace and processes are always removed.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from sluicelab import REPO, Telemetry

BIN = Path(os.environ.get("SLUICE_BIN", REPO / "build" / "app" / "sluice"))
CTL = BIN.parent.parent / "tools" / "sluicectl"
NS = f"slclu{os.getpid()}"
MEMBERS = (1, 2, 3)

CONFIG = """
sluice: {{
  roles = [ "mux" ];
  workers: {{ idle_sleep_us = 200; }};
  ports = ( {{ name = "fabric"; device = "net_null0"; addresses = [ "192.0.2.1{i}/24" ];
              neighbours = ( {{ address = "192.0.2.21"; mac = "02:00:00:00:00:21"; }} ); }} );
  mux: {{ flow_capacity = 1024; }};
  manager: {{
    id = {i};
    data_dir = "{dir}/data{i}";
    members = (
      {{ id = 1; address = "127.0.0.1:17001"; }},
      {{ id = 2; address = "127.0.0.1:17002"; }},
      {{ id = 3; address = "127.0.0.1:17003"; }}
    );
    api: {{ socket = "{dir}/api{i}.sock"; }};
  }};
  vips = ( {{ address = "203.0.113.10"; protocol = "tcp"; port = 80;
             dips = ( {{ address = "198.18.1.2"; port = 8080; host = "192.0.2.21"; }} ); }} );
}};
"""


class Cluster:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.procs = {}

    def prefix(self, i):
        return f"{NS}-{i}"

    def start(self, i):
        cfg = self.dir / f"n{i}.cfg"
        cfg.write_text(CONFIG.format(i=i, dir=self.dir))
        log = open(self.dir / f"log{i}", "ab")
        cmd = ["ip", "netns", "exec", NS, str(BIN), "--no-huge", "-m", "128", "--no-pci",
               "--no-shconf", "--file-prefix", self.prefix(i), "-l", str(i % 2),
               "--vdev", "net_null0", "--", "-c", str(cfg)]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    def kill(self, i):
        p = self.procs.pop(i)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)

    def stop_all(self):
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()

    def ctl(self, i, *args):
        return subprocess.run([str(CTL), "--socket", str(self.dir / f"api{i}.sock"), "--json"] + list(args),
                              capture_output=True, text=True, timeout=20)

    def status(self, i):
        r = self.ctl(i, "cluster", "status")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def vips(self, i):
        r = self.ctl(i, "vip", "list")
        assert r.returncode == 0, r.stderr
        return {(v["protocol"], v["address"], v["port"]) for v in json.loads(r.stdout)["vips"]}

    def dataplane_vips(self, i):
        return Telemetry(self.prefix(i)).get("/sluice/info")["vips"]

    def wait(self, what, predicate, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                value = predicate()
                if value:
                    return value
            except (OSError, ValueError, KeyError, AssertionError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        logs = "".join((self.dir / f"log{i}").read_text(errors="replace")[-1500:] for i in MEMBERS
                       if (self.dir / f"log{i}").exists())
        pytest.fail(f"timed out waiting for {what}\n{logs}")

    def leader(self, among=MEMBERS, timeout=30.0):
        def find():
            for i in among:
                s = self.status(i)
                if s and s["state"] == "leader":
                    return i
            return None
        return self.wait(f"a leader among {among}", find, timeout)


@pytest.fixture
def cluster():
    if not BIN.exists() or not CTL.exists():
        pytest.fail(f"{BIN} or {CTL} missing: build first (meson setup build && ninja -C build)")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"], check=True)
    workdir = tempfile.mkdtemp(prefix="sluice-cluster-")
    c = Cluster(workdir)
    try:
        for i in MEMBERS:
            c.start(i)
        yield c
    finally:
        c.stop_all()
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def vip(n):
    return ("tcp", f"203.0.113.{n}", 80)


def create(c, among, n, timeout=30.0):
    """Create VIP n as a careful client does: through whoever leads now,
    retrying across leader changes. True once acknowledged; an "already
    exists" after a retry means the earlier attempt committed."""
    end, tried = time.monotonic() + timeout, False
    while time.monotonic() < end:
        leader = c.leader(among=among, timeout=max(1.0, end - time.monotonic()))
        r = c.ctl(leader, "vip", "create", f"tcp/203.0.113.{n}/80", f"198.18.{n}.2:8080,host=192.0.2.21")
        if r.returncode == 0 or (tried and "already exists" in r.stderr):
            return True
        tried = True
        time.sleep(0.2)
    return False


def test_cluster_survives_leader_loss_without_losing_writes(cluster):
    c = cluster
    leader = c.leader()
    # Bootstrap from the file reaches every replica and every data plane.
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} for i in MEMBERS))
    c.wait("bootstrap in the data planes", lambda: all(c.dataplane_vips(i) == 1 for i in MEMBERS))

    acked = {vip(10)}
    for n in range(20, 40):
        assert create(c, MEMBERS, n), f"write {n} was never acknowledged"
        acked.add(vip(n))
    leader = c.leader()
    follower = next(i for i in MEMBERS if i != leader)
    r = c.ctl(follower, "vip", "create", "tcp/203.0.113.99/80")
    # 307 to the leader's API, or 503 when its API address is unknown (as here)
    assert r.returncode != 0 and "leader" in r.stderr, "a follower must not accept a write"
    assert vip(99) not in c.vips(leader)
    c.wait("all writes on every replica", lambda: all(c.vips(i) == acked for i in MEMBERS))
    c.wait("all writes in every data plane", lambda: all(c.dataplane_vips(i) == len(acked) for i in MEMBERS))

    # Kill the leader: the others elect a new one, which has every acked write.
    c.kill(leader)
    rest = tuple(i for i in MEMBERS if i != leader)
    new = c.leader(among=rest)
    assert c.vips(new) == acked, "an acknowledged write was lost"
    for n in range(40, 45):
        assert create(c, rest, n), f"write {n} was never acknowledged after the leader loss"
        acked.add(vip(n))
    c.wait("writes on the surviving data planes", lambda: all(c.dataplane_vips(i) == len(acked) for i in rest))

    # The old leader comes back and catches up from its log and the leader.
    c.start(leader)
    c.wait("restarted member catches up", lambda: c.vips(leader) == acked, timeout=45)
    c.wait("restarted member's data plane", lambda: c.dataplane_vips(leader) == len(acked), timeout=15)
