"""Helpers for call tests with real user agents: sipp processes, their message
logs, and the node's flow tokens.

A call test runs sipp (or another UA) as caller and callee through a node and
then reads what each UA actually sent and received: sipp writes every message
to its -message_file, and SippUA.messages() parses that log back into
siplib.Message values. Tests assert on those bytes, so a failure says which
message carried which wrong header, not only "sipp exited 1".

Flow tokens are decoded only to learn which worker holds a flow (byte 3 of
the layout drawn in core/token/flow_token.h); the tests never mint one.
"""
import base64
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import siplib
from conftest import HERE, free_port

SIPP_DIR = os.path.join(HERE, "sipp")

# Every SippUA started and not yet stopped; stop_started() ends them (by PID)
# when a test is over, whatever happened in it.
STARTED = []

# A flow token URI as the node writes it in Path and Record-Route.
TOKEN_URI = re.compile(r"<sip:([A-Za-z0-9_-]{20,})@([^;>]+)([^>]*)>")


def sipp_binary():
    path = shutil.which("sipp") or "/usr/bin/sipp"
    if not os.path.exists(path):
        pytest.fail("sipp is not installed (deploy/install-deps.sh installs it)")
    return path


class Traced:
    """One message a UA logged: direction, transport, the message, and where
    the UA's log says it went (src and dst "IP:PORT", when known)."""

    def __init__(self, direction, transport, message, src=None, dst=None):
        self.direction = direction      # "sent" or "received"
        self.transport = transport      # "UDP" or "TCP"
        self.message = message
        self.src = src
        self.dst = dst

    def __repr__(self):
        return "%s %s: %s" % (self.transport, self.direction, self.message.start)


# "UDP message sent (487 bytes):" / "TCP message received [526] bytes :"
ENTRY = re.compile(rb"^(UDP|TCP|TLS|SCTP) message (sent|received) "
                   rb"(?:\((\d+) bytes\)|\[(\d+)\] bytes) ?:\n\n", re.M)


def parse_message_log(data):
    """Every message in a sipp -trace_msg file, in order, as Traced values."""
    out = []
    for m in ENTRY.finditer(data):
        size = int(m.group(3) or m.group(4))
        raw = data[m.end():m.end() + size]
        try:
            msg = siplib.Message(raw)
        except ValueError:
            continue  # a CRLF keep-alive or a fragment: not a SIP message
        out.append(Traced(m.group(2).decode(), m.group(1).decode(), msg))
    return out


class MessageQueries:
    """Questions about what a UA sent and received, for any class whose
    messages() returns its Traced log in order and running() says whether
    it still runs."""

    def received(self, method=None, status=None, cseq_method=None):
        """Messages this UA received: requests of `method`, or responses with
        `status` (an int or a range) to `cseq_method`."""
        return self._find("received", method, status, cseq_method)

    def sent(self, method=None, status=None, cseq_method=None):
        """Messages this UA sent, chosen as in received()."""
        return self._find("sent", method, status, cseq_method)

    def _find(self, direction, method, status, cseq_method):
        out = []
        for t in self.messages():
            m = t.message
            if t.direction != direction:
                continue
            if method is not None and (m.is_response or m.method != method):
                continue
            if status is not None:
                if not m.is_response:
                    continue
                if isinstance(status, range) and m.status not in status:
                    continue
                if isinstance(status, int) and m.status != status:
                    continue
            if cseq_method is not None and (m.get("cseq") or "").split()[-1:] != [cseq_method]:
                continue
            out.append(m)
        return out

    def first(self, **kw):
        """The first message this UA received that matches (see received())."""
        found = self.received(**kw)
        return found[0] if found else None

    def first_sent(self, **kw):
        found = self.sent(**kw)
        return found[0] if found else None

    def wait_for(self, timeout=5.0, **kw):
        """Polls the message log (bounded) until a matching message was received."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.first(**kw)
            if m is not None:
                return m
            if not self.running():
                return self.first(**kw)
            time.sleep(0.02)
        return None


class SippUA(MessageQueries):
    """One sipp process playing one user agent.

    keys become sipp -key KEY VALUE, used in the scenarios as [KEY]. The UA
    binds 127.0.0.1:port (also the source port of its TCP connection, so a
    test can choose it), and its control and media ports come from the
    test's own free ports.
    """

    def __init__(self, tmp_path, name, scenario, target, transport="u1", keys=None, ooc=None,
                 port=None, calls=1, timeout_s=10, recv_timeout_ms=4000):
        self.name = name
        self.tmp_path = tmp_path
        self.port = port or free_port()
        self.message_file = str(tmp_path / ("%s_messages.log" % name))
        self.error_file = str(tmp_path / ("%s_errors.log" % name))
        self.log_file = str(tmp_path / ("%s_log.log" % name))
        self.stdout_file = str(tmp_path / ("%s_stdout.txt" % name))
        self.timeout_s = timeout_s
        self.cmd = [sipp_binary(), "-sf", os.path.join(SIPP_DIR, scenario),
                    "%s:%d" % target, "-i", "127.0.0.1", "-p", str(self.port), "-t", transport,
                    "-cp", str(free_port()), "-ci", "127.0.0.1", "-mp", str(free_port()),
                    "-m", str(calls), "-timeout", "%ds" % timeout_s,
                    "-recv_timeout", str(recv_timeout_ms), "-nostdin",
                    # Abort on an unexpected message, but send no BYE of
                    # sipp's own: the logs then show only the scenario's.
                    "-default_behaviors", "abortunexp",
                    "-trace_msg", "-message_file", self.message_file,
                    "-trace_err", "-error_file", self.error_file,
                    "-trace_logs", "-log_file", self.log_file]
        if ooc:
            # A request on a connection sipp opened reaches only an
            # out-of-call scenario (TESTING.md).
            self.cmd += ["-oocsf", os.path.join(SIPP_DIR, ooc), "-deadcall_wait", "0"]
        for k, v in (keys or {}).items():
            self.cmd += ["-key", k, str(v)]
        self.proc = None
        self.returncode = None
        self.stopped = False

    def start(self):
        self._out = open(self.stdout_file, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=str(self.tmp_path), stdout=self._out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        STARTED.append(self)
        return self

    def wait(self, timeout=None):
        """Waits (bounded) for sipp to exit by itself; returns its exit code or None."""
        if timeout is None:
            timeout = self.timeout_s + 5
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self):
        """Stops this sipp (by its PID) if it still runs. Returns its exit
        code, or None when it had to be stopped: sipp exits 0 on SIGTERM, and
        a UA that was still waiting did not finish its call."""
        if self.proc is None:
            return None
        if self in STARTED:
            STARTED.remove(self)
        if self.proc.poll() is None:
            self.stopped = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        self._out.close()
        if self.returncode is None and not self.stopped:
            self.returncode = self.proc.returncode
        return self.returncode

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def messages(self):
        try:
            with open(self.message_file, "rb") as f:
                return parse_message_log(f.read())
        except FileNotFoundError:
            return []

    def describe(self):
        """What this UA saw, for an assertion message."""
        if self.stopped:
            state = "stopped by the test, still waiting"
        else:
            state = "exit %s" % self.returncode
        lines = ["--- %s (sipp %s): %s" % (self.name, state, " ".join(self.cmd[1:3]))]
        for t in self.messages():
            lines.append("  %s %s: %s" % (t.transport, t.direction, t.message.start))
        for path in (self.error_file, self.log_file):
            if os.path.exists(path):
                text = open(path, errors="replace").read().strip()
                if text:
                    lines.append("  %s:\n    %s" % (os.path.basename(path),
                                                    text[-1500:].replace("\n", "\n    ")))
        return "\n".join(lines)


def stop_started():
    """Stops every SippUA a test left running."""
    for ua in list(STARTED):
        ua.stop()


def report(*uas):
    return "\n".join(ua.describe() for ua in uas)


# --- flow tokens ---------------------------------------------------------------

def token_bytes(token):
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def token_worker(token):
    """The worker index a flow token names (core/token/flow_token.h, offset 3)."""
    return token_bytes(token)[3]


def token_transport(token):
    """1 UDP, 2 TCP, 3 TLS, 4 WS, 5 WSS (offset 2)."""
    return token_bytes(token)[2]


def token_uris(values):
    """[(token, host, params)] of the token URIs in header values."""
    out = []
    for v in values:
        for m in TOKEN_URI.finditer(v):
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def uri_params(params):
    """';transport=tcp;lr' -> {'transport': 'tcp', 'lr': ''} (names lower-cased)."""
    out = {}
    for p in params.split(";"):
        if p:
            k, _, v = p.partition("=")
            out[k.strip().lower()] = v.strip()
    return out


def via_params(via):
    """The parameters of one Via value, names lower-cased."""
    _, _, rest = via.partition(";")
    return uri_params(rest)


# --- what the UAs must see on the wire --------------------------------------------

def node_tokens(values, node):
    """(token, params) of the flow-token URIs in `values` that name `node`."""
    return [(t, uri_params(p)) for t, host, p in token_uris(values)
            if host == "127.0.0.1:%d" % node.port]


def same_flow(token_a, token_b):
    """Two tokens name one flow: equal transport, worker, node, slot and
    generation (core/token/flow_token.h, bytes 2..13)."""
    return token_bytes(token_a)[2:14] == token_bytes(token_b)[2:14]


def start_of(m):
    return m.start if m is not None else "nothing"


def routes_of(m):
    return ", ".join(m.all("route")) or "(none)"


def invite_problems(callee, node, flow_token):
    """The INVITE at the callee: the node's Route removed (OB-EDGE-12), and
    Record-Routed with a token naming the callee's flow (the one whose Path
    token is `flow_token`) and no ob (OB-EDGE-11)."""
    inv = callee.first(method="INVITE")
    if inv is None:
        return ["the INVITE never reached the callee over its flow"]
    out = []
    if inv.all("route"):
        out.append("INVITE reached the callee with Route still on it: Route: %s (the node "
                   "must remove its own flow-token Route, OB-EDGE-12)" % routes_of(inv))
    rrs = inv.all("record-route")
    tokens = node_tokens(rrs, node)
    if not any(same_flow(t, flow_token) for t, _ in tokens):
        out.append("INVITE reached the callee without a Record-Route naming its flow: "
                   "Record-Route: %s (want <sip:TOKEN@127.0.0.1:%d;...;lr>, no ob, OB-EDGE-11)"
                   % (", ".join(rrs) or "(none)", node.port))
    for t, params in tokens:
        if "ob" in params:
            out.append("Record-Route with ;ob: %s (OB-OBP-03: the Record-Route drops ob)" % rrs)
        if "lr" not in params:
            out.append("Record-Route without ;lr: %s" % rrs)
    return out


def answer_problems(caller):
    """The caller's INVITE got a 200."""
    final = caller.first(status=range(200, 700), cseq_method="INVITE")
    if final is None or final.status != 200:
        return ["the caller's INVITE got %s, not 200" % start_of(final)]
    return []


def ack_problems(caller, callee):
    """The caller's ACK for the 2xx reaches the callee over its flow, Route removed."""
    sent = caller.first_sent(method="ACK")
    if sent is None:
        return []  # the caller never got as far; answer_problems() says why
    ack = callee.first(method="ACK")
    if ack is None:
        return ["the caller's ACK (%s, Route: %s) never reached the callee"
                % (sent.start, routes_of(sent))]
    if ack.all("route"):
        return ["ACK reached the callee with Route still on it: Route: %s" % routes_of(ack)]
    return []


def bye_problems(sender, receiver, who):
    """A BYE from `sender` reaches `receiver` without our Route, and the 200
    gets back to `sender`."""
    sent = sender.first_sent(method="BYE")
    if sent is None:
        return ["no BYE from the %s went on the wire (the call did not get that far, or the "
                "%s could not send it: see its log)" % (who, who)]
    answer = sender.first(status=range(200, 700), cseq_method="BYE")
    bye = receiver.first(method="BYE")
    out = []
    if bye is None:
        out.append("the %s's BYE (%s, Route: %s) never reached the other party; the %s got %s"
                   % (who, sent.start, routes_of(sent), who, start_of(answer)))
        return out
    if bye.all("route"):
        out.append("the %s's BYE reached the other party with Route still on it: Route: %s"
                   % (who, routes_of(bye)))
    if answer is None or answer.status != 200:
        out.append("the %s's BYE got %s, not the other party's 200" % (who, start_of(answer)))
    return out


def rport_problems(response, port, what):
    """RFC 3581 §4: a request with rport leaves the server with received and
    rport filled in the sender's Via; the response carries it back."""
    if response is None:
        return []
    via = response.all("via")[-1]
    params = via_params(via)
    out = []
    if params.get("rport") != str(port):
        out.append("%s: Via %s has no rport=%d (RFC 3581 §4)" % (what, via, port))
    if params.get("received") != "127.0.0.1":
        out.append("%s: Via %s has no received=127.0.0.1 (RFC 3581 §4)" % (what, via))
    return out


def assert_no_problems(problems, *uas):
    assert not problems, "\n".join(problems) + "\n" + report(*uas)



# --- placing flows on workers ------------------------------------------------------

def flow_worker_of_port(node, port, transport="tcp", aor_user="probe"):
    """Which worker of `node` gets a flow from 127.0.0.1:port.

    Registers once from that port (RFC 5626 REGISTER, a throwaway AOR) and
    reads the worker out of the Path token. SO_REUSEPORT spreads flows by a
    hash of the addresses, so a later flow from the same port lands on the
    same worker. The TCP probe ends with a RST (SO_LINGER 0) so that the port
    has no TIME_WAIT and sipp can bind it straight away.
    """
    aor = "sip:%s-%d@example.com" % (aor_user, port)
    if transport == "tcp":
        ua = siplib.TcpFlow(node.addr, source=("127.0.0.1", port))
        ua.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        ua = siplib.UdpFlow(node.addr, source=("127.0.0.1", port))
    try:
        ua.send(siplib.register(transport.upper(), ua.local, aor=aor))
        ok = ua.recv()
        assert ok.status == 200, ok
        tokens = token_uris(ok.all("path"))
        assert tokens, "REGISTER 200 without a token Path: %r" % ok
        return token_worker(tokens[0][0])
    finally:
        ua.close()


def port_on_worker(node, want, transport="tcp", tries=32):
    """A free local port whose flow to `node` lands on a worker for which
    want(worker) holds; a bounded search over fresh ports."""
    for _ in range(tries):
        port = free_port()
        if want(flow_worker_of_port(node, port, transport)):
            return port
    pytest.fail("no port out of %d reached the wanted worker" % tries)
