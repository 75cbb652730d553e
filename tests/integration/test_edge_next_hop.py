"""A pure edge (--roles edge) in front of an external registrar: a Python
"registrar double" listening on UDP or TCP is the --next-hop. Asserts what the
double receives (Path, our Via, received/rport, Max-Forwards, Require: path)
and what the UA gets back (the double's 200 over the same flow, with the
edge's Flow-Timer), per RFC 5626 §5.1 / §5.4 and RFC 3327 / RFC 3581.
"""
import re
import socket

import pytest

import siplib
from conftest import free_port


class UdpDouble:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def recv(self, timeout=3):
        self.sock.settimeout(timeout)
        data, self.peer = self.sock.recvfrom(65536)
        return siplib.Message(data)

    def send(self, data):
        self.sock.sendto(data, self.peer)

    def close(self):
        self.sock.close()


class TcpDouble:
    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.flow = None

    def recv(self, timeout=3):
        if self.flow is None:
            self.listener.settimeout(timeout)
            conn, _ = self.listener.accept()
            self.flow = siplib.TcpFlow.__new__(siplib.TcpFlow)
            self.flow.sock, self.flow.local = conn, conn.getsockname()
            self.flow.buf, self.flow.pongs, self.flow.messages = b"", 0, []
        return self.flow.recv(timeout)

    def send(self, data):
        self.flow.send(data)

    def close(self):
        if self.flow:
            self.flow.close()
        self.listener.close()


def ok_for(request, extra=()):
    """The registrar double's 200: the request's Vias, Path echoed, Require: outbound."""
    lines = ["SIP/2.0 200 OK"] + ["Via: " + v for v in request.all("via")]
    lines += ["From: " + request.get("from"), "To: " + request.get("to") + ";tag=reg",
              "Call-ID: " + request.get("call-id"), "CSeq: " + request.get("cseq"),
              "Contact: " + request.get("contact") + ";expires=600"]
    lines += ["Path: " + p for p in request.all("path")]
    lines += list(extra)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(params=["udp", "tcp"])
def edge(request, start_node):
    double = UdpDouble() if request.param == "udp" else TcpDouble()
    node = start_node(["--workers", "2", "--roles", "edge", "--flow-timer", "45",
                       "--next-hop", "sip:127.0.0.1:%d;transport=%s" % (double.port, request.param)])
    yield node, double, request.param
    double.close()


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06, OB-OBP-01, OB-DEP-02, OB-DEP-04, OB-DEP-07,
# OB-FT-01, OB-EDGE-18, OB-DEP-05
@pytest.mark.parametrize("ua_transport", ["TCP", "UDP"])
def test_pure_edge_forwards_register_with_path_and_returns_the_200(edge, ua_transport):
    node, double, hop = edge
    ua = siplib.TcpFlow(node.addr) if ua_transport == "TCP" else siplib.UdpFlow(node.addr)
    ua.send(siplib.register(ua_transport, ua.local))
    fwd = double.recv()
    assert fwd.method == "REGISTER"
    path = fwd.all("path")[0]
    m = re.fullmatch(r"<sip:([A-Za-z0-9_-]+)@127\.0\.0\.1:%d;transport=%s;lr;ob>"
                     % (node.port, ua_transport.lower()), path)
    assert m, fwd
    vias = fwd.all("via")
    assert len(vias) == 2
    assert vias[0].startswith("SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-fe" % (hop.upper(), node.port))
    assert ";fl=" in vias[0]
    # The UA's Via whole: its bare rport filled in once, received added
    # (OB-DEP-07; a Via with rport twice gets 400 from the registrar).
    assert re.fullmatch(r"SIP/2\.0/%s 127\.0\.0\.1:%d;branch=[^;]+;received=127\.0\.0\.1;rport=%d"
                        % (ua_transport, ua.local[1], ua.local[1]), vias[1]), vias[1]
    assert fwd.get("max-forwards") == "69"
    assert "path" in [r.strip() for v in fwd.all("require") for r in v.split(",")]
    double.send(ok_for(fwd, extra=["Require: outbound"]))
    ok = ua.recv()
    assert ok.status == 200, ok
    assert len(ok.all("via")) == 1
    assert ok.get("flow-timer") == "45"      # added by the edge (OB-FT-01)
    assert ok.get("path") == path            # unchanged (OB-DEP-05)
    ua.close()


# covers OB-FT-01: no Require: outbound, no Flow-Timer.
def test_pure_edge_adds_no_flow_timer_without_require_outbound(edge):
    node, double, _ = edge
    ua = siplib.TcpFlow(node.addr)
    ua.send(siplib.register("TCP", ua.local))
    fwd = double.recv()
    double.send(ok_for(fwd))
    ok = ua.recv()
    assert ok.status == 200 and ok.get("flow-timer") is None
    ua.close()


# covers OB-EDGE-07, OB-OBP-02, OB-EDGE-02
def test_register_with_two_vias_gets_no_path_of_ours(edge):
    # covers OB-EDGE-07, OB-EDGE-02 (our policy: add nothing when not the
    # first hop): a Path of ours without ob on top would hide the first edge's
    # ob from the registrar, which must then refuse outbound (RFC 5626 §6).
    node, double, _ = edge
    ua = siplib.UdpFlow(node.addr)
    vias = ["SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (ua.local[1], siplib.branch()),
            "SIP/2.0/UDP 192.0.2.4:5060;branch=%s" % siplib.branch()]
    first_edge = "<sip:FIRST@192.0.2.4:5060;lr;ob>"
    ua.send(siplib.register("UDP", ua.local, vias=vias, extra=[("Path", first_edge)]))
    fwd = double.recv()
    assert fwd.all("path") == [first_edge], fwd
    assert len(fwd.all("via")) == 3
    # The sender's Via: rport filled in, received added, the bare flag gone.
    sender_via = fwd.all("via")[1]
    assert sender_via.count("rport") == 1 and ";rport=%d" % ua.local[1] in sender_via, sender_via
    ua.close()


# covers OB-DEP-03
def test_register_without_reg_id_gets_no_path(edge):
    node, double, _ = edge
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, reg_id=None, instance="", supported=None))
    fwd = double.recv()
    assert fwd.all("path") == [] and fwd.get("require") is None
    ua.close()


# covers OB-DEP-04
def test_register_with_reg_id_but_no_path_support_gets_421(edge):
    node, double, _ = edge
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, supported="outbound"))
    r = ua.recv()
    assert r.status == 421 and r.get("require") == "path", r
    with pytest.raises(socket.timeout):
        double.recv(timeout=0.3)
    ua.close()


# covers OB-EDGE-13: an outgoing dialog-forming request with ;ob in the Contact
# is Record-Routed with a token naming the UA's flow; the token routes back.
def test_outgoing_invite_with_ob_contact_is_record_routed_with_a_flow_token(edge):
    node, double, _ = edge
    ua = siplib.TcpFlow(node.addr)
    invite = siplib.request("INVITE", "sip:bob@example.com", [
        ("Via", "SIP/2.0/TCP 127.0.0.1:%d;branch=%s;rport" % (ua.local[1], siplib.branch())),
        ("Max-Forwards", "70"), ("From", "<sip:alice@example.com>;tag=%s" % siplib.tag()),
        ("To", "<sip:bob@example.com>"), ("Call-ID", "inv-%s@test" % siplib.tag()),
        ("CSeq", "1 INVITE"), ("Contact", "<sip:alice@127.0.0.1:%d;transport=tcp;ob>" % ua.local[1])])
    ua.send(invite)
    fwd = double.recv()
    rr = fwd.get("record-route")
    m = re.fullmatch(r"<(sip:[A-Za-z0-9_-]+@127\.0\.0\.1:%d;transport=tcp;lr)>" % node.port, rr or "")
    assert m, fwd
    # The peer's in-dialog BYE with that Route comes down the UA's flow.
    peer = siplib.UdpFlow(node.addr)
    bye = siplib.request("BYE", "sip:alice@127.0.0.1", [
        ("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (peer.local[1], siplib.branch())),
        ("Max-Forwards", "70"), ("Route", "<%s>" % m.group(1)),
        ("From", "<sip:bob@example.com>;tag=b"), ("To", "<sip:alice@example.com>;tag=a"),
        ("Call-ID", fwd.get("call-id")), ("CSeq", "2 BYE")])
    peer.send(bye)
    got = ua.recv()
    assert got.method == "BYE" and got.get("route") is None, got
    ua.close()
