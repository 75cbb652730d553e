// Feeds arbitrary bytes to the node's routing decision (core/outbound/
// router.h) as a request or a response arriving on one of a few flows, under
// one of the role mixes, and checks its contracts: a refusal is a 4xx-6xx; a
// delivery names a flow its token verifies to; a forward to a URI names one;
// never more of our Route values removed than the walk allows; Path and ob
// only on a REGISTER from its first hop; a response routed to a flow carries
// a verified token. The first byte picks the source flow and roles.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/assert.h"
#include "core/outbound/router.h"
#include "core/sip/message.h"

namespace {

struct World {
    fe::token::KeyRing keys;
    std::array<fe::token::Fields, 3> sources{};
    std::array<uint16_t, 2> ports{5060, 5061};
    std::vector<std::string> aliases{"edge.example.net"};
    std::vector<std::string> domains{"example.com"};
    fe::outbound::EdgeIdentity me{.host = "192.0.2.10", .ports = ports, .aliases = aliases,
                                  .domains = domains};

    World() {
        std::array<uint8_t, fe::token::kKeySize> key{};
        key.fill(9);
        keys = fe::token::KeyRing::from_random(1, key);
        sources[0].node_id = 1;
        sources[0].transport = fe::Transport::kUdp;
        sources[0].remote = *fe::Endpoint::parse("192.0.2.2:5062");
        sources[1].node_id = 1;
        sources[1].worker_index = 1;
        sources[1].slot = 5;
        sources[1].generation = 9;
        sources[1].transport = fe::Transport::kTcp;
        sources[2] = sources[1];
        sources[2].node_id = 2;
    }
};

void check_request(const World& w, const fe::sip::Message& m, uint8_t pick) {
    const fe::outbound::Roles roles{.edge = (pick & 0x04) == 0,
                                    .registrar = (pick & 0x08) == 0,
                                    .proxy = (pick & 0x10) == 0,
                                    .has_next_hop = (pick & 0x20) != 0};
    const fe::outbound::RouterContext ctx{.me = &w.me, .keys = &w.keys,
                                          .source = w.sources[pick % w.sources.size()],
                                          .roles = roles, .ack_matches_proxy = (pick & 0x40) != 0};
    const fe::outbound::RequestRoute r = fe::outbound::route_request(m, ctx);
    FE_ASSERT(r.edits.route_values_removed <= fe::outbound::kRouteValuesOursMax);
    switch (r.kind) {
        case fe::outbound::RequestRouteKind::kRespond:
            FE_ASSERT(r.status >= 400 && r.status <= 699);
            break;
        case fe::outbound::RequestRouteKind::kDeliverToFlow: {
            const fe::token::VerifyResult v = fe::token::verify(w.keys, r.flow_token);
            FE_ASSERT(v.status == fe::token::VerifyStatus::kOk);
            FE_ASSERT(v.fields == r.flow);
            FE_ASSERT(r.edits.route_values_removed >= 1);
            break;
        }
        case fe::outbound::RequestRouteKind::kForwardToUri:
            FE_ASSERT(!r.target_uri.empty());
            break;
        case fe::outbound::RequestRouteKind::kForwardNextHop:
            FE_ASSERT(roles.has_next_hop);
            break;
        case fe::outbound::RequestRouteKind::kToProxy:
            FE_ASSERT(roles.proxy);
            break;
        case fe::outbound::RequestRouteKind::kToRegistrar:
            FE_ASSERT(roles.registrar);
            FE_ASSERT(m.method() == fe::sip::Method::kRegister);
            break;
        case fe::outbound::RequestRouteKind::kDrop:
            FE_ASSERT(m.method() == fe::sip::Method::kAck);
            break;
    }
    if (r.edits.path) {
        FE_ASSERT(m.method() == fe::sip::Method::kRegister);
        FE_ASSERT(fe::outbound::is_first_hop(m));
        FE_ASSERT(roles.edge);
    }
    FE_ASSERT(!r.edits.path_ob || r.edits.path);
    FE_ASSERT(!r.edits.record_route_target ||
              r.kind == fe::outbound::RequestRouteKind::kDeliverToFlow);
}

void check_response(const World& w, const fe::sip::Message& m) {
    const fe::outbound::ResponseRoute r = fe::outbound::route_response(m, w.me, w.keys);
    if (r.kind == fe::outbound::ResponseRouteKind::kToFlow) {
        FE_ASSERT(r.has_flow);
    }
    if (r.kind == fe::outbound::ResponseRouteKind::kDrop) {
        FE_ASSERT(r.drop != fe::outbound::ResponseDrop::kNone);
    }
    FE_ASSERT(!r.flow_timer || m.cseq_method() == fe::sip::Method::kRegister);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const World world;
    if (size < 1) {
        return 0;
    }
    const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    fe::sip::Message m;
    if (m.parse(bytes) != fe::sip::ParseError::kOk) {
        return 0;
    }
    if (m.is_request()) {
        check_request(world, m, data[0]);
    } else {
        check_response(world, m);
    }
    return 0;
}
