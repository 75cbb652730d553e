// Checks the edge proxy's building blocks (core/outbound/edge.h): first-hop
// detection, the exact Path / Record-Route / Via text, flow identity,
// Max-Forwards, RFC 3581 received/rport, the stateless branch and loop
// detection, and the raw 400 built for requests that do not parse. Each test
// parses a request built from header lines and asserts the decision's fields
// or the exact bytes written.
#include "core/outbound/edge.h"

#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "core/syntax/via.h"

namespace fe::outbound {
namespace {

struct Request {
    std::string bytes;
    sip::Message message;
};

std::unique_ptr<Request> make(std::string_view start_line,
                              std::initializer_list<std::string_view> lines,
                              std::string_view cseq = "1 INVITE") {
    auto r = std::make_unique<Request>();
    r->bytes = std::string(start_line) + "\r\n";
    for (std::string_view line : lines) {
        r->bytes += std::string(line) + "\r\n";
    }
    r->bytes += "From: <sip:alice@example.com>;tag=f1\r\nCall-ID: c1@h\r\nCSeq: " +
                std::string(cseq) + "\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(r->message.parse(r->bytes), sip::ParseError::kOk) << r->bytes;
    return r;
}

constexpr std::string_view kUaVia = "Via: SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK-ua1";
constexpr std::string_view kTo = "To: <sip:bob@example.com>";

class EdgeTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::array<uint8_t, token::kKeySize> key{};
        key.fill(7);
        ring_ = token::KeyRing::from_random(1, key);
        stream_.node_id = 1;
        stream_.worker_index = 1;
        stream_.slot = 5;
        stream_.generation = 9;
        stream_.transport = Transport::kTcp;
        udp_.node_id = 1;
        udp_.transport = Transport::kUdp;
        udp_.remote = *Endpoint::parse("192.0.2.2:5062");
        udp_.slot = 3;
        udp_.generation = 4;
    }
    std::string mint(const token::Fields& f) {
        std::array<char, token::kTokenTextSizeMax> buf;
        token::MintResult m = token::mint(ring_, f, buf);
        EXPECT_EQ(m.status, token::MintStatus::kOk);
        return std::string(buf.data(), m.size);
    }
    std::string route_to(const std::string& token, std::string_view params = ";lr") {
        return "Route: <sip:" + token + "@192.0.2.10:5060;transport=tcp" + std::string(params) +
               ">";
    }

    token::KeyRing ring_;
    token::Fields stream_;
    token::Fields udp_;
    std::array<uint16_t, 2> ports_{5060, 5061};
    EdgeIdentity me_{.host = "192.0.2.10", .ports = ports_};
};

// covers OB-EDGE-01, OB-OBP-01, OB-OBP-02
TEST_F(EdgeTest, FirstHopIsExactlyOneVia) {
    auto one = make("REGISTER sip:example.com SIP/2.0", {kUaVia, kTo}, "1 REGISTER");
    EXPECT_TRUE(is_first_hop(one->message));
    auto two = make("REGISTER sip:example.com SIP/2.0",
                    {"Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-p1", kUaVia, kTo},
                    "1 REGISTER");
    EXPECT_FALSE(is_first_hop(two->message));
    auto folded = make("REGISTER sip:example.com SIP/2.0",
                       {"Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-p1, SIP/2.0/TCP h;branch=z9hG4bK-2",
                        kTo},
                       "1 REGISTER");
    EXPECT_FALSE(is_first_hop(folded->message));
}

// covers OB-EDGE-05, OB-EDGE-06, OB-EDGE-07, OB-DEP-01
TEST_F(EdgeTest, FlowUriValueText) {
    char out[kFlowUriValueSizeMax];
    size_t n = write_flow_uri_value("TOK", {"192.0.2.10", 5060, Transport::kTcp}, ObParam::kAdd,
                                    out, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "<sip:TOK@192.0.2.10:5060;transport=tcp;lr;ob>");
    n = write_flow_uri_value("TOK", {"edge.example.com", 5070, Transport::kUdp}, ObParam::kOmit,
                             out, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "<sip:TOK@edge.example.com:5070;transport=udp;lr>");
    // Too small a buffer is a 0, never a cut value.
    EXPECT_EQ(write_flow_uri_value("TOK", {"h", 1, Transport::kUdp}, ObParam::kAdd, out, 10), 0u);
}

// Issue 10: a TLS flow's Path / Record-Route names transport=tls and our TLS
// port, sips: when the request's Request-URI was sips (RFC 3261 §16.6 step 4).
TEST_F(EdgeTest, FlowUriValueOverTlsAndSips) {
    char out[kFlowUriValueSizeMax];
    size_t n = write_flow_uri_value("TOK", {"192.0.2.10", 5061, Transport::kTls}, ObParam::kAdd,
                                    out, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "<sip:TOK@192.0.2.10:5061;transport=tls;lr;ob>");
    n = write_flow_uri_value("TOK",
                             {"192.0.2.10", 5061, Transport::kTls, syntax::UriScheme::kSips},
                             ObParam::kAdd, out, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "<sips:TOK@192.0.2.10:5061;transport=tls;lr;ob>");
    // RFC 7118 §5: a WebSocket flow's Path names transport=ws.
    n = write_flow_uri_value("TOK", {"192.0.2.10", 8080, Transport::kWs, syntax::UriScheme::kSip},
                             ObParam::kAdd, out, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "<sip:TOK@192.0.2.10:8080;transport=ws;lr;ob>");
    EXPECT_EQ(uri_scheme_of("sips:example.com"), syntax::UriScheme::kSips);
    EXPECT_EQ(uri_scheme_of("SIPS:bob@example.com"), syntax::UriScheme::kSips);
    EXPECT_EQ(uri_scheme_of("sip:example.com"), syntax::UriScheme::kSip);
    EXPECT_EQ(uri_scheme_of("tel:+1234"), syntax::UriScheme::kSip);
}

TEST_F(EdgeTest, PortForEachTransport) {
    const EdgePorts all{.udp = 5060, .tcp = 5070, .tls = 5061, .ws = 8080, .wss = 8443};
    EXPECT_EQ(edge_port_for(Transport::kUdp, all), 5060);
    EXPECT_EQ(edge_port_for(Transport::kTcp, all), 5070);
    EXPECT_EQ(edge_port_for(Transport::kTls, all), 5061);
    EXPECT_EQ(edge_port_for(Transport::kWs, all), 8080);
    EXPECT_EQ(edge_port_for(Transport::kWss, all), 8443);
    // No TLS listener: TCP's; nothing for the transport: whichever we have.
    EXPECT_EQ(edge_port_for(Transport::kTls, {.udp = 5060, .tcp = 5070}), 5070);
    EXPECT_EQ(edge_port_for(Transport::kTcp, {.udp = 5060, .tls = 5061}), 5060);
    EXPECT_EQ(edge_port_for(Transport::kUdp, {.tls = 5061}), 5061);
    EXPECT_EQ(edge_port_for(Transport::kUdp, {.ws = 8080}), 8080);
    EXPECT_EQ(edge_port_for(Transport::kUdp, {.wss = 8443}), 8443);
    // No WS listener: not TCP's (a browser cannot use it), whichever we have.
    EXPECT_EQ(edge_port_for(Transport::kWs, {.udp = 5060, .tcp = 5070}), 5060);
    EXPECT_EQ(edge_port_for(Transport::kWss, {.tcp = 5070, .ws = 8080}), 5070);
}

// covers OB-EDGE-04: a new incarnation of the slot is another flow.
TEST_F(EdgeTest, NewGenerationIsNotTheSameFlow) {
    token::Fields later = stream_;
    later.generation += 1;
    EXPECT_FALSE(same_flow(stream_, later));
    EXPECT_TRUE(same_flow(stream_, stream_));
    // UDP: named by the remote address and the socket, not the slot.
    token::Fields source = udp_;
    source.slot = 99;
    EXPECT_TRUE(same_flow(udp_, source));
    source.remote.port = 5063;
    EXPECT_FALSE(same_flow(udp_, source));
}

TEST_F(EdgeTest, MaxForwards) {
    auto absent = make("MESSAGE sip:a@b SIP/2.0", {kUaVia, kTo}, "1 MESSAGE");
    MaxForwards mf = check_max_forwards(absent->message);
    EXPECT_EQ(mf.verdict, MaxForwardsVerdict::kAbsent);
    EXPECT_EQ(mf.next_value, 70u);
    auto zero = make("MESSAGE sip:a@b SIP/2.0", {kUaVia, kTo, "Max-Forwards: 0"}, "1 MESSAGE");
    EXPECT_EQ(check_max_forwards(zero->message).verdict, MaxForwardsVerdict::kTooManyHops);
    auto some = make("MESSAGE sip:a@b SIP/2.0", {kUaVia, kTo, "Max-Forwards: 70"}, "1 MESSAGE");
    mf = check_max_forwards(some->message);
    EXPECT_EQ(mf.verdict, MaxForwardsVerdict::kForward);
    EXPECT_EQ(mf.next_value, 69u);
    auto bad = make("MESSAGE sip:a@b SIP/2.0", {kUaVia, kTo, "Max-Forwards: ten"}, "1 MESSAGE");
    EXPECT_EQ(check_max_forwards(bad->message).verdict, MaxForwardsVerdict::kMalformed);
}

std::string received_for(std::string_view via_value, std::string_view source) {
    syntax::Via via;
    EXPECT_EQ(syntax::parse_via(via_value, via), syntax::Error::kOk);
    char out[kViaReceivedSizeMax];
    size_t n = write_via_received(via, *Endpoint::parse(source), out, sizeof(out));
    return std::string(out, n);
}

// covers OB-DEP-07
TEST_F(EdgeTest, ViaReceivedAndRport) {
    // rport asked: both, even when the host matches (RFC 3581 §4).
    EXPECT_EQ(received_for("SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1;rport", "192.0.2.2:5060"),
              ";received=192.0.2.2;rport=5060");
    // Behind a NAT.
    EXPECT_EQ(received_for("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport", "203.0.113.5:40000"),
              ";received=203.0.113.5;rport=40000");
    // No rport: received only when the host differs (RFC 3261 §18.2.1).
    EXPECT_EQ(received_for("SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1", "192.0.2.2:5060"), "");
    EXPECT_EQ(received_for("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1", "203.0.113.5:5060"),
              ";received=203.0.113.5");
    EXPECT_EQ(received_for("SIP/2.0/UDP ua.example.com;branch=z9hG4bK1", "203.0.113.5:5060"),
              ";received=203.0.113.5");
}

// covers RFC 3261 §16.11: retransmissions map to the same branch; ACK/CANCEL
// follow the INVITE; another transaction gets another branch.
TEST_F(EdgeTest, BranchIsDeterministic) {
    auto invite = make("INVITE sip:bob@example.com SIP/2.0", {kUaVia, kTo});
    auto again = make("INVITE sip:bob@example.com SIP/2.0", {kUaVia, kTo});
    auto cancel = make("CANCEL sip:bob@example.com SIP/2.0", {kUaVia, kTo}, "1 CANCEL");
    auto other = make("INVITE sip:bob@example.com SIP/2.0",
                      {"Via: SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK-ua2", kTo});
    const BranchId a = write_branch(invite->message, "z9hG4bK-ua1", BranchKind::kStateless);
    const BranchId b = write_branch(again->message, "z9hG4bK-ua1", BranchKind::kStateless);
    const BranchId c = write_branch(cancel->message, "z9hG4bK-ua1", BranchKind::kStateless);
    const BranchId d = write_branch(other->message, "z9hG4bK-ua2", BranchKind::kStateless);
    ASSERT_GT(a.size, 0u);
    EXPECT_TRUE(a.view().starts_with("z9hG4bK-fes"));
    EXPECT_EQ(a.view(), b.view());
    // The transaction half is equal; the loop half (CSeq method differs) not.
    EXPECT_EQ(read_branch_id(a.view())->hash, read_branch_id(c.view())->hash);
    EXPECT_NE(a.view(), d.view());
}

TEST_F(EdgeTest, LoopIsOurViaWithThisRequestsHash) {
    auto first = make("MESSAGE sip:bob@example.com SIP/2.0", {kUaVia, kTo}, "1 MESSAGE");
    const BranchId branch = write_branch(first->message, "z9hG4bK-ua1", BranchKind::kStateless);
    const std::string our_via =
        "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-x, SIP/2.0/UDP 192.0.2.10:5060;branch=" +
        std::string(branch.view());
    auto looped = make("MESSAGE sip:bob@example.com SIP/2.0", {our_via, kUaVia, kTo}, "1 MESSAGE");
    EXPECT_EQ(detect_loop(looped->message, me_).verdict, LoopCheck::kLoop);
    // A spiral (another Request-URI) is no loop.
    auto spiral = make("MESSAGE sip:bob@192.0.2.77 SIP/2.0", {our_via, kUaVia, kTo}, "1 MESSAGE");
    EXPECT_EQ(detect_loop(spiral->message, me_).verdict, LoopCheck::kNoLoop);
    EXPECT_EQ(detect_loop(first->message, me_).verdict, LoopCheck::kNoLoop);
    auto bad = make("MESSAGE sip:bob@example.com SIP/2.0", {"Via: SIP/2.0/UDP h:0;branch=z9hG4bK1", kTo},
                    "1 MESSAGE");
    LoopResult r = detect_loop(bad->message, me_);
    EXPECT_EQ(r.verdict, LoopCheck::kMalformed);
    EXPECT_EQ(r.error, syntax::Error::kPortOutOfRange);
}

TEST_F(EdgeTest, ViaValueCarriesTheFlowToken) {
    char out[kEdgeViaValueSizeMax];
    size_t n = write_via_value({"192.0.2.10", 5060, Transport::kUdp}, "z9hG4bK-fe1", "TOK", out,
                               sizeof(out));
    EXPECT_EQ(std::string_view(out, n), "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-fe1;fl=TOK");
    syntax::Via via;
    ASSERT_EQ(syntax::parse_via(std::string_view(out, n), via), syntax::Error::kOk);
    EXPECT_EQ(via.params.find("fl")->value, "TOK");
}

TEST_F(EdgeTest, RawErrorResponseCopiesTransactionHeaders) {
    // No Call-ID: Message::parse() refuses it, the 400 still names the defect.
    const std::string raw =
        "MESSAGE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=f1\r\n"
        "To: <sip:bob@example.com>\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Length: 0\r\n\r\n";
    char buf[1024];
    sip::Writer w(buf, sizeof(buf));
    ASSERT_TRUE(build_raw_error_response(raw, 400, "Missing Call-ID", w));
    EXPECT_EQ(w.view(),
              "SIP/2.0 400 Missing Call-ID\r\n"
              "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1\r\n"
              "From: <sip:alice@example.com>;tag=f1\r\n"
              "To: <sip:bob@example.com>;tag=fe-err\r\n"
              "CSeq: 1 MESSAGE\r\n"
              "Content-Length: 0\r\n\r\n");
    sip::Writer w2(buf, sizeof(buf));
    EXPECT_FALSE(build_raw_error_response("SIP/2.0 200 OK\r\n\r\n", 400, "x", w2));
    EXPECT_FALSE(build_raw_error_response("ACK sip:a@b SIP/2.0\r\n\r\n", 400, "x", w2));
    EXPECT_FALSE(build_raw_error_response("\x01\x02garbage", 400, "x", w2));
}

// covers OB-FT-01, OB-EDGE-18
TEST_F(EdgeTest, FlowTimerOnlyWithRequireOutbound) {
    auto parse = [](const std::string& text) {
        auto m = std::make_unique<Request>();
        m->bytes = text;
        EXPECT_EQ(m->message.parse(m->bytes), sip::ParseError::kOk);
        return m;
    };
    const std::string head =
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        "To: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n";
    auto with = parse(head + "Require: outbound\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(response_wants_flow_timer(with->message));
    auto without = parse(head + "Content-Length: 0\r\n\r\n");
    EXPECT_FALSE(response_wants_flow_timer(without->message));
    auto already = parse(head + "Require: outbound\r\nFlow-Timer: 30\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(response_wants_flow_timer(already->message));
    EXPECT_TRUE(response_is_outbound_register_ok(already->message));
}

TEST_F(EdgeTest, DialogForming) {
    auto invite = make("INVITE sip:bob@example.com SIP/2.0", {kUaVia, kTo});
    EXPECT_TRUE(is_dialog_forming(invite->message));
    auto in_dialog =
        make("INVITE sip:bob@example.com SIP/2.0", {kUaVia, "To: <sip:bob@example.com>;tag=x"});
    EXPECT_FALSE(is_dialog_forming(in_dialog->message));
    auto message = make("MESSAGE sip:bob@example.com SIP/2.0", {kUaVia, kTo}, "1 MESSAGE");
    EXPECT_FALSE(is_dialog_forming(message->message));
}

}  // namespace
}  // namespace fe::outbound
