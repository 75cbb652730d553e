"""Server transactions over UDP (RFC 3261 §17.2.2, RFC 6026 §7.1) on a real
node (--workers 2, all roles), the two defects issue 9 found with sipp
(docs/BENCHMARKS.md bugs 6 and 7):

- a REGISTER sent twice (a UDP retransmission) gets two identical 200s, not
  a 200 and a 500 Out Of Order;
- 5,000 MESSAGEs by AOR from one UDP socket (one flow, so one worker's proxy)
  to a UA registered over UDP all get 200: finished transactions no longer
  hold a call slot each for 32 s (4,096 slots ran out at the 4,097th);
- a MESSAGE retransmitted after its 200 gets the same 200 again and reaches
  the callee once;
- with Redis as the store (which answers later), a copy that arrives while
  the first waits is absorbed, and none gets 500.
"""
import random

import pytest

import siplib

AOR = "sip:bob@example.com"


def new_instance():
    return "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)


def reply(req, status, reason, to_tag="callee"):
    """The UAS's response to `req` (every Via, From, To with our tag, Call-ID, CSeq)."""
    to = req.get("to")
    if ";tag=" not in to:
        to += ";tag=" + to_tag
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + req.get("from"), "To: " + to, "Call-ID: " + req.get("call-id"),
              "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def message(caller, call_id, cseq=1, ruri=AOR):
    host, port = caller.local
    return siplib.request("MESSAGE", ruri, [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("From", "<sip:carol@example.com>;tag=%s" % siplib.tag()),
        ("To", "<%s>" % ruri),
        ("Call-ID", call_id),
        ("CSeq", "%d MESSAGE" % cseq),
        ("Content-Type", "text/plain"),
    ], body="hi")


def register_udp_callee(node):
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, aor=AOR, instance=new_instance(), reg_id=1))
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua


def recv_request(flow, method, call_id, timeout=3.0):
    """The request `method` of `call_id` on `flow`, answering 200 to any other
    MESSAGE (a late retransmission) that arrives first."""
    while True:
        m = flow.recv(timeout=timeout)
        if m.is_response:
            continue
        if m.method == method and m.get("call-id") == call_id:
            return m
        if m.method == "MESSAGE":
            flow.send(reply(m, 200, "OK"))


def final_of(flow, timeout=3.0):
    while True:
        m = flow.recv(timeout=timeout)
        if m.is_response and m.status >= 200:
            return m


def test_retransmitted_register_gets_two_identical_200s(node):
    ua = siplib.UdpFlow(node.addr)
    request = siplib.register("UDP", ua.local, aor="sip:alice@example.com",
                              instance=new_instance(), reg_id=1, cseq=7)
    ua.send(request)
    ua.send(request)  # the same bytes: one transaction, sent twice
    first, _ = ua.recv_raw()
    second, _ = ua.recv_raw()
    assert first.startswith(b"SIP/2.0 200 OK\r\n"), first
    assert second == first
    # And again later, as the UA's Timer E would.
    ua.send(request)
    third, _ = ua.recv_raw()
    assert third == first
    ua.close()


def test_register_sent_twice_with_redis_gets_no_500(redis_server, start_node):
    node = start_node(["--workers", "2", "--store", "redis://%s:%d" % redis_server])
    ua = siplib.UdpFlow(node.addr)
    request = siplib.register("UDP", ua.local, aor="sip:alice@example.com",
                              instance=new_instance(), reg_id=1, cseq=3)
    ua.send(request)
    ua.send(request)
    answers = [ua.recv_raw()[0]]
    # The copy was either absorbed while Redis worked (RFC 3261 §17.2.2
    # Trying) or answered after: one or two 200s, never a 500.
    try:
        answers.append(ua.recv_raw(timeout=1.0)[0])
    except OSError:
        pass
    assert answers[0].startswith(b"SIP/2.0 200 OK\r\n"), answers[0]
    assert all(a == answers[0] for a in answers), answers
    ua.send(request)
    assert ua.recv_raw()[0] == answers[0]
    ua.close()


def test_5000_messages_by_aor_over_one_udp_socket_never_get_503(node):
    callee = register_udp_callee(node)
    caller = siplib.UdpFlow(node.addr)
    statuses = {}
    for i in range(5000):
        call_id = "m%d-%x@caller" % (i, random.getrandbits(32))
        caller.send(message(caller, call_id))
        try:
            req = recv_request(callee, "MESSAGE", call_id)
        except TimeoutError:
            # Answered by the node itself (503 when it ran out of call slots).
            final = final_of(caller, timeout=0.5)
            pytest.fail("MESSAGE %d never reached the callee: %d %s" % (i, final.status, final))
        callee.send(reply(req, 200, "OK"))
        final = final_of(caller)
        assert final.get("call-id") == call_id, final
        statuses[final.status] = statuses.get(final.status, 0) + 1
        assert final.status == 200, "MESSAGE %d: %r" % (i, final)
    assert statuses == {200: 5000}
    caller.close()
    callee.close()


def test_message_retransmitted_after_its_200_gets_it_again_and_is_delivered_once(node):
    callee = register_udp_callee(node)
    caller = siplib.UdpFlow(node.addr)
    call_id = "retrans-%x@caller" % random.getrandbits(32)
    request = message(caller, call_id)
    caller.send(request)
    req = recv_request(callee, "MESSAGE", call_id)
    callee.send(reply(req, 200, "OK"))
    first, _ = caller.recv_raw()
    assert first.startswith(b"SIP/2.0 200 OK\r\n"), first
    caller.send(request)  # the caller missed the 200 (as far as it knows)
    second, _ = caller.recv_raw()
    assert second == first
    # The callee saw the MESSAGE once: nothing more arrives for it.
    try:
        extra = callee.recv(timeout=1.0)
    except (TimeoutError, OSError):
        extra = None
    assert extra is None, extra
    caller.close()
    callee.close()
