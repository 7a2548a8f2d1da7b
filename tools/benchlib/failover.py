"""tools/bench failover: how long writes are unavailable after each kind of fault.

The cluster is benchlib.cluster's: three sluice members (release build,
net_null ports) in a network namespace of their own, Raft over its
127.0.0.1, the API on Unix sockets, every member's `api` URL advertised so
that a 307 names the leader.  Each member also runs in a cgroup v2 of its
own, so nftables can cut all of one member's Raft sockets (see Cut).

Writers: one Prober thread per member writes without pause through that
member's socket (PUT a new weight on a DIP of its own VIP) and records the
time of every 2xx.  Only the leader acknowledges; the others answer 307
(or 503 while no leader is known) and are asked again POLL_S later, or
after the 503's "retry_after_ms" (capped at RETRY_CAP_MS) while a new
leader catches up.  Probing every member in parallel, instead of one
client following redirects, measures when the *cluster* accepts writes
again, without a client's own time-outs: a request to a stopped or
partitioned leader blocks only the prober of that member.

Faults (each trial starts from a converged cluster, see converge()):
  leader_kill       SIGKILL the leader; fault -> first ack elsewhere; restart it.
  leader_stop       SIGSTOP the leader for at least HOLD_S; fault -> first ack
                    elsewhere; SIGCONT.
  leader_partition  cut the leader's Raft traffic for at least HOLD_S; fault ->
                    first ack elsewhere; heal.
  follower_heal     cut a follower for ISOLATE_S (more than an election timeout),
                    heal, and take the longest gap between acks in the WATCH_S
                    after the heal (longer if the follower rejoins late); also
                    whether the leader or the term changed.
  restart_all       SIGKILL all three, start them again; start -> first ack.
Each trial also records the term increase, converged view after minus
converged view before (GET /v1/cluster "term"): 1 for a one-round election.

Everything is bounded (ACK_TIMEOUT_S, CONVERGE_TIMEOUT_S); processes are
stopped by pid, the nftables table lives in the bench's namespace, which
is deleted, and the cgroups are removed.
"""

import bisect
import collections
import contextlib
import http.client
import os
import re
import signal
import subprocess
import threading
import time

from .cluster import (DIP, MEMBERS, Api, Cluster, dip_port, make_run_dir, member_of_url, pct,
                      vip_addr)
from .dpdk import BenchError, log

FAULTS = ("leader_kill", "leader_stop", "leader_partition", "follower_heal", "restart_all")
DEFAULT_TRIALS = {"leader_kill": 20, "leader_stop": 6, "leader_partition": 6,
                  "follower_heal": 6, "restart_all": 6}
GOALS = {"leader_kill_p50_ms": 1000, "leader_kill_max_ms": 1500, "follower_heal_gap_ms": 100}

POLL_S = 0.002          # a prober's pause after a 307, a 503 without retry_after, an error
RETRY_CAP_MS = 20       # longest retry_after_ms a prober honours
PROBE_TIMEOUT_S = 5.0   # one request (a stopped member answers after SIGCONT)
HOLD_S = 2.0            # a stopped or partitioned leader stays so at least this long
ISOLATE_S = 3.0         # follower_heal: how long the follower is cut off
WATCH_S = 3.0           # follower_heal: window after the heal (and the control before)
ACK_TIMEOUT_S = 30.0    # no ack this long after a fault: the bench fails
CONVERGE_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 90.0
QUIET_S = 0.5           # pause between trials, after convergence
NFT_TABLE = "slbench_cut"
CGROUP_FS = "/sys/fs/cgroup"   # nft resolves cgroupv2 paths below this


# --------------------------------------------------------------------------
# writers


class Prober(threading.Thread):
    """Writes continuously through one member's API and keeps the time of every
    acknowledged (2xx) write, in order, so that any window can be looked up
    later with bisect."""

    def __init__(self, cluster, member, stopping):
        super().__init__(name="probe-%d" % member, daemon=True)
        self.cluster, self.member, self.stopping = cluster, member, stopping
        self.acks = []
        self.statuses = collections.Counter()
        self.bodies = {}                # first answer of each status, to show what they said
        self.first_odd = None           # first answer that is none of 2xx/307/503
        k = member - 1                  # VIP k is the prober's own: writes never conflict
        self.url = "/v1/vips/tcp/%s/80/dips/%s/%d/weight" % (vip_addr(k), DIP, dip_port(k))

    def run(self):
        api = Api(self.cluster.api_path(self.member), PROBE_TIMEOUT_S)
        weight = 0
        try:
            while not self.stopping.is_set():
                weight = weight % 60000 + 1       # a new value each time: a real change
                pause = self.write(api, weight)
                if pause:
                    self.stopping.wait(pause)
        finally:
            api.close()

    def write(self, api, weight):
        """One PUT; returns how long to wait before the next."""
        try:
            st, doc, t = api.call("PUT", self.url, {"weight": weight})
        except (OSError, http.client.HTTPException):
            self.statuses["error"] += 1
            return POLL_S
        self.statuses[st] += 1
        self.bodies.setdefault(st, doc)
        if 200 <= st < 300:
            self.acks.append(t)
            return 0
        if st == 503 and isinstance(doc, dict) and doc.get("retry_after_ms") is not None:
            return min(float(doc["retry_after_ms"]), RETRY_CAP_MS) / 1000.0
        if st == 307 and isinstance(doc, dict) and member_of_url(doc.get("leader")) is None:
            self.note_odd(st, doc)
        elif st not in (307, 503):
            self.note_odd(st, doc)
        return POLL_S

    def note_odd(self, st, doc):
        if self.first_odd is None:
            self.first_odd = "%s %s" % (st, doc)
            log("member %d answered %s" % (self.member, self.first_odd))

    def first_after(self, t):
        """Time of the first ack after t, or None."""
        k = bisect.bisect_right(self.acks, t)
        return self.acks[k] if k < len(self.acks) else None

    def between(self, t0, t1):
        return self.acks[bisect.bisect_right(self.acks, t0):bisect.bisect_right(self.acks, t1)]


# --------------------------------------------------------------------------
# partitions


def cgroup2_root():
    """A directory for the members' cgroups at the top of the cgroup v2 hierarchy,
    if that is mounted below CGROUP_FS (where nft looks for cgroupv2 paths) and
    writable; else None (the partition faults are then skipped)."""
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f if line.split()[2:3] == ["cgroup2"]]
    except OSError:
        return None
    for m in mounts:
        if (m == CGROUP_FS or m.startswith(CGROUP_FS + "/")) and os.access(m, os.W_OK):
            return m
    return None


class Cut:
    """Cuts one member off its peers' Raft traffic with nftables in the cluster's
    namespace.  Matching the Raft port alone would not do: a member sends its
    own messages on connections it opens, from ephemeral ports, so a port rule
    leaves the cut member's heartbeats flowing (a one-way partition).  The rules
    match the member's cgroup instead, on output (packets its sockets send) and
    input (packets to its sockets), i.e. every TCP packet of that process; the
    API's Unix socket is not IP and stays reachable."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.cut = None

    def nft(self, text):
        # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroups
        # nft resolves the path against.
        r = subprocess.run(["nsenter", "--net=/run/netns/" + self.cluster.ns, "nft", "-f", "-"],
                           input=text, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise BenchError("nft: %s\n%s" % (r.stderr.strip(), text))

    def apply(self, i):
        path = os.path.relpath(self.cluster.cgroup(i), CGROUP_FS)
        level = len(os.path.relpath(self.cluster.cgroup(i), self.cluster.cgroup_root).split("/"))
        match = 'meta l4proto tcp socket cgroupv2 level %d "%s" drop' % (level, path)
        self.nft("table inet %s {\n"
                 " chain out { type filter hook output priority 0; %s; }\n"
                 " chain in { type filter hook input priority 0; %s; }\n}\n"
                 % (NFT_TABLE, match, match))
        self.cut = i

    def heal(self):
        if self.cut is not None:
            self.nft("delete table inet %s\n" % NFT_TABLE)
            self.cut = None

    @contextlib.contextmanager
    def isolated(self, i):
        """Member i is cut off inside the block, healed on leaving it."""
        self.apply(i)
        try:
            yield
        finally:
            self.heal()


# --------------------------------------------------------------------------
# one trial at a time


class Failover:
    """The running cluster, its probers and its cut, and what every trial needs:
    wait for convergence, wait for the first ack after a fault, gaps between
    acks."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.stopping = threading.Event()
        self.probers = {i: Prober(cluster, i, self.stopping) for i in MEMBERS}
        self.cut = Cut(cluster) if cluster.cgroup_root else None

    def start(self):
        self.cluster.start()
        for i in MEMBERS:
            self.cluster.wait_ready(i, READY_TIMEOUT_S)
        self.cluster.leader(60)
        for p in self.probers.values():
            p.start()

    def stop(self):
        self.stopping.set()
        try:
            if self.cut:
                self.cut.heal()
        finally:
            self.cluster.stop()
            for p in self.probers.values():
                if p.is_alive():
                    p.join(timeout=2 * PROBE_TIMEOUT_S)

    def converge(self, timeout=CONVERGE_TIMEOUT_S):
        """Wait until the cluster is back to normal: every member names the same
        leader, has applied all the leader had committed when first seen so, and
        the leader acknowledged a write after that.  Returns (leader, term)."""
        deadline = time.monotonic() + timeout
        target, views = None, {}
        while time.monotonic() < deadline:
            self.cluster.check_alive()
            views = {i: self.cluster.view(i) for i in MEMBERS}
            lead = agreed_leader(views)
            if lead is None or (target and target[0] != lead):
                target = None
            elif target is None:
                target = (lead, views[lead].get("commit_index", 0), time.monotonic())
            elif (all(applied(v) >= target[1] for v in views.values())
                  and self.probers[lead].first_after(target[2]) is not None):
                return lead, views[lead]["term"]
            time.sleep(0.05)
        raise BenchError("cluster did not converge in %d s (views %s; writes %s):\n%s"
                         % (timeout, views, self.statuses(), self.cluster.tails()))

    def first_ack(self, t, exclude=()):
        """After a fault at t: when a member not in exclude first said it leads,
        and when one first acknowledged a write.  Returns {"ack": (time, member),
        "elected": (time, member, term)}; the election is polled (GET /v1/cluster,
        every few ms), so it is known to within that."""
        deadline = t + ACK_TIMEOUT_S
        others = [i for i in MEMBERS if i not in exclude]
        elected = None
        while time.monotonic() < deadline:
            if elected is None:
                elected = self.elected(others)
            if self.earliest(t, exclude):
                time.sleep(0.05)        # an earlier ack may still be on its way to the list
                ack = self.earliest(t, exclude)
                return {"ack": ack, "elected": elected or self.elected([ack[1]])}
            time.sleep(0.003)
        raise BenchError("no write acknowledged within %d s of the fault (writes %s):\n%s"
                         % (ACK_TIMEOUT_S, self.statuses(), self.cluster.tails()))

    def elected(self, members):
        """(now, member, term) for the first of members that says it leads, or None."""
        for i in members:
            v = self.cluster.view(i, 0.5)
            if v and (v.get("leader") or {}).get("id") == i:
                return time.monotonic(), i, v.get("term")
        return None

    def earliest(self, t, exclude):
        found = [(p.first_after(t), i) for i, p in self.probers.items() if i not in exclude]
        found = [f for f in found if f[0] is not None]
        return min(found) if found else None

    def max_gap_ms(self, t0, t1):
        """Longest time without an ack in [t0, t1], counting from t0 and up to t1."""
        acks = sorted(a for p in self.probers.values() for a in p.between(t0, t1))
        points = [t0] + acks + [t1]
        return 1000.0 * max(b - a for a, b in zip(points, points[1:]))

    def caught_up(self, i):
        """Time member i has applied all the others had committed when called."""
        target = max((v or {}).get("commit_index", 0)
                     for v in (self.cluster.view(j) for j in MEMBERS if j != i))
        deadline = time.monotonic() + CONVERGE_TIMEOUT_S
        while time.monotonic() < deadline:
            if applied(self.cluster.view(i) or {}) >= target:
                return time.monotonic()
            time.sleep(0.01)
        raise BenchError("member %d did not catch up within %d s of the heal"
                         % (i, CONVERGE_TIMEOUT_S))

    def statuses(self):
        return {i: dict(p.statuses) for i, p in self.probers.items()}

    def bodies(self):
        return {i: p.bodies for i, p in self.probers.items()}

    def quiet(self):
        """Converge and pause, so that one trial's tail does not reach the next."""
        self.converge()
        time.sleep(QUIET_S)
        return self.converge()


def agreed_leader(views):
    """The member every view names as leader (and that says so itself), or None."""
    if any(v is None or not v.get("leader") for v in views.values()):
        return None
    ids = {v["leader"].get("id") for v in views.values()}
    lead = ids.pop() if len(ids) == 1 else None
    return lead if lead in views and views[lead].get("id") == lead else None


def applied(view):
    return view.get("applied_index", view.get("commit_index", 0))


def followers(lead):
    return [i for i in MEMBERS if i != lead]


# --------------------------------------------------------------------------
# the faults: each returns one trial's record, "ms" its figure


def outcome(f, t_fault, seen, lead0, term0):
    """A leader fault's record, once the cluster has converged again: ms to the
    first ack, ms to the first member saying it leads, the term increase of that
    election and the increase by convergence (more: a rejoining member forced
    another election)."""
    lead1, term1 = f.converge()
    (t_ack, by), elected = seen["ack"], seen["elected"]
    term_e = elected[2] if elected and elected[2] is not None else term1
    return {"ms": 1000.0 * (t_ack - t_fault), "acked_by": by,
            "elected_ms": 1000.0 * (elected[0] - t_fault) if elected else None,
            "leader": [lead0, lead1], "term_delta": term_e - term0,
            "term_delta_settled": term1 - term0}


def leader_kill(f, n):
    lead, term0 = f.quiet()
    t = time.monotonic()
    f.cluster.kill(lead)
    seen = f.first_ack(t, exclude=(lead,))
    f.cluster.start_member(lead)
    f.cluster.wait_ready(lead, READY_TIMEOUT_S)
    return outcome(f, t, seen, lead, term0)


def leader_stop(f, n):
    lead, term0 = f.quiet()
    t = time.monotonic()
    f.cluster.signal(lead, signal.SIGSTOP)
    try:
        seen = f.first_ack(t, exclude=(lead,))
        time.sleep(max(0.0, t + HOLD_S - time.monotonic()))
    finally:
        f.cluster.signal(lead, signal.SIGCONT)
    return outcome(f, t, seen, lead, term0)


def leader_partition(f, n):
    lead, term0 = f.quiet()
    with f.cut.isolated(lead):
        t = time.monotonic()
        seen = f.first_ack(t, exclude=(lead,))
        time.sleep(max(0.0, t + HOLD_S - time.monotonic()))
    return outcome(f, t, seen, lead, term0)


def follower_heal(f, n):
    """The window after the heal lasts WATCH_S, or until 1 s after the cut member
    caught up if that is later: its first packets after a heal wait for TCP's
    backed-off retransmission timer, so it may rejoin seconds after the heal."""
    lead, term0 = f.quiet()
    time.sleep(WATCH_S)
    now = time.monotonic()
    before = f.max_gap_ms(now - WATCH_S, now)
    cut = followers(lead)[n % 2]
    with f.cut.isolated(cut):
        time.sleep(ISOLATE_S)
        cut_view = f.cluster.view(cut) or {}
        t = time.monotonic()
    rejoined = f.caught_up(cut)
    end = max(t + WATCH_S, rejoined + 1.0)
    time.sleep(max(0.0, end - time.monotonic()) + 0.1)
    gap = f.max_gap_ms(t, end)
    lead1, term1 = f.converge()
    return {"ms": gap, "before_gap_ms": before, "cut": cut, "leader": [lead, lead1],
            "rejoin_ms": 1000.0 * (rejoined - t), "window_ms": 1000.0 * (end - t),
            "leader_changed": lead1 != lead or term1 != term0, "term_delta": term1 - term0,
            "cut_term_delta": cut_view.get("term", term0) - term0}


def restart_all(f, n):
    lead, term0 = f.quiet()
    for i in MEMBERS:
        f.cluster.kill(i)
    t = time.monotonic()
    for i in MEMBERS:
        f.cluster.start_member(i)
    seen = f.first_ack(t)
    for i in MEMBERS:
        f.cluster.wait_ready(i, READY_TIMEOUT_S)
    return outcome(f, t, seen, lead, term0)


TRIALS = {"leader_kill": leader_kill, "leader_stop": leader_stop,
          "leader_partition": leader_partition, "follower_heal": follower_heal,
          "restart_all": restart_all}
NEEDS_CUT = ("leader_partition", "follower_heal")


def describe(name, n, of, r):
    if name == "follower_heal":
        extra = ("before %.1f ms, rejoined after %.0f ms, leader %s, cut member's term +%d"
                 % (r["before_gap_ms"], r["rejoin_ms"],
                    "changed" if r["leader_changed"] else "kept", r["cut_term_delta"]))
    else:
        extra = "acked by %d, leader elected after %s ms, term +%d by then" % (
            r["acked_by"], "%.0f" % r["elected_ms"] if r["elected_ms"] is not None else "?",
            r["term_delta"])
    return ("%s %d/%d: %.1f ms (%s; leader %d -> %d, term +%d in all)"
            % (name, n + 1, of, r["ms"], extra, r["leader"][0], r["leader"][1],
               r.get("term_delta_settled", r["term_delta"])))


# --------------------------------------------------------------------------
# the run


def summarise(name, trials):
    ms = [r["ms"] for r in trials]
    terms = [r["term_delta"] for r in trials]
    s = {"trials": len(ms), "p50_ms": round(pct(ms, 50), 1), "max_ms": round(max(ms), 1),
         "min_ms": round(min(ms), 1), "term_delta": [min(terms), max(terms)],
         "samples_ms": [round(x, 1) for x in ms]}
    elected = [r["elected_ms"] for r in trials if r.get("elected_ms") is not None]
    if elected:
        s["elected_p50_ms"] = round(pct(elected, 50), 1)
        s["elected_max_ms"] = round(max(elected), 1)
    if "term_delta_settled" in trials[0]:
        settled = [r["term_delta_settled"] for r in trials]
        s["term_delta_settled"] = [min(settled), max(settled)]
    if name == "follower_heal":
        s["leader_changes"] = sum(r["leader_changed"] for r in trials)
        s["rejoin_max_ms"] = round(max(r["rejoin_ms"] for r in trials), 1)
        s["before_gap_max_ms"] = round(max(r["before_gap_ms"] for r in trials), 1)
        s["cut_term_delta"] = [min(r["cut_term_delta"] for r in trials),
                               max(r["cut_term_delta"] for r in trials)]
    return s


def rounded(record):
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in record.items()}


def goals_met(faults):
    kill, heal = faults.get("leader_kill"), faults.get("follower_heal")
    met = {}
    if kill:
        met["leader_kill_p50_ms"] = kill["p50_ms"] <= GOALS["leader_kill_p50_ms"]
        met["leader_kill_max_ms"] = kill["max_ms"] <= GOALS["leader_kill_max_ms"]
    if heal:
        met["follower_heal_gap_ms"] = (heal["max_ms"] <= GOALS["follower_heal_gap_ms"]
                                       and heal["leader_changes"] == 0)
    return met


def configured_timeouts(sluice, override):
    """(heartbeat_ms, election_timeout_ms) the members run with: the bench sets
    neither unless --election-timeout-ms, so they are the defaults of the source
    tree the binary was built in (<tree>/build*/app/sluice), read from
    lib/config/config.h; None where unknown."""
    header = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(sluice))),
                          "lib", "config", "config.h")
    found = {}
    try:
        with open(header) as f:
            found = dict(re.findall(r"#define SL_DEFAULT_(HEARTBEAT|ELECTION_TIMEOUT)_MS (\d+)",
                                    f.read()))
    except OSError:
        pass
    hb = int(found["HEARTBEAT"]) if "HEARTBEAT" in found else None
    et = int(found["ELECTION_TIMEOUT"]) if "ELECTION_TIMEOUT" in found else None
    return hb, override or et


def plan(args):
    """[(fault, trials)] from --faults and --trials."""
    names = [n.strip() for n in (args.faults or ",".join(FAULTS)).split(",") if n.strip()]
    bad = [n for n in names if n not in FAULTS]
    if bad or (args.trials is not None and args.trials < 1):
        raise BenchError("--faults from %s; --trials >= 1" % ", ".join(FAULTS))
    return [(n, args.trials or DEFAULT_TRIALS[n]) for n in names]


def run_trials(f, todo, skipped):
    results = {}
    for name, count in todo:
        if name in NEEDS_CUT and f.cut is None:
            skipped[name] = "no writable cgroup v2 hierarchy below %s for nftables" % CGROUP_FS
            log("%s: skipped (%s)" % (name, skipped[name]))
            continue
        results[name] = []
        for n in range(count):
            r = TRIALS[name](f, n)
            results[name].append(r)
            log(describe(name, n, count, r))
        log("%s: %s" % (name, summarise(name, results[name])))
    return results


def run_failover(args, sluice, buildtype, root, env):
    todo = plan(args)
    run_dir = make_run_dir(root, "failover")
    extra = {"election_timeout_ms": args.election_timeout_ms} if args.election_timeout_ms else {}
    c = Cluster(sluice, run_dir, max(3, args.vips), args.idle_sleep_us, name="failover",
                manager_extra=extra, cgroup_root=cgroup2_root())
    f = Failover(c)
    hb, et = configured_timeouts(sluice, args.election_timeout_ms)
    log("failover: 3 members in netns %s, heartbeat %s ms, election timeout %s ms%s; %s; "
        "run dir %s" % (c.ns, hb, et, " (set)" if extra else " (default)",
                        ", ".join("%s x%d" % t for t in todo), run_dir))
    t0 = time.monotonic()
    skipped = {}
    try:
        f.start()
        results = run_trials(f, todo, skipped)
        writes, bodies = f.statuses(), f.bodies()
    finally:
        f.stop()
    faults = {name: summarise(name, rs) for name, rs in results.items()}
    return {
        "bench": "failover",
        "election_timeout_ms": et,
        "heartbeat_ms": hb,
        "faults": faults,
        "goals": GOALS,
        "met": goals_met(faults),
        "skipped": skipped,
        "trials": {name: [rounded(r) for r in rs] for name, rs in results.items()},
        "writes": {str(i): {str(k): v for k, v in w.items()} for i, w in writes.items()},
        "answers": {str(i): {str(k): v for k, v in b.items()} for i, b in bodies.items()},
        "method": {"probe": "PUT a DIP weight, one writer per member's Unix socket, "
                            "again after %g ms on 307/503/error (503 retry_after_ms honoured, "
                            "capped at %d ms)" % (POLL_S * 1000, RETRY_CAP_MS),
                   "hold_s": HOLD_S, "isolate_s": ISOLATE_S, "watch_s": WATCH_S,
                   "partition": "nftables drop of every TCP packet of the member's cgroup"},
        "duration_s": round(time.monotonic() - t0, 1),
        "sluice": {"binary": os.path.relpath(sluice, root), "buildtype": buildtype},
        "run_dir": os.path.relpath(run_dir, root),
        "host": env,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
