"""SIP over TLS end to end (issue 10): a real flowedge node with a TLS
listener (tests/data/tls: the node presents example-com-ec, issued by the test
CA, and trusts that CA for client certificates), driven by RFC 5626 UAs whose
TLS is Python's ssl module, and by `openssl s_client` for what Python cannot
see (the server's CertificateRequest). Each test asserts what the UA sees
inside its TLS channel: the 200 to REGISTER with a Path of transport=tls, a
call delivered down the TLS flow, the CRLF pong, the 430 once the flow is
gone, and the handshakes the node refuses.
"""
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

import siplib
from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
CERTS = os.path.join(os.path.dirname(HERE), "data", "tls")
CA = os.path.join(CERTS, "ca.pem")
SERVER_NAME = "p1.example.com"  # a dNSName of example-com-ec.pem


def cert(name):
    return os.path.join(CERTS, name + ".pem"), os.path.join(CERTS, name + ".key")


def tls_args(verify=None, ca=True):
    server_cert, server_key = cert("example-com-ec")
    args = ["--tls-cert", server_cert, "--tls-key", server_key]
    if ca:
        args += ["--tls-ca", CA]
    if verify:
        args += ["--tls-verify", verify]
    return args


def start_tls_node(start_node, extra=(), listens=("udp", "tcp")):
    """A node on UDP (and TCP) at one port and TLS at another (a tcp and a tls
    listener are both TCP sockets: they cannot share a port); tls_addr is
    where its TLS listener is."""
    tls_port = free_port()
    node = start_node(["--listen", "tls:127.0.0.1:%d" % tls_port] + list(extra),
                      listens=listens)
    node.tls_port = tls_port
    node.tls_addr = ("127.0.0.1", tls_port)
    return node


@pytest.fixture
def tls_node(start_node):
    """A node (2 workers, all roles) on UDP, TCP and TLS."""
    return start_tls_node(start_node, ["--workers", "2"] + tls_args())


class TlsFlow(siplib.TcpFlow):
    """A client-initiated TLS flow: siplib.TcpFlow over an ssl socket."""

    def __init__(self, addr, client_cert=None, version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(CA)
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
        if client_cert:
            ctx.load_cert_chain(*cert(client_cert))
        raw = socket.create_connection(addr, timeout=5)
        self.sock = ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
        self.local = self.sock.getsockname()
        self.buf = b""
        self.pongs = 0
        self.messages = []


def register_tls(node, sips=False, **kw):
    ua = TlsFlow(node.tls_addr)
    request = siplib.register("TLS", ua.local, **kw)
    if sips:
        request = request.replace(b"REGISTER sip:", b"REGISTER sips:", 1)
    ua.send(request)
    ok = ua.recv()
    assert ok.status == 200, ok
    return ua, ok


path_uri = siplib.path_uri
token_of = siplib.token_of


def invite_by_aor(caller, aor="sip:alice@example.com"):
    host, port = caller.local
    return siplib.request("INVITE", aor, [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("From", "<sip:carol@example.com>;tag=%s" % siplib.tag()),
        ("To", "<%s>" % aor),
        ("Call-ID", "%s@caller" % siplib.tag()),
        ("CSeq", "1 INVITE"),
        ("Contact", "<sip:carol@%s:%d>" % (host, port)),
    ])


def message_to(uri, sender):
    host, port = sender.local
    return siplib.request("MESSAGE", "sip:alice@example.com", [
        ("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, siplib.branch())),
        ("Max-Forwards", "70"),
        ("Route", "<%s>" % uri),
        ("From", "<sip:bob@example.com>;tag=%s" % siplib.tag()),
        ("To", "<sip:alice@example.com>"),
        ("Call-ID", "%s@test" % siplib.tag()),
        ("CSeq", "1 MESSAGE"),
    ], body="hello")


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


def refused(flow, request):
    """True when the node ends the TLS session instead of answering `request`."""
    try:
        flow.send(request)
        flow.recv(timeout=3)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


# covers OB-EDGE-01, OB-EDGE-05, OB-EDGE-06 over TLS; CR-52 (the answer comes
# back on the accepted connection)
def test_register_over_tls_gets_200_with_a_tls_path(tls_node):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ua = TlsFlow(tls_node.tls_addr, version=version)
        ua.send(siplib.register("TLS", ua.local))
        ok = ua.recv()
        assert ok.status == 200, ok
        assert "outbound" in ok.get("require") and int(ok.get("flow-timer")) > 0
        uri = path_uri(ok)
        assert uri.startswith("sip:"), uri
        assert uri.endswith("@127.0.0.1:%d;transport=tls;lr;ob" % tls_node.tls_port), uri
        assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token_of(uri))
        ua.close()


# RFC 3261 §16.6 step 4 / RFC 5630: a sips Request-URI gets a sips Path.
def test_sips_register_gets_a_sips_path(tls_node):
    ua, ok = register_tls(tls_node, sips=True)
    uri = path_uri(ok)
    assert uri.startswith("sips:") and uri.endswith(";transport=tls;lr;ob"), uri
    ua.close()


# covers OB-EDGE-11, OB-EDGE-12 (a UDP caller reaches a TLS flow by AOR, the
# callee's edge Record-Routes with the TLS flow's token)
def test_invite_by_aor_from_udp_is_delivered_over_the_tls_flow(tls_node):
    ua, ok = register_tls(tls_node)
    uri = path_uri(ok)
    caller = siplib.UdpFlow(tls_node.addr)
    caller.send(invite_by_aor(caller))
    req = ua.recv()
    while req.is_response:
        req = ua.recv()
    assert req.method == "INVITE", req
    assert req.ruri.endswith(";transport=tls"), req
    rr = req.all("record-route")
    assert "<%s>" % uri[:-len(";ob")] in rr, req
    assert any(";transport=tls" in r and token_of(uri) in r for r in rr), req
    ua.send(reply(req, 180, "Ringing"))
    ua.send(reply(req, 200, "OK"))
    final = final_of(caller)
    assert final.status == 200, final
    caller.close()
    ua.close()


# covers OB-EDGE-12 (by token) over TLS with senders on every worker
def test_request_routed_by_token_reaches_the_tls_flow(tls_node):
    ua, ok = register_tls(tls_node)
    uri = path_uri(ok)
    for _ in range(4):
        sender = siplib.UdpFlow(tls_node.addr)
        sender.send(message_to(uri, sender))
        got = ua.recv()
        assert got.method == "MESSAGE" and got.body == b"hello", got
        assert got.all("via")[0].startswith("SIP/2.0/TLS 127.0.0.1:%d;" % tls_node.tls_port), got
        ua.send(reply(got, 200, "OK"))
        assert sender.recv().status == 200
        sender.close()
    ua.close()


# covers OB-EDGE-17, OB-KA-06: CRLFCRLF inside TLS gets one CRLF inside TLS,
# also after a message in the same record
def test_crlf_ping_over_tls_gets_a_pong(tls_node):
    ua, ok = register_tls(tls_node)
    ua.send(b"\r\n\r\n")
    ua.wait_pong()
    ua.send(siplib.register("TLS", ua.local) + b"\r\n\r\n")
    assert ua.recv().status == 200
    ua.wait_pong()
    ua.close()


# covers OB-EDGE-15, OB-430-01 over TLS; CR-32 (the client ends with close_notify)
def test_closed_tls_flow_gets_430(tls_node):
    ua, ok = register_tls(tls_node)
    uri = path_uri(ok)
    ua.sock = ua.sock.unwrap()  # close_notify, then the TCP close
    ua.sock.close()
    time.sleep(0.2)
    sender = siplib.UdpFlow(tls_node.addr)
    sender.send(message_to(uri, sender))
    assert sender.recv().status == 430
    sender.close()


# covers CR-36: the server asks every client for a certificate (CertificateRequest),
# with --tls-verify optional, the default; CR-37/CR-40: a client without one, or
# with one the node does not trust, is still served
def test_optional_verify_asks_for_a_certificate_and_serves_clients_without(tls_node):
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % tls_node.tls_port, "-CAfile", CA,
         "-servername", SERVER_NAME, "-tls1_2"],
        input=b"", capture_output=True, timeout=10).stdout.decode(errors="replace")
    assert "Acceptable client certificate CA names" in out or \
        "Client Certificate Types" in out, out
    assert "Verify return code: 0 (ok)" in out, out
    for client_cert in (None, "alice-phone", "untrusted"):
        ua = TlsFlow(tls_node.tls_addr, client_cert=client_cert)
        ua.send(siplib.register("TLS", ua.local))
        assert ua.recv().status == 200
        ua.close()


# --tls-verify required: a client without a certificate, or with one from a CA
# the node does not trust, has its handshake refused; a trusted one is served.
def test_required_verify_refuses_clients_without_a_valid_certificate(start_node):
    node = start_tls_node(start_node, tls_args(verify="required"), listens=("udp",))
    ua = TlsFlow(node.tls_addr, client_cert="alice-phone")
    ua.send(siplib.register("TLS", ua.local))
    assert ua.recv().status == 200
    ua.close()
    for client_cert in (None, "untrusted"):
        try:
            ua = TlsFlow(node.tls_addr, client_cert=client_cert)
        except (ssl.SSLError, ConnectionError):
            continue  # TLS 1.2: refused inside the handshake
        # TLS 1.3: the client's handshake ends before the server judges its
        # certificate; the server's alert arrives instead of an answer.
        assert refused(ua, siplib.register("TLS", ua.local)), client_cert
        ua.close()
    node.stop()
    assert "tls_handshake_failures=2" in node.output(), node.output()


def test_none_verify_needs_no_ca_and_asks_for_no_certificate(start_node):
    node = start_tls_node(start_node, tls_args(verify="none", ca=False), listens=("udp",))
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % node.tls_port, "-CAfile", CA,
         "-servername", SERVER_NAME, "-tls1_2"],
        input=b"", capture_output=True, timeout=10).stdout.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out
    assert "Acceptable client certificate CA names" not in out, out
    ua = TlsFlow(node.tls_addr)
    ua.send(siplib.register("TLS", ua.local))
    assert ua.recv().status == 200
    ua.close()


# Bad input: garbage instead of a ClientHello is closed and counted, and the
# node goes on serving TLS.
def test_garbage_instead_of_a_client_hello_is_closed(tls_node):
    raw = socket.create_connection(tls_node.tls_addr, timeout=5)
    raw.sendall(b"REGISTER sip:example.com SIP/2.0\r\n\r\n")
    raw.settimeout(3)
    data = b""
    try:
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    assert not data.startswith(b"SIP/2.0"), data  # at most a TLS alert
    raw.close()
    ua, ok = register_tls(tls_node)
    ua.close()


def test_tls_listener_without_certificate_is_refused_at_start():
    from conftest import flowedge_binary
    port = free_port()
    out = subprocess.run([flowedge_binary(), "--listen", "tls:127.0.0.1:%d" % port],
                         capture_output=True, timeout=10)
    assert out.returncode != 0
    assert b"--tls-cert" in out.stderr + out.stdout, out
    missing = subprocess.run([flowedge_binary(), "--listen", "tls:127.0.0.1:%d" % port,
                              "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key",
                              "--tls-verify", "none"], capture_output=True, timeout=10)
    assert missing.returncode != 0
    assert b"/nonexistent.pem" in missing.stderr + missing.stdout, missing


# baresip (Debian's baresip-core 1.0.0, run headless as in test_calls_baresip.py)
# as the UA over TLS: it registers with outbound over its TLS flow (covers
# OB-EDGE-01, OB-EDGE-06 over TLS), and a sipp caller over UDP reaches it by
# AOR, with ACK and BYE routed back down the TLS flow by the token
# Record-Route (OB-EDGE-11, OB-EDGE-12). sipp itself has no TLS in Debian's
# build ("To use a TLS transport you must compile SIPp with OpenSSL").
def test_baresip_over_tls_registers_and_answers_a_call_from_sipp(start_node, tmp_path):
    from callflow import (SippUA, ack_problems, answer_problems, assert_no_problems,
                          bye_problems, invite_problems, node_tokens, report, stop_started)
    from test_calls_baresip import Baresip

    node = start_tls_node(start_node, ["--workers", "2"] + tls_args())

    class TlsPort:  # what callflow's checks call the node: where our tokens point
        port = node.tls_port

    alice = Baresip(tmp_path, "alice", node, "alice", lifetime_s=30)
    (alice.dir / "accounts").write_text(
        '<sip:alice@example.com;transport=tls>;outbound="sip:127.0.0.1:%d;transport=tls";'
        'sipnat=outbound;regint=600;answermode=auto;audio_codecs=PCMU\n' % node.tls_port)
    with open(alice.dir / "config", "a") as f:
        f.write("sip_cafile\t\t%s\n" % CA)
    # baresip's TLS transport listens (and is named in its Via) on its SIP
    # port + 1; the trace reader tells directions by that address.
    alice.sip_port += 1
    alice.start()
    caller = None
    try:
        register, ok = alice.registration()
        assert ok is not None and ok.status == 200, alice.describe()
        tokens = node_tokens(ok.all("path"), TlsPort)
        assert tokens and tokens[0][1].get("transport") == "tls" and "ob" in tokens[0][1], ok
        port = free_port()
        caller = SippUA(tmp_path, "caller", "caller_hangup.xml", node.addr, "u1", port=port,
                        keys={"ruri": alice.aor, "contact": "sip:carol@127.0.0.1:%d" % port,
                              "from_user": "carol"}, timeout_s=12).start()
        caller.wait()
        caller.stop()
        alice.wait_event({"CALL_CLOSED"}, timeout=3)
        problems = invite_problems(alice, TlsPort, tokens[0][0]) + answer_problems(caller)
        problems += ack_problems(caller, alice) + bye_problems(caller, alice, "caller")
        invite = alice.first(method="INVITE")
        if invite is not None and not any(
                params.get("transport") == "tls"
                for _, params in node_tokens(invite.all("record-route"), TlsPort)):
            problems.append("the INVITE's Record-Route for the TLS flow has no transport=tls: %s"
                            % invite.all("record-route"))
        assert_no_problems(problems, caller, alice)
        assert caller.returncode == 0, report(caller, alice)
    finally:
        alice.stop()
        stop_started()


# --- Outbound TLS: a pure edge whose next hop is a TLS listener ---------------

@pytest.fixture
def test_time_pki(tmp_path):
    """A CA and one node certificate made now with the openssl CLI (the
    checked-in PKI names no IP address): SAN URI sip:127.0.0.1, the RFC 5922
    identity of a node dialled by address, usable as server and client."""
    d = tmp_path / "pki"
    d.mkdir()

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=flowedge test-time CA",
        "-days", "2", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
        "node.key")
    run("req", "-new", "-key", "node.key", "-subj", "/CN=127.0.0.1", "-out", "node.csr")
    (d / "ext").write_text("basicConstraints=CA:FALSE\n"
                           "keyUsage=critical,digitalSignature\n"
                           "extendedKeyUsage=serverAuth,clientAuth\n"
                           "subjectAltName=URI:sip:127.0.0.1,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "node.pem")
    return {"ca": str(d / "ca.pem"), "cert": str(d / "node.pem"), "key": str(d / "node.key")}


def start_edge_and_registrar(start_node, pki, edge_ca):
    """A registrar (TLS listener, client certificates required: mutual TLS)
    and a pure edge in front of it whose next hop is that TLS listener."""
    registrar = start_tls_node(start_node, [
        "--workers", "2", "--roles", "registrar,proxy", "--tls-cert", pki["cert"],
        "--tls-key", pki["key"], "--tls-ca", pki["ca"], "--tls-verify", "required"],
        listens=("udp",))
    edge = start_node([
        "--workers", "2", "--roles", "edge", "--next-hop",
        "sip:127.0.0.1:%d;transport=tls" % registrar.tls_port,
        "--tls-ca", edge_ca, "--tls-cert", pki["cert"], "--tls-key", pki["key"]])
    return edge, registrar


# covers OB-EDGE-01, OB-EDGE-06 (the edge's Path), CR-39 (the edge checks the
# registrar's certificate against the host it dialled, RFC 5922 §7.3) and
# CR-36/CR-40 (the registrar requires and verifies the edge's certificate).
def test_edge_forwards_register_over_mutual_tls_to_its_next_hop(start_node, test_time_pki):
    edge, registrar = start_edge_and_registrar(start_node, test_time_pki, test_time_pki["ca"])
    for _ in range(3):
        ua = siplib.TcpFlow(edge.addr)
        ua.send(siplib.register("TCP", ua.local))
        ok = ua.recv(timeout=5)
        assert ok.status == 200, ok
        assert path_uri(ok).endswith("@127.0.0.1:%d;transport=tcp;lr;ob" % edge.port), ok
        ua.close()
    edge.stop()
    registrar.stop()
    # One TLS connection per edge worker at most, reused for every REGISTER.
    m = re.search(r"tls_handshakes=(\d+)", registrar.output())
    assert m and 1 <= int(m.group(1)) <= 2, registrar.output()
    assert "tls_handshake_failures=0" in registrar.output(), registrar.output()


# CR-39/CR-40: a next hop whose certificate does not chain to the edge's
# --tls-ca is refused; the REGISTER goes nowhere, and the edge says why.
def test_edge_refuses_a_next_hop_certificate_it_does_not_trust(start_node, test_time_pki):
    edge, registrar = start_edge_and_registrar(start_node, test_time_pki, CA)
    ua = siplib.TcpFlow(edge.addr)
    ua.send(siplib.register("TCP", ua.local))
    with pytest.raises(TimeoutError):
        ua.recv(timeout=1.5)
    ua.close()
    edge.stop()
    assert "TLS to 127.0.0.1:%d failed: peer-certificate-invalid: unable to get local issuer " \
        "certificate" % registrar.tls_port in edge.output(), edge.output()
    assert "tls_handshake_failures=1" in edge.output(), edge.output()


# --- Session resumption across nodes (--tls-ticket-key-file) -------------------

def client_context(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CA)
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def session_of(ctx, addr, session=None):
    """Handshakes with `addr` (offering `session`), registers once so that a
    TLS 1.3 ticket has arrived, and returns (resumed, the session to offer next)."""
    s = ctx.wrap_socket(socket.create_connection(addr, timeout=5), server_hostname=SERVER_NAME,
                        session=session)
    flow = TlsFlow.__new__(TlsFlow)
    flow.sock, flow.local, flow.buf, flow.pongs, flow.messages = s, s.getsockname(), b"", 0, []
    flow.send(siplib.register("TLS", flow.local))
    assert flow.recv().status == 200
    resumed, next_session = s.session_reused, s.session
    s.close()
    return resumed, next_session


# Issue 10: tickets sealed with keys the operator shares resume on every node
# that has them (TLS 1.2 session tickets and TLS 1.3 PSK), and only there.
def test_a_session_resumes_on_another_node_sharing_the_ticket_key(start_node, tmp_path):
    key = tmp_path / "ticket.key"
    key.write_bytes(os.urandom(80))
    shared = tls_args() + ["--tls-ticket-key-file", str(key)]
    a = start_tls_node(start_node, shared, listens=("udp",))
    b = start_tls_node(start_node, shared, listens=("udp",))
    other = start_tls_node(start_node, tls_args(), listens=("udp",))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_context(version)  # Python resumes only within one context
        resumed, session = session_of(ctx, a.tls_addr)
        assert not resumed
        resumed, _ = session_of(ctx, b.tls_addr, session)
        assert resumed, version
        resumed, _ = session_of(ctx, other.tls_addr, session)
        assert not resumed, version
    b.stop()
    assert "tls_resumed=2" in b.output(), b.output()


def test_a_bad_ticket_key_file_is_refused_at_start(tmp_path):
    from conftest import flowedge_binary
    key = tmp_path / "ticket.key"
    key.write_bytes(os.urandom(79))
    server_cert, server_key = cert("example-com-ec")
    out = subprocess.run([flowedge_binary(), "--listen", "tls:127.0.0.1:%d" % free_port(),
                          "--tls-cert", server_cert, "--tls-key", server_key, "--tls-verify",
                          "none", "--tls-ticket-key-file", str(key)],
                         capture_output=True, timeout=10)
    assert out.returncode != 0
    assert b"openssl rand 80" in out.stderr + out.stdout, out


# --- Bad input at the TLS layer: each is closed within its limit, and the
# flows already there go on (issue 10) -----------------------------------------

def client_hello_bytes():
    """The first flight of a real TLS client (Python's ssl over memory BIOs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CA)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=SERVER_NAME)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def still_served(node, ua):
    """The registered flow `ua` still answers: a CRLF ping gets its pong."""
    ua.send(b"\r\n\r\n")
    ua.wait_pong()


def test_truncated_client_hello_then_close_disturbs_nothing(tls_node):
    ua, ok = register_tls(tls_node)
    hello = client_hello_bytes()
    for cut in (1, 5, len(hello) // 2, len(hello) - 1):
        raw = socket.create_connection(tls_node.tls_addr, timeout=5)
        raw.sendall(hello[:cut])
        raw.close()
    still_served(tls_node, ua)
    ua.close()


# RFC 5746 / BoringSSL: a server never renegotiates; the attempt gets a
# no_renegotiation alert and the connection closes, counted as a TLS error.
def test_renegotiation_attempt_is_refused(tls_node):
    ua, ok = register_tls(tls_node)
    proc = subprocess.Popen(
        ["openssl", "s_client", "-tls1_2", "-connect", "127.0.0.1:%d" % tls_node.tls_port,
         "-CAfile", CA, "-servername", SERVER_NAME],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    proc.stdin.write(b"R\n")  # s_client: renegotiate
    proc.stdin.flush()
    out, _ = proc.communicate(timeout=10)
    assert b"no renegotiation" in out, out[-2000:]
    still_served(tls_node, ua)
    ua.close()
    tls_node.stop()
    assert "tls_errors=1" in tls_node.output(), tls_node.output()


# Slowloris at the TLS layer: half a ClientHello and then nothing is closed
# at kTlsHandshakeTimeMax (10 s), and counted; other flows are served meanwhile.
def test_stalled_handshake_is_closed_at_its_time_limit(tls_node):
    ua, ok = register_tls(tls_node)
    hello = client_hello_bytes()
    raw = socket.create_connection(tls_node.tls_addr, timeout=15)
    raw.sendall(hello[:len(hello) // 2])
    started = time.time()
    still_served(tls_node, ua)
    try:
        data = raw.recv(4096)
    except ConnectionResetError:
        data = b""
    waited = time.time() - started
    assert data == b"", data
    assert 9 <= waited <= 13, waited
    raw.close()
    still_served(tls_node, ua)
    ua.close()
    tls_node.stop()
    assert "tls_handshake_timeouts=1" in tls_node.output(), tls_node.output()
