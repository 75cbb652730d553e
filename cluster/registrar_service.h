// File: cluster/registrar_service.h
//
// The seam between the edge (cluster/sip_worker) and the registrar role. When
// the node has the registrar role, the edge hands each REGISTER addressed to
// it to the worker's RegistrarService together with what it knows about the
// flow; the service decides (core/outbound/registrar), stores the bindings
// (state/ BindingStore) and answers through `respond`.
//
//   RegisterFlow flow{.first_hop = message.via_count() == 1,
//                     .path_value = "<sip:TOKEN@10.0.0.1:5060;transport=tcp;lr;ob>",
//                     .flow_token = "TOKEN", ...};
//   registrar.handle_register(message, flow, now,
//       [&](std::string_view response, uint32_t flow_timer_s) {
//           (void)runtime.send_stream(conn, response);
//           if (flow_timer_s != 0) { hold_flow_to(flow_timer_s); }    // OB-FT-02
//       });
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/sip/message.h"
#include "core/syntax/via.h"

namespace fe::cluster {

// What the edge knows of the flow a REGISTER came in on.
struct RegisterFlow {
    // Exactly one Via: the UA sent this REGISTER straight to us (RFC 5626 §5.1, §6).
    bool first_hop = false;
    // The Path value this edge adds for the flow, e.g.
    // "<sip:TOKEN@192.0.2.10:5060;transport=tcp;lr;ob>"; empty when the edge
    // adds none (no reg-id in the Contact). The registrar treats it as the
    // topmost Path value of the request (RFC 3327), ahead of any Path the
    // request already carried.
    std::string_view path_value;
    // The flow token inside path_value (empty when none): the key by which
    // the registrar forgets every binding of a flow that closed.
    std::string_view flow_token;
    // Over UDP (unreliable) the registrar runs server transactions: a
    // retransmitted REGISTER gets the response already sent.
    Transport transport = Transport::kUdp;
    Endpoint source;  // where the REGISTER came from (received/rport, RFC 3581)
    // The REGISTER's top Via as the router parsed it, or null: saves parsing
    // it again for received/rport and the transaction key.
    const syntax::Via* top_via = nullptr;
};

class RegistrarService {
public:
    // Called once per handle_register(), on the same worker thread, either
    // inside the call or later (when the store answers); not at all for a
    // retransmission over UDP that arrives while the first copy waits on
    // the store (absorbed, RFC 3261 §17.2.2 Trying). A retransmission after
    // the answer gets the same response again through its own Respond.
    // `response` is the complete response message, valid only during the
    // call.
    // `flow_timer_s` is the Flow-Timer the response gives the UA (a 2xx with
    // Require: outbound over its direct flow), 0 when none: the edge then
    // holds the flow for that long plus grace (OB-FT-02).
    using Respond = absl::AnyInvocable<void(std::string_view response, uint32_t flow_timer_s)>;

    virtual ~RegistrarService() = default;

    // `request` and `flow` (and the bytes they view) are valid only during
    // the call: an implementation that answers later copies what it needs.
    virtual void handle_register(const sip::Message& request, const RegisterFlow& flow, Time now,
                                 Respond respond) = 0;

    // The flow named by `flow_token` is gone (connection closed, idle expiry):
    // bindings that route over it are dead (RFC 5626 §7, OB-AUTH-06/07).
    virtual void on_flow_closed(std::string_view flow_token, Time now) = 0;
};

}  // namespace fe::cluster
