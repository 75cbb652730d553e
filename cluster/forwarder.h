// File: cluster/forwarder.h
//
// Builds what the worker forwards statelessly, as edits against the received
// bytes (never re-serialised, core/sip/edit.h): a request gets our Via on top
// (RFC 3261 §16.6 step 8), received/rport on the sender's Via (RFC 3581 §4),
// Max-Forwards one lower, our Route values removed (§16.4), and the
// Record-Route, Path and Require the router asked for; a response loses our
// Via (§16.7 step 3) and may gain Flow-Timer (RFC 5626 §5.4). The result is a
// list of byte ranges ready for one sendmsg, or for a parcel to another
// worker.
//
//   fe::cluster::Forwarder forwarder;                      // one per worker
//   ForwardPlan plan{.edits = &route.edits, .via = our_via, .via_received = rr};
//   std::span<const std::string_view> parts = forwarder.request(message, plan);
//   if (parts.empty()) { answer 500: the edits did not fit }
//
// The views returned point into the message, the forwarder's arena or its
// scratch buffer: valid until the next call.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string_view>

#include "core/outbound/router.h"
#include "core/sip/edit.h"
#include "core/sip/message.h"
#include "core/sip/response.h"
#include "net/limits.h"

namespace fe::cluster {

// The text a forward adds; the worker writes it (tokens, our address) and
// the router decided which of it applies.
struct ForwardPlan {
    const outbound::ForwardEdits* edits = nullptr;
    std::string_view via = {};             // our Via value
    sip::TopViaEdit via_received = {};     // the sender's top Via: received/rport
    std::string_view record_route_target = {};  // on top (OB-EDGE-11); may be empty
    std::string_view record_route_source = {};  // below it (OB-EDGE-13); may be empty
    std::string_view path = {};            // REGISTER (OB-EDGE-01); may be empty
};

class Forwarder {
  public:
    Forwarder();
    Forwarder(const Forwarder&) = delete;
    Forwarder& operator=(const Forwarder&) = delete;

    // The forwarded request; empty when the edits did not fit (an arena or
    // edit count overflow: the caller answers 500).
    std::span<const std::string_view> request(const sip::Message& request, const ForwardPlan& plan);

    // The response without our top Via, with "Flow-Timer: flow_timer" added
    // when flow_timer is not empty; empty when that fails.
    std::span<const std::string_view> response(const sip::Message& response,
                                               std::string_view flow_timer);

  private:
    std::span<const std::string_view> gather(sip::EditList& edits);

    std::unique_ptr<sip::EditArena> arena_;
    // An edited message copied whole, when it has more pieces than one send
    // takes.
    std::unique_ptr<char[]> scratch_;
    std::array<std::string_view, net::kSendPartCountMax> parts_;
};

}  // namespace fe::cluster
