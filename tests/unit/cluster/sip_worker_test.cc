// Checks the SIP data plane (cluster/sip_worker.h) with no socket and no
// clock: two SipWorkers of one node run on fake runtimes that record every
// send, deliver posts between them at once, and take the time from the test.
// A UA's REGISTER, a call by AOR to it from a UDP caller on the other worker,
// the ACK and BYE back over the flow, the flow dying mid-dialog (430),
// keep-alives, a malformed request, a forged token, Flow-Timer idle expiry and
// the 2xx retransmission after the proxy let the call go: each test asserts
// the bytes the fakes saw.
#include "cluster/sip_worker.h"

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/config.h"
#include "cluster/worker_mail.h"
#include "core/sip/message.h"
#include "core/sip/response.h"
#include "core/syntax/values.h"
#include "state/embedded_store.h"

namespace fe::cluster {
namespace {

const Time kT0 = Time{} + hours(1);
constexpr uint16_t kPort = 5060;
const Endpoint kCaller = *Endpoint::parse("192.0.2.50:40000");  // behind a NAT
const Endpoint kCallee = *Endpoint::parse("192.0.2.60:51000");

struct Sent {
    bool stream = false;
    uint32_t connection = 0;  // stream: the connection slot
    Endpoint to;              // datagram: the destination
    std::string bytes;
};

class FakeRuntime;

// The test's view of the node: both workers' runtimes, for posts.
struct FakeNode {
    std::vector<FakeRuntime*> workers;
};

class FakeRuntime final : public net::Runtime {
  public:
    FakeRuntime(uint32_t index, FakeNode& node, Time now)
        : index_(index), node_(node), wheel_(now, milliseconds(1)), now_(now) {
        sockets_.push_back(net::WorkerSocket{Transport::kUdp, -1,
                                             *Endpoint::parse("127.0.0.1:5060")});
        sockets_.push_back(net::WorkerSocket{Transport::kTcp, -1,
                                             *Endpoint::parse("127.0.0.1:5060")});
    }

    net::SendResult send_datagram(net::UdpSocketId, const Endpoint& to,
                                  std::span<const std::string_view> parts) override {
        sent.push_back(Sent{.stream = false, .connection = 0, .to = to, .bytes = join(parts)});
        return net::SendResult::kQueued;
    }
    net::SendResult send_stream(net::ConnectionId c,
                                std::span<const std::string_view> parts) override {
        if (!open_.contains(c.index) || open_[c.index] != c.generation) {
            return net::SendResult::kStale;
        }
        sent.push_back(Sent{.stream = true, .connection = c.index, .to = {}, .bytes = join(parts)});
        return net::SendResult::kQueued;
    }
    bool close(net::ConnectionId c, net::CloseMode) override {
        if (!open_.contains(c.index) || open_[c.index] != c.generation) {
            return false;
        }
        open_.erase(c.index);
        closed.push_back(c.index);
        handler->on_connection_closed(*this, c, net::CloseReason::kLocal, now_);
        return true;
    }
    net::ConnectResult connect(const Endpoint&, net::ConnectionId* c) override {
        *c = net::ConnectionId{next_slot_++, 1};
        open_[c->index] = c->generation;
        return net::ConnectResult::kStarted;
    }
    net::ConnectResult connect_tls(const Endpoint& to, const net::tls::TlsContext&,
                                   std::string_view, net::ConnectionId* c) override {
        return connect(to, c);
    }
    std::string_view last_tls_failure() const override { return {}; }
    const net::tls::TlsSession* tls_session(net::ConnectionId) const override { return nullptr; }
    net::PostResult post(uint32_t to, const net::MailboxItem& item) override {
        if (to >= node_.workers.size()) {
            return net::PostResult::kNoWorker;
        }
        node_.workers[to]->inbox.push_back(item);
        return net::PostResult::kPosted;
    }
    time::TimerWheel& timer_wheel() override { return wheel_; }
    Time now() const override { return now_; }
    uint32_t index() const override { return index_; }
    std::span<const net::WorkerSocket> sockets() const override { return sockets_; }

    // ---- The test's side. ----

    net::ConnectionId accept(const Endpoint& peer, Transport transport = Transport::kTcp) {
        const net::ConnectionId c{next_slot_++, 1};
        open_[c.index] = c.generation;
        handler->on_connection_open(*this, c, peer, transport, now_);
        return c;
    }
    void peer_closes(net::ConnectionId c) {
        open_.erase(c.index);
        handler->on_connection_closed(*this, c, net::CloseReason::kPeerClosed, now_);
    }
    void stream(net::ConnectionId c, std::string_view bytes) {
        ASSERT_EQ(handler->on_stream_data(*this, c, bytes, now_), bytes.size());
    }
    // One WebSocket message (net/ has decoded the frames).
    void ws_message(net::ConnectionId c, std::string_view message) {
        handler->on_stream_message(*this, c, message, now_);
    }
    void datagram(const Endpoint& from, std::string_view bytes) {
        handler->on_datagram(*this, net::UdpSocketId{0}, from, bytes, now_);
    }
    // Runs what other workers posted here; true when there was something.
    bool drain() {
        bool any = false;
        while (!inbox.empty()) {
            const net::MailboxItem item = inbox.front();
            inbox.pop_front();
            handler->on_mailbox(*this, item, now_);
            any = true;
        }
        return any;
    }
    void advance(Time now) {
        now_ = now;
        (void)wheel_.advance(now);
    }
    bool is_open(net::ConnectionId c) const {
        return open_.contains(c.index) && open_.at(c.index) == c.generation;
    }

    net::Handler* handler = nullptr;
    std::vector<Sent> sent;
    std::vector<uint32_t> closed;
    std::deque<net::MailboxItem> inbox;

  private:
    static std::string join(std::span<const std::string_view> parts) {
        std::string out;
        for (std::string_view p : parts) {
            out += p;
        }
        return out;
    }

    const uint32_t index_;
    FakeNode& node_;
    time::TimerWheel wheel_;
    Time now_;
    std::vector<net::WorkerSocket> sockets_;
    std::map<uint32_t, uint32_t> open_;
    uint32_t next_slot_ = 1;
};

// A parsed copy of what a fake saw.
struct Seen {
    std::string bytes;
    sip::Message message;
};
std::unique_ptr<Seen> parse(const std::string& bytes) {
    auto s = std::make_unique<Seen>();
    s->bytes = bytes;
    EXPECT_EQ(s->message.parse(s->bytes), sip::ParseError::kOk) << bytes;
    return s;
}
std::string header(const Seen& s, sip::HeaderId id) { return std::string(s.message.header(id)); }
std::vector<std::string> values(const Seen& s, sip::HeaderId id) {
    std::vector<std::string> out;
    for (std::string_view v : s.message.list(id)) {
        out.emplace_back(v);
    }
    return out;
}
std::string first_line(const std::string& m) { return m.substr(0, m.find("\r\n")); }

class SipWorkerTest : public ::testing::Test {
  protected:
    SipWorkerTest() : mail_(2, 1u << 16) {
        std::array<uint8_t, token::kKeySize> key{};
        key.fill(5);
        keys_ = token::KeyRing::from_random(1, key);
        config_.flow_timer_s = 90;
        config_.domains = {"example.com"};
        context_.config = &config_;
        context_.key_ring = &keys_;
        context_.advertise_host = "127.0.0.1";
        context_.ports = {kPort};
        context_.aliases = {"127.0.0.1"};
        context_.udp_port = kPort;
        context_.tcp_port = kPort;
        context_.worker_count = 2;
        context_.store = &store_;
        context_.mail = &mail_;
        context_.registrar.flow_timer_s = config_.flow_timer_s;
        context_.registrar.domains = config_.domains;
        context_.registrar.local_hosts = {"127.0.0.1"};
        context_.registrar.local_ports = {kPort};
        context_.proxy.identity = context_.identity();
        context_.proxy.keys = &keys_;
        context_.proxy.via_host = "127.0.0.1";
        context_.proxy.udp_port = kPort;
        context_.proxy.tcp_port = kPort;
        for (uint32_t i = 0; i < 2; ++i) {
            runtimes_.push_back(std::make_unique<FakeRuntime>(i, node_, kT0));
            node_.workers.push_back(runtimes_.back().get());
        }
        for (uint32_t i = 0; i < 2; ++i) {
            workers_.push_back(std::make_unique<SipWorker>(*runtimes_[i], context_, nullptr));
            runtimes_[i]->handler = workers_.back().get();
        }
    }
    ~SipWorkerTest() override {
        workers_.clear();  // before the wheels they hold timers on
    }

    FakeRuntime& w(uint32_t i) { return *runtimes_[i]; }
    // Runs the mailboxes until nothing moves.
    void settle() {
        for (int round = 0; round < 10; ++round) {
            bool any = false;
            for (auto& r : runtimes_) {
                any = r->drain() || any;
            }
            if (!any) {
                return;
            }
        }
        FAIL() << "posts did not settle";
    }
    // Everything sent by either worker since the last take.
    std::vector<Sent> take() {
        std::vector<Sent> out;
        for (auto& r : runtimes_) {
            out.insert(out.end(), r->sent.begin(), r->sent.end());
            r->sent.clear();
        }
        return out;
    }
    std::unique_ptr<Seen> only(const std::vector<Sent>& sent) {
        EXPECT_EQ(sent.size(), 1u);
        return sent.empty() ? parse("") : parse(sent[0].bytes);
    }

    // Bob registers over TCP on worker 1 with outbound; returns his flow.
    net::ConnectionId register_bob(std::string aor = "sip:bob@example.com") {
        const net::ConnectionId c = w(1).accept(kCallee);
        w(1).stream(c,
                    "REGISTER sip:example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/TCP 10.0.0.2:51000;branch=z9hG4bK-r1;rport\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <" + aor + ">;tag=b1\r\n"
                    "To: <" + aor + ">\r\n"
                    "Call-ID: reg-bob\r\n"
                    "CSeq: 1 REGISTER\r\n"
                    "Supported: outbound, path\r\n"
                    "Contact: <sip:bob@10.0.0.2:51000;transport=tcp>;reg-id=1;"
                    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000000000001>\"\r\n"
                    "Expires: 600\r\n"
                    "Content-Length: 0\r\n\r\n");
        settle();
        return c;
    }

    std::string invite(std::string_view ruri = "sip:bob@example.com",
                       std::string_view branch = "z9hG4bK-i1") {
        return "INVITE " + std::string(ruri) +
               " SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=" + std::string(branch) + ";rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:alice@example.com>;tag=a1\r\n"
               "To: <sip:bob@example.com>\r\n"
               "Call-ID: call-1\r\n"
               "CSeq: 1 INVITE\r\n"
               "Contact: <sip:alice@10.1.1.1:5062>\r\n"
               "Content-Length: 0\r\n\r\n";
    }

    // The callee's response to `request` (every Via, its To tag, its Contact).
    static std::string answer(const Seen& request, uint16_t status) {
        char buf[8192];
        sip::Writer out(buf, sizeof(buf));
        std::vector<std::string> extra_lines;
        for (const std::string& rr : values(request, sip::HeaderId::kRecordRoute)) {
            extra_lines.push_back("Record-Route: " + rr);
        }
        extra_lines.push_back("Contact: <sip:bob@10.0.0.2:51000;transport=tcp>");
        std::vector<std::string_view> extra(extra_lines.begin(), extra_lines.end());
        const sip::ResponseSpec spec{.status_code = status, .to_tag = "bobtag",
                                     .extra_headers = extra};
        EXPECT_EQ(sip::build_response(request.message, spec, out), sip::BuildError::kOk);
        return std::string(out.view());
    }

    Config config_;
    token::KeyRing keys_;
    state::EmbeddedStore store_;
    WorkerMail mail_;
    NodeContext context_;
    FakeNode node_;
    std::vector<std::unique_ptr<FakeRuntime>> runtimes_;
    std::vector<std::unique_ptr<SipWorker>> workers_;
};


// covers OB-EDGE-01, OB-EDGE-06, OB-FT-03, OB-DEP-07: the REGISTER's 200 goes
// back over the flow with Path, Flow-Timer and the Via's rport filled in.
TEST_F(SipWorkerTest, RegisterIsAnsweredOverItsFlow) {
    const net::ConnectionId bob = register_bob();
    const std::vector<Sent> sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].stream);
    EXPECT_EQ(sent[0].connection, bob.index);
    auto ok = parse(sent[0].bytes);
    EXPECT_EQ(ok->message.status_code(), 200);
    EXPECT_EQ(header(*ok, sip::HeaderId::kFlowTimer), "90");
    EXPECT_EQ(header(*ok, sip::HeaderId::kVia),
              "SIP/2.0/TCP 10.0.0.2:51000;branch=z9hG4bK-r1;received=192.0.2.60;rport=51000");
    const std::string path = header(*ok, sip::HeaderId::kPath);
    EXPECT_TRUE(path.starts_with("<sip:")) << path;
    EXPECT_TRUE(path.ends_with("@127.0.0.1:5060;transport=tcp;lr;ob>")) << path;
}

// covers OB-EDGE-11, OB-EDGE-12, OB-EDGE-13 (issue 8 steps 2 and 3): a call by
// AOR from a UDP caller on worker 0 to Bob's TCP flow on worker 1, the whole
// dialog: the INVITE arrives without our Route and with both token
// Record-Routes, the 200 goes back to the caller's NAT address, the ACK and
// the BYE come down Bob's flow, the BYE's 200 reaches the caller.
TEST_F(SipWorkerTest, CallByAorCompletesAcrossWorkers) {
    const net::ConnectionId bob = register_bob();
    (void)take();
    w(0).datagram(kCaller, invite());
    settle();
    std::vector<Sent> sent = take();
    // 100 Trying to the caller, the INVITE to Bob.
    const Sent* to_bob = nullptr;
    for (const Sent& s : sent) {
        if (s.stream) {
            to_bob = &s;
        }
    }
    ASSERT_NE(to_bob, nullptr);
    EXPECT_EQ(to_bob->connection, bob.index);
    auto inv = parse(to_bob->bytes);
    EXPECT_EQ(first_line(inv->bytes), "INVITE sip:bob@10.0.0.2:51000;transport=tcp SIP/2.0");
    EXPECT_TRUE(values(*inv, sip::HeaderId::kRoute).empty()) << inv->bytes;
    const std::vector<std::string> rr = values(*inv, sip::HeaderId::kRecordRoute);
    ASSERT_EQ(rr.size(), 2u) << inv->bytes;
    EXPECT_TRUE(rr[0].ends_with("@127.0.0.1:5060;transport=tcp;lr>")) << rr[0];  // Bob's
    EXPECT_TRUE(rr[1].ends_with("@127.0.0.1:5060;transport=udp;lr>")) << rr[1];  // the caller's
    const std::vector<std::string> vias = values(*inv, sip::HeaderId::kVia);
    ASSERT_EQ(vias.size(), 2u);
    EXPECT_EQ(vias[1], "SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-i1;received=192.0.2.50;rport=40000");

    // Bob answers on his flow; the 200 reaches the caller's NAT address.
    w(1).stream(bob, answer(*inv, 200));
    settle();
    sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].stream);
    EXPECT_EQ(sent[0].to, kCaller);
    auto ok = parse(sent[0].bytes);
    EXPECT_EQ(ok->message.status_code(), 200);
    EXPECT_EQ(values(*ok, sip::HeaderId::kVia).size(), 1u);

    // The caller's ACK and BYE follow the route set: its own token first.
    const std::string route = "Route: " + rr[1] + ", " + rr[0] + "\r\n";
    const std::string dialog =
        "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>;tag=bobtag\r\nCall-ID: call-1\r\n";
    w(0).datagram(kCaller, "ACK sip:bob@10.0.0.2:51000;transport=tcp SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-a1;rport\r\n" +
                               route + dialog + "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
    settle();
    auto ack = only(take());
    EXPECT_EQ(ack->message.method(), sip::Method::kAck);
    EXPECT_TRUE(values(*ack, sip::HeaderId::kRoute).empty());
    w(0).datagram(kCaller, "BYE sip:bob@10.0.0.2:51000;transport=tcp SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-b1;rport\r\n" +
                               route + dialog + "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
    settle();
    sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].stream);
    auto bye = parse(sent[0].bytes);
    EXPECT_EQ(bye->message.method(), sip::Method::kBye);
    w(1).stream(bob, answer(*bye, 200));
    settle();
    sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, kCaller);
    EXPECT_EQ(first_line(sent[0].bytes), "SIP/2.0 200 OK");
}

// Issue 8 point 4: sipp addresses sip:bob@HOST:PORT with the node's own
// port; registered with or without it, it is one AOR.
TEST_F(SipWorkerTest, RequestUriWithOurPortNamesTheAor) {
    const net::ConnectionId bob = register_bob("sip:bob@127.0.0.1:5060");
    (void)take();
    w(0).datagram(kCaller, invite("sip:bob@127.0.0.1"));
    settle();
    bool reached = false;
    for (const Sent& s : take()) {
        reached = reached || (s.stream && s.connection == bob.index);
    }
    EXPECT_TRUE(reached);
    // An AOR of this node with no binding: 480, never forwarded to itself.
    w(0).datagram(kCaller, invite("sip:nobody@127.0.0.1:5060", "z9hG4bK-i2"));
    settle();
    const std::vector<Sent> sent = take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(first_line(sent.back().bytes), "SIP/2.0 480 Temporarily Unavailable");
}

// covers OB-EDGE-15, OB-430-01: the callee's flow died; a BYE routed by its
// token gets 430 from the worker that owned it.
TEST_F(SipWorkerTest, RequestForAGoneFlowGets430) {
    const net::ConnectionId bob = register_bob();
    (void)take();
    w(0).datagram(kCaller, invite());
    settle();
    std::string rr;
    for (const Sent& s : take()) {
        if (s.stream) {
            rr = values(*parse(s.bytes), sip::HeaderId::kRecordRoute)[0];
        }
    }
    ASSERT_FALSE(rr.empty());
    w(1).peer_closes(bob);
    w(0).datagram(kCaller, "BYE sip:bob@10.0.0.2:51000;transport=tcp SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-b2;rport\r\n"
                           "Route: " + rr + "\r\n"
                           "From: <sip:alice@example.com>;tag=a1\r\n"
                           "To: <sip:bob@example.com>;tag=bobtag\r\nCall-ID: call-1\r\n"
                           "CSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n");
    settle();
    auto flow_failed = only(take());
    EXPECT_EQ(first_line(flow_failed->bytes), "SIP/2.0 430 Flow Failed");
    EXPECT_EQ(header(*flow_failed, sip::HeaderId::kVia),
              "SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-b2;received=192.0.2.50;rport=40000");
    EXPECT_EQ(workers_[1]->stats().route_flow_gone.get(), 1u);
}

// covers OB-EDGE-14
TEST_F(SipWorkerTest, ForgedTokenIsForbidden) {
    w(0).datagram(kCaller, "MESSAGE sip:bob@10.0.0.2 SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-m1\r\n"
                           "Route: <sip:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:5060;lr>\r\n"
                           "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
                           "Call-ID: m1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    auto forbidden = only(take());
    EXPECT_EQ(first_line(forbidden->bytes), "SIP/2.0 403 Invalid Flow Token");
}

// covers OB-EDGE-17, OB-STUN-02, OB-FT-02: keep-alives, and a flow held to
// its Flow-Timer plus grace, then closed.
TEST_F(SipWorkerTest, KeepAlivesAndFlowTimerExpiry) {
    const net::ConnectionId bob = register_bob();
    (void)take();
    w(1).stream(bob, "\r\n\r\n");
    std::vector<Sent> sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].bytes, "\r\n");
    // STUN Binding request: header only, magic cookie, a transaction id.
    const uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7,
                              8, 9, 10, 11, 12};
    w(0).datagram(kCaller, std::string_view(reinterpret_cast<const char*>(stun), sizeof(stun)));
    sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(static_cast<uint8_t>(sent[0].bytes[1]), 0x01);  // Binding success
    // Past 90 s + grace without a keep-alive: the flow goes, and its binding.
    w(1).advance(kT0 + seconds(90) + seconds(5));
    EXPECT_TRUE(w(1).is_open(bob));
    for (int i = 1; i <= 40; ++i) {
        w(1).advance(kT0 + seconds(120) + milliseconds(100 * i));  // a full sweep pass
    }
    EXPECT_FALSE(w(1).is_open(bob));
    w(0).datagram(kCaller, invite());
    settle();
    sent = take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(first_line(sent.back().bytes), "SIP/2.0 480 Temporarily Unavailable");
}

// Issue 11, RFC 7118: a REGISTER in one WebSocket message without
// Content-Length (legal over WS, §5.1) gets its 200 with a transport=ws Path;
// CRLFCRLF in a text message gets CRLF (OB-EDGE-17); and the WS flow is not
// closed Flow-Timer + grace after its last message (browsers send no CRLF
// keep-alives), only at the stream idle limit.
TEST_F(SipWorkerTest, WebSocketRegisterAndItsFlowOutlivesTheFlowTimer) {
    const net::ConnectionId c = w(1).accept(kCallee, Transport::kWs);
    w(1).ws_message(c,
                    "REGISTER sip:example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-w1\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <sip:bob@example.com>;tag=b1\r\n"
                    "To: <sip:bob@example.com>\r\n"
                    "Call-ID: reg-ws\r\n"
                    "CSeq: 1 REGISTER\r\n"
                    "Supported: outbound, path\r\n"
                    "Contact: <sip:k2j3@df7jal23ls0d.invalid;transport=ws>;reg-id=1;"
                    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000000000002>\"\r\n"
                    "Expires: 600\r\n\r\n");
    settle();
    std::vector<Sent> sent = take();
    ASSERT_EQ(sent.size(), 1u);
    auto ok = parse(sent[0].bytes);
    ASSERT_TRUE(ok) << sent[0].bytes;
    EXPECT_EQ(first_line(sent[0].bytes), "SIP/2.0 200 OK");
    EXPECT_NE(sent[0].bytes.find(";transport=ws;lr;ob>"), std::string::npos) << sent[0].bytes;
    w(1).ws_message(c, "\r\n\r\n");
    sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].bytes, "\r\n");
    for (int i = 1; i <= 40; ++i) {
        w(1).advance(kT0 + seconds(120) + milliseconds(100 * i));  // a full sweep pass
    }
    EXPECT_TRUE(w(1).is_open(c));
}

// Bad input: a request that does not parse gets a 400 naming the defect and
// the flow stays; a malformed response is dropped.
TEST_F(SipWorkerTest, MalformedInputIsAnsweredAndCounted) {
    w(0).datagram(kCaller, "INVITE sip:bob@example.com SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-x\r\n"
                           "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
                           "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");  // no Call-ID
    std::vector<Sent> sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(first_line(sent[0].bytes), "SIP/2.0 400 Missing Call-ID");
    w(0).datagram(kCaller, "SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n");
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(workers_[0]->stats().malformed_responses.get(), 1u);
    EXPECT_EQ(workers_[0]->stats().malformed_requests.get(), 1u);
}

// Issue 8: a 2xx retransmission after the proxy let the call go is still
// forwarded to the caller (RFC 6026 §7.2), through the `fl` of the proxy's Via.
TEST_F(SipWorkerTest, TwoHundredRetransmissionReachesTheCallerAfterTheCall) {
    const net::ConnectionId bob = register_bob();
    (void)take();
    w(0).datagram(kCaller, invite());
    settle();
    std::unique_ptr<Seen> inv;
    for (const Sent& s : take()) {
        if (s.stream) {
            inv = parse(s.bytes);
        }
    }
    ASSERT_NE(inv, nullptr);
    const std::string ok = answer(*inv, 200);
    w(1).stream(bob, ok);
    settle();
    ASSERT_EQ(take().size(), 1u);
    // Every timer of the call has run out on worker 0 (64*T1 = 32 s), while
    // the caller's UDP flow lives on (it has no keep-alive to miss yet).
    for (int s = 1; s <= 40; ++s) {
        w(0).advance(kT0 + seconds(s));
        w(1).advance(kT0 + seconds(s));
    }
    ASSERT_EQ(workers_[0]->proxy()->live_call_count(), 0u);
    (void)take();
    w(1).stream(bob, ok);
    settle();
    const std::vector<Sent> sent = take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, kCaller);
    EXPECT_EQ(first_line(sent[0].bytes), "SIP/2.0 200 OK");
}

// Issue 9: a trunk (one flow, many users) is spread over the workers by
// Call-ID; every REGISTER is answered from the flow it came in on, and the
// bindings route back over that one flow.
std::string register_of(std::string_view user, std::string_view via_transport) {
    return "REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/" + std::string(via_transport) + " 10.9.9.9:5060;branch=z9hG4bK-" +
           std::string(user) + ";rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:" + std::string(user) + "@example.com>;tag=t" + std::string(user) + "\r\n"
           "To: <sip:" + std::string(user) + "@example.com>\r\n"
           "Call-ID: reg-" + std::string(user) + "\r\n"
           "CSeq: 1 REGISTER\r\n"
           "Supported: outbound, path\r\n"
           "Contact: <sip:" + std::string(user) + "@10.9.9.9:5060>;reg-id=1;"
           "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-0000000000" +
           (user.size() < 3 ? "0" + std::string(user.substr(1)) : std::string(user.substr(1))) +
           ">\"\r\n"
           "Content-Length: 0\r\n\r\n";
}

TEST_F(SipWorkerTest, TrunkOverUdpIsSpreadOverTheWorkers) {
    const Endpoint pbx = *Endpoint::parse("192.0.2.70:5060");
    constexpr int kUsers = 64;
    for (int i = 0; i < kUsers; ++i) {
        w(0).datagram(pbx, register_of("u" + std::to_string(i), "UDP"));
    }
    settle();
    int answered = 0;
    for (auto& r : runtimes_) {
        for (const Sent& s : r->sent) {
            EXPECT_EQ(s.to, pbx);
            answered += first_line(s.bytes) == "SIP/2.0 200 OK" ? 1 : 0;
        }
    }
    EXPECT_EQ(answered, kUsers);
    // The first user marks nothing; from the second on, the flow is a trunk
    // and about half of the Call-IDs belong to worker 1.
    EXPECT_GT(w(1).sent.size(), 10u);
    EXPECT_GT(w(0).sent.size(), 10u);
    EXPECT_EQ(workers_[0]->stats().dispatched.get(), w(1).sent.size());
    (void)take();
    // A request for one of them goes back to the PBX's address.
    w(0).datagram(kCaller, invite("sip:u7@example.com"));
    settle();
    bool reached = false;
    for (const Sent& s : take()) {
        reached = reached || (s.to == pbx && s.bytes.starts_with("INVITE sip:u7@10.9.9.9:5060"));
    }
    EXPECT_TRUE(reached);
}

TEST_F(SipWorkerTest, TrunkOverTcpAnswersOverItsConnection) {
    const net::ConnectionId trunk = w(0).accept(*Endpoint::parse("192.0.2.71:40000"));
    constexpr int kUsers = 32;
    std::string burst;
    for (int i = 0; i < kUsers; ++i) {
        burst += register_of("t" + std::to_string(i), "TCP");
    }
    w(0).stream(trunk, burst);
    settle();
    int answered = 0;
    for (const Sent& s : take()) {
        EXPECT_TRUE(s.stream);
        EXPECT_EQ(s.connection, trunk.index);
        answered += first_line(s.bytes) == "SIP/2.0 200 OK" ? 1 : 0;
    }
    EXPECT_EQ(answered, kUsers);
    EXPECT_GT(workers_[0]->stats().dispatched.get(), 5u);
    // Its bindings die with it (OB-AUTH-07), whichever worker stored them.
    w(0).peer_closes(trunk);
    w(0).datagram(kCaller, invite("sip:t3@example.com"));
    settle();
    const std::vector<Sent> sent = take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(first_line(sent.back().bytes), "SIP/2.0 480 Temporarily Unavailable");
}

// A UA's own flow (one user) is never spread: no hop for the common case.
TEST_F(SipWorkerTest, OneUsersFlowStaysOnItsWorker) {
    for (int i = 0; i < 20; ++i) {
        w(0).datagram(kCaller, invite("sip:nobody@example.com", "z9hG4bK-n" + std::to_string(i)));
    }
    settle();
    EXPECT_EQ(workers_[0]->stats().dispatched.get(), 0u);
    EXPECT_TRUE(w(1).sent.empty());
}

}  // namespace
}  // namespace fe::cluster
