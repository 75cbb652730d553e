#!/usr/bin/env python3
"""User-space bytes per idle registered TLS flow of one flowedge node (issue 10).

Starts flowedge (2 workers, all roles, embedded store) with a TLS listener on
127.0.0.1:PORT (the test PKI of tests/data/tls, --tls-verify optional), opens
N TLS connections from distinct 127.0.x.y sources with Python's ssl module,
registers each as an RFC 5626 flow (REGISTER with reg-id and +sip.instance:
a binding, a Path token and Flow-Timer), then leaves them idle and prints
(PSS after - PSS before) / N. The same run over TCP gives the plain flow's
cost, so the difference is what TLS adds. N must stay below this process's
open file limit.

    bench/scripts/tls_flow_memory.py build/cluster/flowedge 15000 [tls|tcp] [PORT]

The number covers the node's whole user space: BoringSSL's per-connection
state and keys (net/tls), the connection slot, the flow and the binding.
On the 2-core test machine (2026-12, Release build, 15,000 flows):

    RESULT tls_flow_memory flows=15000 ... bytes_per_flow=5359 setup_s=57.7
    RESULT tcp_flow_memory flows=15000 ... bytes_per_flow=1415 setup_s=4.4
"""
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CERTS = os.path.join(ROOT, "tests", "data", "tls")


def pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss line")


def register(transport, local, i):
    host, port = local
    aor = "sip:user%d@example.com" % i
    instance = "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)
    lines = [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%016x;rport" % (transport.upper(), host, port,
                                                            random.getrandbits(64)),
        "Max-Forwards: 70",
        "From: <%s>;tag=%08x" % (aor, random.getrandbits(32)),
        "To: <%s>" % aor,
        "Call-ID: %016x@mem" % random.getrandbits(64),
        "CSeq: 1 REGISTER",
        "Contact: <sip:user%d@%s:%d;transport=%s>;reg-id=1;+sip.instance=\"<%s>\""
        % (i, host, port, transport, instance),
        "Expires: 3600",
        "Supported: path, outbound",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the node")
        data += chunk
    return data


def main():
    exe, count = sys.argv[1], int(sys.argv[2])
    transport = sys.argv[3] if len(sys.argv) > 3 else "tls"
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 5097
    args = [exe, "--listen", "udp:127.0.0.1:%d" % port, "--listen",
            "%s:127.0.0.1:%d" % (transport, port), "--workers", "2"]
    if transport == "tls":
        args += ["--tls-cert", os.path.join(CERTS, "example-com-ec.pem"),
                 "--tls-key", os.path.join(CERTS, "example-com-ec.key"),
                 "--tls-ca", os.path.join(CERTS, "ca.pem")]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(CERTS, "ca.pem"))
    node = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        time.sleep(1)
        before = pss(node.pid)
        flows = []
        started = time.time()
        for i in range(count):
            raw = socket.create_connection(
                ("127.0.0.1", port), timeout=10,
                source_address=("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
            s = ctx.wrap_socket(raw, server_hostname="p1.example.com") if transport == "tls" else raw
            s.sendall(register(transport, s.getsockname(), i))
            response = read_response(s)
            assert response.startswith(b"SIP/2.0 200"), response[:200]
            flows.append(s)
        setup_s = time.time() - started
        time.sleep(2)
        after = pss(node.pid)
        # Still alive after the measurement: a ping on the last flows.
        for s in flows[-50:]:
            s.sendall(b"\r\n\r\n")
            assert s.recv(16) == b"\r\n", "no pong"
        print("RESULT %s_flow_memory flows=%d pss_before=%d pss_after=%d bytes_per_flow=%.0f "
              "setup_s=%.1f" % (transport, count, before, after, (after - before) / count,
                                setup_s))
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)


if __name__ == "__main__":
    main()
