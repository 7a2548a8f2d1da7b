"""Tunnels a host agent must refuse (issue 9; docs/lab.md).

Muxes tunnel IPv4 in IPv4 and IPv6 in IPv6 only. IPv6 in IPv4 and IPv4 in
IPv6, put on the fabric segment by the router towards host1's MAC with a
well-formed inner SYN for a VIP, used to be decapsulated and delivered to a
backend (the inner family was taken from the outer protocol number alone);
now each is a drop_bad_tunnel and nothing reaches a DIP. A well-formed
4in4 frame of the same kind is decapsulated, so the test can tell the two
apart.
"""
import time

import sluicelab as sl

N = 10
HOST1_MAC = sl.INSTANCES["host1"].taps[0].pmd_mac
HOST1_4, HOST1_6 = sl.INSTANCES["host1"].addrs


def frames(cross):
    import scapy.all as s
    out = []
    for i in range(N):
        syn4 = s.IP(src=sl.CLIENT4, dst=sl.VIP4) / s.TCP(sport=41000 + i, dport=80, flags="S")
        syn6 = s.IPv6(src=sl.CLIENT6, dst=sl.VIP6) / s.TCP(sport=41000 + i, dport=80, flags="S")
        if cross:
            out.append(s.IP(src=sl.MUX4, dst=HOST1_4, proto=41) / syn6)
            out.append(s.IPv6(src=sl.MUX6, dst=HOST1_6, nh=4) / syn4)
        else:
            out.append(s.IP(src=sl.MUX4, dst=HOST1_4, proto=4) / syn4)
    return out


def counters(lab):
    st = lab.stats("host1")
    return {k: int(st.get(k, 0)) for k in ("drop_bad_tunnel", "host_decap", "host_to_dip")}


def send(lab, cross, name):
    import scapy.all as s
    eth = s.Ether(src=lab.macs["router_fab"], dst=HOST1_MAC)
    lab.sendp("router", "fab0", [eth / f for f in frames(cross)], name)


def wait_for(lab, key, target, timeout=5.0):
    end = time.monotonic() + timeout
    while counters(lab)[key] < target and time.monotonic() < end:
        time.sleep(0.2)
    return counters(lab)


def test_cross_family_tunnels_are_dropped(lab):
    before = counters(lab)
    send(lab, True, "cross-family-tunnels")
    after = wait_for(lab, "drop_bad_tunnel", before["drop_bad_tunnel"] + 2 * N)
    assert after["drop_bad_tunnel"] - before["drop_bad_tunnel"] == 2 * N, (before, after)
    assert after["host_decap"] == before["host_decap"], (before, after)
    assert after["host_to_dip"] == before["host_to_dip"], (before, after)

    send(lab, False, "same-family-tunnels")
    ok = wait_for(lab, "host_decap", after["host_decap"] + N)
    # at least N: the client's resets to the backends' SYN-ACKs come through the mux too
    assert ok["host_decap"] - after["host_decap"] >= N, (after, ok)
