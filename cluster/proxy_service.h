// File: cluster/proxy_service.h
//
// The seam between the edge (cluster/sip_worker) and the proxy role (RFC 5626
// §5.3 / §7: the authoritative proxy that routes a request for an AOR to the
// flows of its bindings). The edge hands the proxy what the router
// (core/outbound/router.h) sent its way, after the edge's own checks (parse,
// loop, Route walk, Max-Forwards), together with what it knows of the flow
// the request came in on. The proxy answers through `respond` and sends
// branches through the ProxySender the worker gave it; the responses to its
// branches come back through handle_response().
//
//   class HomeProxy : public fe::cluster::ProxyService {
//       void handle_request(const sip::Message& m, const RequestFlow& flow, Time now,
//                           Respond respond) override {
//           ... store lookup, then for each target:
//           sender_.send_to_flow(binding_flow, bytes);     // our own edge's flow
//           sender_.send_to_uri(next_hop_uri, bytes);      // another element
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
#include "core/token/flow_token.h"

namespace fe::cluster {

// What the edge knows of the flow a request came in on, and what it wants
// done to the request when the proxy forwards it.
struct RequestFlow {
    Transport transport = Transport::kUdp;
    Endpoint source;  // the previous hop's address (received/rport, RFC 3581)
    // A flow token naming this flow (valid on every node of the cluster):
    // written as `fl` in the proxy's Via, so that a 2xx the proxy no longer
    // knows still reaches this flow (RFC 3261 §16.7 step 5).
    std::string_view flow_token;
    // The Record-Route value the edge wants in the forwarded request (e.g.
    // "<sip:TOKEN@edge:5060;transport=tcp;lr>" for an outgoing dialog-forming
    // request, OB-EDGE-13); empty when none.
    std::string_view record_route_value;
    // Route values naming this node at the top of the request, to remove
    // (RFC 3261 §16.4).
    uint8_t route_values_removed = 0;
};

// How the proxy role sends: the edge owns the sockets, the flows and the
// connections.
class ProxySender {
public:
    virtual ~ProxySender() = default;
    enum class [[nodiscard]] SendStatus : uint8_t {
        kSent,
        kFlowGone,    // the flow is gone: treat as 430 (OB-430-02)
        kBadTarget,   // the URI names nothing we can reach
        kBusy,        // out of send slots or queue space
    };
    // Down a flow of this node (any worker's: the edge posts it there; when
    // it turns out gone there, a 430 comes back as a response).
    virtual SendStatus send_to_flow(const token::Fields& flow,
                                    std::span<const std::string_view> parts) = 0;
    // To the element `uri` names (host:port, transport from its parameter).
    virtual SendStatus send_to_uri(std::string_view uri,
                                   std::span<const std::string_view> parts) = 0;
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

    // A response to one of the proxy's branches. False when no live call
    // wanted it: the edge then forwards a 2xx statelessly (the caller's UAC
    // must see every 2xx retransmission, RFC 6026 §7.2).
    virtual bool handle_response(const sip::Message& response, Time now) = 0;

    // An ACK that matches an INVITE server transaction this proxy answered
    // with a non-2xx (it absorbs it, hop by hop).
    virtual bool matches_ack(const sip::Message& ack) const = 0;
};

}  // namespace fe::cluster
