"""Fixtures that start real processes (flowedge, redis-server) on loopback.

Each test gets its own ports and its own processes, stopped by PID at the end.
A node must exit 0 on SIGTERM: that is asserted at teardown.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def flowedge_binary():
    path = os.environ.get("FLOWEDGE") or os.path.join(ROOT, "build", "cluster", "flowedge")
    if not os.path.exists(path):
        pytest.fail("flowedge binary not found at %s: build first" % path)
    return path


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


class Node:
    def __init__(self, args, port):
        self.port = port
        self.addr = ("127.0.0.1", port)
        self.args = args
        self.log_path = None
        self.proc = None

    def start(self, tmp_path):
        self.log_path = str(tmp_path / ("flowedge-%d.log" % self.port))
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([flowedge_binary()] + self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("flowedge exited with %d:\n%s" % (self.proc.returncode, self.output()))
            if self.output().count("listening on") >= sum(1 for a in self.args if a.startswith(("udp:", "tcp:", "tls:"))):
                return self
            time.sleep(0.02)
        raise RuntimeError("flowedge did not report its listeners:\n" + self.output())

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("flowedge did not stop within 10 s of SIGTERM")
        return self.proc.returncode if self.proc else None


@pytest.fixture
def start_node(tmp_path):
    """start_node(extra_args) -> Node listening on UDP and TCP at one free port."""
    nodes = []

    def start(extra=(), port=None, listens=("udp", "tcp")):
        port = port or free_port()
        args = []
        for proto in listens:
            args += ["--listen", "%s:127.0.0.1:%d" % (proto, port)]
        args += list(extra)
        node = Node(args, port).start(tmp_path)
        nodes.append(node)
        return node

    yield start
    for n in nodes:
        rc = n.stop()
        assert rc == 0, "flowedge exited %s on SIGTERM:\n%s" % (rc, n.output())


@pytest.fixture
def node(start_node):
    return start_node(["--workers", "2"])


@pytest.fixture
def redis_server(tmp_path):
    exe = shutil.which("redis-server")
    if not exe:
        pytest.fail("redis-server is not installed (deploy/install-deps.sh installs it)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield ("127.0.0.1", port)
    proc.terminate()
    proc.wait(timeout=10)
