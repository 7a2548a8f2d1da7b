"""A new leader never refuses what an earlier leader acknowledged (issue 7,
symptom 1; clusterlab.py, docs/lab.md).

A VIP create is acknowledged by the leader, which is SIGKILLed at once. The
followers have the entry in their logs but not yet its commit: followers
learn that an entry committed from the leader's next message, and the
heartbeat is slowed here (500 ms) so that the kill always comes first. One
of them becomes leader with that entry unapplied, and libraft 0.15 appends
nothing when it wins. Sluice before issue 7 validated the next write
against that applied state and answered a DIP add for the acknowledged VIP
"404 VIP ... does not exist"; now the new leader first applies a barrier of
its own term (503 with a retry hint until then, which sluicectl follows),
so the DIP add is accepted and every read shows the VIP.
"""
import json

import pytest

from clusterlab import Cluster, vip

KEY = "tcp/203.0.113.99/80"
SLOW_HEARTBEAT = "heartbeat_ms = 500; election_timeout_ms = 2500;"


@pytest.fixture
def slow_cluster(request):
    failed_before = request.session.testsfailed
    c = Cluster(manager_extra=SLOW_HEARTBEAT)
    try:
        c.up()
        for i in c.members:
            c.start(i)
        yield c
    finally:
        c.down(keep=request.session.testsfailed > failed_before)


def read(c, i, *args):
    r = c.ctl(i, *args)
    assert r.returncode == 0, f"member {i}: {' '.join(args)}: {r.stderr}\n{c.logs()}"
    return json.loads(r.stdout)


def test_new_leader_honours_acknowledged_create(slow_cluster):
    c = slow_cluster
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} for i in c.members))
    old = c.leader()
    others = tuple(i for i in c.members if i != old)

    r = c.ctl(old, "vip", "create", KEY, "198.18.99.2:8080,host=192.0.2.21")
    c.kill(old)
    assert r.returncode == 0, f"create not acknowledged: {r.stderr}"
    acked = json.loads(r.stdout)["index"]
    # The precondition of the symptom: no follower has applied the create.
    states = {i: read(c, i, "vip", "list") for i in others}
    for i, state in states.items():
        assert vip(99) not in {(v["protocol"], v["address"], v["port"]) for v in state["vips"]}, (
            f"member {i} already applied the create: the kill came too late to test anything")

    new = c.leader(among=others)
    r = c.ctl(new, "dip", "add", KEY, "198.18.99.3:8080,host=192.0.2.22")
    assert r.returncode == 0, (
        f"the new leader {new} refused a DIP add for a VIP acknowledged at index {acked}: "
        f"{r.stderr}\n{c.logs()}")
    for state in states.values():  # those local reads said they were older than the create
        assert state["consistency"] == "local" and state["applied_index"] < acked

    dips = read(c, new, "--linearizable", "dip", "list", KEY)
    assert dips["consistency"] == "linearizable" and dips["applied_index"] > acked
    assert {d["address"] for d in dips["dips"]} == {"198.18.99.2", "198.18.99.3"}
    for i in others:  # local reads, once fresh enough, agree
        c.wait(f"member {i} to apply the DIP add",
               lambda i=i: len(read(c, i, "dip", "list", KEY)["dips"]) == 2)

    c.start(old)  # the killed leader catches up with both
    c.wait(f"member {old} to catch up", lambda: vip(99) in c.vips(old)
           and len(read(c, old, "dip", "list", KEY)["dips"]) == 2)
