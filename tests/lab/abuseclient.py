"""Hostile API clients for test_api_abuse.py, run inside the client namespace
(`ip netns exec <tag>-cli /usr/bin/python3 abuseclient.py ...`); each command
prints one JSON object.

  flood URL --ca F --token-file F --per-kind N --batch B
      Opens N connections of each kind, B at a time, and ends every one with
      a TCP reset (SO_LINGER 0), as a crashed client or a NAT box would:
        tcp          connect only
        handshake    TLS handshake, nothing more
        mid_header   TLS, half a request line and headers
        mid_body     TLS, headers announcing 1 MiB, 256 KiB of it (no token)
        mid_body_auth  the same with the bearer token
  hold URL --ca F --conns N --seconds S
      Opens N TLS connections at once and holds them; prints how many the
      server closed on its own within S seconds (over its per-source limit).
  raw URL --ca F --token-file F --cases FILE
      Sends each case's bytes (after the TLS handshake) and reads until the
      server closes or 3 s pass: status, headers, body, closed.
"""
import argparse
import json
import select
import socket
import ssl
import struct
import sys
import time
from urllib.parse import urlsplit

TIMEOUT = 5.0


def target(url):
    u = urlsplit(url)
    return u.hostname, u.port


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def connect(url, ctx=None):
    host, port = target(url)
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    return ctx.wrap_socket(s, server_hostname=host) if ctx else s


def reset(s):
    """Close with a RST instead of a FIN (and no TLS close_notify)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def headers_for(host, length, token=None):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST /v1/vips HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def open_kind(kind, url, ctx, token):
    host, _ = target(url)
    if kind == "tcp":
        return connect(url)
    s = connect(url, ctx)
    if kind == "mid_header":
        s.sendall(b"POST /v1/vips HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Ty")
    elif kind in ("mid_body", "mid_body_auth"):
        s.sendall(headers_for(host, 1 << 20, token if kind == "mid_body_auth" else None))
        chunk = b"x" * 65536
        try:
            for _ in range(4):  # 256 KiB; the server may stop reading (and answer 401) first
                s.sendall(chunk)
        except OSError:
            pass
    return s


def flood(args):
    ctx, token = tls_context(args.ca), open(args.token_file).read().strip()
    out = {}
    for kind in ("tcp", "handshake", "mid_header", "mid_body", "mid_body_auth"):
        done = failed = 0
        while done + failed < args.per_kind:
            batch = []
            for _ in range(min(args.batch, args.per_kind - done - failed)):
                try:
                    batch.append(open_kind(kind, args.url, ctx, token))
                except OSError:
                    failed += 1
            time.sleep(0.05)  # let the server take what was sent
            for s in batch:
                reset(s)
            done += len(batch)
        out[kind] = {"reset": done, "failed": failed}
    print(json.dumps(out))


def hold(args):
    ctx = tls_context(args.ca)
    conns, failed = [], 0
    for _ in range(args.conns):
        try:
            conns.append(connect(args.url, ctx))
        except OSError:
            failed += 1  # closed during the handshake: also the limit at work
    for s in conns:
        s.setblocking(False)
    end, closed = time.monotonic() + args.seconds, set()
    while time.monotonic() < end and len(closed) < len(conns):
        live = [s for s in conns if s not in closed]
        for s in select.select(live, [], [], 0.2)[0]:
            try:
                if s.recv(1) == b"":
                    closed.add(s)
            except (ssl.SSLWantReadError, BlockingIOError):
                pass  # TLS records (session tickets), no data: still open
            except (OSError, ssl.SSLError):
                closed.add(s)
    for s in conns:
        s.close()  # FIN: the normal end
    print(json.dumps({"opened": len(conns), "failed": failed, "closed_by_server": len(closed)}))


def read_answer(s):
    """Everything until the server closes (or 3 s of silence)."""
    data, closed = b"", False
    s.settimeout(3.0)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
            if b"\r\n\r\n" in data and not wants_more(data):
                # a complete answer: does the server close after it?
                try:
                    closed = s.recv(1) == b""
                except socket.timeout:
                    closed = False
                break
    except socket.timeout:
        pass
    except (OSError, ssl.SSLError):
        closed = True
    return data, closed


def wants_more(data):
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) < int(value.strip())
    return False


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split() if lines else []
    # not an HTTP/1.x answer (an HTTP/2 SETTINGS frame, say): no status
    status = int(words[1]) if len(words) > 1 and words[0].startswith("HTTP/1.") and words[1].isdigit() \
        else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body.decode("utf-8", "replace")


def raw(args):
    ctx, token = tls_context(args.ca), open(args.token_file).read().strip()
    host, _ = target(args.url)
    results = []
    for case in json.load(open(args.cases)):
        payload = case["send"].replace("{host}", host).replace("{token}", token).encode("latin-1")
        s = connect(args.url, ctx)
        try:
            try:
                s.sendall(payload)
            except (OSError, ssl.SSLError):
                pass  # the server answered and closed before taking it all: read the answer
            data, closed = read_answer(s)
        finally:
            s.close()
        status, headers, body = parse(data) if data else (None, {}, "")
        results.append({"name": case["name"], "status": status, "headers": headers, "body": body,
                        "closed": closed})
    print(json.dumps(results))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("flood", "hold", "raw"):
        p = sub.add_parser(name)
        p.add_argument("url")
        p.add_argument("--ca", required=True)
        if name != "hold":
            p.add_argument("--token-file", required=True)
    sub.choices["flood"].add_argument("--per-kind", type=int, default=60)
    sub.choices["flood"].add_argument("--batch", type=int, default=20)
    sub.choices["hold"].add_argument("--conns", type=int, default=48)
    sub.choices["hold"].add_argument("--seconds", type=float, default=3.0)
    sub.choices["raw"].add_argument("--cases", required=True)
    args = ap.parse_args()
    {"flood": flood, "hold": hold, "raw": raw}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
