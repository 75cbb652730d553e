"""SIP over WebSocket end to end (issue 11, RFC 7118): a real flowedge node
with a ws listener, driven by a minimal RFC 6455 client written here over a
plain socket, so every byte on the wire is the test's own: the Upgrade with
the `sip` subprotocol, masked client frames, unmasked server frames. Each
test asserts what the browser-like UA sees: the 200 to REGISTER with a Path
of transport=ws, requests by AOR from a UDP UA delivered down the WebSocket
with a Record-Route of transport=ws, the 430 once the flow is gone, PING
answered with PONG, CLOSE echoed, and bad frames closed with 1002, 1007 and
1009.

Like a browser, the UA's Contact and Via host is a random `.invalid` name
(RFC 7118 §5.2): the node must reach it only through its flow, never by
resolving that host.
"""
import base64
import hashlib
import json
import os
import queue
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import siplib
from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
JSSIP_DIR = os.path.join(HERE, "jssip")
CERTS = os.path.join(os.path.dirname(HERE), "data", "tls")
CA = os.path.join(CERTS, "ca.pem")
SERVER_NAME = "p1.example.com"  # a dNSName of example-com-ec.pem
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode, payload, fin=True, masked=True, length=None):
    """A client frame (RFC 6455 §5.2), masked unless `masked` is False;
    `length` overrides the encoded payload length (to lie about it)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WsFlow:
    """A browser-like SIP-over-WebSocket UA: one TCP connection, the Upgrade,
    then one SIP message per text frame."""

    def __init__(self, addr, protocol="sip", timeout=5.0, tls=False,
                 origin="https://app.example.com"):
        self.sock = socket.create_connection(addr, timeout=timeout)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(CA)
            self.sock = ctx.wrap_socket(self.sock, server_hostname=SERVER_NAME)
        self.buf = b""
        self.host = "%08x.invalid" % random.getrandbits(32)
        self.local = (self.host, 9)  # what a browser puts in Via and Contact
        key = base64.b64encode(os.urandom(16))
        request = (b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   b"Origin: %s\r\nSec-WebSocket-Version: 13\r\n"
                   % (addr[0].encode(), addr[1], key, origin.encode()))
        if protocol:
            request += b"Sec-WebSocket-Protocol: %s\r\n" % protocol.encode()
        self.sock.sendall(request + b"\r\n")
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.response = head.decode()
        self.status = int(self.response.split(" ", 2)[1])
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
            assert "Sec-WebSocket-Accept: %s" % accept in self.response, self.response
            assert re.search(r"(?im)^Sec-WebSocket-Protocol: sip$", self.response), self.response

    def _fill(self, deadline=None):
        if deadline is not None:
            self.sock.settimeout(max(0.01, deadline - time.time()))
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the node")
        self.buf += data

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, message):
        self.send_raw(frame(OP_TEXT, message))

    def next_frame(self, timeout=3.0):
        """(opcode, payload) of the next server frame; server frames are
        never masked (RFC 6455 §5.1)."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                assert b1 & 0x80 == 0, "a server frame is masked"
                assert b0 & 0x70 == 0, "RSV bits set"
                n, pos = b1 & 0x7F, 2
                if n == 126:
                    n, pos = (struct.unpack("!H", self.buf[2:4])[0] if len(self.buf) >= 4
                              else None), 4
                elif n == 127:
                    n, pos = (struct.unpack("!Q", self.buf[2:10])[0] if len(self.buf) >= 10
                              else None), 10
                if n is not None and len(self.buf) >= pos + n:
                    payload = self.buf[pos:pos + n]
                    self.buf = self.buf[pos + n:]
                    assert b0 & 0x80, "a fragmented server frame"
                    return b0 & 0x0F, payload
            self._fill(deadline)

    def recv(self, timeout=3.0):
        """The next SIP message (text frames only, RFC 7118 §5.1)."""
        deadline = time.time() + timeout
        while True:
            opcode, payload = self.next_frame(max(0.05, deadline - time.time()))
            if opcode == OP_TEXT and payload != b"\r\n":
                return siplib.Message(payload)
            assert opcode in (OP_TEXT, OP_PONG), (opcode, payload)

    def closed_by_peer(self, timeout=3.0):
        deadline = time.time() + timeout
        try:
            while True:
                self._fill(deadline)
        except ConnectionError:
            return True
        except (socket.timeout, ssl.SSLError, OSError):
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def ws_node(start_node):
    """A node (2 workers, all roles) on UDP and TCP at one port, WS at another."""
    ws_port = free_port()
    node = start_node(["--workers", "2", "--listen", "ws:127.0.0.1:%d" % ws_port])
    node.ws_port = ws_port
    node.ws_addr = ("127.0.0.1", ws_port)
    return node


@pytest.fixture
def wss_node(start_node):
    """A node on UDP and TCP at one port, WS at another and WSS (WebSocket
    inside TLS, the node presenting example-com-ec) at a third."""
    ws_port, wss_port = free_port(), free_port()
    node = start_node(["--workers", "2", "--listen", "ws:127.0.0.1:%d" % ws_port,
                       "--listen", "wss:127.0.0.1:%d" % wss_port,
                       "--tls-cert", os.path.join(CERTS, "example-com-ec.pem"),
                       "--tls-key", os.path.join(CERTS, "example-com-ec.key"),
                       "--tls-verify", "none"])
    node.ws_port, node.wss_port = ws_port, wss_port
    node.ws_addr = ("127.0.0.1", ws_port)
    node.wss_addr = ("127.0.0.1", wss_port)
    return node


def register_ws(node, aor="sip:alice@example.com", tls=False):
    ua = WsFlow(node.wss_addr if tls else node.ws_addr, tls=tls)
    assert ua.status == 101, ua.response
    ua.send(siplib.register("WSS" if tls else "WS", ua.local, aor=aor))
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua, ok


def path_uri(ok):
    m = re.match(r"<([^>]+)>", ok.get("path"))
    assert m, ok
    return m.group(1)


def token_of(uri):
    return uri.split(":", 1)[1].split("@", 1)[0]


def from_udp(method, caller, aor="sip:alice@example.com", route=None, body=""):
    host, port = caller.local
    headers = [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
    ]
    if route:
        headers.append(("Route", "<%s>" % route))
    headers += [
        ("From", "<sip:carol@example.com>;tag=%s" % siplib.tag()),
        ("To", "<%s>" % aor),
        ("Call-ID", "%s@caller" % siplib.tag()),
        ("CSeq", "1 %s" % method),
        ("Contact", "<sip:carol@%s:%d>" % (host, port)),
    ]
    return siplib.request(method, aor, headers, body=body)


def reply(req, status, reason):
    to = req.get("to")
    if ";tag=" not in to:
        to += ";tag=callee"
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + req.get("from"), "To: " + to, "Call-ID: " + req.get("call-id"),
              "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def final_of(flow, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        m = flow.recv(timeout=max(0.05, deadline - time.time()))
        if m.is_response and m.status >= 200:
            return m


def next_request(ua):
    req = ua.recv()
    while req.is_response:
        req = ua.recv()
    return req


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06 over WS (RFC 7118 §5: the Path
# names transport=ws and our WS port)
def test_register_over_ws_gets_200_with_a_ws_path(ws_node):
    ua, ok = register_ws(ws_node)
    assert "outbound" in ok.get("require") and int(ok.get("flow-timer")) > 0
    uri = path_uri(ok)
    assert uri.startswith("sip:"), uri
    assert uri.endswith("@127.0.0.1:%d;transport=ws;lr;ob" % ws_node.ws_port), uri
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token_of(uri))
    assert ok.get("via").startswith("SIP/2.0/WS %s:9;" % ua.host), ok
    ua.close()


# covers OB-EDGE-11, OB-EDGE-12: a UDP UA reaches the WS UA by AOR (its
# .invalid Contact is reached through the flow only), the callee's edge
# Record-Routes with the WS flow's token, and the dialog completes.
def test_invite_by_aor_from_udp_is_delivered_over_the_ws_flow(ws_node):
    ua, ok = register_ws(ws_node)
    uri = path_uri(ok)
    caller = siplib.UdpFlow(ws_node.addr)
    caller.send(from_udp("INVITE", caller))
    req = next_request(ua)
    assert req.method == "INVITE", req
    assert ".invalid" in req.ruri and req.ruri.endswith(";transport=ws"), req
    rr = req.all("record-route")
    assert any(";transport=ws" in r and token_of(uri) in r for r in rr), req
    ua.send(reply(req, 180, "Ringing"))
    ua.send(reply(req, 200, "OK"))
    final = final_of(caller)
    assert final.status == 200, final
    caller.close()
    ua.close()


# covers OB-EDGE-11: a MESSAGE by AOR from UDP arrives in one text frame with
# its body, and the 200 goes back to the UDP sender.
def test_message_by_aor_from_udp_is_delivered_over_the_ws_flow(ws_node):
    ua, _ = register_ws(ws_node)
    caller = siplib.UdpFlow(ws_node.addr)
    caller.send(from_udp("MESSAGE", caller, body="hello over ws"))
    req = next_request(ua)
    assert req.method == "MESSAGE", req
    assert req.body == b"hello over ws", req
    ua.send(reply(req, 200, "OK"))
    assert final_of(caller).status == 200
    caller.close()
    ua.close()


# covers OB-EDGE-15, OB-430-01 over WS: the flow's WebSocket is gone, a
# request routed by its token gets 430.
def test_closed_ws_flow_gets_430(ws_node):
    ua, ok = register_ws(ws_node)
    uri = path_uri(ok)
    ua.send_raw(frame(OP_CLOSE, struct.pack("!H", 1000)))
    opcode, payload = ua.next_frame()
    assert opcode == OP_CLOSE and payload[:2] == struct.pack("!H", 1000), (opcode, payload)
    assert ua.closed_by_peer()
    ua.close()
    time.sleep(0.2)
    sender = siplib.UdpFlow(ws_node.addr)
    sender.send(from_udp("MESSAGE", sender, route=uri, body="x"))
    assert sender.recv().status == 430
    sender.close()


# covers OB-EDGE-17, OB-KA-06 inside a WebSocket: CRLFCRLF in a text frame
# gets one CRLF in a text frame; a WebSocket PING gets its PONG.
def test_crlf_and_websocket_ping_get_their_pongs(ws_node):
    ua, _ = register_ws(ws_node)
    ua.send_raw(frame(OP_TEXT, b"\r\n\r\n"))
    assert ua.next_frame() == (OP_TEXT, b"\r\n")
    ua.send_raw(frame(OP_PING, b"are you there"))
    assert ua.next_frame() == (OP_PONG, b"are you there")
    ua.close()


# A message fragmented in three frames, with a PING between fragments, is one
# SIP message (RFC 6455 §5.4, RFC 7118 §5.1).
def test_fragmented_register_is_one_message(ws_node):
    ua = WsFlow(ws_node.ws_addr)
    msg = siplib.register("WS", ua.local)
    ua.send_raw(frame(OP_TEXT, msg[:100], fin=False) + frame(OP_PING, b"p") +
                frame(OP_CONT, msg[100:200], fin=False) + frame(OP_CONT, msg[200:]))
    assert ua.next_frame() == (OP_PONG, b"p")
    ok = ua.recv()
    assert ok.status == 200, ok
    ua.close()


@pytest.mark.parametrize("name,data,code", [
    ("unmasked", frame(OP_TEXT, b"hi", masked=False), 1002),
    ("reserved opcode", frame(0x3, b"x"), 1002),
    ("bad utf-8", frame(OP_TEXT, b"\xc3\x28"), 1007),
    ("oversize", frame(OP_BINARY, b"", length=1 << 20), 1009),
])
def test_protocol_errors_close_with_their_code(ws_node, name, data, code):
    ua = WsFlow(ws_node.ws_addr)
    assert ua.status == 101
    ua.send_raw(data)
    opcode, payload = ua.next_frame()
    assert opcode == OP_CLOSE and struct.unpack("!H", payload[:2])[0] == code, (name, payload)
    assert ua.closed_by_peer()
    ua.close()
    # The node goes on serving other WebSockets.
    other, _ = register_ws(ws_node)
    other.close()


# RFC 7118 §4: a handshake that does not offer `sip` is refused.
def test_handshake_without_sip_is_refused(ws_node):
    ua = WsFlow(ws_node.ws_addr, protocol="chat")
    assert ua.status == 400, ua.response
    assert ua.closed_by_peer()
    ua.close()


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06, OB-EDGE-11, OB-EDGE-12 over WSS
# (RFC 7118 §5: transport=wss, our WSS port): register, then an INVITE by AOR
# from UDP arrives inside TLS with a Record-Route of transport=wss.
def test_register_and_invite_over_wss(wss_node):
    ua, ok = register_ws(wss_node, tls=True)
    uri = path_uri(ok)
    assert uri.endswith("@127.0.0.1:%d;transport=wss;lr;ob" % wss_node.wss_port), uri
    caller = siplib.UdpFlow(wss_node.addr)
    caller.send(from_udp("INVITE", caller))
    req = next_request(ua)
    assert req.method == "INVITE" and req.ruri.endswith(";transport=wss"), req
    assert any(";transport=wss" in r and token_of(uri) in r for r in req.all("record-route")), req
    ua.send(reply(req, 200, "OK"))
    assert final_of(caller).status == 200
    caller.close()
    ua.close()


# WSS keeps the WebSocket rules inside TLS: PING gets PONG, an unmasked frame
# is closed with 1002; a WS listener beside it goes on serving.
def test_wss_ping_and_protocol_error(wss_node):
    ua, _ = register_ws(wss_node, tls=True)
    ua.send_raw(frame(OP_PING, b"tls"))
    assert ua.next_frame() == (OP_PONG, b"tls")
    ua.send_raw(frame(OP_TEXT, b"hi", masked=False))
    opcode, payload = ua.next_frame()
    assert opcode == OP_CLOSE and struct.unpack("!H", payload[:2])[0] == 1002, payload
    ua.close()
    plain, _ = register_ws(wss_node)
    plain.close()


# RFC 6455 §10.2: with --ws-origin, a page from another origin gets 403; the
# allowed origin (case-insensitively) and a client without Origin get 101.
def test_ws_origin_policy(start_node):
    ws_port = free_port()
    node = start_node(["--listen", "ws:127.0.0.1:%d" % ws_port,
                       "--ws-origin", "https://app.example.com"])
    addr = ("127.0.0.1", ws_port)
    evil = WsFlow(addr, origin="https://evil.example.net")
    assert evil.status == 403, evil.response
    assert evil.closed_by_peer()
    assert WsFlow(addr, origin="https://APP.example.com").status == 101
    sock = socket.create_connection(addr, timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Protocol: sip\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 101 "), "a client without Origin passes"
    sock.close()
    evil.close()


# --- JsSIP: an independently written browser SIP stack ------------------------

class JsSipUa:
    """tests/integration/jssip/ua.js under Node.js: a JsSIP UA registered
    over the node's WebSocket; its events arrive as JSON lines."""

    def __init__(self, node, aor):
        exe = shutil.which("node")
        if exe is None:
            pytest.skip("node (Node.js 20) is not installed: deploy/install-deps.sh installs it")
        for package in ("jssip", "ws"):
            if not os.path.isdir(os.path.join(JSSIP_DIR, "node_modules", package)):
                pytest.skip("npm package %s is not installed: run `npm ci` in %s "
                            "(deploy/install-deps.sh does)" % (package, JSSIP_DIR))
        url = "ws://127.0.0.1:%d" % node.ws_port
        self.proc = subprocess.Popen([exe, "ua.js", url, aor], cwd=JSSIP_DIR,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.events = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            try:
                self.events.put(json.loads(line))
            except ValueError:
                pass  # a JsSIP or Node warning

    def wait(self, event, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            try:
                e = self.events.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                raise AssertionError("JsSIP: no %s within %.0fs; output:\n%s"
                                     % (event, timeout, "".join(self.lines)))
            if e["event"] == event:
                return e
            assert e["event"] not in ("registrationFailed",), e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def jssip(ws_node):
    uas = []

    def start(aor="sip:alice@example.com"):
        ua = JsSipUa(ws_node, aor)
        uas.append(ua)
        return ua

    yield start
    for ua in uas:
        ua.stop()


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06 with JsSIP: a browser stack
# registers with outbound over WS and gets a Path of transport=ws.
def test_jssip_registers_with_outbound(ws_node, jssip):
    ua = jssip()
    e = ua.wait("registered")
    assert "outbound" in e["require"], e
    assert e["path"].endswith(";transport=ws;lr;ob>"), e
    assert ":%d;" % ws_node.ws_port in e["path"], e


# covers OB-EDGE-11, OB-EDGE-12 with JsSIP: a UDP UA reaches the JsSIP UA by
# AOR (its .invalid Contact only through its flow): a MESSAGE is answered 200
# by JsSIP, an INVITE arrives Record-Routed with transport=ws (JsSIP answers
# 486: no media stack here).
def test_jssip_receives_message_and_invite_by_aor_from_udp(ws_node, jssip):
    ua = jssip()
    ua.wait("registered")
    caller = siplib.UdpFlow(ws_node.addr)
    caller.send(from_udp("MESSAGE", caller, body="hello jssip"))
    assert ua.wait("message")["body"] == "hello jssip"
    assert final_of(caller).status == 200
    caller.send(from_udp("INVITE", caller))
    e = ua.wait("invite")
    assert ".invalid" in e["ruri"], e
    assert any(";transport=ws" in r for r in e["record_route"]), e
    assert final_of(caller).status == 486
    caller.close()


# covers OB-EDGE-11, OB-EDGE-12 with two independent stacks: a UDP sipp
# (sipp/caller_message_invite_busy.xml) sends a MESSAGE and an INVITE to the
# AOR of a JsSIP UA registered over WS; both reach JsSIP, and sipp gets the
# 200 and the 486 it expects.
def test_sipp_over_udp_reaches_jssip_over_ws(ws_node, jssip, tmp_path):
    from callflow import SippUA, report, sipp_binary, stop_started
    ua = jssip()
    ua.wait("registered")
    sipp_binary()  # a dependency of the project (deploy/install-deps.sh): fails when missing
    port = free_port()
    caller = SippUA(tmp_path, "caller", "caller_message_invite_busy.xml", ws_node.addr, "u1",
                    port=port, keys={"ruri": "sip:alice@example.com",
                                     "contact": "sip:carol@127.0.0.1:%d" % port,
                                     "from_user": "carol"},
                    timeout_s=12).start()
    try:
        assert ua.wait("message")["body"].strip() == "hello from sipp"
        assert ".invalid" in ua.wait("invite")["ruri"]
        assert caller.wait() == 0, report(caller)
    finally:
        caller.stop()
        stop_started()
