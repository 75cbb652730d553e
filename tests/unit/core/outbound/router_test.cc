// Checks the node's routing decision (core/outbound/router.h), one test per
// RFC 5626 §5.3 case and per RFC 3261 §16 forwarding case: each parses a
// request built from header lines, runs route_request() with a chosen source
// flow and role mix, and asserts the action and every edit it asks for.
// Responses: route_response() for our stateless Via, a proxy branch, a first-hop
// REGISTER 2xx (Flow-Timer) and Vias that are not ours.
#include "core/outbound/router.h"

#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/outbound/branch_id.h"

namespace fe::outbound {
namespace {

struct Msg {
    std::string bytes;
    sip::Message message;
};

constexpr std::string_view kUaVia = "Via: SIP/2.0/UDP 192.0.2.2:5062;branch=z9hG4bK-ua1;rport";
constexpr std::string_view kProxyVia = "Via: SIP/2.0/TCP 198.51.100.7;branch=z9hG4bK-p1";
constexpr std::string_view kTo = "To: <sip:bob@example.com>";
constexpr std::string_view kToTagged = "To: <sip:bob@example.com>;tag=callee";

std::unique_ptr<Msg> make(std::string_view start_line, std::initializer_list<std::string> lines,
                          std::string_view cseq = "1 INVITE") {
    auto r = std::make_unique<Msg>();
    r->bytes = std::string(start_line) + "\r\n";
    for (const std::string& line : lines) {
        r->bytes += line + "\r\n";
    }
    r->bytes += "From: <sip:alice@example.com>;tag=f1\r\nCall-ID: c1@h\r\nCSeq: " +
                std::string(cseq) + "\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(r->message.parse(r->bytes), sip::ParseError::kOk) << r->bytes;
    return r;
}

class RouterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::array<uint8_t, token::kKeySize> key{};
        key.fill(7);
        ring_ = token::KeyRing::from_random(1, key);
        callee_.node_id = 1;
        callee_.worker_index = 1;
        callee_.slot = 5;
        callee_.generation = 9;
        callee_.transport = Transport::kTcp;
        caller_.node_id = 1;
        caller_.transport = Transport::kUdp;
        caller_.remote = *Endpoint::parse("192.0.2.2:5062");
        caller_.slot = 3;
        caller_.generation = 4;
    }

    std::string mint(const token::Fields& f) const {
        std::array<char, token::kTokenTextSizeMax> buf;
        const token::MintResult m = token::mint(ring_, f, buf);
        EXPECT_EQ(m.status, token::MintStatus::kOk);
        return std::string(buf.data(), m.size);
    }
    static std::string route(const std::string& user_host, std::string_view params = ";lr") {
        return "<sip:" + user_host + ";transport=tcp" + std::string(params) + ">";
    }
    std::string ours(const token::Fields& f, std::string_view params = ";lr") const {
        return route(mint(f) + "@192.0.2.10:5060", params);
    }

    RequestRoute decide(const Msg& m, const token::Fields& source, Roles roles = {},
                        bool ack_matches_proxy = false) const {
        const RouterContext ctx{.me = &me_, .keys = &ring_, .source = source, .roles = roles,
                                .ack_matches_proxy = ack_matches_proxy};
        return route_request(m.message, ctx);
    }

    token::KeyRing ring_;
    token::Fields callee_;  // a TCP flow of worker 1
    token::Fields caller_;  // a UDP flow
    std::array<uint16_t, 2> ports_{5060, 5061};
    std::vector<std::string> aliases_{"edge.example.net"};
    std::vector<std::string> domains_{"example.com"};
    EdgeIdentity me_{.host = "192.0.2.10", .ports = ports_, .aliases = aliases_,
                     .domains = domains_};
};

// ---- RFC 5626 §5.3: requests routed by our tokens ----

// covers OB-EDGE-12: an incoming request goes down the token's flow, our
// Route value removed; no Record-Route for a non-dialog request.
TEST_F(RouterTest, IncomingTokenDeliversDownTheFlow) {
    auto m = make("MESSAGE sip:bob@192.0.2.1 SIP/2.0",
                  {std::string(kUaVia), "Route: " + ours(callee_), std::string(kTo)}, "1 MESSAGE");
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kDeliverToFlow);
    EXPECT_EQ(r.flow, callee_);
    EXPECT_EQ(r.flow_token, mint(callee_));
    EXPECT_EQ(r.edits.route_values_removed, 1);
    EXPECT_FALSE(r.edits.record_route_target);
    EXPECT_EQ(r.edits.max_forwards.verdict, MaxForwardsVerdict::kAbsent);
}

// covers OB-EDGE-11, OB-OBP-03: a dialog-forming request whose Route had ob
// is Record-Routed with the token (the caller edits it without ob).
TEST_F(RouterTest, IncomingDialogFormingWithObRecordRoutesTheToken) {
    auto m = make("INVITE sip:bob@192.0.2.1 SIP/2.0",
                  {std::string(kProxyVia), std::string(kUaVia), "Route: " + ours(callee_, ";lr;ob"),
                   std::string(kTo)});
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kDeliverToFlow);
    EXPECT_TRUE(r.edits.record_route_target);
    // Two Vias: not from its UA; its Contact has no ob: no source Record-Route.
    EXPECT_FALSE(r.edits.record_route_source);
    // Without ob: no Record-Route.
    auto plain = make("INVITE sip:bob@192.0.2.1 SIP/2.0",
                      {std::string(kProxyVia), "Route: " + ours(callee_), std::string(kTo)});
    EXPECT_FALSE(decide(*plain, caller_).edits.record_route_target);
    // In dialog: no Record-Route either (a re-INVITE keeps the route set).
    auto reinvite = make("INVITE sip:bob@192.0.2.1 SIP/2.0",
                         {std::string(kProxyVia), "Route: " + ours(callee_, ";lr;ob"),
                          std::string(kToTagged)});
    EXPECT_FALSE(decide(*reinvite, caller_).edits.record_route_target);
}

// covers OB-EDGE-10, OB-EDGE-13: the caller's own token is outgoing: removed,
// and the walk goes on to the callee's token Record-Route below it (both UAs
// behind this node: the BYE's route set is [caller token, callee token]).
TEST_F(RouterTest, OutgoingTokenIsRemovedAndTheWalkGoesOn) {
    auto bye = make("BYE sip:bob@192.0.2.1:5062;transport=tcp SIP/2.0",
                    {std::string(kUaVia), "Route: " + ours(caller_) + ", " + ours(callee_),
                     std::string(kToTagged)},
                    "2 BYE");
    const RequestRoute r = decide(*bye, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kDeliverToFlow);
    EXPECT_EQ(r.flow, callee_);
    EXPECT_EQ(r.edits.route_values_removed, 2);
}

// covers OB-EDGE-10: outgoing, then another element's Route: loose routing
// to it (RFC 3261 §16.4, §16.6 step 6).
TEST_F(RouterTest, OutgoingThenForeignRouteIsLooseRouted) {
    auto bye = make("BYE sip:carol@198.51.100.9 SIP/2.0",
                    {std::string(kUaVia),
                     "Route: " + ours(caller_) + ", <sip:198.51.100.50:5070;lr>",
                     std::string(kToTagged)},
                    "2 BYE");
    const RequestRoute r = decide(*bye, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kForwardToUri);
    EXPECT_EQ(r.target_uri, "sip:198.51.100.50:5070;lr");
    EXPECT_EQ(r.edits.route_values_removed, 1);
}

// covers OB-EDGE-09: our URI without a token is consumed and routing goes on
// normally (here: no Route left, out of dialog: the proxy).
TEST_F(RouterTest, OurBareRouteIsConsumed) {
    auto m = make("INVITE sip:bob@example.com SIP/2.0",
                  {std::string(kProxyVia), std::string(kUaVia), "Route: <sip:192.0.2.10:5061;lr>",
                   "Route: <sip:edge.example.net;lr>", std::string(kTo)});
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kToProxy);
    EXPECT_EQ(r.edits.route_values_removed, 2);
}

// covers OB-EDGE-14, OB-EDGE-08, OB-SEC-04
TEST_F(RouterTest, TamperedTokenIsForbidden) {
    std::string token = mint(callee_);
    token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
    auto m = make("MESSAGE sip:bob@192.0.2.1 SIP/2.0",
                  {std::string(kUaVia), "Route: " + route(token + "@192.0.2.10:5060"),
                   std::string(kTo)},
                  "1 MESSAGE");
    const RequestRoute r = decide(*m, caller_);
    EXPECT_EQ(r.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(r.status, 403);
}

// covers OB-EDGE-20: a Request-URI naming a flow is no reason to route onto it.
TEST_F(RouterTest, TokenInRequestUriRoutesNothing) {
    auto m = make("MESSAGE sip:" + mint(callee_) + "@192.0.2.10 SIP/2.0",
                  {std::string(kUaVia), std::string(kTo)}, "1 MESSAGE");
    EXPECT_EQ(decide(*m, caller_).kind, RequestRouteKind::kToProxy);
}

// A token of another node of the cluster, at that node's address: routed to
// it like any other element (the relay of issue 12 will take it from there).
TEST_F(RouterTest, AnotherNodesTokenIsLooseRoutedToThatNode) {
    token::Fields other = callee_;
    other.node_id = 2;
    auto m = make("MESSAGE sip:bob@192.0.2.1 SIP/2.0",
                  {std::string(kUaVia), "Route: " + route(mint(other) + "@192.0.2.11:5060"),
                   std::string(kTo)},
                  "1 MESSAGE");
    const RequestRoute r = decide(*m, caller_);
    EXPECT_EQ(r.kind, RequestRouteKind::kForwardToUri);
    EXPECT_EQ(r.edits.route_values_removed, 0);
}

// covers OB-EDGE-13: an outgoing dialog-forming request whose Contact has ob
// is Record-Routed with a token of its source flow; so is one straight from
// its UA (one Via), which keeps a NATed UA reachable mid-dialog.
TEST_F(RouterTest, OutgoingDialogFormingRecordRoutesTheSource) {
    auto ob = make("INVITE sip:carol@example.com SIP/2.0",
                   {std::string(kProxyVia), std::string(kUaVia), std::string(kTo),
                    "Contact: <sip:alice@192.0.2.2:5062;ob>"});
    EXPECT_TRUE(decide(*ob, caller_).edits.record_route_source);
    auto first_hop = make("INVITE sip:carol@example.com SIP/2.0",
                          {std::string(kUaVia), std::string(kTo),
                           "Contact: <sip:alice@192.0.2.2:5062>"});
    EXPECT_TRUE(decide(*first_hop, caller_).edits.record_route_source);
    auto relayed = make("INVITE sip:carol@example.com SIP/2.0",
                        {std::string(kProxyVia), std::string(kUaVia), std::string(kTo),
                         "Contact: <sip:alice@192.0.2.2:5062>"});
    EXPECT_FALSE(decide(*relayed, caller_).edits.record_route_source);
    auto message = make("MESSAGE sip:carol@example.com SIP/2.0",
                        {std::string(kUaVia), std::string(kTo),
                         "Contact: <sip:alice@192.0.2.2:5062;ob>"},
                        "1 MESSAGE");
    EXPECT_FALSE(decide(*message, caller_).edits.record_route_source);
    // Without the edge role nobody Record-Routes.
    EXPECT_FALSE(decide(*ob, caller_, Roles{.edge = false}).edits.record_route_source);
}

// ---- RFC 3261 §16: in-dialog and out-of-dialog requests ----

// Issue 8 step 3: in-dialog requests are never AOR lookups.
TEST_F(RouterTest, InDialogRequestGoesToItsRequestUri) {
    auto bye = make("BYE sip:bob@192.0.2.1:5062 SIP/2.0",
                    {std::string(kUaVia), std::string(kToTagged)}, "2 BYE");
    const RequestRoute r = decide(*bye, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kForwardToUri);
    EXPECT_EQ(r.target_uri, "sip:bob@192.0.2.1:5062");
    auto ack = make("ACK sip:bob@192.0.2.1:5062 SIP/2.0",
                    {std::string(kUaVia), std::string(kToTagged)}, "1 ACK");
    EXPECT_EQ(decide(*ack, caller_).kind, RequestRouteKind::kForwardToUri);
}

TEST_F(RouterTest, InDialogRequestForThisNodeHasNowhereToGo) {
    auto bye = make("BYE sip:bob@192.0.2.10:5060 SIP/2.0",
                    {std::string(kUaVia), std::string(kToTagged)}, "2 BYE");
    const RequestRoute r = decide(*bye, caller_);
    EXPECT_EQ(r.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(r.status, 404);
    auto ack = make("ACK sip:bob@192.0.2.10:5060 SIP/2.0",
                    {std::string(kUaVia), std::string(kToTagged)}, "1 ACK");
    EXPECT_EQ(decide(*ack, caller_).kind, RequestRouteKind::kDrop);
}

// The ACK of a non-2xx the proxy answered is the proxy's (hop by hop).
TEST_F(RouterTest, AckMatchedByTheProxyGoesToIt) {
    auto ack = make("ACK sip:bob@example.com SIP/2.0",
                    {std::string(kUaVia), std::string(kToTagged)}, "1 ACK");
    EXPECT_EQ(decide(*ack, caller_, Roles{}, /*ack_matches_proxy=*/true).kind,
              RequestRouteKind::kToProxy);
    // Not matched: in a dialog, addressed to a domain of ours, nothing to do.
    EXPECT_EQ(decide(*ack, caller_, Roles{}, false).kind, RequestRouteKind::kDrop);
}

TEST_F(RouterTest, OutOfDialogByRole) {
    auto m = make("INVITE sip:bob@example.com SIP/2.0", {std::string(kUaVia), std::string(kTo)});
    EXPECT_EQ(decide(*m, caller_).kind, RequestRouteKind::kToProxy);
    // Pure edge: the next hop, even for a name it cannot resolve.
    const Roles edge{.edge = true, .registrar = false, .proxy = false, .has_next_hop = true};
    EXPECT_EQ(decide(*m, caller_, edge).kind, RequestRouteKind::kForwardNextHop);
    // ... but an IP literal is used as is.
    auto literal = make("INVITE sip:bob@198.51.100.9 SIP/2.0",
                        {std::string(kUaVia), std::string(kTo)});
    EXPECT_EQ(decide(*literal, caller_, edge).kind, RequestRouteKind::kForwardToUri);
    // Registrar alone: a request for this node has no proxy to take it.
    const Roles registrar{.edge = false, .registrar = true, .proxy = false};
    auto for_us = make("INVITE sip:bob@192.0.2.10 SIP/2.0", {std::string(kUaVia), std::string(kTo)});
    const RequestRoute r = decide(*for_us, caller_, registrar);
    EXPECT_EQ(r.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(r.status, 404);
}

// §16.3 step 3: Max-Forwards before any forward.
TEST_F(RouterTest, MaxForwardsIsCheckedBeforeForwarding) {
    auto zero = make("MESSAGE sip:bob@example.com SIP/2.0",
                     {std::string(kUaVia), std::string(kTo), "Max-Forwards: 0"}, "1 MESSAGE");
    const RequestRoute r = decide(*zero, caller_);
    EXPECT_EQ(r.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(r.status, 483);
    auto junk = make("MESSAGE sip:bob@example.com SIP/2.0",
                     {std::string(kUaVia), std::string(kTo), "Max-Forwards: x"}, "1 MESSAGE");
    EXPECT_EQ(decide(*junk, caller_).status, 400);
    auto ten = make("MESSAGE sip:bob@example.com SIP/2.0",
                    {std::string(kUaVia), std::string(kTo), "Max-Forwards: 10"}, "1 MESSAGE");
    const RequestRoute ok = decide(*ten, caller_);
    EXPECT_EQ(ok.edits.max_forwards.verdict, MaxForwardsVerdict::kForward);
    EXPECT_EQ(ok.edits.max_forwards.next_value, 9u);
}

// RFC 4475 §3.1.2.x / §3.3.x: bad input gets the status a proxy owes it.
TEST_F(RouterTest, BadInputGetsItsStatus) {
    auto scheme = make("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
                       {std::string(kUaVia), std::string(kTo)}, "1 OPTIONS");
    EXPECT_EQ(decide(*scheme, caller_).status, 416);
    auto require = make("OPTIONS sip:bob@example.com SIP/2.0",
                        {std::string(kUaVia), std::string(kTo), "Proxy-Require: foo, bar"},
                        "1 OPTIONS");
    const RequestRoute r = decide(*require, caller_);
    EXPECT_EQ(r.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(r.status, 420);
    auto quote = make("INVITE sip:bob@example.com SIP/2.0",
                      {std::string(kUaVia), "To: \"Bob <sip:bob@example.com>"});
    const RequestRoute q = decide(*quote, caller_);
    EXPECT_EQ(q.status, 400);
    EXPECT_EQ(q.reason, "Bad To");
    auto bad_route = make("INVITE sip:bob@example.com SIP/2.0",
                          {std::string(kUaVia), "Route: <sip:tok@192.0.2.10:99999;lr>",
                           std::string(kTo)});
    const RequestRoute br = decide(*bad_route, caller_);
    EXPECT_EQ(br.status, 400);
    EXPECT_EQ(br.syntax_error, syntax::Error::kPortOutOfRange);
}

// §16.3 step 4 / RFC 3261 §16.6 step 8: a request that comes back unchanged.
TEST_F(RouterTest, LoopIsRefused) {
    auto first = make("MESSAGE sip:bob@example.com SIP/2.0", {std::string(kUaVia), std::string(kTo)},
                      "1 MESSAGE");
    const BranchId ours = write_branch(first->message, "z9hG4bK-ua1", BranchKind::kStateless);
    auto looped = make("MESSAGE sip:bob@example.com SIP/2.0",
                       {"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" + std::string(ours.view()),
                        std::string(kUaVia), std::string(kTo)},
                       "1 MESSAGE");
    EXPECT_EQ(decide(*looped, caller_).status, 482);
}

// ---- REGISTER (RFC 5626 §5.1, RFC 3327) ----

constexpr std::string_view kObContact =
    "Contact: <sip:alice@192.0.2.2:5062;ob>;reg-id=1;"
    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000000000001>\"";

// covers OB-EDGE-01, OB-EDGE-06: first hop with reg-id: Path with ob, to the
// local registrar.
TEST_F(RouterTest, RegisterFromItsUaGetsPathWithOb) {
    auto m = make("REGISTER sip:example.com SIP/2.0",
                  {std::string(kUaVia), std::string(kTo), std::string(kObContact)}, "1 REGISTER");
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kToRegistrar);
    EXPECT_TRUE(r.first_hop);
    EXPECT_TRUE(r.edits.path);
    EXPECT_TRUE(r.edits.path_ob);
}

// covers OB-EDGE-07, OB-REG-03: behind another edge (two Vias) we add no Path
// of our own, so the registrar sees the first edge's ob.
TEST_F(RouterTest, RegisterThroughAnotherEdgeGetsNoPath) {
    auto m = make("REGISTER sip:example.com SIP/2.0",
                  {std::string(kProxyVia), std::string(kUaVia), std::string(kTo),
                   "Path: <sip:T@198.51.100.7;lr;ob>", std::string(kObContact)},
                  "1 REGISTER");
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kToRegistrar);
    EXPECT_FALSE(r.first_hop);
    EXPECT_FALSE(r.edits.path);
}

// covers OB-DEP-04: forwarding a reg-id REGISTER needs the UA's Supported: path.
TEST_F(RouterTest, PureEdgeForwardsRegisterWithPathOrRefuses421) {
    const Roles edge{.edge = true, .registrar = false, .proxy = false, .has_next_hop = true};
    auto without = make("REGISTER sip:example.com SIP/2.0",
                        {std::string(kUaVia), std::string(kTo), std::string(kObContact)},
                        "1 REGISTER");
    const RequestRoute refused = decide(*without, caller_, edge);
    EXPECT_EQ(refused.kind, RequestRouteKind::kRespond);
    EXPECT_EQ(refused.status, 421);
    auto with = make("REGISTER sip:example.com SIP/2.0",
                     {std::string(kUaVia), std::string(kTo), std::string(kObContact),
                      "Supported: path, outbound"},
                     "1 REGISTER");
    const RequestRoute r = decide(*with, caller_, edge);
    ASSERT_EQ(r.kind, RequestRouteKind::kForwardNextHop);
    EXPECT_TRUE(r.edits.path);
    EXPECT_TRUE(r.edits.path_ob);
    EXPECT_TRUE(r.edits.require_path);
    // A plain REGISTER gets no Path (OB-DEP-03).
    auto plain = make("REGISTER sip:example.com SIP/2.0",
                      {std::string(kUaVia), std::string(kTo),
                       "Contact: <sip:alice@192.0.2.2:5062>"},
                      "1 REGISTER");
    const RequestRoute p = decide(*plain, caller_, edge);
    ASSERT_EQ(p.kind, RequestRouteKind::kForwardNextHop);
    EXPECT_FALSE(p.edits.path);
}

// covers OB-SEC-02: a Path copied from another user's registration (one of
// our tokens) never reaches the registrar, with or without reg-id.
TEST_F(RouterTest, RegisterWithOurTokenInItsPathIsForged) {
    for (const std::string& contact :
         {std::string(kObContact), std::string("Contact: <sip:mallory@192.0.2.2:5062>")}) {
        auto m = make("REGISTER sip:example.com SIP/2.0",
                      {std::string(kUaVia), "To: <sip:mallory@example.com>", contact,
                       "Path: " + ours(callee_, ";lr;ob")},
                      "1 REGISTER");
        const RequestRoute r = decide(*m, caller_);
        EXPECT_EQ(r.kind, RequestRouteKind::kRespond) << contact;
        EXPECT_EQ(r.status, 403);
        EXPECT_EQ(r.reason, "Forged Path");
    }
    // Another node's token straight from a UA is forged too; through that
    // node (two Vias) it is that node's Path.
    token::Fields other = callee_;
    other.node_id = 2;
    const std::string path = "Path: " + route(mint(other) + "@192.0.2.11:5060", ";lr;ob");
    auto direct = make("REGISTER sip:example.com SIP/2.0",
                       {std::string(kUaVia), std::string(kTo), path, std::string(kObContact)},
                       "1 REGISTER");
    EXPECT_EQ(decide(*direct, caller_).status, 403);
    auto relayed = make("REGISTER sip:example.com SIP/2.0",
                        {std::string(kProxyVia), std::string(kUaVia), std::string(kTo), path,
                         std::string(kObContact)},
                        "1 REGISTER");
    EXPECT_EQ(decide(*relayed, caller_).kind, RequestRouteKind::kToRegistrar);
}

TEST_F(RouterTest, RegisterForAForeignDomainIsForwarded) {
    auto m = make("REGISTER sip:198.51.100.9 SIP/2.0",
                  {std::string(kUaVia), "To: <sip:bob@198.51.100.9>",
                   "Contact: <sip:bob@192.0.2.2:5062>"},
                  "1 REGISTER");
    const RequestRoute r = decide(*m, caller_);
    ASSERT_EQ(r.kind, RequestRouteKind::kForwardToUri);
    EXPECT_EQ(r.target_uri, "sip:198.51.100.9");
    auto bad_contact = make("REGISTER sip:example.com SIP/2.0",
                            {std::string(kUaVia), std::string(kTo), "Contact: <sip:a@b:99999>"},
                            "1 REGISTER");
    EXPECT_EQ(decide(*bad_contact, caller_).status, 400);
}

// ---- Responses ----

class ResponseRouterTest : public RouterTest {
  protected:
    std::unique_ptr<Msg> response(std::string_view via, std::string_view cseq = "1 INVITE",
                                  std::initializer_list<std::string> more = {}) {
        auto r = std::make_unique<Msg>();
        r->bytes = "SIP/2.0 200 OK\r\n" + std::string(via) + "\r\n" + std::string(kUaVia) +
                   "\r\nFrom: <sip:alice@example.com>;tag=f1\r\n" + std::string(kToTagged) +
                   "\r\nCall-ID: c1@h\r\nCSeq: " + std::string(cseq) + "\r\n";
        for (const std::string& line : more) {
            r->bytes += line + "\r\n";
        }
        r->bytes += "Content-Length: 0\r\n\r\n";
        EXPECT_EQ(r->message.parse(r->bytes), sip::ParseError::kOk) << r->bytes;
        return r;
    }
    std::string our_via(BranchKind kind, const std::string& fl, uint8_t worker = 0) const {
        const BranchId id = write_branch_id({.kind = kind, .worker_index = worker, .loop = 1});
        return "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=" + std::string(id.view()) +
               (fl.empty() ? "" : ";fl=" + fl);
    }
};

TEST_F(ResponseRouterTest, StatelessViaGoesBackOverItsFlow) {
    auto m = response(our_via(BranchKind::kStateless, mint(caller_)));
    const ResponseRoute r = route_response(m->message, me_, ring_);
    ASSERT_EQ(r.kind, ResponseRouteKind::kToFlow);
    EXPECT_EQ(r.flow, caller_);
    EXPECT_FALSE(r.flow_timer);
}

// covers OB-FT-01: only a REGISTER forwarded by the UA's first hop, and only
// its 2xx with Require: outbound, gets Flow-Timer here.
TEST_F(ResponseRouterTest, FlowTimerOnlyForTheFirstHopsRegister) {
    auto first = response(our_via(BranchKind::kStatelessRegister, mint(caller_)), "1 REGISTER",
                          {"Require: outbound"});
    EXPECT_TRUE(route_response(first->message, me_, ring_).flow_timer);
    auto not_first = response(our_via(BranchKind::kStateless, mint(caller_)), "1 REGISTER",
                              {"Require: outbound"});
    EXPECT_FALSE(route_response(not_first->message, me_, ring_).flow_timer);
    auto no_outbound = response(our_via(BranchKind::kStatelessRegister, mint(caller_)),
                                "1 REGISTER");
    EXPECT_FALSE(route_response(no_outbound->message, me_, ring_).flow_timer);
}

TEST_F(ResponseRouterTest, ProxyBranchGoesToItsWorkerWithTheCallersFlow) {
    auto m = response(our_via(BranchKind::kProxy, mint(caller_), 1));
    const ResponseRoute r = route_response(m->message, me_, ring_);
    ASSERT_EQ(r.kind, ResponseRouteKind::kToProxy);
    EXPECT_EQ(r.branch.worker_index, 1);
    EXPECT_TRUE(r.has_flow);
    EXPECT_EQ(r.flow, caller_);
}

TEST_F(ResponseRouterTest, WhatIsNotOursIsDropped) {
    auto foreign = response("Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-x");
    EXPECT_EQ(route_response(foreign->message, me_, ring_).drop, ResponseDrop::kNotOurs);
    // Our branch at another address is not ours either.
    const BranchId id = write_branch_id({.kind = BranchKind::kStateless});
    auto elsewhere = response("Via: SIP/2.0/UDP 198.51.100.7;branch=" + std::string(id.view()) +
                              ";fl=" + mint(caller_));
    EXPECT_EQ(route_response(elsewhere->message, me_, ring_).drop, ResponseDrop::kNotOurs);
    auto forged = response(our_via(BranchKind::kStateless, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    EXPECT_EQ(route_response(forged->message, me_, ring_).drop, ResponseDrop::kBadToken);
    auto no_fl = response(our_via(BranchKind::kStateless, ""));
    EXPECT_EQ(route_response(no_fl->message, me_, ring_).drop, ResponseDrop::kBadToken);
}

// ---- Names of this node: Request-URI port rule (issue 8 point 4) ----

TEST_F(RouterTest, AorKeyDropsOurOwnPort) {
    char buf[256];
    std::string_view key;
    syntax::Uri uri;
    ASSERT_EQ(syntax::parse_uri("sip:bob@192.0.2.10:5060", uri), syntax::Error::kOk);
    ASSERT_EQ(write_local_aor_key(uri, me_, buf, sizeof(buf), key), syntax::Error::kOk);
    EXPECT_EQ(key, "sip:bob@192.0.2.10");
    ASSERT_EQ(syntax::parse_uri("sip:bob@example.com:5061", uri), syntax::Error::kOk);
    ASSERT_EQ(write_local_aor_key(uri, me_, buf, sizeof(buf), key), syntax::Error::kOk);
    EXPECT_EQ(key, "sip:bob@example.com");
    ASSERT_EQ(syntax::parse_uri("sip:bob@edge.example.net:5060", uri), syntax::Error::kOk);
    ASSERT_EQ(write_local_aor_key(uri, me_, buf, sizeof(buf), key), syntax::Error::kOk);
    EXPECT_EQ(key, "sip:bob@edge.example.net");
    // Another port, or another host, keeps it.
    ASSERT_EQ(syntax::parse_uri("sip:bob@192.0.2.10:5090", uri), syntax::Error::kOk);
    ASSERT_EQ(write_local_aor_key(uri, me_, buf, sizeof(buf), key), syntax::Error::kOk);
    EXPECT_EQ(key, "sip:bob@192.0.2.10:5090");
    ASSERT_EQ(syntax::parse_uri("sip:bob@198.51.100.9:5060", uri), syntax::Error::kOk);
    ASSERT_EQ(write_local_aor_key(uri, me_, buf, sizeof(buf), key), syntax::Error::kOk);
    EXPECT_EQ(key, "sip:bob@198.51.100.9:5060");
}

}  // namespace
}  // namespace fe::outbound
