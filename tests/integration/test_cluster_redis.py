"""Two flowedge nodes sharing one real redis-server (--store redis://).

A UA keeps one TCP flow to each node (RFC 5626 §4.2: one reg-id per edge)
for one instance. Each test asserts what a user would notice on the wire:
the 200 to a REGISTER through either node lists both flows' contacts (the
bindings are shared); a MESSAGE sent to either node reaches the UA, over
that node's own flow; the UA stays reachable through node B after node A is
stopped or killed; while Redis is down a REGISTER (and a request to the
AOR) gets 500 and keep-alives are still answered, and registrations work
again once Redis is back, also for a node started while Redis was down; a
REGISTER waiting on a stalled Redis is answered 500 when the node stops; a
malformed --store URL stops the node at start with a message naming it.

Nodes A and B share --token-key-file, so B can read A's flow tokens in the
bindings; without a relay between nodes, A's flow is "gone" for B (OB-430-02)
and B's proxy fails over to the instance's flow through B.

Redis processes and nodes are started here and stopped by PID; loops wait
for bounded times only.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import siplib
from conftest import Node, flowedge_binary, free_port

AOR = "sip:alice@example.com"


# ---- Processes ---------------------------------------------------------------

@pytest.fixture
def key_file(tmp_path):
    """The cluster's shared flow-token key: one line "ID HEX"."""
    path = tmp_path / "token.keys"
    path.write_text("1 %s\n" % os.urandom(32).hex())
    return str(path)


class Redis:
    """A redis-server we can kill and start again on the same port."""

    def __init__(self, tmp_path):
        self.exe = shutil.which("redis-server")
        if not self.exe:
            pytest.fail("redis-server is not installed (deploy/install-deps.sh installs it)")
        self.dir = str(tmp_path)
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        assert self.proc is None
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not listen on %d" % self.port)

    def kill(self):
        """SIGKILL, as a crash: no goodbye on the nodes' connections."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path).start()
    yield r
    r.stop()


@pytest.fixture
def own_nodes(tmp_path):
    """own_nodes(args) -> a Node this test may also SIGKILL; stopped at the end.

    Unlike start_node, its exit status on teardown is the test's business."""
    nodes = []

    def start(extra):
        port = free_port()
        args = ["--listen", "udp:127.0.0.1:%d" % port, "--listen", "tcp:127.0.0.1:%d" % port]
        node = Node(args + list(extra), port).start(tmp_path)
        nodes.append(node)
        return node

    yield start
    for n in nodes:
        if n.proc.poll() is None:
            n.proc.kill()
            n.proc.wait()


def node_args(store, node_id, key_file):
    return ["--workers", "2", "--node-id", str(node_id), "--token-key-file", key_file,
            "--store", store]


def wait_for_output(node, text, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in node.output():
            return
        time.sleep(0.05)
    raise AssertionError("node never printed %r:\n%s" % (text, node.output()))


# ---- SIP ---------------------------------------------------------------------

def new_instance():
    return "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)


def contacts_of(ok):
    """Each Contact value of a response, split on top-level commas."""
    out = []
    for line in ok.all("contact"):
        out += [v.strip() for v in re.findall(r'(?:[^,"<]|"[^"]*"|<[^>]*>)+', line) if v.strip()]
    return out


def contact_uri(flow):
    host, port = flow.local
    return "sip:alice@%s:%d;transport=tcp" % (host, port)


def listed_uris(ok):
    return sorted(re.search(r"<([^>]*)>", c).group(1) for c in contacts_of(ok))


class Ua:
    """One UA instance with a TCP flow per node (reg-id 1, 2, ...), one Call-ID."""

    def __init__(self):
        self.instance = new_instance()
        self.call_id = "alice-%s@test" % siplib.tag()
        self.cseq = 0
        self.flows = {}

    def connect(self, node, reg_id):
        self.flows[reg_id] = siplib.TcpFlow(node.addr)
        return self.flows[reg_id]

    def register(self, reg_id, expires=600):
        """REGISTER over flow reg_id; returns the response."""
        self.cseq += 1
        flow = self.flows[reg_id]
        flow.send(siplib.register("TCP", flow.local, aor=AOR, instance=self.instance,
                                  reg_id=reg_id, call_id=self.call_id, cseq=self.cseq,
                                  expires=expires))
        return recv_until(flow, lambda m: m.is_response, timeout=5.0)

    def close(self):
        for f in self.flows.values():
            f.close()


def recv_until(flow, want, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = flow.recv(timeout=max(0.05, deadline - time.time()))
        if want(m):
            return m
    raise TimeoutError("no matching message")


def message(caller, text):
    host, port = caller.local
    headers = [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("From", "<sip:carol@example.com>;tag=%s" % siplib.tag()),
        ("To", "<%s>" % AOR),
        ("Call-ID", "%s@caller" % siplib.tag()),
        ("CSeq", "1 MESSAGE"),
        ("Content-Type", "text/plain"),
    ]
    return siplib.request("MESSAGE", AOR, headers, text)


def reply(req, status, reason):
    to = req.get("to")
    if ";tag=" not in to:
        to += ";tag=alice"
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + req.get("from"), "To: " + to, "Call-ID: " + req.get("call-id"),
              "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def nothing_on(flow, seconds):
    try:
        m = flow.recv(timeout=seconds)
    except (TimeoutError, OSError, ConnectionError):
        return
    pytest.fail("unexpected message on the other flow: %r" % m)


def send_message_expect_delivery(node, to_flow, other_flow=None):
    """A MESSAGE to the AOR sent to `node` reaches the UA over to_flow and its
    200 reaches the caller; other_flow (if given) sees nothing."""
    caller = siplib.UdpFlow(node.addr)
    text = "hello via %d %s" % (node.port, siplib.tag())
    caller.send(message(caller, text))
    req = recv_until(to_flow, lambda m: not m.is_response and m.method == "MESSAGE")
    assert req.body.decode() == text, req
    # The request comes down the flow the binding names: its Contact URI.
    assert req.ruri == contact_uri(to_flow), req
    to_flow.send(reply(req, 200, "OK"))
    final = recv_until(caller, lambda m: m.is_response and m.status >= 200)
    assert final.status == 200, final
    caller.close()
    if other_flow is not None:
        nothing_on(other_flow, 0.3)


# ---- Tests -------------------------------------------------------------------

def test_a_register_through_either_node_lists_the_bindings_of_both(redis, start_node, key_file):
    # covers OB-REG-11 (every binding listed) across nodes sharing Redis
    a = start_node(node_args(redis.url, 1, key_file))
    b = start_node(node_args(redis.url, 2, key_file))
    ua = Ua()
    flow_a = ua.connect(a, 1)
    flow_b = ua.connect(b, 2)
    ok = ua.register(1)
    assert ok.status == 200, ok
    assert listed_uris(ok) == [contact_uri(flow_a)], ok
    ok = ua.register(2)
    assert ok.status == 200, ok
    assert listed_uris(ok) == sorted([contact_uri(flow_a), contact_uri(flow_b)]), ok
    # A refresh through A sees B's binding too.
    ok = ua.register(1)
    assert ok.status == 200, ok
    assert listed_uris(ok) == sorted([contact_uri(flow_a), contact_uri(flow_b)]), ok
    reg_ids = sorted(re.search(r"reg-id=(\d+)", c).group(1) for c in contacts_of(ok))
    assert reg_ids == ["1", "2"], ok
    # Expiries travel as wall-clock time, so each node reads the other's
    # binding with the time it has left (600 s asked, a moment ago).
    for c in contacts_of(ok):
        left = int(re.search(r";expires=(\d+)", c).group(1))
        assert 595 <= left <= 600, ok
    ua.close()


def test_b_a_message_sent_to_either_node_comes_down_that_nodes_flow(redis, start_node, key_file):
    # covers OB-430-02, OB-AUTH-02: B's freshest binding is A's flow, which B
    # cannot reach (no relay); B falls over to its own flow.
    a = start_node(node_args(redis.url, 1, key_file))
    b = start_node(node_args(redis.url, 2, key_file))
    ua = Ua()
    flow_b = ua.connect(b, 2)
    flow_a = ua.connect(a, 1)
    assert ua.register(2).status == 200
    time.sleep(0.05)  # A's binding is strictly the freshest
    ok = ua.register(1)
    assert ok.status == 200 and len(contacts_of(ok)) == 2, ok
    send_message_expect_delivery(b, flow_b, other_flow=flow_a)
    send_message_expect_delivery(a, flow_a, other_flow=flow_b)
    ua.close()
    # B tried A's flow first (the freshest) and failed over once; A's own
    # flow was A's first choice.
    for n, tried in ((a, 0), (b, 1)):
        assert n.stop() == 0, n.output()
        stats = n.output().splitlines()[-1]
        assert " other_node=%d" % tried in stats, stats


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_c_a_user_agent_stays_reachable_when_a_node_fails(redis, start_node, own_nodes, key_file,
                                                          how):
    a = own_nodes(node_args(redis.url, 1, key_file))
    b = start_node(node_args(redis.url, 2, key_file))
    ua = Ua()
    flow_b = ua.connect(b, 2)
    flow_a = ua.connect(a, 1)
    assert ua.register(2).status == 200
    time.sleep(0.05)
    assert ua.register(1).status == 200
    # Only the process this test started, by its PID.
    a.proc.send_signal(getattr(signal, how))
    a.proc.wait(timeout=10)
    if how == "SIGTERM":
        assert a.proc.returncode == 0, a.output()
    assert flow_a.closed_by_peer(timeout=3.0)
    # A's binding is still in Redis (a crashed node forgets nothing), but B
    # reaches the UA over its own flow.
    send_message_expect_delivery(b, flow_b)
    # And B's registrar still lists both: A's binding stays until it expires
    # or the UA replaces it (RFC 5626 §4.5 reconnects with reg-id 1 again).
    ok = ua.register(2)
    assert ok.status == 200 and len(contacts_of(ok)) == 2, ok
    ua.close()


def register_until(ua, reg_id, status, timeout):
    """REGISTERs over flow reg_id until one is answered `status`; returns it."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = ua.register(reg_id)
        if last.status == status:
            return last
        time.sleep(0.1)
    raise AssertionError("no %d within %.0f s; last: %r" % (status, timeout, last))


def test_d_redis_down_gets_500_keepalives_go_on_and_registration_recovers(redis, start_node,
                                                                          key_file):
    node = start_node(node_args(redis.url, 1, key_file))
    ua = Ua()
    flow = ua.connect(node, 1)
    assert ua.register(1).status == 200
    redis.kill()
    # The first REGISTER after the kill may still be in flight when the
    # connection drops: it gets 500 too, and so does every one after.
    ok = register_until(ua, 1, 500, timeout=5.0)
    assert ok.status == 500, ok
    assert ua.register(1).status == 500
    wait_for_output(node, "flowedge: redis 127.0.0.1:%d unreachable; REGISTER will get 500 "
                          "until it is back" % redis.port)
    # The proxy cannot look the AOR up either: 500, and nothing reaches the UA.
    caller = siplib.UdpFlow(node.addr)
    caller.send(message(caller, "while redis is down"))
    final = recv_until(caller, lambda m: m.is_response and m.status >= 200)
    assert final.status == 500, final
    caller.close()
    # The edge does not depend on Redis: the flow's keep-alives are answered.
    flow.send(b"\r\n\r\n")
    flow.wait_pong(timeout=2.0)
    redis.start()  # same port, empty: the binding was lost with the process
    ok = register_until(ua, 1, 200, timeout=10.0)
    assert listed_uris(ok) == [contact_uri(flow)], ok
    wait_for_output(node, "flowedge: redis 127.0.0.1:%d reachable again" % redis.port)
    rc = node.stop()
    assert rc == 0, node.output()
    stats = node.output().splitlines()[-1]
    assert re.search(r"redis_unavailable=[1-9]", stats), stats
    assert re.search(r"redis_disconnects=[1-9]", stats), stats
    ua.close()


def test_d_a_node_starts_while_redis_is_down_and_registers_once_it_is_up(tmp_path, start_node,
                                                                         key_file):
    redis = Redis(tmp_path)  # not started yet
    node = start_node(node_args(redis.url, 1, key_file))
    assert ("flowedge: redis 127.0.0.1:%d unreachable; REGISTER will get 500 until it is back"
            % redis.port) in node.output()
    ua = Ua()
    flow = ua.connect(node, 1)
    assert ua.register(1).status == 500
    flow.send(b"\r\n\r\n")
    flow.wait_pong(timeout=2.0)
    try:
        redis.start()
        ok = register_until(ua, 1, 200, timeout=10.0)
        assert listed_uris(ok) == [contact_uri(flow)], ok
        wait_for_output(node, "reachable again")
    finally:
        ua.close()
        node.stop()
        redis.stop()


@pytest.mark.parametrize("url,why", [
    ("redis://127.0.0.1", None),  # valid: the default port
    ("redis://127.0.0.1:0", "from 1 to 65535"),
    ("redis://cache.example.com:6379", "the node does no DNS"),
    ("redis://127.0.0.1:6379/3", "database"),
    ("mysql://127.0.0.1", "want 'embedded' or redis://HOST:PORT"),
])
def test_a_malformed_store_url_stops_the_node_at_start(url, why):
    port = free_port()
    args = [flowedge_binary(), "--listen", "udp:127.0.0.1:%d" % port, "--store", url, "--help"]
    if why is None:
        # Parsed fine (--help then exits 0 without starting).
        assert subprocess.run(args, capture_output=True, timeout=10).returncode == 0
        return
    done = subprocess.run(args[:-1], capture_output=True, timeout=10, text=True)
    assert done.returncode == 2, done
    assert "--store '%s'" % url in done.stderr, done.stderr
    assert why in done.stderr, done.stderr


def test_a_register_waiting_on_a_stalled_redis_gets_500_when_the_node_stops(redis, own_nodes,
                                                                           key_file):
    # The worker destroys its Redis store as it stops: a call still waiting
    # is answered (kUnavailable -> 500) before the flow closes, not dropped.
    node = own_nodes(node_args(redis.url, 1, key_file))
    ua = Ua()
    flow = ua.connect(node, 1)
    assert ua.register(1).status == 200
    redis.proc.send_signal(signal.SIGSTOP)  # only our redis-server, by PID
    try:
        ua.cseq += 1
        sent = time.time()
        flow.send(siplib.register("TCP", flow.local, aor=AOR, instance=ua.instance, reg_id=1,
                                  call_id=ua.call_id, cseq=ua.cseq))
        nothing_on(flow, 0.2)  # waiting on Redis
        node.proc.send_signal(signal.SIGTERM)
        answer = recv_until(flow, lambda m: m.is_response, timeout=3.0)
        assert answer.status == 500, answer
        # Answered by the stop, not by the store's 1 s command timeout.
        assert time.time() - sent < 0.9
        assert node.proc.wait(timeout=10) == 0, node.output()
    finally:
        redis.proc.send_signal(signal.SIGCONT)
        ua.close()
