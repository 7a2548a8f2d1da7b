"""The manager under faults (docs/lab.md, "Manager under faults").

Three voting members, each with an HTTPS API (lab CA, bearer token) and
every member's API URL in the configuration, so followers redirect to the
leader. From the client namespace, faultclient.py writes (unique VIP
creates, DIP adds and removes), reads (local and linearizable) and samples
every member's view of the cluster, recording each operation. Meanwhile the
nemesis, in turn: SIGKILLs the leader and restarts it; SIGSTOPs the leader
past the election timeout; cuts the leader's Raft traffic with nftables
(clients still reach it: a stale leader must not acknowledge or serve
stale reads); cuts a follower's; SIGKILLs and restarts every member; floods
the leader's API with idle and half-sent TLS connections. Then the workload
stops, the cluster converges, and history.py checks the history: no lost
acknowledgement, no refused write in effect, no refusal or read that
contradicts an acknowledgement, one leader per term, identical replicas.

SLUICE_SOAK_SECONDS=N repeats the faults for N seconds (default 50: two
rounds; tools/test soak: 900);
SLUICE_FAULT_HISTORY=FILE keeps a copy of the history even when the test passes.
"""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import history
from clusterlab import api_url, started_cluster, vip

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
# Rounds of every fault go on while within this; the default gives two
# rounds (about 80 s); tools/test soak sets it higher.
SOAK_SECONDS = float(os.environ.get("SLUICE_SOAK_SECONDS", "50"))
STOP_SECONDS = 2.5      # SIGSTOP: past the election timeout (randomised 1x..2x) of old and new defaults
CUT_SECONDS = 3.0       # nftables partitions
DOWN_SECONDS = 1.0      # a killed member stays down this long
FLOOD_SECONDS = 4.0
FLOOD_CONNS = 100
SETTLE_SECONDS = 2.0    # writes flow between faults, and after the last
WORKLOAD_LIMIT = 150.0  # seconds the workload may run past the soak time, whatever happens
CONVERGE_SECONDS = 30.0


@pytest.fixture
def fault_cluster(request):
    """The 3-member cluster with HTTPS APIs and a client namespace. Small
    Maglev tables: the workload creates hundreds of VIPs, and every commit
    rebuilds every VIP's table on the control thread."""
    yield from started_cluster(request, https=True, mux_extra="maglev_size = 251;")


class Workload:
    """faultclient.py `run` in the client namespace, for a bounded time;
    stopped through a file, killed at teardown whatever happened."""

    def __init__(self, c, seconds):
        self.c, self.out, self.stop_file = c, c.dir / "history.jsonl", c.dir / "workload.stop"
        self.log = c.dir / "faultclient.log"
        apis = ",".join(f"{i}={api_url(i)}" for i in c.members)
        self.cmd = c.client_cmd(PYTHON, HERE / "faultclient.py", "run", "--api", apis,
                                "--ca", c.ca, "--token-file", c.token_file, "--out", self.out,
                                "--stop-file", self.stop_file, "--seconds", f"{seconds:.0f}")
        self.proc = None

    def __enter__(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def stop(self, timeout=30.0):
        """Ask the client to stop, wait for it; the history it wrote."""
        self.stop_file.touch()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"faultclient did not stop in {timeout:.0f}s: {self.log}")
        assert self.proc.returncode == 0, f"faultclient failed:\n{self.log.read_text()[-3000:]}"
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        return False


class Nemesis:
    """The faults, one after the other, each noted with the time it began
    (history.availability measures recovery from there)."""

    SEQUENCE = ("kill_leader", "stop_leader", "cut_leader", "cut_follower", "restart_all",
                "flood_leader")

    def __init__(self, c):
        self.c, self.faults = c, []

    def mark(self, name):
        self.faults.append({"name": name, "t": time.monotonic()})

    def leader(self, among=None):
        return self.c.leader(among, timeout=20, ask_timeout=2)

    def kill_leader(self):
        i = self.leader()
        self.mark(f"SIGKILL leader n{i}")
        self.c.kill(i)
        time.sleep(DOWN_SECONDS)
        self.c.start(i)

    def stop_leader(self):
        i = self.leader()
        self.mark(f"SIGSTOP leader n{i} {STOP_SECONDS}s")
        self.c.send_signal(i, signal.SIGSTOP)
        try:
            time.sleep(STOP_SECONDS)
        finally:
            self.c.send_signal(i, signal.SIGCONT)

    def cut(self, i, what):
        self.mark(f"Raft cut off {what} n{i} {CUT_SECONDS}s")
        self.c.cut_raft(i)
        try:
            time.sleep(CUT_SECONDS)
        finally:
            self.c.uncut_raft(i)

    def cut_leader(self):
        self.cut(self.leader(), "leader")

    def cut_follower(self):
        lead = self.leader()
        self.cut(next(i for i in self.c.members if i != lead), "follower")

    def restart_all(self):
        for i in self.c.members:
            self.c.kill(i)
        self.mark("SIGKILL all, restart")  # from when the last one is gone
        time.sleep(DOWN_SECONDS)
        for i in self.c.members:
            self.c.start(i)

    def flood_leader(self):
        i = self.leader()
        self.mark(f"flood n{i}: {FLOOD_CONNS} idle/half-sent TLS connections {FLOOD_SECONDS}s")
        cmd = self.c.client_cmd(PYTHON, HERE / "faultclient.py", "flood", "--url", api_url(i),
                                "--ca", self.c.ca, "--token-file", self.c.token_file,
                                "--conns", FLOOD_CONNS, "--seconds", FLOOD_SECONDS)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=FLOOD_SECONDS + 30)
        assert r.returncode == 0, f"flood failed: {r.stderr[-2000:]}"
        print(f"flood: {r.stdout.strip()}")

    def run(self, seconds):
        """One round of every fault, more rounds while within `seconds`."""
        end = time.monotonic() + seconds
        while True:
            for step in self.SEQUENCE:
                getattr(self, step)()
                time.sleep(SETTLE_SECONDS)
            if time.monotonic() >= end:
                return


def final_states(c):
    """{member: {"vips", "generation", "dataplane_generation"}} over the
    Unix sockets (members that do not answer are left out)."""
    out = {}
    for i in c.members:
        r = c.ctl(i, "--timeout", "5", "vip", "list", timeout=10)
        if r.returncode == 0:
            body = json.loads(r.stdout)
            out[i] = {"vips": history.state_from_vips(body), "generation": body.get("generation"),
                      "dataplane_generation": body.get("dataplane_generation")}
    return out


def converged(final, members):
    return (set(final) == set(members)
            and len({json.dumps(f, sort_keys=True) for f in final.values()}) == 1
            and all(f["generation"] == f["dataplane_generation"] for f in final.values()))


def converge(c, timeout=CONVERGE_SECONDS):
    """Final states once every member agrees (twice in a row), or as they
    are when time runs out: the checker then names the differences."""
    end, last = time.monotonic() + timeout, None
    while time.monotonic() < end:
        final = final_states(c)
        if converged(final, c.members) and final == last:
            return final
        last = final
        time.sleep(0.5)
    return final_states(c)


@pytest.mark.time_limit(SOAK_SECONDS + WORKLOAD_LIMIT + 120)
def test_manager_under_faults(fault_cluster):
    c = fault_cluster
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} for i in c.members))
    nemesis = Nemesis(c)
    with Workload(c, SOAK_SECONDS + WORKLOAD_LIMIT) as wl:
        time.sleep(SETTLE_SECONDS)
        nemesis.run(SOAK_SECONDS)
        ops = wl.stop()
    dead = {i: p.returncode for i, p in c.procs.items() if p.poll() is not None}
    final = converge(c)
    violations = history.check(ops, final) + [
        history.Violation(history.DIVERGENCE, f"member {i} did not answer `vip list` at the end")
        for i in c.members if i not in final]
    report = history.report(violations, ops, nemesis.faults)
    if dead:
        report += f"\ninstances exited during the run (exit status): {dead}"
    print(f"\n{report}\nhistory: {wl.out}")
    if os.environ.get("SLUICE_FAULT_HISTORY"):  # keep the history even when the test passes
        shutil.copy(wl.out, os.environ["SLUICE_FAULT_HISTORY"])
    unavailable = [line for line in history.availability(ops, nemesis.faults) if "NO ack" in line]
    assert not (violations or unavailable or dead), (
        f"{report}\n\nhistory {wl.out} (work dir kept)\n{c.logs(10 if not dead else 40)}")
