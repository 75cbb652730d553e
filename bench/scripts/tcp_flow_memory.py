#!/usr/bin/env python3
"""User-space bytes per idle TCP flow of one flowedge node (issue 3).

Starts flowedge (2 workers) on 127.0.0.1:5099, opens N TCP connections from
distinct 127.0.x.y sources, each sending one CRLF ping (so each is a live flow),
and prints (PSS after - PSS before) / N. N must stay below this process's open
file limit (20,000 here).

    bench/scripts/tcp_flow_memory.py build/cluster/flowedge 15000
"""
import signal
import socket
import subprocess
import sys
import time


def pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss line")


def main():
    exe, count = sys.argv[1], int(sys.argv[2])
    node = subprocess.Popen([exe, "--listen", "tcp:127.0.0.1:5099", "--listen",
                             "udp:127.0.0.1:5099", "--workers", "2"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(1)
        before = pss(node.pid)
        flows = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", 5099), timeout=10,
                                         source_address=("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
            s.sendall(b"\r\n\r\n")
            flows.append(s)
        for s in flows[-100:]:
            assert s.recv(16) == b"\r\n", "no pong"
        time.sleep(1)
        after = pss(node.pid)
        print("RESULT tcp_flow_memory flows=%d pss_before=%d pss_after=%d bytes_per_flow=%.0f"
              % (count, before, after, (after - before) / count))
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=20)


if __name__ == "__main__":
    main()
