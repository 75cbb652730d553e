"""Calls through a node, with sipp as both user agents (issue 8): the RFC 5626
§9 call flows on a real flowedge (--workers 2, all roles unless a test says
otherwise).

The callee is a sipp that registers over TCP with outbound (Contact with
+sip.instance and reg-id=1, Supported: path, outbound) and then answers
calls that arrive over that flow (sipp/callee_register.xml plus an
out-of-call scenario, sipp/callee_answer*.xml). Its Contact names a port
nobody listens on, as a UA behind a NAT would: a request reaches it only
over its flow. The caller is a second sipp, over UDP or TCP, that calls the
callee's AOR with the node as its outbound proxy and sends ACK and BYE to
the callee's Contact with the route set from the 200's Record-Route
(sipp/caller_*.xml).

Each test then reads both sipp message logs and asserts on the bytes: the
INVITE reaches the callee with the node's flow-token Route removed and a
Record-Route <sip:TOKEN@node;lr> (no ob) naming its flow; ACK and BYE reach
the callee over its flow; the BYE's 200 gets back; responses carry
received/rport (RFC 3581). A failure lists every wrong message it saw, then
what each UA sent and received.
"""
import random
import time

import pytest

import siplib
from callflow import (SippUA, ack_problems, answer_problems, assert_no_problems, bye_problems,
                      invite_problems, node_tokens, port_on_worker, report, routes_of,
                      rport_problems, same_flow, start_of, stop_started, token_uris,
                      token_worker)
from conftest import free_port

DOMAIN = "example.com"


@pytest.fixture(autouse=True)
def stop_sipp():
    """Every sipp a test started is stopped (by PID) when it ends."""
    yield
    stop_started()


def start_callee(tmp_path, node, ooc="callee_answer.xml", user="bob", domain=DOMAIN,
                 transport="t1", calls=1, name="callee"):
    """A registered callee (sipp) that answers `calls` calls with `ooc`.

    Returns once its REGISTER has its 200; .flow_token is the token of the
    Path URI that names `node` (the callee's flow)."""
    proto = "tcp" if transport.startswith("t") else "udp"
    contact = "sip:%s@127.0.0.1:%d;transport=%s" % (user, free_port(), proto)
    ua = SippUA(tmp_path, name, "callee_register.xml", node.addr, transport,
                keys={"user": user, "domain": domain, "contact": contact, "calls": calls,
                      "instance": "%012x" % random.getrandbits(48)},
                ooc=ooc, timeout_s=25).start()
    ok = ua.wait_for(status=range(200, 700), cseq_method="REGISTER", timeout=5)
    if ok is None or ok.status != 200:
        ua.stop()
        pytest.fail("the callee could not register: %s\n%s" % (ok.start if ok else "no answer",
                                                               report(ua)))
    ours = [t for t, host, _ in token_uris(ok.all("path")) if host == "127.0.0.1:%d" % node.port]
    assert ours, "REGISTER 200 without a Path naming the node: %r" % ok
    ua.flow_token = ours[0]
    ua.register_ok = ok
    return ua


def run_caller(tmp_path, node, scenario, ruri, transport="u1", ob=False, port=None,
               name="caller"):
    """Runs a sipp caller to the end (bounded) and returns it."""
    port = port or free_port()
    proto = "tcp" if transport.startswith("t") else "udp"
    contact = "sip:carol@127.0.0.1:%d;transport=%s%s" % (port, proto, ";ob" if ob else "")
    ua = SippUA(tmp_path, name, scenario, node.addr, transport, port=port,
                keys={"ruri": ruri, "contact": contact, "from_user": "carol"},
                timeout_s=12).start()
    ua.wait()
    ua.stop()
    return ua


def finish(callee, grace_s=2.0):
    """Gives a callee `grace_s` to end by itself, then stops it (by PID)."""
    callee.wait(timeout=grace_s)
    return callee.stop()


# --- the tests ---------------------------------------------------------------------

# covers OB-EDGE-11, OB-EDGE-12, OB-OBP-03, OB-AUTH-04, OB-AUTH-05, OB-EDGE-10
# RFC 5626 §9.3 (an incoming call over the flow) with the caller hanging up.
@pytest.mark.parametrize("caller_transport", ["u1", "t1"])
def test_call_by_aor_caller_hangs_up(start_node, tmp_path, caller_transport):
    node = start_node(["--workers", "2"])
    callee = start_callee(tmp_path, node)
    caller = run_caller(tmp_path, node, "caller_hangup.xml", "sip:bob@%s" % DOMAIN,
                        transport=caller_transport)
    finish(callee)
    problems = invite_problems(callee, node, callee.flow_token) + answer_problems(caller)
    problems += ack_problems(caller, callee) + bye_problems(caller, callee, "caller")
    ok = caller.first(status=200, cseq_method="INVITE")
    problems += rport_problems(ok, caller.port, "200 to the INVITE at the caller")
    assert_no_problems(problems, caller, callee)
    assert caller.returncode == 0 and callee.returncode == 0, report(caller, callee)


# covers OB-EDGE-10, OB-EDGE-12: the callee's BYE leaves over its flow with
# its own token on top (outgoing) and is routed to the caller's Contact.
def test_call_by_aor_callee_hangs_up(start_node, tmp_path):
    node = start_node(["--workers", "2"])
    callee = start_callee(tmp_path, node, ooc="callee_answer_hangup.xml")
    caller = run_caller(tmp_path, node, "caller_wait_bye.xml", "sip:bob@%s" % DOMAIN)
    finish(callee)
    problems = invite_problems(callee, node, callee.flow_token) + answer_problems(caller)
    problems += ack_problems(caller, callee) + bye_problems(callee, caller, "callee")
    assert_no_problems(problems, caller, callee)
    assert caller.returncode == 0 and callee.returncode == 0, report(caller, callee)


# Issue 8 point 4 (RFC 3261 §10.3, §16.5): sipp's default Request-URI,
# sip:bob@HOST:PORT with the node's own host and port, names the AOR
# sip:bob@HOST, however the callee wrote its AOR.
@pytest.mark.parametrize("registered", ["sip:bob@127.0.0.1", "sip:bob@127.0.0.1:PORT"])
def test_request_uri_with_the_node_port_reaches_the_user(start_node, tmp_path, registered):
    node = start_node(["--workers", "2"])
    aor = registered.replace("PORT", str(node.port))
    callee = start_callee(tmp_path, node, domain=aor.split("@")[1])
    caller = run_caller(tmp_path, node, "caller_hangup.xml", "sip:bob@127.0.0.1:%d" % node.port)
    finish(callee)
    problems = []
    if callee.first(method="INVITE") is None:
        final = caller.first(status=range(200, 700), cseq_method="INVITE")
        problems.append("INVITE sip:bob@127.0.0.1:%d never reached the user registered as %s; "
                        "the caller got %s" % (node.port, aor, start_of(final)))
    problems += answer_problems(caller) + ack_problems(caller, callee)
    problems += bye_problems(caller, callee, "caller")
    assert_no_problems(problems, caller, callee)


# covers OB-EDGE-15, OB-430-01: the callee's flow dies after the ACK; the
# caller's BYE, routed by the callee's token, gets 430 Flow Failed.
def test_bye_after_the_callee_flow_died_gets_430(start_node, tmp_path):
    node = start_node(["--workers", "2"])
    callee = start_callee(tmp_path, node, ooc="callee_answer_then_drop.xml")
    caller = run_caller(tmp_path, node, "caller_bye_430.xml", "sip:bob@%s" % DOMAIN)
    finish(callee)
    problems = invite_problems(callee, node, callee.flow_token) + answer_problems(caller)
    problems += ack_problems(caller, callee)
    bye = caller.first_sent(method="BYE")
    answer = caller.first(status=range(200, 700), cseq_method="BYE")
    if bye is not None and (answer is None or answer.status != 430):
        problems.append("the BYE after the callee's flow closed (%s, Route: %s) got %s, not 430 "
                        "Flow Failed (OB-EDGE-15)" % (bye.start, routes_of(bye), start_of(answer)))
    assert_no_problems(problems, caller, callee)
    assert caller.returncode == 0, report(caller, callee)


# covers OB-EDGE-13, OB-OBP-04, OB-EDGE-10, OB-EDGE-11, OB-EDGE-12 (RFC 5626
# §9.5): both UAs behind the one node over TCP, the caller an outbound UA
# (;ob in its Contact). The INVITE leaves Record-Routed with a token for the
# caller's flow too, so requests of the dialog come back over both flows.
# The caller's port is chosen so that its flow lands on the callee's worker
# or on the other one (read from the flow tokens, not left to chance).
@pytest.mark.parametrize("hangs_up", ["caller", "callee"])
@pytest.mark.parametrize("placement", ["same_worker", "other_worker"])
def test_outbound_caller_and_callee_on_one_node(start_node, tmp_path, placement, hangs_up):
    node = start_node(["--workers", "2"])
    ooc = "callee_answer.xml" if hangs_up == "caller" else "callee_answer_hangup.xml"
    callee = start_callee(tmp_path, node, ooc=ooc)
    callee_worker = token_worker(callee.flow_token)
    if placement == "same_worker":
        port = port_on_worker(node, lambda w: w == callee_worker)
    else:
        port = port_on_worker(node, lambda w: w != callee_worker)
    scenario = "caller_hangup.xml" if hangs_up == "caller" else "caller_wait_bye.xml"
    caller = run_caller(tmp_path, node, scenario, "sip:bob@%s" % DOMAIN, transport="t1",
                        ob=True, port=port)
    finish(callee)
    problems = invite_problems(callee, node, callee.flow_token)
    inv = callee.first(method="INVITE")
    if inv is not None:
        others = [t for t, _ in node_tokens(inv.all("record-route"), node)
                  if not same_flow(t, callee.flow_token)]
        if not others:
            problems.append("the caller's INVITE (Contact with ;ob) left the node without a "
                            "Record-Route naming the caller's flow: Record-Route: %s (OB-EDGE-13)"
                            % (", ".join(inv.all("record-route")) or "(none)"))
        else:
            want = callee_worker if placement == "same_worker" else 1 - callee_worker
            assert token_worker(others[0]) == want, "the caller's flow is not where the probe said"
    problems += answer_problems(caller) + ack_problems(caller, callee)
    if hangs_up == "caller":
        problems += bye_problems(caller, callee, "caller")
    else:
        problems += bye_problems(callee, caller, "callee")
    assert_no_problems(problems, caller, callee)
    assert caller.returncode == 0 and callee.returncode == 0, report(caller, callee)


# RFC 6026 §7.2 and RFC 3261 §16.7 step 10: a proxy forwards every 2xx to an
# INVITE, retransmissions included. The callee (sipp over UDP, outbound)
# retransmits its 200 until the ACK; the caller (a raw UDP socket here, so
# that it can hold back the ACK) must see the retransmissions.
def test_2xx_retransmissions_reach_the_caller(start_node, tmp_path):
    node = start_node(["--workers", "2"])
    callee = start_callee(tmp_path, node, transport="u1")
    caller = siplib.UdpFlow(node.addr)
    try:
        host, port = caller.local
        call_id = "%s@retrans" % siplib.tag()
        from_tag = siplib.tag()
        caller.send(siplib.request("INVITE", "sip:bob@%s" % DOMAIN, [
            ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
            ("Max-Forwards", "70"), ("From", "<sip:carol@%s>;tag=%s" % (DOMAIN, from_tag)),
            ("To", "<sip:bob@%s>" % DOMAIN), ("Call-ID", call_id), ("CSeq", "1 INVITE"),
            ("Contact", "<sip:carol@%s:%d>" % (host, port))]))
        oks = []
        deadline = time.time() + 4.0
        while time.time() < deadline and len(oks) < 2:
            try:
                m = caller.recv(timeout=max(0.05, deadline - time.time()))
            except TimeoutError:
                break
            if m.is_response and m.status == 200 and m.get("cseq") == "1 INVITE":
                oks.append(m)
    finally:
        caller.close()
        finish(callee, grace_s=0.1)
    sent = len(callee.sent(status=200, cseq_method="INVITE"))
    assert oks, "the caller got no 200 at all\n" + report(callee)
    assert sent >= 2, "the callee did not retransmit its 200 (%d sent)\n%s" % (sent, report(callee))
    assert len(oks) >= 2, ("the callee sent its 200 %d times but only %d reached the caller: the "
                           "node drops 2xx retransmissions\n%s" % (sent, len(oks), report(callee)))


# RFC 3581 §4: the node fills rport and adds received in the top Via of every
# request it answers itself (here the REGISTER 200 over TCP and UDP, and the
# 480 for an AOR nobody registered), so a UA behind a NAT learns its address.
def test_responses_built_by_the_node_carry_received_and_rport(start_node, tmp_path):
    node = start_node(["--workers", "2"])
    tcp = start_callee(tmp_path, node, calls=0, name="callee_tcp")
    udp = start_callee(tmp_path, node, calls=0, transport="u1", name="callee_udp")
    finish(tcp)
    finish(udp)
    caller = run_caller(tmp_path, node, "caller_unknown.xml", "sip:nobody@%s" % DOMAIN)
    problems = rport_problems(tcp.register_ok, tcp.port, "REGISTER 200 over TCP")
    problems += rport_problems(udp.register_ok, udp.port, "REGISTER 200 over UDP")
    unavailable = caller.first(status=range(300, 700), cseq_method="INVITE")
    if unavailable is None:
        problems.append("the INVITE for nobody@%s got no final response" % DOMAIN)
    problems += rport_problems(unavailable, caller.port, "%s to an INVITE" % start_of(unavailable))
    assert_no_problems(problems, tcp, udp, caller)


# covers OB-EDGE-01, OB-EDGE-06, OB-EDGE-11, OB-EDGE-12, OB-AUTH-04, OB-DEP-02
# (RFC 5626 §9.1-9.3 with the edge and the registrar/proxy on two nodes): a
# pure edge (--roles edge) forwards REGISTER and the caller's INVITE to a
# second node with the registrar and proxy roles; the INVITE comes back to
# the edge with the Path as its Route and goes down the callee's flow; ACK
# and BYE follow the edge's Record-Route.
@pytest.mark.parametrize("hangs_up", ["caller", "callee"])
def test_call_through_a_pure_edge_in_front_of_a_registrar_proxy_node(start_node, tmp_path,
                                                                      hangs_up):
    home = start_node(["--workers", "2", "--roles", "registrar,proxy"])
    edge = start_node(["--workers", "2", "--roles", "edge",
                       "--next-hop", "sip:127.0.0.1:%d;transport=tcp" % home.port])
    ooc = "callee_answer.xml" if hangs_up == "caller" else "callee_answer_hangup.xml"
    callee = start_callee(tmp_path, edge, ooc=ooc)
    scenario = "caller_hangup.xml" if hangs_up == "caller" else "caller_wait_bye.xml"
    caller = run_caller(tmp_path, edge, scenario, "sip:bob@%s" % DOMAIN)
    finish(callee)
    problems = invite_problems(callee, edge, callee.flow_token) + answer_problems(caller)
    problems += ack_problems(caller, callee)
    if hangs_up == "caller":
        problems += bye_problems(caller, callee, "caller")
    else:
        problems += bye_problems(callee, caller, "callee")
    assert_no_problems(problems, caller, callee)
    assert caller.returncode == 0 and callee.returncode == 0, report(caller, callee)
