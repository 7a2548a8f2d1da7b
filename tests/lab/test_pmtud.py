"""Path-MTU discovery through the balancer, with direct server return (issue 9;
docs/lab.md).

The router's client-facing link (cli0, router namespace) is narrowed to
1300 bytes while the client's own eth0 stays at 1400, so the client
advertises an MSS (1360 / 1340) too big for the path. The backends' full-size
replies leave their host agent with the VIP as source and reach the router,
which cannot forward them: it sends fragmentation-needed / packet-too-big to
the VIP, and so to the mux. Only if the mux relays the error to the flow's
host agent (mux_icmp_relayed) and the host agent hands it to the DIP
translated (host_icmp_to_dip) does the backend learn the path MTU; otherwise
its segments are dropped at the router forever and the download stalls
(before issue 9 the mux dropped the errors as drop_unsupported_l4).

Each family gets a fresh backend PMTU state (route caches flushed) and
tcp_mtu_probing=0 in the backends, so TCP cannot route around the missing
ICMP. The same download then runs on the restored path (cli0 at 1400, the
rest of the lab's MTU), where the router sends no error at all.
"""
import re

import pytest

import sluicelab as sl

SIZE = 2 << 20        # bytes downloaded per phase
NARROW_MTU = 1300     # the router's cli0 during the first phase
MAX_TIME = 20         # curl -m: a stalled download fails within this
HOST_OF = {"backend1": "host1", "backend2": "host2"}
FAMILIES = {"v4": (sl.VIP4, sl.CLIENT4), "v6": (sl.VIP6, sl.CLIENT6)}


def url(family):
    vip = FAMILIES[family][0]
    return f"http://{vip if family == 'v4' else '[' + vip + ']'}/bytes?n={SIZE}"


def set_cli0_mtu(lab, mtu):
    sl.ip(lab.ns["router"], "link", "set", "dev", "cli0", "mtu", str(mtu))


def backend_namespaces(lab):
    return {name: lab.ns[role] for name, (role, *_r) in sl.BACKENDS.items()}


def flush_pmtu(lab):
    """Forget every learned path MTU in the backends (both families)."""
    for ns in backend_namespaces(lab).values():
        sl.run(["ip", "route", "flush", "cache"], ns=ns, check=False)
        sl.run(["ip", "-6", "route", "flush", "cache"], ns=ns, check=False)


def learned_mtu(lab, family):
    """{backend: the path MTU its kernel holds for the client, or None}."""
    client = FAMILIES[family][1]
    out = {}
    for name, ns in backend_namespaces(lab).items():
        r = sl.run(["ip", "-4" if family == "v4" else "-6", "route", "get", client], ns=ns,
                   check=False)
        m = re.search(r"\bmtu (\d+)", r.stdout)
        out[name] = int(m.group(1)) if m else None
    return out


def counters(lab, family):
    """What the test reads before and after a download."""
    snmp = lab.snmp("router")
    c = {"router_icmp_sent": snmp["Icmp.OutDestUnreachs"] if family == "v4"
         else snmp["Icmp6OutPktTooBigs"]}
    mux = lab.stats("mux")
    for k in ("mux_icmp_relayed", "drop_unsupported_l4", "drop_icmp_bad_quote",
              "drop_icmp_no_flow", "drop_icmp_rate_limited"):
        c[f"mux.{k}"] = int(mux.get(k, 0))
    for h in ("host1", "host2"):
        st = lab.stats(h)
        for k in ("host_icmp_to_dip", "drop_icmp_no_flow", "drop_bad_l4_checksum",
                  "drop_icmp_rate_limited"):
            c[f"{h}.{k}"] = int(st.get(k, 0))
    c["missing"] = sorted({k for k in ("mux_icmp_relayed",) if k not in mux}
                          | {k for h in ("host1", "host2") for k in ("host_icmp_to_dip",)
                             if k not in lab.stats(h)})
    return c


def served_by(lab, local_port):
    for b in sl.BACKENDS:
        if any(port == local_port for _addr, port in sl.backend_clients(lab, b)):
            return b
    return None


def fetch(lab, family, phase):
    """One download; returns what a check needs (result, content, counter deltas)."""
    path = lab.workdir / f"pmtud-{family}-{phase}.bin"
    before = counters(lab, family)
    res = lab.download(url(family), path, MAX_TIME)
    after = counters(lab, family)
    data = path.read_bytes() if path.exists() else b""
    want = sl.pattern_bytes(SIZE)
    bad_at = None
    if data != want[:len(data)]:
        bad_at = next(i for i, (a, b) in enumerate(zip(data, want)) if a != b)
    delta = {k: after[k] - before[k] for k in after if k != "missing"}
    backend = served_by(lab, res["local_port"]) if res["local_port"] else None
    return {"phase": phase, "res": res, "got": len(data), "bad_at": bad_at, "delta": delta,
            "missing": after["missing"], "backend": backend,
            "mtu": learned_mtu(lab, family)}


def describe(f):
    r = f["res"]
    nz = {k: v for k, v in f["delta"].items() if v}
    return (f"  {f['phase']}: curl exit {r['exit']} HTTP {r['code']}, {f['got']}/{SIZE} bytes"
            f"{' (content differs from byte ' + str(f['bad_at']) + ')' if f['bad_at'] is not None else ''}"
            f", client port {r['local_port']}, served by {f['backend']}"
            f"{', curl: ' + r['error'] if r['error'] else ''}\n"
            f"    counter deltas: {nz or 'none'}\n"
            f"    backends' path MTU to the client after it: {f['mtu']}")


def complete(f):
    r = f["res"]
    return r["exit"] == 0 and r["code"] == "200" and f["got"] == SIZE and f["bad_at"] is None


@pytest.mark.parametrize("family", list(FAMILIES))
def test_download_through_narrow_link_uses_pmtud(lab, family):
    for ns in backend_namespaces(lab).values():
        sl.set_sysctls(ns, {"net.ipv4.tcp_mtu_probing": 0})
    flush_pmtu(lab)
    try:
        set_cli0_mtu(lab, NARROW_MTU)
        narrow = fetch(lab, family, f"cli0 mtu {NARROW_MTU}")
    finally:
        set_cli0_mtu(lab, sl.CLIENT_MTU)
        flush_pmtu(lab)
    restored = fetch(lab, family, f"cli0 mtu {sl.CLIENT_MTU} (restored)")
    flush_pmtu(lab)

    print(f"\nPMTUD {family}:\n{describe(narrow)}\n{describe(restored)}")
    d = narrow["delta"]
    host = HOST_OF.get(narrow["backend"])
    to_dip = d[f"{host}.host_icmp_to_dip"] if host else d["host1.host_icmp_to_dip"] + d["host2.host_icmp_to_dip"]
    problems = []
    if narrow["missing"]:
        problems.append(f"counters missing from /sluice/stats: {narrow['missing']}")
    if d["router_icmp_sent"] <= 0:
        problems.append("the router sent no fragmentation-needed / packet-too-big: the narrow path "
                        "did not need PMTUD, so this run proves nothing")
    if not complete(narrow):
        problems.append(f"{SIZE}-byte download through the {NARROW_MTU}-byte link did not complete "
                        f"(PMTUD through the balancer broken: the backend never learned the path MTU)")
    if d["mux.mux_icmp_relayed"] <= 0:
        problems.append(f"the mux relayed no ICMP error (mux_icmp_relayed +{d['mux.mux_icmp_relayed']}) "
                        f"although the router sent {d['router_icmp_sent']}; "
                        f"mux drop_unsupported_l4 +{d['mux.drop_unsupported_l4']}")
    if to_dip <= 0:
        problems.append(f"no host agent translated an ICMP error to the DIP "
                        f"(host_icmp_to_dip +{to_dip} on {host or 'host1+host2'})")
    if narrow["backend"] and not (narrow["mtu"].get(narrow["backend"]) or 1500) <= NARROW_MTU:
        problems.append(f"{narrow['backend']} holds no path MTU <= {NARROW_MTU} for the client "
                        f"({narrow['mtu']})")
    if not complete(restored):
        problems.append(f"download on the restored path (cli0 mtu {sl.CLIENT_MTU}) did not complete")
    if restored["delta"]["router_icmp_sent"]:
        problems.append(f"the router still sent {restored['delta']['router_icmp_sent']} ICMP errors on "
                        f"the restored path")
    assert not problems, (f"PMTUD through VIP {FAMILIES[family][0]}:\n  - "
                          + "\n  - ".join(problems) + "\n" + describe(narrow) + "\n" + describe(restored)
                          + "\n" + lab.diag())
