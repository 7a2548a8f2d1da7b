"""A 3-instance manager cluster configured through sluicectl (issue 3).

Three sluice processes, each in a network namespace of its own, Raft over
a bridge between them, the API on Unix sockets (clusterlab.py, docs/lab.md).
Checks: election and bootstrap from the file; writes through sluicectl
reach every instance's data plane; after the leader is killed (SIGKILL) a
new leader takes writes and no acknowledged write is lost; the killed
instance, restarted, catches up; the tunnel sources replicate like the
VIPs. Every wait is bounded; the namespaces and
processes are always removed.
"""
import json

from clusterlab import vip


def test_cluster_survives_leader_loss_without_losing_writes(cluster):
    c = cluster
    members = c.members
    leader = c.leader()
    # Bootstrap from the file reaches every replica and every data plane.
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} for i in members))
    c.wait("bootstrap in the data planes", lambda: all(c.dataplane_vips(i) == 1 for i in members))

    acked = {vip(10)}
    for n in range(20, 40):
        assert c.create(members, n), f"write {n} was never acknowledged"
        acked.add(vip(n))
    leader = c.leader()
    follower = next(i for i in members if i != leader)
    r = c.ctl(follower, "vip", "create", "tcp/203.0.113.99/80")
    # 307 to the leader's API, or 503 when its API address is unknown (as here)
    assert r.returncode != 0 and "leader" in r.stderr, "a follower must not accept a write"
    assert vip(99) not in c.vips(leader)
    c.wait("all writes on every replica", lambda: all(c.vips(i) == acked for i in members))
    c.wait("all writes in every data plane", lambda: all(c.dataplane_vips(i) == len(acked) for i in members))

    # Kill the leader: the others elect a new one, which has every acked write.
    c.kill(leader)
    rest = tuple(i for i in members if i != leader)
    new = c.leader(among=rest)
    assert c.vips(new) == acked, "an acknowledged write was lost"
    for n in range(40, 45):
        assert c.create(rest, n), f"write {n} was never acknowledged after the leader loss"
        acked.add(vip(n))
    c.wait("writes on the surviving data planes", lambda: all(c.dataplane_vips(i) == len(acked) for i in rest))

    # The old leader comes back and catches up from its log and the leader.
    c.start(leader)
    c.wait("restarted member catches up", lambda: c.vips(leader) == acked, timeout=45)
    c.wait("restarted member's data plane", lambda: c.dataplane_vips(leader) == len(acked), timeout=15)


def tunnel_sources(c, i, *opts):
    r = c.ctl(i, *opts, "tunnel-sources")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def not_set(c, i):
    """Not set in the cluster: each host agent uses its own file's list
    (none here: these members have no host role)."""
    got = tunnel_sources(c, i)
    return got["prefixes"] is None and got["replicated"] is False and got["file_prefixes"] == []


def test_tunnel_sources_replicate(cluster):
    """The host agents' tunnel sources through sluicectl (issue 9): this
    mux-only cluster bootstraps them as not set (each host agent keeps its
    own file's, and the leader says so); a set on the leader reaches every
    replica, canonical and sorted; a refused set and a follower change
    nothing; unset reaches every replica."""
    c = cluster
    members = c.members
    leader = c.leader()
    c.wait("bootstrap everywhere", lambda: all(c.vips(i) == {vip(10)} for i in members))
    assert all(not_set(c, i) for i in members), [tunnel_sources(c, i) for i in members]
    assert ("tunnel sources not set: each host agent uses its own host.tunnel_sources"
            in c.log(leader).read_text()), c.logs()

    r = c.ctl(leader, "tunnel-sources", "set", "2001:DB8:2::/64", "192.0.2.11", "192.0.2.10")
    assert r.returncode == 0, r.stderr
    want = ["192.0.2.10/32", "192.0.2.11/32", "2001:db8:2::/64"]
    c.wait("tunnel sources on every replica",
           lambda: all(tunnel_sources(c, i)["prefixes"] == want for i in members))
    got = tunnel_sources(c, leader, "--linearizable")
    assert got["consistency"] == "linearizable" and got["prefixes"] == want, got

    r = c.ctl(leader, "tunnel-sources", "set", "192.0.2.12", "192.0.2.10/24")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "prefixes[1]: 192.0.2.10/24 has host bits set (did you mean 192.0.2.0/24?)" in r.stderr
    follower = next(i for i in members if i != leader)
    r = c.ctl(follower, "tunnel-sources", "set", "192.0.2.12")
    assert r.returncode != 0 and "leader" in r.stderr, "a follower must not accept a write"
    assert all(tunnel_sources(c, i)["prefixes"] == want for i in members)
    assert all(tunnel_sources(c, i)["replicated"] is True for i in members)

    r = c.ctl(leader, "tunnel-sources", "unset")
    assert r.returncode == 0, r.stderr
    c.wait("tunnel sources unset on every replica", lambda: all(not_set(c, i) for i in members))
