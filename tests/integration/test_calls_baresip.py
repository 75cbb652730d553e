"""Calls through a node with baresip, a SIP user agent written by others
(Debian's baresip-core 1.0.0), as the outbound UA (issue 8).

baresip runs headless and bounded: its own config directory under the test's
tmp_path, SIP on 127.0.0.1 only, a sine-wave audio source (ausine, which takes
only 48 kHz stereo: ausrc_srate/ausrc_channels) and an in-process audio
bridge as the player (no sound device), one account per process with
RFC 5626 outbound through the node (sipnat=outbound, outbound="sip:NODE;
transport=tcp", regint) and answermode=auto; baresip adds +sip.instance,
reg-id=1 and Supported: outbound, path itself. It is driven over its
ctrl_tcp module (netstring JSON: dial, hangup; events CALL_ESTABLISHED,
CALL_CLOSED), quits by itself after -t seconds, and is stopped by PID.

baresip -s prints every SIP message it sends or receives with its source and
destination; the tests parse that trace and sipp's message log, and assert
on the bytes: the binding works (a request for the AOR reaches baresip over
the connection it registered on), incoming calls arrive with the node's
Route removed and a token Record-Route, ACK and BYE reach the far end, and
every BYE gets its 200.
"""
import json
import random
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import siplib
from callflow import (MessageQueries, SippUA, Traced, ack_problems, answer_problems,
                      assert_no_problems, bye_problems, invite_problems, node_tokens, report,
                      stop_started, token_uris)
from conftest import free_port

DOMAIN = "example.com"


@pytest.fixture(autouse=True)
def stop_sipp():
    """Every sipp a test started is stopped (by PID) when it ends."""
    yield
    stop_started()


# baresip 1.0.0's config. What mattered: net_interface by address (by name,
# "lo", baresip finds no address and will not start); dns_server on a
# loopback port nobody serves, so that no lookup leaves the machine (none is
# needed: the outbound proxy is an address); ausine takes 48 kHz stereo only;
# aubridge is a player with no device; ctrl_tcp_listen not on SIP port + 1
# (baresip's TLS listener).
CONFIG = """\
poll_method		epoll
sip_listen		127.0.0.1:%(sip_port)d
net_interface		127.0.0.1
dns_server		127.0.0.1:%(dns_port)d
call_local_timeout	30
call_max_calls		4
audio_player		aubridge,%(name)s
audio_alert		aubridge,%(name)s
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
rtp_ports		%(rtp_port)d-%(rtp_port_last)d
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%(ctrl_port)d
"""

# One account: TCP, RFC 5626 outbound through the node, auto answer.
ACCOUNT = ('<sip:%(user)s@%(domain)s;transport=tcp>;outbound="sip:127.0.0.1:%(node_port)d;'
           'transport=tcp";sipnat=outbound;regint=600;answermode=%(answermode)s;'
           'audio_codecs=PCMU\n')

# baresip -s: ESC[36;1m "#" NL "TCP 127.0.0.1:A -> 127.0.0.1:B" NL message ESC[;m NL
TRACE = re.compile(rb"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m\n", re.S)


def baresip_binary():
    path = shutil.which("baresip")
    if not path:
        pytest.fail("baresip is not installed (deploy/install-deps.sh installs baresip-core)")
    return path


def sip_port_pair():
    """A port P with P+1 also free: baresip listens for TLS on P+1."""
    for _ in range(50):
        port = free_port()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.fail("no free SIP port pair")


class Baresip(MessageQueries):
    """One baresip process with one outbound account `user`@`domain`."""

    def __init__(self, tmp_path, name, node, user, domain=DOMAIN, answermode="auto",
                 lifetime_s=40):
        self.name = name
        self.node = node
        self.aor = "sip:%s@%s" % (user, domain)
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.sip_port = sip_port_pair()
        self.ctrl_port = free_port()
        rtp_port = free_port()
        (self.dir / "config").write_text(CONFIG % {
            "sip_port": self.sip_port, "dns_port": free_port(), "name": name,
            "rtp_port": rtp_port, "rtp_port_last": rtp_port + 9, "ctrl_port": self.ctrl_port})
        (self.dir / "accounts").write_text(ACCOUNT % {
            "user": user, "domain": domain, "node_port": node.port, "answermode": answermode})
        self.stdout_path = str(self.dir / "stdout.txt")
        # stdbuf: the trace is on stdout; line buffering lets the test read
        # it while baresip runs. -t: baresip quits by itself after that long.
        self.cmd = ["stdbuf", "-oL", baresip_binary(), "-f", str(self.dir), "-s",
                    "-t", str(lifetime_s)]
        self.proc = None
        self.ctrl = None
        self.ctrl_buf = b""
        self.events = []
        self.returncode = None

    def start(self):
        self._out = open(self.stdout_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 5
        while self.ctrl is None:
            try:
                self.ctrl = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=0.2)
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    pytest.fail("baresip did not open its ctrl_tcp port\n" + self.describe())
                time.sleep(0.05)
        return self

    # --- ctrl_tcp: netstrings of JSON ---

    def _read_ctrl(self, deadline):
        """Reads one netstring (bounded by `deadline`); returns its JSON or None."""
        while True:
            m = re.match(rb"(\d+):", self.ctrl_buf)
            if m and len(self.ctrl_buf) >= m.end() + int(m.group(1)) + 1:
                end = m.end() + int(m.group(1))
                payload = self.ctrl_buf[m.end():end]
                self.ctrl_buf = self.ctrl_buf[end + 1:]  # and the ","
                return json.loads(payload)
            left = deadline - time.time()
            if left <= 0:
                return None
            self.ctrl.settimeout(left)
            try:
                data = self.ctrl.recv(65536)
            except socket.timeout:
                return None
            if not data:
                return None
            self.ctrl_buf += data

    def command(self, command, params=None, timeout=3.0):
        token = "t%d" % time.monotonic_ns()
        msg = {"command": command, "token": token}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg).encode()
        self.ctrl.sendall(b"%d:%s," % (len(data), data))
        deadline = time.time() + timeout
        while True:
            reply = self._read_ctrl(deadline)
            if reply is None:
                pytest.fail("baresip did not answer %r\n%s" % (command, self.describe()))
            if reply.get("event"):
                self.events.append(reply)
            elif reply.get("token") == token:
                return reply

    def wait_event(self, types, timeout=5.0):
        """The first ctrl_tcp event whose type is in `types` (bounded), or None."""
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e.get("type") in types:
                    self.events.remove(e)
                    return e
            e = self._read_ctrl(deadline)
            if e is None:
                return None
            if e.get("event"):
                self.events.append(e)

    # --- what baresip sent and received (its -s trace) ---

    def messages(self):
        """baresip's -s trace as Traced values. The trace does not say which
        way a message went; the top Via does: baresip's own (sent-by its
        SIP address) on a request it sent or a response it received."""
        try:
            with open(self.stdout_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        me = "127.0.0.1:%d" % self.sip_port
        out = []
        for m in TRACE.finditer(data):
            try:
                msg = siplib.Message(m.group(4))
            except ValueError:
                continue
            vias = msg.all("via")
            mine = bool(vias) and vias[0].split(";")[0].split()[-1] == me
            sent = mine != msg.is_response
            out.append(Traced("sent" if sent else "received", m.group(1).decode(), msg,
                              m.group(2).decode(), m.group(3).decode()))
        return out

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def registration(self, timeout=5.0):
        """baresip's REGISTER and the node's final answer to it (bounded wait)."""
        final = self.wait_for(timeout=timeout, status=range(200, 700), cseq_method="REGISTER")
        return self.first_sent(method="REGISTER"), final

    def flow(self):
        """The local address of the connection baresip registered over."""
        for t in self.messages():
            if t.direction == "sent" and not t.message.is_response and \
                    t.message.method == "REGISTER":
                return t.src
        return None

    def off_flow(self):
        """Messages baresip received other than from the node over the
        connection it registered on (RFC 5626 §5.3.1: requests for an
        outbound UA come over its flow; behind a NAT nothing else arrives)."""
        flow = self.flow()
        node = "127.0.0.1:%d" % self.node.port
        return [t for t in self.messages()
                if t.direction == "received" and (t.src != node or t.dst != flow)]

    def stop(self):
        if self.ctrl is not None:
            self.ctrl.close()
            self.ctrl = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # baresip unregisters, then exits
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._out.close()
        self.returncode = self.proc.returncode
        return self.returncode

    def describe(self):
        lines = ["--- %s (baresip, %s, exit %s)" % (self.name, self.aor, self.returncode)]
        for t in self.messages():
            lines.append("  %s %s %s -> %s: %s" % (t.transport, t.direction, t.src, t.dst,
                                                 t.message.start))
        try:
            text = open(self.stdout_path, errors="replace").read()
        except FileNotFoundError:
            text = ""
        text = re.sub(r"\x1b\[36;1m#\n.*?\x1b\[;m\n", "", text, flags=re.S)
        notes = [l for l in text.splitlines()
                 if l.strip() and not re.match(r"\s*\[\d+:\d\d:\d\d\] audio", l)]
        lines += ["  | " + l for l in notes[-25:]]
        return "\n".join(lines)


@pytest.fixture
def baresip(tmp_path):
    """baresip(name, node, user, ...) -> a started, registered Baresip."""
    started = []

    def start(name, node, user, **kw):
        ua = Baresip(tmp_path, name, node, user, **kw)
        started.append(ua)
        ua.start()
        register, final = ua.registration()
        if final is None or final.status != 200:
            pytest.fail("baresip could not register: %s\n%s" % (
                final.start if final else "no answer", ua.describe()))
        ua.register, ua.register_ok = register, final
        ours = [t for t, host, _ in token_uris(final.all("path"))
                if host == "127.0.0.1:%d" % node.port]
        assert ours, "REGISTER 200 without a Path naming the node\n" + ua.describe()
        ua.flow_token = ours[0]
        return ua

    yield start
    for ua in started:
        ua.stop()


def start_sipp_callee(tmp_path, node, user="bob"):
    """A sipp UAS registered with outbound over TCP that answers one call."""
    contact = "sip:%s@127.0.0.1:%d;transport=tcp" % (user, free_port())
    ua = SippUA(tmp_path, "callee", "callee_register.xml", node.addr, "t1",
                keys={"user": user, "domain": DOMAIN, "contact": contact, "calls": 1,
                      "instance": "%012x" % random.getrandbits(48)},
                ooc="callee_answer.xml", timeout_s=25).start()
    ok = ua.wait_for(status=range(200, 700), cseq_method="REGISTER", timeout=5)
    if ok is None or ok.status != 200:
        ua.stop()
        pytest.fail("the sipp callee could not register\n" + report(ua))
    ua.flow_token = [t for t, host, _ in token_uris(ok.all("path"))
                     if host == "127.0.0.1:%d" % node.port][0]
    return ua


def over_flow_problems(ua):
    return ["%s reached %s from %s on %s, not from the node over the connection it registered "
            "on (%s)" % (t.message.start, ua.name, t.src, t.dst, ua.flow()) for t in ua.off_flow()]


# covers OB-UA-10, OB-REG-15, OB-EDGE-01, OB-EDGE-06, OB-FT-03 (the 200 as
# baresip sees it), OB-EDGE-12 and OB-AUTH-05 (a request for the AOR comes
# down the flow baresip opened, without the node's Route).
def test_baresip_registers_with_outbound_and_is_reached_by_its_aor(start_node, baresip):
    node = start_node(["--workers", "2"])
    alice = baresip("alice", node, "alice")
    register, ok = alice.register, alice.register_ok
    # baresip asked for outbound (its configuration is what this test is about).
    assert "outbound" in register.get("supported"), register
    assert re.search(r"reg-id=1", register.get("contact")) and "+sip.instance" in \
        register.get("contact"), register
    assert "outbound" in (ok.get("require") or ""), ok
    assert ok.get("flow-timer"), ok
    assert any("ob" in params for _, params in node_tokens(ok.all("path"), node)), ok

    # The binding is there: an OPTIONS for the AOR from a stranger reaches
    # baresip over its flow, and baresip's 200 comes back.
    stranger = siplib.UdpFlow(node.addr)
    try:
        host, port = stranger.local
        stranger.send(siplib.request("OPTIONS", alice.aor, [
            ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
            ("Max-Forwards", "70"), ("From", "<sip:carol@%s>;tag=%s" % (DOMAIN, siplib.tag())),
            ("To", "<%s>" % alice.aor), ("Call-ID", "%s@options" % siplib.tag()),
            ("CSeq", "1 OPTIONS")]))
        answer = None
        deadline = time.time() + 5
        while answer is None and time.time() < deadline:
            try:
                m = stranger.recv(timeout=max(0.05, deadline - time.time()))
            except TimeoutError:
                break
            if m.is_response and m.status >= 200:
                answer = m
    finally:
        stranger.close()
    problems = []
    options = alice.first(method="OPTIONS")
    if options is None:
        problems.append("OPTIONS %s never reached baresip; the sender got %s"
                        % (alice.aor, answer.start if answer else "nothing"))
    else:
        if options.all("route"):
            problems.append("OPTIONS reached baresip with Route still on it: Route: %s "
                            "(OB-EDGE-12)" % ", ".join(options.all("route")))
        if answer is None or answer.status != 200:
            problems.append("baresip's answer to OPTIONS did not get back: the sender got %s"
                            % (answer.start if answer else "nothing"))
    problems += over_flow_problems(alice)
    assert_no_problems(problems, alice)


# covers OB-EDGE-11, OB-EDGE-12, OB-AUTH-04 (RFC 5626 §9.3): sipp calls
# baresip's AOR over UDP; baresip answers by itself; sipp sends ACK and BYE
# with the route set of the 200 and gets baresip's 200 to the BYE.
def test_baresip_answers_a_call_from_sipp(start_node, tmp_path, baresip):
    node = start_node(["--workers", "2"])
    alice = baresip("alice", node, "alice")
    port = free_port()
    caller = SippUA(tmp_path, "caller", "caller_hangup.xml", node.addr, "u1", port=port,
                    keys={"ruri": alice.aor, "contact": "sip:carol@127.0.0.1:%d" % port,
                          "from_user": "carol"}, timeout_s=12).start()
    caller.wait()
    caller.stop()
    closed = alice.wait_event({"CALL_CLOSED"}, timeout=3)
    problems = invite_problems(alice, node, alice.flow_token) + answer_problems(caller)
    problems += ack_problems(caller, alice) + bye_problems(caller, alice, "caller")
    problems += over_flow_problems(alice)
    if caller.first(status=200, cseq_method="BYE") is not None and closed is None:
        problems.append("baresip did not report the call closed after the BYE")
    assert_no_problems(problems, caller, alice)
    assert caller.returncode == 0, report(caller, alice)


# covers OB-EDGE-12, OB-AUTH-04 (RFC 5626 §9.5, the UA places the call):
# baresip dials a sipp UAS registered with outbound over TCP; its INVITE
# goes through the node (its outbound proxy) to the UAS's flow; baresip
# then hangs up and its BYE, routed by the Record-Route, gets the UAS's 200.
def test_baresip_places_a_call_to_a_sipp_registered_with_outbound(start_node, tmp_path, baresip):
    node = start_node(["--workers", "2"])
    callee = start_sipp_callee(tmp_path, node)
    alice = baresip("alice", node, "alice")
    alice.command("dial", "sip:bob@%s" % DOMAIN)
    established = alice.wait_event({"CALL_ESTABLISHED", "CALL_CLOSED"}, timeout=5)
    if established is not None and established["type"] == "CALL_ESTABLISHED":
        time.sleep(0.3)
        alice.command("hangup")
        alice.wait_event({"CALL_CLOSED"}, timeout=3)
        callee.wait_for(timeout=3, method="BYE")
        time.sleep(0.3)  # for the 200 to the BYE to reach baresip's trace
    callee.wait(timeout=2)
    callee.stop()
    problems = invite_problems(callee, node, callee.flow_token) + answer_problems(alice)
    problems += ack_problems(alice, callee) + bye_problems(alice, callee, "caller (baresip)")
    problems += over_flow_problems(alice)
    assert_no_problems(problems, alice, callee)


# covers OB-EDGE-10, OB-EDGE-11, OB-EDGE-12: two baresip UAs,
# both registered with outbound through the one node; alice calls bob by
# AOR, bob answers by itself, and bob hangs up, so that his BYE has to find
# its way back to alice (baresip puts no ;ob in its INVITE's Contact, so the
# node may route it by alice's Contact or by a Record-Route of its own).
def test_baresip_calls_baresip(start_node, baresip):
    node = start_node(["--workers", "2"])
    alice = baresip("alice", node, "alice")
    bob = baresip("bob", node, "bob")
    alice.command("dial", bob.aor)
    established = alice.wait_event({"CALL_ESTABLISHED", "CALL_CLOSED"}, timeout=5)
    if established is not None and established["type"] == "CALL_ESTABLISHED":
        bob.wait_for(timeout=3, method="ACK")
        bob.command("hangup")
        alice.wait_event({"CALL_CLOSED"}, timeout=3)
        bob.wait_for(timeout=3, status=range(200, 700), cseq_method="BYE")
    problems = invite_problems(bob, node, bob.flow_token) + answer_problems(alice)
    problems += ack_problems(alice, bob) + bye_problems(bob, alice, "callee (bob)")
    problems += over_flow_problems(bob)
    assert_no_problems(problems, alice, bob)
