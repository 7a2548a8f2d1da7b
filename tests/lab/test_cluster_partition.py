"""A leader cut off from the other members commits nothing (clusterlab.py,
docs/lab.md).

The leader of a 3-member cluster loses its link (a minority of one). A write
sent to it right away is not acknowledged, and promptly: libraft's leader
steps down once it has not heard from a quorum for an election timeout and
fails the pending write. Its VIP never shows in the isolated member's state
or data plane. The two others elect a leader and commit writes, which reach
both their data planes. Healed, the old leader follows again, has every
write of the majority and not the one it was sent alone.
"""
import subprocess
import time

import pytest

from clusterlab import vip

ALONE = 77           # VIP 203.0.113.77: the write sent to the isolated leader
WRITE_LIMIT = 10.0   # seconds: a client must hear "no" within this


def test_isolated_leader_commits_nothing(cluster):
    c = cluster
    members = c.members
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} and c.dataplane_vips(i) == 1
                                                for i in members))
    old = c.leader()
    majority = tuple(i for i in members if i != old)

    def isolated_unchanged():
        state, dataplane = c.vips(old), c.dataplane_vips(old)
        assert state == {vip(10)} and dataplane == 1, (
            f"isolated member {old} applied something: state {sorted(state)}, "
            f"{dataplane} VIPs in its data plane")

    c.partition(old)
    start = time.monotonic()
    try:
        r = c.ctl(old, "--timeout", "30", "vip", "create", f"tcp/203.0.113.{ALONE}/80",
                  f"198.18.{ALONE}.2:8080,host=192.0.2.21", timeout=35)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sluicectl got no answer from the isolated leader in 35 s\n{c.logs()}")
    took = time.monotonic() - start
    assert r.returncode != 0, f"the isolated leader acknowledged a write: {r.stdout}"
    assert took < WRITE_LIMIT, (f"the isolated leader answered only after {took:.1f}s "
                                f"(exit {r.returncode}: {r.stderr.strip()})\n{c.logs()}")
    print(f"write to the isolated leader: exit {r.returncode} after {took:.1f}s: {r.stderr.strip()}")
    isolated_unchanged()
    c.wait(f"isolated leader {old} to step down", lambda: c.status(old)["state"] != "leader",
           timeout=10)

    acked = {vip(10)}
    for n in range(20, 25):
        assert c.create(majority, n), f"the majority never acknowledged write {n}"
        acked.add(vip(n))
        isolated_unchanged()
    c.wait("majority writes in both majority replicas and data planes",
           lambda: all(c.vips(i) == acked and c.dataplane_vips(i) == len(acked) for i in majority),
           timeout=10)
    isolated_unchanged()

    c.heal(old)

    def rejoined():
        s = c.status(old)
        return (s["state"] == "follower" and s["leader"] is not None and s["leader"]["id"] != old
                and c.vips(old) == acked)
    c.wait(f"member {old} to follow again with the majority's writes", rejoined)
    c.wait(f"member {old}'s data plane", lambda: c.dataplane_vips(old) == len(acked), timeout=10)
    # the log it kept alone was replaced; new writes reach it too
    assert c.create(members, 30), "no write acknowledged after healing"
    acked.add(vip(30))
    c.wait("every replica and data plane after healing",
           lambda: all(c.vips(i) == acked and c.dataplane_vips(i) == len(acked) for i in members))
