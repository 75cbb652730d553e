"""The edge proxy end to end (issue #3): a real flowedge node with two workers
(all roles), driven over loopback TCP and UDP by RFC 5626 UAs built from
siplib. Each test asserts what a UA sees on the wire: the 200 to REGISTER,
requests arriving down the registered flow, 430/403/483/400 answers, CRLF
pongs and STUN answers.
"""
import re
import socket
import struct
import subprocess
import time

import pytest

import siplib
from conftest import flowedge_binary, free_port


def register_tcp(node, **kw):
    ua = siplib.TcpFlow(node.addr)
    ua.send(siplib.register("TCP", ua.local, **kw))
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua, ok


def register_udp(node, **kw):
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, **kw))
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua, ok


path_uri = siplib.path_uri
token_of = siplib.token_of


def message_to(uri, ruri="sip:alice@example.com", method="MESSAGE", sender=("127.0.0.1", 5999),
               transport="UDP", extra=(), max_forwards="70"):
    headers = [("Via", "SIP/2.0/%s %s:%d;branch=%s;rport" % (transport, sender[0], sender[1],
                                                           siplib.branch()))]
    if max_forwards is not None:
        headers.append(("Max-Forwards", max_forwards))
    if uri:
        headers.append(("Route", "<%s>" % uri))
    headers += [
        ("From", "<sip:bob@example.com>;tag=%s" % siplib.tag()),
        ("To", "<sip:alice@example.com>"),
        ("Call-ID", "%s@test" % siplib.tag()),
        ("CSeq", "1 %s" % method),
    ]
    if method == "INVITE":
        headers.append(("Contact", "<sip:bob@%s:%d>" % sender))
    headers += list(extra)
    return siplib.request(method, ruri, headers, body="hello" if method == "MESSAGE" else "")


def answer(request, status=200, reason="OK"):
    """A UAS response to a request the UA received: its Vias in order."""
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    for v in request.all("via"):
        lines.append("Via: " + v)
    lines += ["From: " + request.get("from"), "To: " + request.get("to") + ";tag=ua",
              "Call-ID: " + request.get("call-id"), "CSeq: " + request.get("cseq"),
              "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06, OB-OBP-01, OB-FT-03
def test_register_over_tcp_gets_outbound_200_on_the_same_flow(node):
    ua, ok = register_tcp(node)
    assert "outbound" in ok.get("require")
    assert int(ok.get("flow-timer")) > 0
    uri = path_uri(ok)
    assert uri.endswith(";lr;ob")
    assert "@127.0.0.1:%d;transport=tcp" % node.port in uri
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token_of(uri))
    ua.close()


# covers OB-EDGE-01, OB-EDGE-06, OB-STUN-07
def test_register_over_udp_gets_outbound_200_from_the_sip_port(node):
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local))
    data, src = ua.recv_raw()
    assert src == node.addr
    ok = siplib.Message(data)
    assert ok.status == 200 and "outbound" in ok.get("require") and ok.get("flow-timer")
    assert path_uri(ok).endswith(";transport=udp;lr;ob")
    ua.close()


def deliver_and_answer(node, ua, uri, sender):
    """Sends MESSAGE with Route = uri from sender; the UA must get it with our
    Route removed, and its 200 must come back to the sender."""
    sender.send(message_to(uri, sender=sender.local))
    got = ua.recv()
    assert got.method == "MESSAGE", got
    assert not any(token_of(uri) in r for r in got.all("route")), got
    assert got.body == b"hello"
    top_via = got.all("via")[0]
    assert "z9hG4bK-fe" in top_via and ";fl=" in top_via
    assert got.get("max-forwards") == "69"
    ua.send(answer(got))
    ok = sender.recv()
    assert ok.status == 200 and ok.get("cseq") == "1 MESSAGE", ok
    assert len(ok.all("via")) == 1  # our Via popped


# covers OB-EDGE-12, OB-EDGE-10, OB-DEP-07
def test_request_routed_by_token_reaches_the_registered_tcp_connection(node):
    ua, ok = register_tcp(node)
    uri = path_uri(ok)
    # Several senders on fresh connections and ports: with two workers some
    # land on the other worker than the UA's connection (mailbox delivery).
    for _ in range(6):
        deliver_and_answer(node, ua, uri, siplib.UdpFlow(node.addr))
        deliver_and_answer(node, ua, uri, siplib.TcpFlow(node.addr))
    ua.close()


# covers OB-EDGE-12 over UDP
def test_request_routed_by_token_reaches_the_registered_udp_address(node):
    ua, ok = register_udp(node)
    uri = path_uri(ok)
    for _ in range(4):
        deliver_and_answer(node, ua, uri, siplib.TcpFlow(node.addr))
        deliver_and_answer(node, ua, uri, siplib.UdpFlow(node.addr))
    ua.close()


# covers OB-OBP-03, OB-EDGE-11
def test_incoming_invite_with_ob_is_record_routed_without_ob(node):
    ua, ok = register_tcp(node)
    uri = path_uri(ok)
    peer = siplib.UdpFlow(node.addr)
    peer.send(message_to(uri, method="INVITE", sender=peer.local))
    got = ua.recv()
    assert got.method == "INVITE"
    rr = got.get("record-route")
    assert rr == "<%s>" % uri[:-len(";ob")], got
    ua.close()


# covers OB-EDGE-15, OB-430-01, OB-EDGE-04
def test_closed_flow_gets_430_and_a_reconnect_does_not_revive_it(node):
    ua, ok = register_tcp(node)
    uri = path_uri(ok)
    port = ua.local[1]
    # Reset (no TIME_WAIT) so the same source port can connect again.
    ua.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ua.close()
    time.sleep(0.2)
    sender = siplib.UdpFlow(node.addr)
    sender.send(message_to(uri, sender=sender.local))
    assert sender.recv().status == 430
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.settimeout(5)
    s.connect(node.addr)
    again = siplib.TcpFlow.__new__(siplib.TcpFlow)
    again.sock, again.local, again.buf, again.pongs, again.messages = s, s.getsockname(), b"", 0, []
    sender.send(message_to(uri, sender=sender.local))
    assert sender.recv().status == 430
    with pytest.raises(TimeoutError):
        again.recv(timeout=0.5)
    again.close()


# covers OB-EDGE-14, OB-EDGE-08, OB-SEC-04
def test_tampered_token_gets_403_and_nothing_is_delivered(node):
    ua, ok = register_tcp(node)
    uri = path_uri(ok)
    token = token_of(uri)
    i = len(token) // 2
    forged = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    sender = siplib.UdpFlow(node.addr)
    sender.send(message_to(uri.replace(token, forged), sender=sender.local))
    r = sender.recv()
    assert r.status == 403, r
    with pytest.raises(TimeoutError):
        ua.recv(timeout=0.5)
    ua.close()


# covers OB-EDGE-20
def test_request_uri_naming_the_contact_is_not_routed_onto_the_flow(node):
    ua, ok = register_tcp(node)
    sender = siplib.UdpFlow(node.addr)
    sender.send(message_to(None, ruri="sip:alice@%s:%d;transport=tcp" % ua.local,
                           sender=sender.local))
    assert sender.recv().status == 480
    with pytest.raises(TimeoutError):
        ua.recv(timeout=0.5)
    ua.close()


# covers OB-EDGE-17, OB-KA-20
def test_crlf_ping_gets_one_crlf_pong_also_after_a_message_in_one_segment(node):
    ua = siplib.TcpFlow(node.addr)
    start = time.time()
    ua.send(b"\r\n\r\n")
    ua.wait_pong(timeout=1)
    assert time.time() - start < 0.5
    ua.send(siplib.register("TCP", ua.local) + b"\r\n\r\n")
    assert ua.recv().status == 200
    ua.wait_pong(timeout=1)
    ua.close()


# covers OB-STUN-01, OB-STUN-02, OB-STUN-03, OB-STUN-04, OB-EDGE-16, OB-KA-21
def test_stun_binding_gets_xor_mapped_address_from_the_sip_port(node):
    ua = siplib.UdpFlow(node.addr)
    req, txid = siplib.stun_binding_request()
    ua.send(req)
    data, src = ua.recv_raw()
    assert src == node.addr
    mtype, rtxid, mapped = siplib.stun_decode_xor_mapped(data)
    assert mtype == 0x0101 and rtxid == txid
    assert mapped == tuple(ua.local)
    # SIP on the same socket still works (demultiplexed, OB-STUN-04).
    ua.send(siplib.register("UDP", ua.local))
    assert ua.recv().status == 200
    ua.close()


# covers OB-STUN-09
def test_stun_without_magic_cookie_gets_nothing(node):
    ua = siplib.UdpFlow(node.addr)
    ua.send(struct.pack("!HHI", 0x0001, 0, 0x12345678) + b"\x00" * 12)
    with pytest.raises(socket.timeout):
        ua.recv_raw(timeout=0.5)
    ua.close()


def test_malformed_requests_get_400_naming_the_defect_and_the_node_goes_on(node):
    bad = siplib.request("MESSAGE", "sip:alice@example.com", [
        ("Via", "SIP/2.0/UDP 127.0.0.1:5999;branch=%s" % siplib.branch()),
        ("From", "<sip:bob@example.com>;tag=1"), ("To", "<sip:alice@example.com>"),
        ("CSeq", "1 MESSAGE")])
    u = siplib.UdpFlow(node.addr)
    u.send(bad)
    r = u.recv()
    assert (r.status, r.reason) == (400, "Missing Call-ID")
    t = siplib.TcpFlow(node.addr)
    t.send(bad)
    r = t.recv()
    assert (r.status, r.reason) == (400, "Missing Call-ID")
    bad_via = siplib.request("OPTIONS", "sip:alice@example.com", [
        ("Via", "SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bK1"),
        ("From", "<sip:bob@example.com>;tag=1"), ("To", "<sip:alice@example.com>"),
        ("Call-ID", "x@y"), ("CSeq", "1 OPTIONS")])
    t.send(bad_via)
    r = t.recv()
    assert r.status == 400 and r.reason.startswith("Bad Via"), r
    # A Via line with no value (found by the fuzzer) names the defect too.
    t.send(siplib.request("MESSAGE", "sip:alice@example.com", [
        ("Via", ","), ("From", "<sip:bob@example.com>;tag=1"),
        ("To", "<sip:alice@example.com>"), ("Call-ID", "v@y"), ("CSeq", "1 MESSAGE")]))
    r = t.recv()
    assert (r.status, r.reason) == (400, "Missing Via"), r
    # A malformed response is dropped; the connection and other flows go on.
    t.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    t.send(b"\r\n\r\n")
    t.wait_pong()
    ua, _ = register_udp(node)
    ua.close()
    t.close()


# covers RFC 3261 §16.3 step 3
def test_max_forwards_zero_gets_483(node):
    ua, ok = register_tcp(node)
    sender = siplib.UdpFlow(node.addr)
    sender.send(message_to(path_uri(ok), sender=sender.local, max_forwards="0"))
    assert sender.recv().status == 483
    with pytest.raises(TimeoutError):
        ua.recv(timeout=0.3)
    ua.close()


def test_listen_address_taken_is_refused_with_a_clear_message():
    port = free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        p = subprocess.run([flowedge_binary(), "--listen", "tcp:127.0.0.1:%d" % port],
                           capture_output=True, text=True, timeout=10)
    finally:
        holder.close()
    assert p.returncode != 0
    assert "address already in use" in p.stderr, p.stderr


def test_help_prints_usage():
    p = subprocess.run([flowedge_binary(), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert "usage: flowedge --listen" in p.stdout
    assert "--token-key-file" in p.stdout and "--next-hop" in p.stdout


# covers RFC 3261 §16.6 step 3: a request without Max-Forwards leaves with 70.
def test_missing_max_forwards_is_added(node):
    ua, ok = register_tcp(node)
    sender = siplib.UdpFlow(node.addr)
    sender.send(message_to(path_uri(ok), sender=sender.local, max_forwards=None))
    got = ua.recv()
    assert got.get("max-forwards") == "70", got
    ua.close()
