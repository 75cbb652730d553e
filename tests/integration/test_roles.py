"""--roles does what it says for every combination (issue 8), with real nodes:

- edge,proxy in front of a registrar node, both sharing one redis-server: the
  UA registers through the edge (forwarded with Path to the registrar), and a
  MESSAGE for its AOR sent to the edge is looked up in Redis by the edge's own
  proxy and delivered down the UA's flow, our Route value removed;
- registrar alone: stores a binding from a UA that registers directly (no
  Path: it has no edge role) and refuses a request it has no proxy for (404);
- edge,proxy with the embedded store and nothing registered: an AOR of this
  node gets 480, a request for another IP address is forwarded to it;
- a node listening on port 0 reports the ports it got and serves them.
Each asserts what the UAs see on their sockets.
"""
import re
import socket

import siplib

AOR = "sip:carol@example.com"


def message(ua, ruri, route=None):
    host, port = ua.local
    headers = [("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch()))]
    if route:
        headers.append(("Route", route))
    headers += [("Max-Forwards", "70"), ("From", "<sip:alice@example.com>;tag=%s" % siplib.tag()),
                ("To", "<%s>" % ruri), ("Call-ID", "%s@roles" % siplib.tag()),
                ("CSeq", "1 MESSAGE"), ("Content-Type", "text/plain")]
    return siplib.request("MESSAGE", ruri, headers, body="hi")


def answer(req, status=200, reason="OK"):
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + req.get("from"), "To: " + req.get("to") + ";tag=uas",
              "Call-ID: " + req.get("call-id"), "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_edge_proxy_in_front_of_a_registrar_sharing_redis(start_node, redis_server):
    # covers OB-EDGE-01, OB-EDGE-12, OB-AUTH-04
    store = "redis://%s:%d" % redis_server
    registrar = start_node(["--workers", "1", "--roles", "registrar", "--store", store])
    edge = start_node(["--workers", "2", "--roles", "edge,proxy", "--store", store,
                       "--next-hop", "sip:127.0.0.1:%d;transport=tcp" % registrar.port])
    carol = siplib.TcpFlow(edge.addr)
    carol.send(siplib.register("TCP", carol.local, aor=AOR))
    ok = carol.recv()
    assert ok.status == 200, ok
    # The registrar stored the edge's Path (first hop: with ob) and answered
    # through the edge with the flow's keep-alive interval.
    path = ok.get("path")
    assert re.fullmatch(r"<sip:[A-Za-z0-9_-]+@127\.0\.0\.1:%d;transport=tcp;lr;ob>" % edge.port,
                        path), ok
    assert ok.get("flow-timer") is not None, ok
    caller = siplib.UdpFlow(edge.addr)
    caller.send(message(caller, AOR))
    delivered = carol.recv()
    assert delivered.method == "MESSAGE", delivered
    assert delivered.all("route") == [], delivered
    assert delivered.ruri.startswith("sip:carol@127.0.0.1:%d" % carol.local[1]), delivered
    carol.send(answer(delivered))
    final = caller.recv()
    assert final.status == 200, final
    # rport filled in for the caller (RFC 3581), the bare flag gone.
    assert ";rport=%d" % caller.local[1] in final.get("via") and ";rport;" not in final.get("via")
    carol.close()
    caller.close()


def test_registrar_alone_stores_and_refuses_what_it_cannot_route(start_node):
    node = start_node(["--workers", "1", "--roles", "registrar", "--domain", "example.com"])
    ua = siplib.UdpFlow(node.addr)
    ua.send(siplib.register("UDP", ua.local, aor=AOR, reg_id=None, instance="", supported=None))
    ok = ua.recv()
    assert ok.status == 200, ok
    assert ok.all("path") == []  # no edge role: no Path of ours
    ua.send(message(ua, AOR))
    refused = ua.recv()
    assert refused.status == 404, refused
    ua.close()


def test_edge_proxy_with_nothing_registered(start_node):
    node = start_node(["--workers", "1", "--roles", "edge,proxy"])
    caller = siplib.UdpFlow(node.addr)
    caller.send(message(caller, "sip:nobody@127.0.0.1:%d" % node.port))
    unavailable = caller.recv()
    assert unavailable.status == 480, unavailable
    # Another IP address is no AOR of ours: forwarded to it.
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    target.settimeout(3.0)
    ruri = "sip:dave@127.0.0.1:%d" % target.getsockname()[1]
    caller.send(message(caller, ruri))
    data, _ = target.recvfrom(65536)
    forwarded = siplib.Message(data)
    assert forwarded.method == "MESSAGE" and forwarded.ruri == ruri, forwarded
    target.close()
    caller.close()


def test_port_zero_reports_the_ports_it_got(tmp_path):
    import conftest
    node = conftest.Node(["--listen", "udp:127.0.0.1:0", "--listen", "tcp:127.0.0.1:0",
                          "--workers", "1"], 0)
    node.start(tmp_path)
    try:
        ports = dict(re.findall(r"listening on (udp|tcp):127\.0\.0\.1:(\d+)", node.output()))
        assert set(ports) == {"udp", "tcp"} and "0" not in ports.values(), node.output()
        ua = siplib.TcpFlow(("127.0.0.1", int(ports["tcp"])))
        ua.send(siplib.register("TCP", ua.local, aor=AOR))
        ok = ua.recv()
        assert ok.status == 200, ok
        # Our own Path names the port the kernel chose, not 0.
        assert "@127.0.0.1:%s;transport=tcp;lr;ob>" % ports["tcp"] in ok.get("path"), ok
        ua.close()
    finally:
        assert node.stop() == 0, node.output()
