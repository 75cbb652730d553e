// File: cluster/proxy_service.h
//
// The seam between the edge (cluster/sip_worker) and the proxy role (RFC 5626
// §5.3 / §7: the authoritative proxy that routes a request for an AOR to the
// flows of its bindings). When the node has the proxy role and a ProxyService
// is installed, the edge hands it every request that is not a REGISTER and not
// routed by one of our flow tokens, after the edge's own checks (parse,
// Max-Forwards, loop, Route classification). The proxy answers through
// `respond` or sends requests through the EdgeSender the node gave it; the
// responses to branches it created (our Via without an `fl` parameter on top)
// come back through handle_response().
//
//   class HomeProxy : public fe::cluster::ProxyService {
//       void handle_request(const sip::Message& m, const RequestFlow& flow, Time now,
//                           Respond respond) override {
//           ... store lookup, then for each target:
//           sender_.send_request(bytes, target_route_uri);
//       }
//       ...
//   };
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/sip/message.h"

namespace fe::cluster {

// What the edge knows of the flow a request came in on.
struct RequestFlow {
    Transport transport = Transport::kUdp;
    Endpoint source;  // the previous hop's address (received/rport)
    // A flow token naming this flow (valid on every node of the cluster): a
    // response or a later request routed with it reaches this flow.
    std::string_view flow_token;
    // The Record-Route value the edge wants in the forwarded request (e.g.
    // "<sip:TOKEN@edge:5060;transport=tcp;lr>" for an outgoing dialog-forming
    // request whose Contact has ;ob, OB-EDGE-13); empty when none. The proxy
    // adds it on top of any Record-Route it adds itself.
    std::string_view record_route_value;
    // The request's Route still holds our own URI on top, which the proxy
    // must drop before forwarding (RFC 3261 §16.4); false when the edge found
    // none.
    bool top_route_is_ours = false;
};

// How the proxy role sends: the edge owns the sockets, the flows and the Via.
class EdgeSender {
public:
    virtual ~EdgeSender() = default;
    enum class [[nodiscard]] SendStatus : uint8_t {
        kSent,
        kFlowGone,    // the token's flow is gone: treat as 430 (OB-430-02)
        kBadTarget,   // the URI names nothing we can reach
        kBusy,        // out of send slots or queue space
    };
    // Sends a complete request to the first URI of `route` (a Route/Path
    // value of a binding, or a next-hop URI): over the flow its token names,
    // or to its host:port. The proxy wrote its own Via already.
    virtual SendStatus send_request(std::span<const std::string_view> parts,
                                    std::string_view route_uri) = 0;
};

class ProxyService {
public:
    // Called once per upstream response of a handle_request() (provisional,
    // final, a retransmitted final), on the same worker thread, inside the
    // call or later. `response` is the complete response message,
    // valid only during the call; it goes back over the request's flow.
    using Respond = absl::AnyInvocable<void(std::string_view response)>;

    virtual ~ProxyService() = default;

    // `request` and `flow` (and the bytes they view) are valid only during
    // the call: an implementation that answers later copies what it needs.
    virtual void handle_request(const sip::Message& request, const RequestFlow& flow, Time now,
                                Respond respond) = 0;

    // A response whose top Via is ours without an `fl` parameter, i.e. to a
    // branch the proxy created. Valid only during the call.
    virtual void handle_response(const sip::Message& response, Time now) = 0;
};

}  // namespace fe::cluster
