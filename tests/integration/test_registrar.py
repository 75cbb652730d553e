"""The registrar role end to end: a real flowedge node (--workers 2, all roles,
embedded store) driven over loopback by UAs built from siplib. Each test
asserts what the UA reads in the response to its REGISTER: the status, the
Contacts the 200 lists (every current binding of the AOR, with its expires),
Require: outbound and Flow-Timer, Min-Expires on a 423, and that bindings go
away by Expires: 0, by Contact: * and by expiry.
"""
import random
import re
import time

import siplib


def new_instance():
    return "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)


def contacts_of(ok):
    """Each Contact value of a response, split on top-level commas."""
    out = []
    for line in ok.all("contact"):
        out += [v.strip() for v in re.findall(r'(?:[^,"<]|"[^"]*"|<[^>]*>)+', line) if v.strip()]
    return out


def register_tcp(node, **kw):
    ua = siplib.TcpFlow(node.addr)
    ua.send(siplib.register("TCP", ua.local, **kw))
    return ua, ua.recv()


def fetch(flow, transport, aor="sip:alice@example.com", call_id=None, cseq=1):
    """A REGISTER without Contact: the registrar lists the bindings (RFC 3261 §10.2.3)."""
    host, port = flow.local
    headers = [
        ("Via", "SIP/2.0/%s %s:%d;branch=%s;rport" % (transport, host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("From", "<%s>;tag=%s" % (aor, siplib.tag())),
        ("To", "<%s>" % aor),
        ("Call-ID", call_id or "fetch-%s@test" % siplib.tag()),
        ("CSeq", "%d REGISTER" % cseq),
    ]
    flow.send(siplib.request("REGISTER", "sip:" + aor.split("@")[1], headers))
    return flow.recv()


def test_outbound_200_has_require_outbound_flow_timer_and_lists_every_binding(start_node):
    # covers OB-REG-11, OB-FT-01
    node = start_node(["--workers", "2", "--flow-timer", "95"])
    instance = new_instance()
    call_id = "two-flows@test"
    ua1, ok1 = register_tcp(node, instance=instance, reg_id=1, call_id=call_id, cseq=1)
    assert ok1.status == 200, ok1
    assert "outbound" in [v.strip() for v in ok1.get("require").split(",")], ok1
    assert ok1.get("flow-timer") == "95", ok1
    ua2, ok2 = register_tcp(node, instance=instance, reg_id=2, call_id=call_id, cseq=2)
    assert ok2.status == 200, ok2
    listed = contacts_of(ok2)
    assert len(listed) == 2, ok2
    assert any(";reg-id=1" in c for c in listed) and any(";reg-id=2" in c for c in listed), ok2
    for c in listed:
        assert instance in c, ok2
        assert re.search(r";expires=\d+", c), ok2
    ua1.close()
    ua2.close()


def test_expires_zero_removes_one_binding_and_keeps_the_other(node):
    ua = siplib.UdpFlow(node.addr)
    host, port = ua.local
    call_id = "legacy-two@test"
    for i, user_port in enumerate((port, port + 1)):
        contact = "<sip:alice@%s:%d>" % (host, user_port)
        ua.send(siplib.register("UDP", ua.local, instance="", reg_id=None, contact=contact,
                                call_id=call_id, cseq=1 + i, supported=None))
        assert ua.recv().status == 200
    gone = "<sip:alice@%s:%d>" % (host, port + 1)
    ua.send(siplib.register("UDP", ua.local, instance="", reg_id=None, contact=gone,
                            call_id=call_id, cseq=3, expires=0, supported=None))
    ok = ua.recv()
    assert ok.status == 200, ok
    listed = contacts_of(ok)
    assert len(listed) == 1, ok
    assert ("%s:%d" % (host, port)) in listed[0], ok
    ua.close()


def test_contact_star_removes_every_binding(node):
    ua = siplib.UdpFlow(node.addr)
    call_id = "star@test"
    ua.send(siplib.register("UDP", ua.local, aor="sip:star@example.com", call_id=call_id, cseq=1,
                            instance="", reg_id=None, supported=None))
    assert ua.recv().status == 200
    ua.send(siplib.register("UDP", ua.local, aor="sip:star@example.com", call_id=call_id, cseq=2,
                            contact="*", expires=0, supported=None))
    ok = ua.recv()
    assert ok.status == 200, ok
    assert contacts_of(ok) == [], ok
    again = fetch(ua, "UDP", aor="sip:star@example.com")
    assert again.status == 200 and contacts_of(again) == [], again
    ua.close()


def test_binding_expires_after_its_interval(start_node):
    node = start_node(["--workers", "2", "--min-expires", "1"])
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, aor="sip:brief@example.com", expires=2,
                            instance="", reg_id=None, supported=None))
    ok = ua.recv()
    assert ok.status == 200, ok
    assert len(contacts_of(ok)) == 1, ok
    time.sleep(2.5)
    later = fetch(ua, "UDP", aor="sip:brief@example.com")
    assert later.status == 200, later
    assert contacts_of(later) == [], later
    ua.close()


def test_old_cseq_on_the_same_call_id_is_refused(node):
    ua = siplib.UdpFlow(node.addr)
    call_id = "order@test"
    ua.send(siplib.register("UDP", ua.local, aor="sip:order@example.com", call_id=call_id,
                            cseq=5, instance="", reg_id=None, supported=None))
    assert ua.recv().status == 200
    ua.send(siplib.register("UDP", ua.local, aor="sip:order@example.com", call_id=call_id,
                            cseq=4, expires=0, instance="", reg_id=None, supported=None))
    refused = ua.recv()
    # RFC 3261 §10.3 step 7: the request is out of order; nothing changes.
    assert refused.status == 500, refused
    still = fetch(ua, "UDP", aor="sip:order@example.com")
    assert len(contacts_of(still)) == 1, still
    ua.close()


def test_too_brief_interval_gets_423_with_min_expires(start_node):
    node = start_node(["--workers", "2", "--min-expires", "300"])
    ua, resp = register_tcp(node, expires=30)
    assert resp.status == 423, resp
    assert resp.get("min-expires") == "300", resp
    ua.close()


def test_reg_id_through_a_first_hop_without_path_gets_439(node):
    # covers OB-REG-05, OB-439-01
    ua = siplib.TcpFlow(node.addr)
    host, port = ua.local
    vias = ["SIP/2.0/TCP %s:%d;branch=%s" % (host, port, siplib.branch()),
            "SIP/2.0/TCP 192.0.2.50:5060;branch=%s" % siplib.branch()]
    ua.send(siplib.register("TCP", ua.local, vias=vias))
    resp = ua.recv()
    assert resp.status == 439, resp
    ua.close()
