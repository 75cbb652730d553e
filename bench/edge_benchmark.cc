// The edge's per-request work without I/O: the routing decision for a request
// whose Route holds our flow token (core/outbound/router.h, HMAC verify
// included), and the whole forwarding step SipWorker runs for it: parse,
// decide, received/rport, branch, our Via with the source flow's token,
// Record-Route, edit list gathered into send ranges (cluster/forwarder.h).
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "cluster/forwarder.h"
#include "core/outbound/edge.h"
#include "core/outbound/router.h"
#include "core/sip/edit.h"
#include "core/sip/message.h"
#include "core/syntax/via.h"
#include "core/token/flow_token.h"

namespace {

struct Fixture {
    fe::token::KeyRing ring;
    fe::token::Fields ua_flow;
    fe::token::Fields peer_flow;
    std::string token;
    std::string invite;
    std::array<uint16_t, 1> ports{5060};
    fe::outbound::EdgeIdentity me{.host = "192.0.2.10", .ports = ports};

    Fixture() {
        std::array<uint8_t, fe::token::kKeySize> key{};
        key.fill(3);
        ring = fe::token::KeyRing::from_random(1, key);
        ua_flow.node_id = 1;
        ua_flow.slot = 1234;
        ua_flow.generation = 77;
        ua_flow.transport = fe::Transport::kTcp;
        peer_flow.node_id = 1;
        peer_flow.worker_index = 1;
        peer_flow.slot = 9;
        peer_flow.generation = 5;
        peer_flow.transport = fe::Transport::kUdp;
        peer_flow.remote = *fe::Endpoint::parse("198.51.100.7:5060");
        std::array<char, fe::token::kTokenTextSizeMax> buf;
        auto m = fe::token::mint(ring, ua_flow, buf);
        token.assign(buf.data(), m.size);
        invite =
            "INVITE sip:alice@192.0.2.2:50123;transport=tcp SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-peer-77a1;rport\r\n"
            "Max-Forwards: 69\r\n"
            "Route: <sip:" + token + "@192.0.2.10:5060;transport=tcp;lr;ob>\r\n"
            "From: <sip:bob@example.com>;tag=9fxced76sl\r\n"
            "To: <sip:alice@example.com>\r\n"
            "Call-ID: 3848276298220188511@198.51.100.7\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:bob@198.51.100.7:5060>\r\n"
            "Content-Type: application/sdp\r\n"
            "Content-Length: 0\r\n\r\n";
    }
};

fe::outbound::RouterContext context_of(const Fixture& f) {
    return fe::outbound::RouterContext{.me = &f.me, .keys = &f.ring, .source = f.peer_flow,
                                       .roles = {}, .ack_matches_proxy = false};
}

// The routing decision alone: validation, the Route walk (HMAC verify), the
// dialog tests.
void BM_EdgeRouteRequest(benchmark::State& state) {
    Fixture f;
    fe::sip::Message message;
    if (message.parse(f.invite) != fe::sip::ParseError::kOk) {
        state.SkipWithError("parse");
        return;
    }
    const fe::outbound::RouterContext ctx = context_of(f);
    for (auto _ : state) {
        const fe::outbound::RequestRoute r = fe::outbound::route_request(message, ctx);
        benchmark::DoNotOptimize(r.kind);
    }
}
BENCHMARK(BM_EdgeRouteRequest);

// What the worker does for an INVITE routed by our token, minus the send:
// parse, decide, mint the Via's token, write our Via and the token
// Record-Route, and gather the edits into send ranges.
void BM_EdgeForwardRoutedInvite(benchmark::State& state) {
    Fixture f;
    fe::cluster::Forwarder forwarder;
    const fe::outbound::RouterContext ctx = context_of(f);
    for (auto _ : state) {
        fe::sip::Message message;
        if (message.parse(f.invite) != fe::sip::ParseError::kOk) {
            state.SkipWithError("parse");
            return;
        }
        const fe::outbound::RequestRoute r = fe::outbound::route_request(message, ctx);
        std::array<char, fe::token::kTokenTextSizeMax> via_token;
        const auto minted = fe::token::mint(f.ring, f.peer_flow, via_token);
        fe::syntax::Via top;
        (void)fe::syntax::parse_via(*message.list(fe::sip::HeaderId::kVia).begin(), top);
        const fe::outbound::BranchId branch =
            fe::outbound::write_branch(message, top.branch, fe::outbound::BranchKind::kStateless);
        char via[fe::outbound::kEdgeViaValueSizeMax];
        const size_t vn = fe::outbound::write_via_value(
            {"192.0.2.10", 5060, fe::Transport::kTcp}, branch.view(),
            std::string_view(via_token.data(), minted.size), via, sizeof(via));
        char rr[fe::outbound::kFlowUriValueSizeMax];
        const size_t rn = fe::outbound::write_flow_uri_value(
            r.flow_token, {"192.0.2.10", 5060, fe::Transport::kTcp},
            fe::outbound::ObParam::kOmit, rr, sizeof(rr));
        const fe::outbound::ViaReceived received =
            fe::outbound::via_received_of(message, f.peer_flow.remote);
        fe::cluster::ForwardPlan plan{.edits = &r.edits, .via = std::string_view(via, vn)};
        plan.via_received = received.edit();
        plan.record_route_target = std::string_view(rr, rn);
        const auto parts = forwarder.request(message, plan);
        benchmark::DoNotOptimize(parts.size());
    }
}
BENCHMARK(BM_EdgeForwardRoutedInvite);

}  // namespace
