"""The home proxy end to end (issue #4): a real flowedge node (--workers 2,
all roles) with UAs registered over TCP flows (RFC 5626) or plain UDP
(RFC 3261), and a third client calling sip:bob@example.com. Each test asserts
what the UAs see on their sockets: which flow the INVITE arrives on, the
CANCEL to the losing instance, that a 486 is not retried on another flow, and
what the caller gets back (never a 430).
"""
import random
import time

import pytest

import siplib

AOR = "sip:bob@example.com"


def new_instance():
    return "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)


def register_tcp(node, **kw):
    ua = siplib.TcpFlow(node.addr)
    ua.send(siplib.register("TCP", ua.local, aor=AOR, **kw))
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua


def reply(req, status, reason, to_tag="callee"):
    """The UAS's response to `req` (every Via, From, To with our tag, Call-ID, CSeq)."""
    to = req.get("to")
    if status > 100 and ";tag=" not in to:
        to += ";tag=" + to_tag
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + req.get("from"), "To: " + to, "Call-ID: " + req.get("call-id"),
              "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def invite(caller, ruri=AOR, method="INVITE"):
    host, port = caller.local
    headers = [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("From", "<sip:carol@example.com>;tag=%s" % siplib.tag()),
        ("To", "<%s>" % ruri),
        ("Call-ID", "%s@caller" % siplib.tag()),
        ("CSeq", "1 %s" % method),
        ("Contact", "<sip:carol@%s:%d>" % (host, port)),
    ]
    return siplib.request(method, ruri, headers)


def recv_until(flow, want, timeout=5.0):
    """Reads messages off `flow` until want(message) holds; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = flow.recv(timeout=max(0.05, deadline - time.time()))
        if want(m):
            return m
    raise TimeoutError("no matching message")


def final_of(caller, timeout=5.0):
    return recv_until(caller, lambda m: m.is_response and m.status >= 200, timeout)


def nothing_on(flow, seconds):
    try:
        m = flow.recv(timeout=seconds)
    except (TimeoutError, OSError):
        return True
    pytest.fail("unexpected message: %r" % m)


def no_final_on(flow, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            m = flow.recv(timeout=max(0.05, deadline - time.time()))
        except (TimeoutError, OSError):
            return
        assert not (m.is_response and m.status >= 200), m


def test_invite_goes_to_the_other_flow_of_the_instance_when_one_is_closed(node):
    # covers OB-AUTH-02, OB-430-02, OB-430-03, OB-AUTH-04
    instance = new_instance()
    call_id = "bob-flows@test"
    flow2 = register_tcp(node, instance=instance, reg_id=2, call_id=call_id, cseq=1)
    time.sleep(0.05)
    # Flow 1 registers last, so it is the freshest and would be tried first.
    flow1 = register_tcp(node, instance=instance, reg_id=1, call_id=call_id, cseq=2)
    flow1.close()
    time.sleep(0.2)
    caller = siplib.UdpFlow(node.addr)
    caller.send(invite(caller))
    req = recv_until(flow2, lambda m: not m.is_response and m.method == "INVITE")
    host, port = flow2.local
    assert req.ruri == "sip:bob@%s:%d;transport=tcp" % (host, port), req
    assert len(req.all("via")) == 2, req
    flow2.send(reply(req, 180, "Ringing"))
    flow2.send(reply(req, 200, "OK"))
    ok = final_of(caller)
    assert ok.status == 200, ok
    caller.close()
    flow2.close()


def test_two_instances_ring_and_the_first_200_cancels_the_other(node):
    # covers OB-AUTH-01
    ua1 = register_tcp(node, instance=new_instance(), reg_id=1)
    ua2 = register_tcp(node, instance=new_instance(), reg_id=1)
    caller = siplib.UdpFlow(node.addr)
    caller.send(invite(caller))
    inv1 = recv_until(ua1, lambda m: not m.is_response and m.method == "INVITE")
    inv2 = recv_until(ua2, lambda m: not m.is_response and m.method == "INVITE")
    ua1.send(reply(inv1, 180, "Ringing", "ua1"))
    ua2.send(reply(inv2, 180, "Ringing", "ua2"))
    ua1.send(reply(inv1, 200, "OK", "ua1"))
    ok = final_of(caller)
    assert ok.status == 200 and ";tag=ua1" in ok.get("to"), ok
    cancel = recv_until(ua2, lambda m: not m.is_response and m.method == "CANCEL")
    assert cancel.get("call-id") == inv2.get("call-id"), cancel
    assert cancel.get("via") == inv2.all("via")[0], cancel
    ua2.send(reply(cancel, 200, "OK", "ua2"))
    ua2.send(reply(inv2, 487, "Request Terminated", "ua2"))
    ack = recv_until(ua2, lambda m: not m.is_response and m.method == "ACK")
    assert ack.get("cseq").startswith("1 "), ack
    # The caller gets one final response only: the 487 stays downstream.
    no_final_on(caller, 0.5)
    caller.close()
    ua1.close()
    ua2.close()


def test_486_from_an_instance_is_not_retried_on_its_other_flow(node):
    # covers OB-AUTH-03
    instance = new_instance()
    call_id = "bob-busy@test"
    older = register_tcp(node, instance=instance, reg_id=1, call_id=call_id, cseq=1)
    time.sleep(0.05)
    newer = register_tcp(node, instance=instance, reg_id=2, call_id=call_id, cseq=2)
    caller = siplib.UdpFlow(node.addr)
    caller.send(invite(caller))
    req = recv_until(newer, lambda m: not m.is_response and m.method == "INVITE")
    newer.send(reply(req, 486, "Busy Here"))
    busy = final_of(caller)
    assert busy.status == 486, busy
    recv_until(newer, lambda m: not m.is_response and m.method == "ACK")
    nothing_on(older, 1.0)
    caller.close()
    older.close()
    newer.close()


def test_legacy_ua_without_instance_receives_a_message(node):
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, aor="sip:legacy@example.com", instance="",
                            reg_id=None, supported=None))
    assert ua.recv().status == 200
    caller = siplib.UdpFlow(node.addr)
    caller.send(invite(caller, ruri="sip:legacy@example.com", method="MESSAGE"))
    msg = recv_until(ua, lambda m: not m.is_response and m.method == "MESSAGE")
    host, port = ua.local
    assert msg.ruri == "sip:legacy@%s:%d;transport=udp" % (host, port), msg
    ua.send(reply(msg, 200, "OK"))
    ok = final_of(caller)
    assert ok.status == 200, ok
    caller.close()
    ua.close()


def test_unknown_user_gets_480_and_the_call_is_not_forked(node):
    caller = siplib.UdpFlow(node.addr)
    caller.send(invite(caller, ruri="sip:nobody@example.com"))
    resp = final_of(caller)
    assert resp.status == 480, resp
    caller.close()
