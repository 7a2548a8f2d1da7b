"""A DIP change made through sluicectl is in effect on every instance's data
path, shown on the wire (clusterlab.py, docs/lab.md).

Each of the three instances has a net_tap data port in its own namespace;
the test writes TCP SYNs to the VIP onto the kernel side of each TAP with
scapy and captures the IP-in-IP packets the instance sends back out. Before
the change every new flow is tunnelled to the first DIP's host; after
`dip add` (a DIP on another host) and `dip remove` (the first DIP) through
the leader, new flows on every instance, leader and followers alike, go to
the new host only, while a flow established before the change stays on
its old DIP.
"""
import itertools

from clusterlab import FIRST_DIP, HOSTS, VIP, VIP_PORT

NEW_DIP = ("198.18.2.2", 8080, "192.0.2.22")
KEY = f"tcp/{VIP}/{VIP_PORT}"
FLOWS = 8  # new flows per check: Maglev spreads them, so with two DIPs some would go to each


def test_dip_change_reaches_every_data_path(cluster):
    c = cluster
    members = c.members
    ports = itertools.count(20000)

    def new_flows(i, timeout=3.0):
        return c.probe(i, [next(ports) for _ in range(FLOWS)], timeout=timeout)

    old = (FIRST_DIP[2], HOSTS[FIRST_DIP[2]])
    new = (NEW_DIP[2], HOSTS[NEW_DIP[2]])
    c.wait("bootstrap in every data plane", lambda: all(c.dataplane_vips(i) == 1 for i in members))
    established = {}
    for i in members:
        got = new_flows(i)
        assert set(got.values()) == {old}, f"instance {i}: new flows before the change went to {got}"
        established[i] = next(iter(got))

    leader = c.leader()
    r = c.ctl(leader, "dip", "add", KEY, f"{NEW_DIP[0]}:{NEW_DIP[1]},host={NEW_DIP[2]}")
    assert r.returncode == 0, f"dip add: {r.stderr}"
    r = c.ctl(leader, "dip", "remove", KEY, f"{FIRST_DIP[0]}:{FIRST_DIP[1]}")
    assert r.returncode == 0, f"dip remove: {r.stderr}"

    for i in members:
        c.wait(f"instance {i}: the new DIP set in its state", lambda: c.dips(i) == {NEW_DIP}, timeout=10)
        # every instance rebuilds its tables as soon as it applies the entry
        c.wait(f"instance {i}: new flows to {new[0]}",
               lambda: set(new_flows(i, timeout=1.0).values()) == {new}, timeout=10)
        got = new_flows(i)
        assert set(got.values()) == {new}, f"instance {i}: new flows after the change went to {got}"
        kept = c.probe(i, [established[i]], flags="A")
        assert set(kept.values()) == {old}, \
            f"instance {i}: a flow established before the change moved: {kept}"
