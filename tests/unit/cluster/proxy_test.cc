// Checks cluster::HomeProxy end to end on the embedded store, a fake
// ProxySender that records every request (and can say a flow is gone or the
// target is bad) and an injected clock driving a timer wheel: bindings
// registered in the store in, branch request bytes and upstream response bytes
// out. Covers forking per instance (OB-AUTH-01), flow retries on 430 and on a
// gone flow (OB-AUTH-02, OB-430-02/04), no retry after 486 (OB-AUTH-03), the
// Route / Request-URI of a branch (OB-AUTH-04), freshest flow first
// (OB-AUTH-08), no 430 upstream (OB-430-03), CANCEL both ways, the ACK of a
// non-2xx, retransmissions, 404 / 480 / 503 and legacy bindings; and for a
// caller over UDP, that a call's slot goes as soon as its upstream
// transaction only absorbs retransmissions, which then get the final again
// (or are absorbed) from the completed table and are never forked twice.
#include "cluster/proxy.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/outbound/branch_id.h"
#include "core/sip/response.h"
#include "core/token/key_ring.h"
#include "core/syntax/via.h"
#include "state/embedded_store.h"

namespace fe::cluster {
namespace {

const Time kT0 = Time{} + hours(1);
constexpr std::string_view kAor = "sip:bob@example.com";
constexpr std::string_view kInstance1 = "<urn:uuid:00000000-0000-1000-8000-000000000001>";
constexpr std::string_view kInstance2 = "<urn:uuid:00000000-0000-1000-8000-000000000002>";

struct SentRequest {
    std::string bytes;
    std::string route_uri;
};

// Records each send; a flow of ours is recorded as "flow:SLOT".
class FakeSender final : public ProxySender {
public:
    SendStatus send_to_flow(const token::Fields& flow,
                            std::span<const std::string_view> parts) override {
        return record(parts, "flow:" + std::to_string(flow.slot));
    }
    SendStatus send_to_uri(std::string_view uri,
                           std::span<const std::string_view> parts) override {
        return record(parts, std::string(uri));
    }

    std::vector<SentRequest> sent;
    std::map<std::string, SendStatus> status_by_route;

private:
    SendStatus record(std::span<const std::string_view> parts, std::string route) {
        std::string bytes;
        for (std::string_view p : parts) {
            bytes += p;
        }
        sent.push_back({bytes, route});
        const auto it = status_by_route.find(route);
        return it == status_by_route.end() ? SendStatus::kSent : it->second;
    }
};

// One registered flow of bob.
struct Reg {
    std::string_view instance;
    uint32_t reg_id = 0;
    std::string contact_uri;
    std::string path;  // empty: a binding without Path
    Time at = kT0;
};

std::string field(const std::string& message, std::string_view name) {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const size_t at = message.find(key);
    if (at == std::string::npos) {
        return {};
    }
    const size_t begin = at + key.size();
    return message.substr(begin, message.find("\r\n", begin) - begin);
}

std::string first_line(const std::string& m) { return m.substr(0, m.find("\r\n")); }

std::string top_branch(const std::string& message) {
    sip::Message m;
    EXPECT_EQ(m.parse(message), sip::ParseError::kOk);
    syntax::Via via;
    EXPECT_EQ(syntax::parse_via(*m.list(sip::HeaderId::kVia).begin(), via), syntax::Error::kOk);
    return std::string(via.branch);
}

std::string make_request(std::string_view method, std::string_view uri, uint32_t cseq = 1,
                         std::string_view via_branch = "z9hG4bK-caller1") {
    return std::string(method) + " " + std::string(uri) + " SIP/2.0\r\n" +
           "Via: SIP/2.0/TCP 192.0.2.9:5070;branch=" + std::string(via_branch) + "\r\n" +
           "Max-Forwards: 70\r\n"
           "From: <sip:carol@example.com>;tag=c1\r\n"
           "To: <sip:bob@example.com>\r\n"
           "Call-ID: call-1@192.0.2.9\r\n"
           "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n"
           "Contact: <sip:carol@192.0.2.9:5070;transport=tcp>\r\n"
           "Content-Length: 0\r\n\r\n";
}

// A response from the callee to a request the proxy sent (all its Vias).
std::string response_to(const std::string& request, uint16_t status) {
    sip::Message m;
    EXPECT_EQ(m.parse(request), sip::ParseError::kOk);
    char buf[8192];
    sip::Writer w(buf, sizeof(buf));
    const sip::ResponseSpec spec{.status_code = status, .to_tag = "callee"};
    EXPECT_EQ(sip::build_response(m, spec, w), sip::BuildError::kOk);
    return std::string(w.view());
}

class HomeProxyTest : public ::testing::Test {
protected:
    HomeProxyTest()
        : keys_(token::KeyRing::from_random(0, std::array<uint8_t, token::kKeySize>{7})),
          wheel_(kT0, milliseconds(1)) {
        make_proxy(HomeProxyConfig{});
    }

    void make_proxy(HomeProxyConfig config) {
        proxy_.reset();
        config.via_host = "proxy.example.com";
        config.udp_port = 5060;
        config.tcp_port = 5061;
        config.branch_secret = {1, 2};
        config.keys = &keys_;
        config.identity = outbound::EdgeIdentity{.host = "proxy.example.com", .ports = ports_,
                                                 .aliases = {}, .domains = domains_};
        config.proxy.timers.trying_delay = Duration::zero();  // 100 Trying at once
        proxy_ = std::make_unique<HomeProxy>(store_, sender_, wheel_, config);
    }

    // A token of this node's flow `slot`, as the edge minted it.
    std::string our_token(uint32_t slot) const {
        token::Fields f;
        f.node_id = 1;
        f.slot = slot;
        f.generation = 9;
        f.transport = Transport::kTcp;
        std::array<char, token::kTokenTextSizeMax> buf;
        const token::MintResult m = token::mint(keys_, f, buf);
        EXPECT_EQ(m.status, token::MintStatus::kOk);
        return std::string(buf.data(), m.size);
    }

    void add(const Reg& reg, uint32_t cseq) {
        const std::string_view path[] = {reg.path};
        const state::BindingUpdate b{.action = state::BindingAction::kUpsert,
                                     .instance_key = reg.instance,
                                     .reg_id = reg.reg_id,
                                     .contact_key = reg.contact_uri,
                                     .contact = reg.contact_uri,
                                     .contact_uri = reg.contact_uri,
                                     .expires_in = seconds(3600)};
        const state::RegisterUpdate update{
            .aor_key = kAor,
            .call_id = "reg-call",
            .cseq = cseq,
            .path = reg.path.empty() ? std::span<const std::string_view>()
                                     : std::span<const std::string_view>(path),
            .flow_token = {},
            .node_id = 1,
            .bindings = std::span<const state::BindingUpdate>(&b, 1)};
        bool ok = false;
        store_.apply(update, reg.at, [&](state::StoreStatus s, const state::AorView&) {
            ok = s == state::StoreStatus::kOk;
        });
        ASSERT_TRUE(ok);
    }

    // Hands `bytes` to the proxy as a request from the caller's TCP flow.
    void request(const std::string& bytes, Time now = kT0, RequestFlow flow = {}) {
        sip::Message m;
        ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
        flow.transport = Transport::kTcp;
        flow.flow_token = "CALLERTOKEN";
        proxy_->handle_request(m, flow, now, [this](std::string_view r) {
            upstream_.emplace_back(r);
        });
    }

    // Hands `bytes` to the proxy as a request from a caller over UDP.
    void request_udp(const std::string& bytes, Time now) {
        sip::Message m;
        ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
        RequestFlow flow;
        flow.transport = Transport::kUdp;
        flow.flow_token = "UDPCALLER";
        proxy_->handle_request(m, flow, now, [this](std::string_view r) {
            upstream_.emplace_back(r);
        });
    }

    bool matches_ack(const std::string& bytes) {
        sip::Message m;
        EXPECT_EQ(m.parse(bytes), sip::ParseError::kOk);
        return proxy_->matches_ack(m);
    }

    void respond(const std::string& bytes, Time now = kT0) {
        sip::Message m;
        ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
        proxy_->handle_response(m, now);
    }

    void advance(Time now) { (void)wheel_.advance(now); }

    std::vector<std::string> upstream_status_lines() const {
        std::vector<std::string> out;
        for (const std::string& r : upstream_) {
            out.push_back(first_line(r));
        }
        return out;
    }

    std::vector<uint16_t> ports_ = {5060, 5061};
    std::vector<std::string> domains_ = {"example.com"};
    token::KeyRing keys_;
    state::EmbeddedStore store_;
    FakeSender sender_;
    time::TimerWheel wheel_;
    std::unique_ptr<HomeProxy> proxy_;
    std::vector<std::string> upstream_;
};

const Reg kFlowA1{kInstance1, 1, "sip:bob@192.0.2.1:5062;transport=tcp;ob",
                  "<sip:TOKA1@edge.example.com;transport=tcp;lr;ob>", kT0 - seconds(20)};
const Reg kFlowA2{kInstance1, 2, "sip:bob@192.0.2.1:5063;transport=tcp;ob",
                  "<sip:TOKA2@edge.example.com;transport=tcp;lr;ob>", kT0 - seconds(10)};
const Reg kFlowB1{kInstance2, 1, "sip:bob@192.0.2.2:5062;transport=tcp;ob",
                  "<sip:TOKB1@edge.example.com;transport=tcp;lr;ob>", kT0 - seconds(5)};

// covers OB-AUTH-01, OB-AUTH-04
TEST_F(HomeProxyTest, ForksOneBranchPerInstanceWithPathRouteAndContactUri) {
    add(kFlowA1, 1);
    add(kFlowA2, 2);
    add(kFlowB1, 3);
    request(make_request("INVITE", kAor));
    // Two instances: two branches, not three (A's two flows are one instance).
    ASSERT_EQ(sender_.sent.size(), 2u);
    std::map<std::string, std::string> by_route;
    for (const SentRequest& s : sender_.sent) {
        by_route[s.route_uri] = s.bytes;
    }
    ASSERT_EQ(by_route.count("sip:TOKA2@edge.example.com;transport=tcp;lr;ob"), 1u);
    ASSERT_EQ(by_route.count("sip:TOKB1@edge.example.com;transport=tcp;lr;ob"), 1u);
    const std::string& a = by_route["sip:TOKA2@edge.example.com;transport=tcp;lr;ob"];
    EXPECT_EQ(first_line(a), "INVITE sip:bob@192.0.2.1:5063;transport=tcp;ob SIP/2.0");
    EXPECT_EQ(field(a, "Route"), "<sip:TOKA2@edge.example.com;transport=tcp;lr;ob>");
    EXPECT_EQ(field(a, "Max-Forwards"), "69");
    // Our Via on top, TCP (the flow's transport) with our TCP port; the
    // caller's Via below it.
    EXPECT_EQ(field(a, "Via").rfind("SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bK-fe", 0),
              0u);
    EXPECT_NE(a.find("Via: SIP/2.0/TCP 192.0.2.9:5070;branch=z9hG4bK-caller1\r\n"),
              std::string::npos);
    EXPECT_NE(top_branch(sender_.sent[0].bytes), top_branch(sender_.sent[1].bytes));
    // 100 Trying at once (trying_delay 0), nothing else yet.
    EXPECT_EQ(upstream_status_lines(), std::vector<std::string>{"SIP/2.0 100 Trying"});
}

// covers OB-AUTH-01
TEST_F(HomeProxyTest, FirstTwoHundredWinsAndTheOtherBranchIsCancelled) {
    add(kFlowA1, 1);
    add(kFlowB1, 2);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 2u);
    const std::string to_a = sender_.sent[0].route_uri.find("TOKA1") != std::string::npos
                                 ? sender_.sent[0].bytes
                                 : sender_.sent[1].bytes;
    const std::string to_b = to_a == sender_.sent[0].bytes ? sender_.sent[1].bytes
                                                           : sender_.sent[0].bytes;
    respond(response_to(to_a, 180));
    respond(response_to(to_b, 180));
    respond(response_to(to_b, 200));
    ASSERT_EQ(upstream_.size(), 4u);
    EXPECT_EQ(first_line(upstream_[1]), "SIP/2.0 180 Ringing");
    EXPECT_EQ(first_line(upstream_[3]), "SIP/2.0 200 OK");
    // Upstream sees the caller's Via only (ours removed, §16.7 step 3).
    EXPECT_EQ(field(upstream_[3], "Via"), "SIP/2.0/TCP 192.0.2.9:5070;branch=z9hG4bK-caller1");
    EXPECT_EQ(upstream_[3].find("z9hG4bK-fe"), std::string::npos);
    // A CANCEL for A's branch, on A's flow, with A's branch id (§9.1).
    ASSERT_EQ(sender_.sent.size(), 3u);
    const SentRequest& cancel = sender_.sent[2];
    EXPECT_EQ(first_line(cancel.bytes), "CANCEL sip:bob@192.0.2.1:5062;transport=tcp;ob SIP/2.0");
    EXPECT_EQ(cancel.route_uri, "sip:TOKA1@edge.example.com;transport=tcp;lr;ob");
    EXPECT_EQ(top_branch(cancel.bytes), top_branch(to_a));
    // A answers the CANCEL and 487s the INVITE: ACKed downstream, never upstream.
    respond(response_to(cancel.bytes, 200));
    respond(response_to(to_a, 487));
    ASSERT_EQ(sender_.sent.size(), 4u);
    EXPECT_EQ(first_line(sender_.sent[3].bytes),
              "ACK sip:bob@192.0.2.1:5062;transport=tcp;ob SIP/2.0");
    EXPECT_EQ(upstream_.size(), 4u);
    EXPECT_EQ(proxy_->live_call_count(), 0u);
}

// covers OB-AUTH-02, OB-430-02, OB-AUTH-08
TEST_F(HomeProxyTest, GoneFlowMovesTheRequestToTheInstancesNextFlow) {
    add(kFlowA1, 1);
    add(kFlowA2, 2);
    sender_.status_by_route["sip:TOKA2@edge.example.com;transport=tcp;lr;ob"] =
        ProxySender::SendStatus::kFlowGone;
    request(make_request("INVITE", kAor));
    // The freshest flow (A2) first; the edge says it is gone; then A1.
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(sender_.sent[0].route_uri, "sip:TOKA2@edge.example.com;transport=tcp;lr;ob");
    EXPECT_EQ(sender_.sent[1].route_uri, "sip:TOKA1@edge.example.com;transport=tcp;lr;ob");
    EXPECT_EQ(first_line(sender_.sent[1].bytes),
              "INVITE sip:bob@192.0.2.1:5062;transport=tcp;ob SIP/2.0");
    EXPECT_NE(top_branch(sender_.sent[0].bytes), top_branch(sender_.sent[1].bytes));
    EXPECT_EQ(proxy_->stats().flow_gone, 1u);
    respond(response_to(sender_.sent[1].bytes, 200));
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 200 OK"}));
}

// covers OB-430-02, OB-430-03, OB-430-04
TEST_F(HomeProxyTest, ReceivedFourThirtyTriesNextFlowAndNeverGoesUpstream) {
    add(kFlowA1, 1);
    add(kFlowA2, 2);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    respond(response_to(sender_.sent[0].bytes, 430));
    // The other flow gets the INVITE, and the 430 is ACKed on its own branch.
    ASSERT_EQ(sender_.sent.size(), 3u);
    std::string invite;
    std::string ack;
    for (size_t i = 1; i < 3; ++i) {
        (first_line(sender_.sent[i].bytes).starts_with("ACK ") ? ack : invite) =
            sender_.sent[i].bytes;
        if (sender_.sent[i].bytes == invite) {
            EXPECT_EQ(sender_.sent[i].route_uri,
                      "sip:TOKA1@edge.example.com;transport=tcp;lr;ob");
        }
    }
    EXPECT_EQ(first_line(invite), "INVITE sip:bob@192.0.2.1:5062;transport=tcp;ob SIP/2.0");
    EXPECT_EQ(top_branch(ack), top_branch(sender_.sent[0].bytes));
    // The last flow fails too: the caller gets 480, never a 430.
    respond(response_to(invite, 430));
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 480 Temporarily Unavailable"}));
}

// covers OB-AUTH-03
TEST_F(HomeProxyTest, BusyHereFromAnInstanceIsNotRetriedOnItsOtherFlow) {
    add(kFlowA1, 1);
    add(kFlowA2, 2);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    respond(response_to(sender_.sent[0].bytes, 486));
    // Only the ACK of the 486 follows; no INVITE on A1.
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(first_line(sender_.sent[1].bytes).substr(0, 4), "ACK ");
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 486 Busy Here"}));
}

// covers OB-AUTH-03 (408 is one of the two codes that allow a retry)
TEST_F(HomeProxyTest, TimeoutOnOneFlowTriesTheNext) {
    add(kFlowA1, 1);
    add(kFlowA2, 2);
    request(make_request("MESSAGE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    // No answer over TCP: Timer F (64*T1 = 32 s) gives a 408: next flow.
    advance(kT0 + seconds(33));
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(sender_.sent[1].route_uri, "sip:TOKA1@edge.example.com;transport=tcp;lr;ob");
    respond(response_to(sender_.sent[1].bytes, 200), kT0 + seconds(34));
    EXPECT_EQ(upstream_status_lines(), std::vector<std::string>{"SIP/2.0 200 OK"});
}

TEST_F(HomeProxyTest, NoBindingGetsFourEightyAndForeignDomainFourOhFour) {
    request(make_request("INVITE", kAor));
    EXPECT_TRUE(sender_.sent.empty());
    ASSERT_EQ(upstream_.size(), 2u);
    EXPECT_EQ(first_line(upstream_[1]), "SIP/2.0 480 Temporarily Unavailable");
    // A generated final gets our To tag.
    EXPECT_NE(field(upstream_[1], "To").find(";tag=fe"), std::string::npos);
    EXPECT_EQ(proxy_->stats().no_bindings, 1u);
    // The INVITE server transaction waits for the ACK of its non-2xx (Timer H).
    EXPECT_EQ(proxy_->live_call_count(), 1u);
    request(make_request("ACK", kAor));
    EXPECT_EQ(proxy_->live_call_count(), 0u);

    // A domain we do not serve is no AOR of ours: the Request-URI is the
    // target, looked up nowhere (issue 8: never 404 for a routable request).
    upstream_.clear();
    request(make_request("INVITE", "sip:bob@192.0.2.50:5090", 1, "z9hG4bK-other"));
    ASSERT_EQ(sender_.sent.size(), 1u);
    EXPECT_EQ(sender_.sent[0].route_uri, "sip:bob@192.0.2.50:5090");
    EXPECT_EQ(first_line(sender_.sent[0].bytes), "INVITE sip:bob@192.0.2.50:5090 SIP/2.0");
    EXPECT_EQ(proxy_->stats().forwarded_to_uri, 1u);
    // tel: has no route here.
    request(make_request("MESSAGE", "tel:+15551234", 1, "z9hG4bK-tel"));
    EXPECT_EQ(first_line(upstream_.back()), "SIP/2.0 404 Not Found");
    EXPECT_EQ(proxy_->stats().not_found, 1u);
}

TEST_F(HomeProxyTest, CancelFromUpstreamAnswersTwoHundredCancelsDownAndSendsFourEightySeven) {
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    const std::string invite = sender_.sent[0].bytes;
    // Before any provisional the CANCEL is held (§9.1).
    request(make_request("CANCEL", kAor));
    ASSERT_EQ(upstream_.size(), 2u);
    EXPECT_EQ(first_line(upstream_[1]), "SIP/2.0 200 OK");
    EXPECT_EQ(field(upstream_[1], "CSeq"), "1 CANCEL");
    EXPECT_EQ(sender_.sent.size(), 1u);
    respond(response_to(invite, 180));
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(first_line(sender_.sent[1].bytes), "CANCEL sip:bob@192.0.2.1:5062;transport=tcp;ob SIP/2.0");
    EXPECT_EQ(top_branch(sender_.sent[1].bytes), top_branch(invite));
    // §16.10: the caller's final is the callee's 487, forwarded (the 180
    // before it too: no final had gone up).
    respond(response_to(sender_.sent[1].bytes, 200));
    respond(response_to(invite, 487));
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 200 OK",
                                        "SIP/2.0 180 Ringing", "SIP/2.0 487 Request Terminated"}));
    EXPECT_EQ(field(upstream_[3], "CSeq"), "1 INVITE");
    // The callee's 487 was ACKed hop by hop; the caller's ACK of ours is absorbed.
    EXPECT_EQ(first_line(sender_.sent.back().bytes).substr(0, 4), "ACK ");
    request(make_request("ACK", kAor));
    EXPECT_EQ(proxy_->stats().acks_absorbed, 1u);
    EXPECT_EQ(upstream_.size(), 4u);
    EXPECT_EQ(proxy_->live_call_count(), 0u);
}

TEST_F(HomeProxyTest, CancelWhileNoBranchRespondedEndsWithGeneratedFourEightySeven) {
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    request(make_request("CANCEL", kAor));
    // The held CANCEL never goes out (§9.1); the INVITE's Timer B (64*T1)
    // ends the branch and the caller gets a generated 487, not a 408.
    advance(kT0 + seconds(31));
    EXPECT_EQ(upstream_.size(), 2u);
    advance(kT0 + seconds(33));
    EXPECT_EQ(sender_.sent.size(), 1u);
    ASSERT_EQ(upstream_.size(), 3u);
    EXPECT_EQ(first_line(upstream_[2]), "SIP/2.0 487 Request Terminated");
}

TEST_F(HomeProxyTest, CancelMatchingNothingGetsFourEightyOne) {
    request(make_request("CANCEL", kAor));
    EXPECT_EQ(upstream_status_lines(),
              std::vector<std::string>{"SIP/2.0 481 Call/Transaction Does Not Exist"});
}

TEST_F(HomeProxyTest, RetransmittedInviteIsNotForkedAgain) {
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    request(make_request("INVITE", kAor));
    EXPECT_EQ(sender_.sent.size(), 1u);
    EXPECT_EQ(proxy_->stats().retransmissions, 1u);
    // The retransmission got the last response again.
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 100 Trying"}));
}

TEST_F(HomeProxyTest, FullCallPoolGetsFiveOhThree) {
    HomeProxyConfig config;
    config.call_count_max = 1;
    make_proxy(config);
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    request(make_request("INVITE", kAor, 1, "z9hG4bK-second"));
    ASSERT_EQ(upstream_.size(), 2u);
    EXPECT_EQ(first_line(upstream_[1]), "SIP/2.0 503 Proxy Overloaded");
    EXPECT_EQ(proxy_->stats().overload, 1u);
}

TEST_F(HomeProxyTest, LegacyBindingIsSentToItsContact) {
    add(Reg{{}, 0, "sip:bob@192.0.2.7:5090", {}, kT0}, 1);
    request(make_request("MESSAGE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    EXPECT_EQ(sender_.sent[0].route_uri, "sip:bob@192.0.2.7:5090");
    EXPECT_EQ(first_line(sender_.sent[0].bytes), "MESSAGE sip:bob@192.0.2.7:5090 SIP/2.0");
    EXPECT_EQ(field(sender_.sent[0].bytes, "Route"), "");
    // No transport parameter: UDP, our UDP port in the Via.
    EXPECT_EQ(field(sender_.sent[0].bytes, "Via").rfind("SIP/2.0/UDP proxy.example.com:5060;", 0),
              0u);
    respond(response_to(sender_.sent[0].bytes, 200));
    EXPECT_EQ(upstream_status_lines(), std::vector<std::string>{"SIP/2.0 200 OK"});
}

TEST_F(HomeProxyTest, UdpBranchIsRetransmittedUntilAnswered) {
    add(Reg{{}, 0, "sip:bob@192.0.2.7:5090", {}, kT0}, 1);
    request(make_request("MESSAGE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    advance(kT0 + milliseconds(501));  // Timer E = T1
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(sender_.sent[1].bytes, sender_.sent[0].bytes);
}

TEST_F(HomeProxyTest, ResponsesWithForeignOrForgedBranchesAreDropped) {
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    std::string forged = response_to(sender_.sent[0].bytes, 200);
    const std::string branch = top_branch(sender_.sent[0].bytes);
    std::string other = branch;
    other[12] = other[12] == '0' ? '1' : '0';  // a hash digit
    forged.replace(forged.find(branch), branch.size(), other);
    respond(forged);
    EXPECT_EQ(proxy_->stats().responses_unmatched, 1u);
    EXPECT_EQ(upstream_.size(), 1u);  // the 100 only
}

TEST_F(HomeProxyTest, BranchIdNamesTheWorkerWhoseProxyHoldsTheCall) {
    HomeProxyConfig config;
    config.worker_index = 0xa7;
    make_proxy(config);
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    const std::string branch = top_branch(sender_.sent[0].bytes);
    const std::optional<outbound::BranchFields> f = outbound::read_branch_id(branch);
    ASSERT_TRUE(f.has_value()) << branch;
    EXPECT_EQ(f->kind, outbound::BranchKind::kProxy);
    EXPECT_EQ(f->worker_index, 0xa7);
}

// covers OB-EDGE-11, OB-EDGE-12 (issue 8 step 2): a binding whose Path is our
// own flow token goes down that flow with the token's Route value taken off
// and, for an INVITE whose Path had ob, a Record-Route with the token and no
// ob on top of the caller's.
TEST_F(HomeProxyTest, OwnFlowLosesItsRouteValueAndRecordRoutesTheToken) {
    const std::string token = our_token(42);
    const std::string path = "<sip:" + token + "@proxy.example.com:5061;transport=tcp;lr;ob>";
    add(Reg{kInstance1, 1, "sip:bob@192.0.2.1:5062;transport=tcp;ob", path, kT0}, 1);
    RequestFlow flow;
    flow.record_route_value = "<sip:CALLER@proxy.example.com:5060;transport=udp;lr>";
    request(make_request("INVITE", kAor), kT0, flow);
    ASSERT_EQ(sender_.sent.size(), 1u);
    EXPECT_EQ(sender_.sent[0].route_uri, "flow:42");
    const std::string& sent = sender_.sent[0].bytes;
    EXPECT_EQ(field(sent, "Route"), "");
    EXPECT_EQ(field(sent, "Record-Route"),
              "<sip:" + token + "@proxy.example.com:5061;transport=tcp;lr>");
    // The caller's token Record-Route follows, below.
    EXPECT_NE(sent.find("Record-Route: <sip:" + token + "@proxy.example.com:5061;transport=tcp;lr>"
                        "\r\nRecord-Route: <sip:CALLER@proxy.example.com:5060;transport=udp;lr>"),
              std::string::npos);
    EXPECT_EQ(proxy_->stats().record_routed, 1u);
    // A MESSAGE forms no dialog: no Record-Route.
    request(make_request("MESSAGE", kAor, 2, "z9hG4bK-msg"));
    ASSERT_EQ(sender_.sent.size(), 2u);
    EXPECT_EQ(field(sender_.sent[1].bytes, "Record-Route"), "");
    EXPECT_EQ(field(sender_.sent[1].bytes, "Route"), "");
}

// Issue 8 points 5 and 6: the caller's Via gets received/rport, our Via names
// the caller's flow (fl), and a 2xx the proxy no longer knows is its to
// forward statelessly (handle_response says false).
TEST_F(HomeProxyTest, ViaCarriesReceivedAndTheCallersFlow) {
    add(kFlowA1, 1);
    RequestFlow flow;
    flow.source = *Endpoint::parse("203.0.113.9:40000");  // behind a NAT
    request(make_request("INVITE", kAor), kT0, flow);
    ASSERT_EQ(sender_.sent.size(), 1u);
    const std::string& sent = sender_.sent[0].bytes;
    EXPECT_NE(sent.find("branch=z9hG4bK-caller1;received=203.0.113.9\r\n"), std::string::npos);
    EXPECT_NE(field(sent, "Via").find(";fl=CALLERTOKEN"), std::string::npos);
    // The 100 Trying we build ourselves carries it too.
    ASSERT_FALSE(upstream_.empty());
    EXPECT_NE(upstream_[0].find("branch=z9hG4bK-caller1;received=203.0.113.9\r\n"),
              std::string::npos);
}

// RFC 3261 §16.9: a TCP destination the edge could not connect to is a
// transport error for every branch sent there, at once (not after Timer F).
TEST_F(HomeProxyTest, FailedConnectEndsTheBranchesSentThere) {
    add(Reg{{}, 0, "sip:bob@192.0.2.7:5090;transport=tcp", {}, kT0}, 1);
    request(make_request("MESSAGE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    proxy_->on_destination_failed(*Endpoint::parse("192.0.2.8:5090"), kT0);  // another one
    EXPECT_EQ(upstream_.size(), 0u);
    proxy_->on_destination_failed(*Endpoint::parse("192.0.2.7:5090"), kT0);
    ASSERT_EQ(upstream_.size(), 1u);
    EXPECT_EQ(first_line(upstream_[0]), "SIP/2.0 480 Temporarily Unavailable");
}

TEST_F(HomeProxyTest, LateTwoHundredIsLeftToTheEdge) {
    add(kFlowA1, 1);
    request(make_request("INVITE", kAor));
    ASSERT_EQ(sender_.sent.size(), 1u);
    const std::string ok = response_to(sender_.sent[0].bytes, 200);
    respond(ok);
    sip::Message m;
    ASSERT_EQ(m.parse(ok), sip::ParseError::kOk);
    // The 2xx ended the call's INVITE transaction; let every timer run out.
    advance(kT0 + minutes(10));
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    EXPECT_FALSE(proxy_->handle_response(m, kT0 + minutes(10)));
}

// ---- Callers over UDP: slots released into the completed table ------------

// A request as a UA sends it over UDP (its Via says so).
std::string make_udp_request(std::string_view method, std::string_view uri, uint32_t cseq,
                             std::string_view via_branch) {
    std::string r = make_request(method, uri, cseq, via_branch);
    r.replace(r.find("SIP/2.0/TCP 192.0.2.9:5070"), 26, "SIP/2.0/UDP 192.0.2.9:5070");
    return r;
}

// Issue 9 / BENCHMARKS.md bug 6: each MESSAGE from a UDP caller held its
// slot for Timer J (32 s), so the 4,097th within 32 s got 503.
TEST_F(HomeProxyTest, TenThousandUdpMessagesNeverGetFiveOhThree) {
    add(kFlowA1, 1);
    for (uint32_t i = 0; i < 10000; ++i) {
        const Time now = kT0 + milliseconds(i);
        advance(now);
        request_udp(make_udp_request("MESSAGE", kAor, i + 1, "z9hG4bK-m" + std::to_string(i)),
                    now);
        ASSERT_EQ(sender_.sent.size(), i + 1) << "request " << i << ": " << upstream_.back();
        respond(response_to(sender_.sent.back().bytes, 200), now);
        ASSERT_EQ(first_line(upstream_.back()), "SIP/2.0 200 OK") << "request " << i;
        // Released with the final: the slot does not wait for Timer J.
        ASSERT_EQ(proxy_->live_call_count(), 0u) << "request " << i;
    }
    EXPECT_EQ(proxy_->stats().overload, 0u);
    EXPECT_EQ(proxy_->stats().completed_kept, 10000u);
    EXPECT_EQ(proxy_->completed().count(), 10000u);  // all within 32 s
}

TEST_F(HomeProxyTest, RetransmittedUdpMessageAfterReleaseGetsTheSameFinalNotASecondFork) {
    add(kFlowA1, 1);
    const std::string message = make_udp_request("MESSAGE", kAor, 1, "z9hG4bK-msg1");
    request_udp(message, kT0);
    ASSERT_EQ(sender_.sent.size(), 1u);
    respond(response_to(sender_.sent[0].bytes, 200), kT0 + milliseconds(20));
    ASSERT_EQ(upstream_.size(), 1u);
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    // The caller did not hear the 200 and retransmits (Timer E).
    request_udp(message, kT0 + milliseconds(500));
    request_udp(message, kT0 + milliseconds(1500));
    EXPECT_EQ(sender_.sent.size(), 1u);  // not forked again
    ASSERT_EQ(upstream_.size(), 3u);
    EXPECT_EQ(upstream_[1], upstream_[0]);
    EXPECT_EQ(upstream_[2], upstream_[0]);
    EXPECT_EQ(proxy_->stats().completed_resent, 2u);
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    // Timer J (64*T1 after the final) ends the transaction: the same bytes
    // are a new request then.
    request_udp(message, kT0 + milliseconds(20) + seconds(32));
    EXPECT_EQ(sender_.sent.size(), 2u);
}

// RFC 6026 §7.1: after the 2xx, a retransmitted INVITE is absorbed (the
// 2xx retransmissions are the UAS's, forwarded by the edge).
TEST_F(HomeProxyTest, UdpInviteRetransmissionAfterTheTwoHundredIsAbsorbed) {
    add(kFlowA1, 1);
    const std::string invite = make_udp_request("INVITE", kAor, 1, "z9hG4bK-inv1");
    request_udp(invite, kT0);
    ASSERT_EQ(sender_.sent.size(), 1u);
    respond(response_to(sender_.sent[0].bytes, 180), kT0 + milliseconds(10));
    respond(response_to(sender_.sent[0].bytes, 200), kT0 + milliseconds(20));
    EXPECT_EQ(upstream_status_lines(),
              (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                                        "SIP/2.0 200 OK"}));
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    request_udp(invite, kT0 + milliseconds(500));
    EXPECT_EQ(sender_.sent.size(), 1u);  // no second fork
    EXPECT_EQ(upstream_.size(), 3u);     // and nothing sent back
    EXPECT_EQ(proxy_->stats().completed_absorbed, 1u);
    // The ACK of the 2xx is not ours to absorb, even with the INVITE's branch.
    EXPECT_FALSE(matches_ack(make_udp_request("ACK", kAor, 1, "z9hG4bK-inv1")));
    EXPECT_FALSE(matches_ack(make_udp_request("ACK", kAor, 1, "z9hG4bK-ack1")));
    // A CANCEL now is answered 200 and changes nothing (§9.2).
    request_udp(make_udp_request("CANCEL", kAor, 1, "z9hG4bK-inv1"), kT0 + milliseconds(600));
    ASSERT_EQ(upstream_.size(), 4u);
    EXPECT_EQ(first_line(upstream_[3]), "SIP/2.0 200 OK");
    EXPECT_EQ(field(upstream_[3], "CSeq"), "1 CANCEL");
    EXPECT_EQ(sender_.sent.size(), 1u);  // no CANCEL downstream
    // Timer L (64*T1) after the 2xx the transaction is gone.
    request_udp(invite, kT0 + milliseconds(20) + seconds(32));
    EXPECT_EQ(sender_.sent.size(), 2u);
}

// An INVITE's non-2xx keeps the slot until its ACK (Timer G resends it);
// after the ACK the slot goes and copies of the ACK and the INVITE are
// absorbed until Timer I (T4).
TEST_F(HomeProxyTest, UdpInviteNonTwoHundredKeepsItsSlotUntilTheAck) {
    add(kFlowA1, 1);
    const std::string invite = make_udp_request("INVITE", kAor, 1, "z9hG4bK-inv2");
    request_udp(invite, kT0);
    ASSERT_EQ(sender_.sent.size(), 1u);
    respond(response_to(sender_.sent[0].bytes, 486), kT0);
    ASSERT_EQ(first_line(upstream_.back()), "SIP/2.0 486 Busy Here");
    EXPECT_EQ(proxy_->live_call_count(), 1u);
    advance(kT0 + milliseconds(501));  // Timer G
    ASSERT_EQ(upstream_.size(), 3u);
    EXPECT_EQ(upstream_[2], upstream_[1]);
    const std::string ack = make_udp_request("ACK", kAor, 1, "z9hG4bK-inv2");
    EXPECT_TRUE(matches_ack(ack));
    request_udp(ack, kT0 + milliseconds(600));
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    EXPECT_EQ(proxy_->completed().count(), 1u);
    // Copies within Timer I (5 s) are absorbed.
    EXPECT_TRUE(matches_ack(ack));
    request_udp(ack, kT0 + seconds(1));
    request_udp(invite, kT0 + seconds(2));
    EXPECT_EQ(proxy_->stats().acks_absorbed, 2u);
    EXPECT_EQ(sender_.sent.size(), 2u);  // the INVITE and our ACK of the 486
    EXPECT_EQ(upstream_.size(), 3u);
    advance(kT0 + seconds(6));
    EXPECT_FALSE(matches_ack(ack));
}

// Over TCP nothing lingers: Timer J is zero and the client never retransmits.
TEST_F(HomeProxyTest, TcpCallerLeavesNothingInTheCompletedTable) {
    add(kFlowA1, 1);
    request(make_request("MESSAGE", kAor));
    respond(response_to(sender_.sent[0].bytes, 200));
    EXPECT_EQ(proxy_->live_call_count(), 0u);
    EXPECT_EQ(proxy_->completed().count(), 0u);
    EXPECT_EQ(proxy_->stats().completed_kept, 0u);
}

// §17.2.3: the method is part of the key. Another method on the branch of a
// released MESSAGE is a new request; on the branch of a live INVITE (a peer
// breaking §8.1.1.7) it is forked on its own and nothing breaks.
TEST_F(HomeProxyTest, SameBranchAnotherMethodIsANewRequest) {
    add(kFlowA1, 1);
    request_udp(make_udp_request("MESSAGE", kAor, 1, "z9hG4bK-same"), kT0);
    respond(response_to(sender_.sent[0].bytes, 200), kT0);
    request_udp(make_udp_request("OPTIONS", kAor, 2, "z9hG4bK-same"), kT0 + seconds(1));
    ASSERT_EQ(sender_.sent.size(), 2u);
    respond(response_to(sender_.sent[1].bytes, 200), kT0 + seconds(1));
    EXPECT_EQ(proxy_->live_call_count(), 0u);

    request_udp(make_udp_request("INVITE", kAor, 3, "z9hG4bK-live"), kT0 + seconds(2));
    ASSERT_EQ(sender_.sent.size(), 3u);
    request_udp(make_udp_request("INFO", kAor, 4, "z9hG4bK-live"), kT0 + seconds(2));
    EXPECT_EQ(sender_.sent.size(), 4u);
    EXPECT_EQ(proxy_->stats().key_reused, 1u);
    EXPECT_EQ(proxy_->live_call_count(), 2u);
    // The INVITE's own key still finds it.
    request_udp(make_udp_request("INVITE", kAor, 3, "z9hG4bK-live"), kT0 + seconds(3));
    EXPECT_EQ(sender_.sent.size(), 4u);
}

}  // namespace
}  // namespace fe::cluster
