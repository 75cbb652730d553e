// The edge's per-request work without I/O (core/outbound/edge.h): classifying
// a request whose Route holds our flow token (HMAC verify included), and the
// whole forwarding step SipWorker runs for it: parse, classify, Max-Forwards,
// loop check, received/rport, branch, our Via with the source flow's token,
// Record-Route, edit list gathered into send ranges.
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "core/outbound/edge.h"
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

void BM_EdgeClassifyRoute(benchmark::State& state) {
    Fixture f;
    fe::sip::Message message;
    if (message.parse(f.invite) != fe::sip::ParseError::kOk) {
        state.SkipWithError("parse");
        return;
    }
    for (auto _ : state) {
        fe::outbound::RouteDecision d = fe::outbound::classify_route(message, f.me, f.ring, f.peer_flow);
        benchmark::DoNotOptimize(d.kind);
    }
}
BENCHMARK(BM_EdgeClassifyRoute);

void BM_EdgeForwardRoutedInvite(benchmark::State& state) {
    Fixture f;
    fe::sip::EditArena arena;
    for (auto _ : state) {
        fe::sip::Message message;
        if (message.parse(f.invite) != fe::sip::ParseError::kOk) {
            state.SkipWithError("parse");
            return;
        }
        fe::outbound::RouteDecision d =
            fe::outbound::classify_route(message, f.me, f.ring, f.peer_flow);
        fe::outbound::MaxForwards mf = fe::outbound::check_max_forwards(message);
        fe::outbound::LoopResult loop = fe::outbound::detect_loop(message, f.me);
        benchmark::DoNotOptimize(loop.verdict);
        std::array<char, fe::token::kTokenTextSizeMax> via_token;
        auto minted = fe::token::mint(f.ring, f.peer_flow, via_token);
        arena.reset();
        fe::sip::EditList edits(message, arena);
        const std::string_view top_value = *message.list(fe::sip::HeaderId::kVia).begin();
        fe::syntax::Via top;
        (void)fe::syntax::parse_via(top_value, top);
        char received[fe::outbound::kViaReceivedSizeMax];
        size_t n = fe::outbound::write_via_received(top, f.peer_flow.remote, received,
                                                    sizeof(received));
        (void)edits.insert_after(top_value, std::string_view(received, n));
        (void)edits.remove_first_value(fe::sip::HeaderId::kRoute);
        (void)edits.replace_value(message.field(message.first_index(fe::sip::HeaderId::kMaxForwards)),
                                  mf.next_value);
        char branch[fe::outbound::kBranchSizeMax];
        size_t bn = fe::outbound::write_branch(message, top.branch, branch, sizeof(branch));
        char via[fe::outbound::kEdgeViaValueSizeMax];
        size_t vn = fe::outbound::write_via_value({"192.0.2.10", 5060, fe::Transport::kTcp},
                                                  std::string_view(branch, bn),
                                                  std::string_view(via_token.data(), minted.size),
                                                  via, sizeof(via));
        (void)edits.insert_header_before(fe::sip::HeaderId::kVia, "Via", std::string_view(via, vn));
        char rr[fe::outbound::kFlowUriValueSizeMax];
        size_t rn = fe::outbound::write_flow_uri_value(d.token, {"192.0.2.10", 5060, fe::Transport::kTcp},
                                                       fe::outbound::ObParam::kOmit, rr, sizeof(rr));
        (void)edits.insert_header_before(fe::sip::HeaderId::kRecordRoute, "Record-Route",
                                         std::string_view(rr, rn));
        fe::sip::ConstBuffer ranges[fe::sip::kEditRangeCountMax];
        size_t count = edits.gather(ranges, std::size(ranges));
        benchmark::DoNotOptimize(count);
    }
}
BENCHMARK(BM_EdgeForwardRoutedInvite);

}  // namespace
