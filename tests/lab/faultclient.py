#!/usr/bin/python3
"""The client side of the manager fault test (test_cluster_faults.py): run
inside the cluster's client namespace, over HTTPS with a bearer token, like
an operator's automation would.

    faultclient.py run   --api 1=https://198.18.0.1:8443,... --ca CA --token-file F
                         --out history.jsonl --seconds N [--stop-file P] [--writers 4]
    faultclient.py flood --url https://198.18.0.2:8443 --ca CA --token-file F
                         --conns 100 --seconds 4

`run` writes one JSON line per operation (the format history.py checks).
Writers send each write once to a random member, follow 307 themselves, and
never retry a write: a write that got no clean answer stays "unknown", and
the next one is a new, unique write, so every outcome in the history is
unambiguous. Every write's prerequisite (the VIP of a DIP add, the add of a
DIP remove) was acknowledged before it is sent. A reader reads random VIPs
locally and linearizably; monitors sample GET /v1/cluster on every member.

`flood` opens idle TLS connections and half-sent requests against one API
and holds them, then closes them with a FIN (reading what the server sent
first, so the kernel sends no RST).
"""
import argparse
import http.client
import json
import os
import random
import select
import socket
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

TIMEOUT = 2.0        # seconds per request: a stopped member must not hold a writer long
MAX_HOPS = 3         # 307s followed per request, like sluicectl
PAUSE_503 = 0.020    # seconds after a 503 without retry_after_ms, or no answer
MAX_RETRY_AFTER = 0.050
MAX_VIPS = 400       # creates stop here: every VIP costs a Maglev table on every commit
MAX_DIPS_PER_VIP = 40
READ_PAUSE = 0.005    # between reads: reads must not crowd out the writers on 2 cores
RECENT = 4           # "newest" acknowledged keys, preferred half the time
DIP_PORT = 8080
DIP_HOSTS = ("192.0.2.21", "192.0.2.22")
BODY_FIELDS = ("index", "generation", "applied_index", "consistency", "error", "retry_after_ms",
               "dataplane_generation", "term")


class Api:
    """One thread's HTTPS connections to the members, one each, kept while
    they work and dropped on any error (a fresh one next time)."""

    def __init__(self, urls, ctx, token):
        self.urls = urls                           # member id -> base URL
        self.members = {urlsplit(u).netloc: m for m, u in urls.items()}
        self.ctx, self.token = ctx, token
        self.conns = {}

    def _conn(self, m):
        if m not in self.conns:
            u = urlsplit(self.urls[m])
            self.conns[m] = http.client.HTTPSConnection(u.hostname, u.port, timeout=TIMEOUT,
                                                        context=self.ctx)
        return self.conns[m]

    def drop(self, m):
        c = self.conns.pop(m, None)
        if c is not None:
            c.close()

    def request(self, method, path, body=None, member=None):
        """Send once to `member` (random if None), following 307s. Returns a
        record: member, answered_by, hops, t0, t1, status, error, body, and
        sent=False when a connection was refused (so no server saw the
        request: a 307 is answered before anything is proposed)."""
        m = member if member is not None else random.choice(list(self.urls))
        rec = {"member": m, "answered_by": None, "hops": 0, "t0": time.monotonic()}
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        status, parsed, error = None, {}, None
        for hop in range(MAX_HOPS + 1):
            rec["hops"], rec["answered_by"] = hop, m
            try:
                c = self._conn(m)
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                status, location = r.status, r.getheader("Location")
            except ConnectionRefusedError as e:   # nothing reached a server: no effect
                self.drop(m)
                status, parsed, error = None, {}, f"{type(e).__name__}: {e}"
                rec["sent"] = False
                break
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                self.drop(m)
                status, parsed, error = None, {}, f"{type(e).__name__}: {e}"
                break
            parsed = parse_json(raw)
            if status != 307:
                break
            target = urlsplit(location or "")
            m = self.members.get(target.netloc)
            if m is None:
                error = f"307 to unknown location {location!r}"
                break
            path = target.path + (f"?{target.query}" if target.query else "")
        else:
            error = f"more than {MAX_HOPS} redirects"
        rec.update(t1=time.monotonic(), status=None if error else status, error=error,
                   body=parsed)
        return rec


def parse_json(raw):
    try:
        v = json.loads(raw) if raw else {}
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}


def pause_after(rec):
    """How long to wait before the next write: the server's retry_after_ms
    (capped) after a 503, a short pause after no answer, none otherwise."""
    if rec["status"] == 503:
        ms = rec["body"].get("retry_after_ms")
        return min(ms / 1000.0, MAX_RETRY_AFTER) if isinstance(ms, (int, float)) else PAUSE_503
    return PAUSE_503 if rec["status"] is None or rec["status"] >= 500 else 0.0


class Recorder:
    """Appends operations to the history file, one JSON line each, as they
    complete (a crash of this process leaves what it saw)."""

    def __init__(self, path):
        self.f = open(path, "w", buffering=1)
        self.lock = threading.Lock()
        self.n = 0

    def add(self, proc, kind, fields, rec):
        body = rec.pop("body")
        op = dict(fields, proc=proc, kind=kind, **rec,
                  body={k: body[k] for k in BODY_FIELDS if k in body})
        with self.lock:
            self.n += 1
            op["id"] = self.n
            self.f.write(json.dumps(op, separators=(",", ":")) + "\n")
        return op, body

    def close(self):
        self.f.close()


class Keys:
    """The workload's shared knowledge: unique new keys, VIPs whose create
    was acknowledged, DIPs whose add was acknowledged and not yet removed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_port, self.next_dip = 1000, 1
        self.created = []       # every VIP ever sent (readers pick from these)
        self.vips = []          # acknowledged VIPs
        self.dip_count = {}     # acknowledged VIP -> DIPs sent to it and not chosen for removal
        self.removable = []     # (VIP, DIP) acknowledged, not yet chosen for removal

    def new_vip(self):
        with self.lock:
            if len(self.created) >= MAX_VIPS:
                return None
            port, self.next_port = self.next_port, self.next_port + 1
            v = {"protocol": "tcp", "address": f"203.0.113.{100 + port % 50}", "port": port}
            self.created.append(f"tcp/{v['address']}/{port}")
            return v

    def new_dip(self):
        with self.lock:
            n = self.next_dip
            self.next_dip += 1
        return {"address": f"198.19.{n // 250}.{1 + n % 250}", "port": DIP_PORT,
                "host": DIP_HOSTS[n % 2]}

    def vip_for_add(self, rnd):
        """An acknowledged VIP with room; half the time one of the newest,
        whose create may not be applied everywhere yet (a new leader that
        has not caught up must still accept the add)."""
        with self.lock:
            open_ = [v for v in self.vips if self.dip_count[v] < MAX_DIPS_PER_VIP]
            if not open_:
                return None
            v = rnd.choice(open_[-RECENT:] if rnd.random() < 0.5 else open_)
            self.dip_count[v] += 1
            return v

    def take_removable(self, rnd):
        """A DIP to remove, never handed out twice; its slot in the VIP is
        free again (the DIP count bounds DIPs possibly in place)."""
        with self.lock:
            if not self.removable:
                return None
            n = len(self.removable)   # half the time one of the newest, as above
            v, d = self.removable.pop(rnd.randrange(max(0, n - RECENT) if rnd.random() < 0.5
                                                    else 0, n))
            self.dip_count[v] -= 1
            return v, d

    def not_acked(self, vip):
        """An add without acknowledgement gives its slot back: at worst a
        few unknown adds took effect beyond MAX_DIPS_PER_VIP, far below the
        Maglev table size; keeping the slot would fill every VIP with
        failed adds and starve the writers."""
        with self.lock:
            self.dip_count[vip] -= 1

    def acked(self, kind, vip, dips):
        with self.lock:
            if kind == "vip_create":
                self.vips.append(vip)
                self.dip_count[vip] = len(dips)
            if kind in ("vip_create", "dip_add"):
                self.removable += [(vip, d) for d in dips]


def writer(name, api, keys, rec, stop, seed):
    """Unique writes until stopped: creates (with one DIP), DIP adds on
    acknowledged VIPs, removes of acknowledged DIPs."""
    rnd = random.Random(seed)
    while not stop.is_set():
        op = next_write(rnd, keys)
        if op is None:
            time.sleep(PAUSE_503)
            continue
        kind, fields, method, path, body = op
        r = api.request(method, path, body)
        done, _ = rec.add(name, kind, fields, r)
        if 200 <= (done["status"] or 0) < 300:
            keys.acked(kind, fields["vip"], fields.get("dips") or
                       ([fields["dip"]] if kind == "dip_add" else []))
        elif kind == "dip_add":
            keys.not_acked(fields["vip"])
        time.sleep(pause_after(done))


def next_write(rnd, keys):
    """(kind, history fields, method, path, body) of a new unique write:
    60% DIP adds, 25% removes, 15% creates; when the drawn kind is not
    possible (nothing to remove, every VIP full, no creates left) another
    one. None only when nothing at all is possible."""
    x = rnd.random()
    order = ((remove_write, add_write, create_write) if x < 0.25 else
             (add_write, remove_write, create_write) if x < 0.85 else
             (create_write, add_write, remove_write))
    return next((w for w in (make(rnd, keys) for make in order) if w), None)


def remove_write(rnd, keys):
    pick = keys.take_removable(rnd)
    if pick is None:
        return None
    v, d = pick
    a, p = d.split(":")
    return ("dip_remove", {"vip": v, "dip": d}, "DELETE", f"/v1/vips/{v}/dips/{a}/{p}", None)


def add_write(rnd, keys):
    v = keys.vip_for_add(rnd)
    if v is None:
        return None
    d = keys.new_dip()
    return ("dip_add", {"vip": v, "dip": f"{d['address']}:{d['port']}"}, "POST",
            f"/v1/vips/{v}/dips", d)


def create_write(rnd, keys):
    vip = keys.new_vip()
    if vip is None:
        return None
    d = keys.new_dip()
    key = f"tcp/{vip['address']}/{vip['port']}"
    return ("vip_create", {"vip": key, "dips": [f"{d['address']}:{d['port']}"]}, "POST",
            "/v1/vips", dict(vip, dips=[d]))


def reader(api, keys, rec, stop, seed):
    """Reads of random VIPs, half local, half linearizable."""
    rnd = random.Random(seed)
    while not stop.is_set():
        with keys.lock:
            v = rnd.choice(keys.created) if keys.created else None
        if v is None:
            time.sleep(0.01)
            continue
        consistency = rnd.choice(("local", "linearizable"))
        path = f"/v1/vips/{v}" + ("?consistency=linearizable" if consistency != "local" else "")
        r = api.request("GET", path)
        body = r["body"]
        fields = {"vip": v, "consistency": consistency, "present": r["status"] == 200}
        if r["status"] == 200:
            fields["dips"] = sorted(f"{d['address']}:{d['port']}" for d in body.get("dips", []))
        done, _ = rec.add("r", "read", fields, r)
        time.sleep(max(READ_PAUSE, pause_after(done)))


def monitor(api, m, rec, stop):
    """Samples member m's view of the cluster (term, state, leader)."""
    while not stop.wait(0.1):
        r = api.request("GET", "/v1/cluster", member=m)
        b = r["body"]
        lead = b.get("leader")
        fields = {"state": b.get("state"), "term": b.get("term"), "self": b.get("id"),
                  "leader": lead.get("id") if isinstance(lead, dict) else None}
        rec.add(f"m{m}", "cluster", fields, r)


def context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def read_token(path):
    with open(path) as f:
        return f.readline().strip()


def run(args):
    urls = {int(k): u for k, u in (x.split("=", 1) for x in args.api.split(","))}
    ctx, token = context(args.ca), read_token(args.token_file)
    rec, keys, stop = Recorder(args.out), Keys(), threading.Event()
    seed = args.seed if args.seed is not None else int(time.time())
    threads = [threading.Thread(target=writer, daemon=True,
                                args=(f"w{k}", Api(urls, ctx, token), keys, rec, stop, seed + k))
               for k in range(args.writers)]
    threads.append(threading.Thread(target=reader, daemon=True,
                                    args=(Api(urls, ctx, token), keys, rec, stop, seed + 99)))
    threads += [threading.Thread(target=monitor, daemon=True, args=(Api(urls, ctx, token), m, rec,
                                                                    stop)) for m in urls]
    for t in threads:
        t.start()
    end = time.monotonic() + args.seconds
    while time.monotonic() < end and not (args.stop_file and os.path.exists(args.stop_file)):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=MAX_HOPS * TIMEOUT * 2 + 1)
    rec.close()
    print(json.dumps({"operations": rec.n, "seed": seed}))
    return 0


# ------------------------------------------------------------------ flood
def half_open(url, ctx, token, partial):
    """A TLS connection that then says nothing, or sends headers announcing a
    body and only part of it."""
    u = urlsplit(url)
    raw = socket.create_connection((u.hostname, u.port), timeout=TIMEOUT)
    s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    if partial:
        head = (f"POST /v1/vips HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n")
        s.sendall(head.encode() + b'{"address": "203.0.113.')
    return s


def close_gently(socks, grace=2.0):
    """Close with a FIN, never an RST: send FIN (no TLS close_notify needed),
    then read until the server closes or grace runs out, so nothing unread
    remains in the kernel's receive queue when the socket is closed."""
    raws = []
    for s in socks:
        try:
            s.shutdown(socket.SHUT_WR)   # SSLSocket.shutdown drops TLS and sends the raw FIN
            raws.append(s)
        except OSError:
            s.close()                    # already reset or closed by the server
    live, end = list(raws), time.monotonic() + grace
    while live and time.monotonic() < end:
        ready = select.select(live, [], [], max(0.0, end - time.monotonic()))[0]
        for s in ready:
            try:
                if not s.recv(65536):
                    live.remove(s)
            except (OSError, ValueError):
                live.remove(s)
    for s in raws:
        s.close()
    return len(raws) - len(live)


def open_many(url, ctx, token, n, deadline, parallel=10):
    """n half-open connections (every second one half-sent), `parallel`
    handshakes at a time, none started after deadline; (sockets, failures)."""
    socks, failed, lock, todo = [], [0], threading.Lock(), iter(range(n))

    def opener():
        while time.monotonic() < deadline:
            with lock:
                k = next(todo, None)
            if k is None:
                return
            try:
                s = half_open(url, ctx, token, partial=k % 2 == 1)
            except (OSError, ssl.SSLError):
                with lock:
                    failed[0] += 1
                continue
            with lock:
                socks.append(s)
    threads = [threading.Thread(target=opener) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return socks, failed[0]


def flood(args):
    ctx, token = context(args.ca), read_token(args.token_file)
    start = time.monotonic()
    socks, failed = open_many(args.url, ctx, token, args.conns, start + args.seconds)
    opened = time.monotonic() - start
    time.sleep(max(0.0, args.seconds - opened))
    closed_by_peer = close_gently(socks)
    print(json.dumps({"opened": len(socks), "failed": failed, "open_seconds": round(opened, 2),
                      "peer_closed": closed_by_peer}))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--api", required=True, help="ID=URL,... of every member")
    r.add_argument("--out", required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--stop-file")
    r.add_argument("--writers", type=int, default=4)
    r.add_argument("--seed", type=int)
    f = sub.add_parser("flood")
    f.add_argument("--url", required=True)
    f.add_argument("--conns", type=int, default=100)
    f.add_argument("--seconds", type=float, default=4.0)
    for q in (r, f):
        q.add_argument("--ca", required=True)
        q.add_argument("--token-file", required=True)
    args = p.parse_args(argv)
    return run(args) if args.cmd == "run" else flood(args)


if __name__ == "__main__":
    sys.exit(main())
