"""Tunnels a host agent must refuse (issue 9; docs/lab.md).

Muxes tunnel IPv4 in IPv4 and IPv6 in IPv6 only. IPv6 in IPv4 and IPv4 in
IPv6, put on the fabric segment by the router towards host1's MAC with a
well-formed inner SYN for a VIP, used to be decapsulated and delivered to a
backend (the inner family was taken from the outer protocol number alone);
now each is a drop_bad_tunnel and nothing reaches a DIP. Tunnels from an
outer source that is not one of host1's host.tunnel_sources (the mux's
addresses) are drop_bad_tunnel_source, also after a reload changes the
list. Well-formed 4in4 and 6in6 frames from the mux are decapsulated, so
the tests can tell the cases apart.
"""
import time

import sluicelab as sl

N = 10
HOST1_MAC = sl.INSTANCES["host1"].taps[0].pmd_mac
HOST1_4, HOST1_6 = sl.INSTANCES["host1"].addrs
# On the fabric's prefixes, but no mux: not in host1's tunnel_sources
OTHER4, OTHER6 = "192.0.2.99", "2001:db8:2::99"


def frames(cross, src4, src6):
    """N frames of each family, outer sources src4 and src6: 6in4 and 4in6
    when cross, else 4in4 and 6in6."""
    import scapy.all as s
    out = []
    for i in range(N):
        syn4 = s.IP(src=sl.CLIENT4, dst=sl.VIP4) / s.TCP(sport=41000 + i, dport=80, flags="S")
        syn6 = s.IPv6(src=sl.CLIENT6, dst=sl.VIP6) / s.TCP(sport=41000 + i, dport=80, flags="S")
        out.append(s.IP(src=src4, dst=HOST1_4, proto=41 if cross else 4) / (syn6 if cross else syn4))
        out.append(s.IPv6(src=src6, dst=HOST1_6, nh=4 if cross else 41) / (syn4 if cross else syn6))
    return out


def counters(lab):
    st = lab.stats("host1")
    return {k: int(st.get(k, 0))
            for k in ("drop_bad_tunnel", "drop_bad_tunnel_source", "host_decap", "host_to_dip")}


def send(lab, cross, name, src4=sl.MUX4, src6=sl.MUX6):
    import scapy.all as s
    eth = s.Ether(src=lab.macs["router_fab"], dst=HOST1_MAC)
    lab.sendp("router", "fab0", [eth / f for f in frames(cross, src4, src6)], name)


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

    assert_mux_tunnels_decapsulated(lab, after)


def assert_mux_tunnels_decapsulated(lab, before):
    send(lab, False, "same-family-tunnels")
    ok = wait_for(lab, "host_decap", before["host_decap"] + 2 * N)
    # at least 2N: the client's resets to the backends' SYN-ACKs come through the mux too
    assert ok["host_decap"] - before["host_decap"] >= 2 * N, (before, ok)
    assert ok["drop_bad_tunnel_source"] == before["drop_bad_tunnel_source"], (before, ok)


def assert_dropped_as_foreign(lab, before, name, src4, src6):
    send(lab, False, name, src4, src6)
    after = wait_for(lab, "drop_bad_tunnel_source", before["drop_bad_tunnel_source"] + 2 * N)
    assert after["drop_bad_tunnel_source"] - before["drop_bad_tunnel_source"] == 2 * N, (
        before, after)
    assert after["host_decap"] == before["host_decap"], (before, after)
    assert after["host_to_dip"] == before["host_to_dip"], (before, after)
    return after


def test_tunnels_from_other_sources_are_dropped(lab):
    after = assert_dropped_as_foreign(lab, counters(lab), "foreign-tunnels", OTHER4, OTHER6)
    assert_mux_tunnels_decapsulated(lab, after)


def test_tunnel_sources_change_on_reload(lab):
    """host1's list without the mux: its tunnels are dropped; restored, taken again."""
    cfg = lab.workdir / "host1.cfg"
    good = cfg.read_text()
    line = 'tunnel_sources = [ "192.0.2.10", "2001:db8:2::10" ];'
    assert line in good, "config/lab/host1.cfg no longer lists the mux's tunnel sources"
    try:
        cfg.write_text(good.replace(line, f'tunnel_sources = [ "{OTHER4}", "{OTHER6}/128" ];'))
        res = lab.reload("host1")
        assert res.get("result") == "ok", f"reload with other tunnel sources rejected: {res}"
        after = assert_dropped_as_foreign(lab, counters(lab), "mux-tunnels-refused", sl.MUX4,
                                          sl.MUX6)
    finally:
        cfg.write_text(good)
        res = lab.reload("host1")
    assert res.get("result") == "ok", f"restoring host1.cfg failed: {res}"
    assert_mux_tunnels_decapsulated(lab, after)
