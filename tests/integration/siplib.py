"""Small SIP, STUN and socket helpers for integration tests.

Tests speak to real flowedge processes over real loopback sockets. These
helpers build requests the way an RFC 5626 user agent does, read responses
off UDP and TCP, and decode STUN, so each test reads as the messages it sends.
"""
import os
import random
import re
import socket
import struct
import time

CRLF = "\r\n"


def branch():
    return "z9hG4bK" + "%016x" % random.getrandbits(64)


def tag():
    return "%08x" % random.getrandbits(32)


def request(method, ruri, headers, body=""):
    """Builds a request; headers is a list of (name, value); Content-Length is added."""
    lines = ["%s %s SIP/2.0" % (method, ruri)]
    lines += ["%s: %s" % (n, v) for n, v in headers]
    lines.append("Content-Length: %d" % len(body.encode()))
    return (CRLF.join(lines) + CRLF + CRLF + body).encode()


def register(transport, local, aor="sip:alice@example.com", instance=None, reg_id=1,
             call_id=None, cseq=1, expires=600, extra=(), supported="path, outbound",
             vias=None, contact=None):
    """An RFC 5626 REGISTER as a UA sends it (no ;ob in the Contact, §4.2.1)."""
    host, port = local
    user = aor.split(":")[1].split("@")[0]
    if instance is None:
        instance = "urn:uuid:00000000-0000-1000-8000-%012x" % random.getrandbits(48)
    if contact is None:
        contact = "<sip:%s@%s:%d;transport=%s>" % (user, host, port, transport.lower())
        if reg_id is not None:
            contact += ";reg-id=%d" % reg_id
        if instance:
            contact += ';+sip.instance="<%s>"' % instance
    headers = []
    for v in (vias or ["SIP/2.0/%s %s:%d;branch=%s;rport" % (transport.upper(), host, port, branch())]):
        headers.append(("Via", v))
    headers += [
        ("Max-Forwards", "70"),
        ("From", "<%s>;tag=%s" % (aor, tag())),
        ("To", "<%s>" % aor),
        ("Call-ID", call_id or "%x@test" % random.getrandbits(64)),
        ("CSeq", "%d REGISTER" % cseq),
        ("Contact", contact),
        ("Expires", str(expires)),
    ]
    if supported:
        headers.append(("Supported", supported))
    headers += list(extra)
    domain = aor.split("@")[1]
    return request("REGISTER", "sip:" + domain, headers)


class Message:
    """A parsed SIP message: start line, headers (name lower-cased, compact forms expanded), body."""
    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "k": "supported", "c": "content-type"}

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            self.headers.append((self.COMPACT.get(name, name), value.strip()))
        self.is_response = self.start.startswith("SIP/2.0 ")
        if self.is_response:
            parts = self.start.split(" ", 2)
            self.status = int(parts[1])
            self.reason = parts[2] if len(parts) > 2 else ""
        else:
            self.method, self.ruri, _ = self.start.split(" ", 2)

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def get(self, name):
        values = self.all(name)
        return values[0] if values else None

    def __repr__(self):
        return self.raw.decode(errors="replace")


def split_stream(buf):
    """Splits complete messages off a TCP byte buffer: returns (messages, rest, pongs)."""
    out = []
    pongs = 0
    while True:
        while buf.startswith(b"\r\n\r\n"):
            buf = buf[4:]
        if buf.startswith(b"\r\n") and not buf.startswith(b"\r\n\r\n"):
            pongs += 1
            buf = buf[2:]
            continue
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            break
        m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", buf[:end], re.I)
        length = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + length:
            break
        out.append(Message(buf[:end + 4 + length]))
        buf = buf[end + 4 + length:]
    return out, buf, pongs


class TcpFlow:
    """A client-initiated TCP flow to the node."""

    def __init__(self, addr, source=("127.0.0.1", 0)):
        self.sock = socket.create_connection(addr, timeout=5, source_address=source)
        self.local = self.sock.getsockname()
        self.buf = b""
        self.pongs = 0
        self.messages = []

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise ConnectionError("flow closed by the node")
        self.buf += data
        msgs, self.buf, pongs = split_stream(self.buf)
        self.messages += msgs
        self.pongs += pongs
        return True

    def recv(self, timeout=3.0):
        deadline = time.time() + timeout
        while not self.messages:
            if time.time() >= deadline:
                raise TimeoutError("no SIP message within %.1fs" % timeout)
            self._fill(deadline)
        return self.messages.pop(0)

    def wait_pong(self, timeout=3.0):
        deadline = time.time() + timeout
        while self.pongs == 0:
            if time.time() >= deadline:
                raise TimeoutError("no pong")
            self._fill(deadline)
        self.pongs -= 1

    def closed_by_peer(self, timeout=3.0):
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self._fill(deadline)
        except (ConnectionError, OSError):
            return True
        return False

    def close(self):
        self.sock.close()


class UdpFlow:
    def __init__(self, addr, source=("127.0.0.1", 0)):
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(source if family == socket.AF_INET else ("::1", 0))
        self.addr = addr
        self.local = self.sock.getsockname()[:2]

    def send(self, data):
        self.sock.sendto(data, self.addr)

    def recv_raw(self, timeout=3.0):
        self.sock.settimeout(timeout)
        data, src = self.sock.recvfrom(65536)
        return data, src

    def recv(self, timeout=3.0):
        try:
            data, _ = self.recv_raw(timeout)
        except socket.timeout:
            raise TimeoutError("no SIP datagram within %.1fs" % timeout)
        return Message(data)

    def close(self):
        self.sock.close()


# --- STUN (RFC 5389) ---------------------------------------------------------
MAGIC = 0x2112A442


def stun_binding_request(txid=None):
    txid = txid or os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, MAGIC) + txid, txid


def stun_decode_xor_mapped(resp):
    """Returns (type, txid, (ip, port)) from a Binding response."""
    mtype, length, cookie = struct.unpack("!HHI", resp[:8])
    txid = resp[8:20]
    pos = 20
    mapped = None
    while pos + 4 <= 20 + length:
        atype, alen = struct.unpack("!HH", resp[pos:pos + 4])
        val = resp[pos + 4:pos + 4 + alen]
        if atype == 0x0020:
            family = val[1]
            port = struct.unpack("!H", val[2:4])[0] ^ (MAGIC >> 16)
            if family == 1:
                ip = socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", val[4:8])[0] ^ MAGIC))
            else:
                key = struct.pack("!I", MAGIC) + txid
                ip = socket.inet_ntop(socket.AF_INET6, bytes(a ^ b for a, b in zip(val[4:20], key)))
            mapped = (ip, port)
        pos += 4 + ((alen + 3) & ~3)
    return mtype, txid, mapped


def path_uri(ok):
    """The URI inside the first Path value of a 200 to REGISTER."""
    m = re.match(r"<([^>]+)>", ok.get("path"))
    assert m, ok
    return m.group(1)


def token_of(uri):
    """The user part of a flow URI: the flow token."""
    return uri.split(":", 1)[1].split("@", 1)[0]
