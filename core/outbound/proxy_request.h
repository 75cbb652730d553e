// File: core/outbound/proxy_request.h
//
// Building what the home proxy sends on a branch (RFC 3261 §16.6, §9.1,
// §17.1.1.3; RFC 5626 §7, RFC 3327 §5.4): the edits that turn a received
// request into the branch's request, its Via branch parameter, and the CANCEL
// and ACK of a branch. No allocation: edits go to the caller's EditList,
// whole messages to the caller's Writer.
//
//   const uint64_t hash = fe::outbound::branch_hash(request, node_secret);   // once per call
//   const fe::outbound::BranchId id = fe::outbound::write_branch_id(
//       {.kind = BranchKind::kProxy, .slot = slot, .branch_index = i, .hash = hash, .loop = loop});
//   fe::sip::EditArena arena;
//   fe::sip::EditList edits(request, arena);
//   (void)edits.remove_first_value(fe::sip::HeaderId::kRoute);   // our own Route, §16.4
//   fe::outbound::BranchRequestSpec spec{.contact_uri = target.contact_uri,
//                                        .path = target.path,
//                                        .via_transport = fe::Transport::kTcp,
//                                        .via_sent_by = "proxy.example.com",
//                                        .branch_id = id.view()};
//   if (fe::outbound::add_branch_edits(request, spec, edits) != BranchBuildError::kOk) { ... }
//   size_t size = edits.serialize_into(out, capacity);    // keep for retransmission
//   ...
//   fe::sip::Message sent;  (void)sent.parse({out, size});
//   fe::sip::Writer w(cancel_buf, sizeof(cancel_buf));
//   (void)fe::outbound::build_cancel(sent, w);             // on ProxyActionKind::kSendCancel
//
// Branch ids (§16.6 step 8, §8.1.1.7) are written by the one codec in
// core/outbound/branch_id.h. Their hash is branch_hash(): a SipHash-2-4,
// keyed with a per-node secret, of the received request's top Via value,
// Call-ID and CSeq: the same for a retransmission of the request (§16.11's
// stability), different for every other request, and not predictable by a
// peer, which could otherwise craft a request whose branch collides with
// another call's. The branch index makes the branches of one call distinct.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/outbound/branch_id.h"
#include "core/outbound/proxy_limits.h"
#include "core/sip/edit.h"
#include "core/sip/message.h"
#include "core/sip/response.h"
#include "core/syntax/via.h"
#include "core/txn/txn_table.h"

namespace fe::outbound {

// The node's SipHash key for branch ids; from the control plane (random at
// startup is fine: branch ids only need to be stable while a request lives).
struct BranchSecret {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
};

// The per-request part of every branch id of a call (BranchFields::hash of
// a kProxy branch, core/outbound/branch_id.h).
uint64_t branch_hash(const sip::Message& request, const BranchSecret& secret);

// The RFC 3261 §17.2.3 server transaction key of a request (views into its
// bytes): top Via branch and sent-by, method. False when the top Via does not
// parse: no transaction, each copy is handled as new.
bool server_key_of(const sip::Message& request, txn::ServerKey& key);
// The same from its top Via, parsed already (RequestRoute::top_via).
bool server_key_of(const sip::Message& request, const syntax::Via& top, txn::ServerKey& key);

// The To tag of a response this node builds for `request` without keeping
// state: "fe" + 16 hex digits of branch_hash(). RFC 3261 §19.3 wants at least
// 32 random bits; a keyed hash is as unpredictable to a peer, and a
// retransmission of the request gets the same tag (§16.11, §17.2.2).
struct ToTag {
    std::array<char, 18> bytes{};
    std::string_view view() const { return std::string_view(bytes.data(), bytes.size()); }
};
ToTag response_to_tag(const sip::Message& request, const BranchSecret& secret);

struct BranchRequestSpec {
    // The target's registered Contact URI (addr-spec): the new Request-URI
    // (OB-AUTH-04, §16.6 step 2).
    std::string_view contact_uri = {};
    // The target's Path vector, topmost first: becomes one Route line placed
    // before any Route the request has (OB-AUTH-04, RFC 3327 §5.4). Each
    // value is copied as stored (a name-addr such as "<sip:T@edge;lr;ob>").
    std::span<const std::string_view> path = {};
    // Our Via (§16.6 step 8): "SIP/2.0/<transport> <sent-by>;branch=<id>".
    Transport via_transport = Transport::kUdp;
    std::string_view via_sent_by = {};
    std::string_view branch_id = {};
    // ";fl=TOKEN" on our Via when not empty: the flow the request came in on,
    // where a response no call matches any more (a 2xx retransmission) is
    // sent statelessly (RFC 3261 §16.7 step 5).
    std::string_view via_flow_token = {};
    // received/rport for the received request's top Via (RFC 3581 §4:
    // via_received_of() of `request`); empty: nothing.
    sip::TopViaEdit top_via = {};
};

enum class [[nodiscard]] BranchBuildError : uint8_t{
    kOk = 0,
    kNotARequest,
    kEmptyContact,          // The target has no Contact URI.
    kMaxForwardsExhausted,  // Max-Forwards: 0; answer 483 before forking (§16.3 step 3).
    kBadMaxForwards,        // Max-Forwards is not a number; answer 400 before forking.
    kEmptySentBy,           // The spec has no Via sent-by.
    kBadBranchId,           // The branch id does not start with "z9hG4bK".
    kRouteTooLarge,         // The Path vector does not fit kRouteLineSizeMax.
    kTooManyEdits,          // The EditList is full.
    kArenaFull,             // The EditArena is full.
};

std::string_view branch_build_error_name(BranchBuildError error);

// Adds to `edits` (which must be over `request`): the Request-URI replaced by
// spec.contact_uri; a Route line from spec.path before the first Route, or at
// the end of the headers when the request has none (no line when the Path is
// empty); Max-Forwards decremented, or "Max-Forwards: 70"
// added at the end of the headers; our Via on top. The caller may add its own
// edits (remove its Route, Record-Route) to the same list, before or after.
BranchBuildError add_branch_edits(const sip::Message& request, const BranchRequestSpec& spec,
                                  sip::EditList& edits);

enum class [[nodiscard]] BranchMessageError : uint8_t{
    kOk = 0,
    kNotARequest,   // The branch message given is a response.
    kNotAResponse,  // build_ack(): the response given is a request.
    kNoSpace,       // The Writer overflowed; nothing usable was written.
};

// The CANCEL of a branch (§9.1), from the request as it was sent on the
// branch: same Request-URI, Call-ID, From, To and CSeq number, method CANCEL,
// one Via equal to the request's top Via, its Route lines in order,
// Max-Forwards 70, no body.
BranchMessageError build_cancel(const sip::Message& branch_request, sip::Writer& out);

// The ACK for a 3xx-6xx on an INVITE branch (§17.1.1.3): as the CANCEL, but
// method ACK and the To of the response (it carries the UAS's tag).
BranchMessageError build_ack(const sip::Message& branch_request, const sip::Message& response,
                             sip::Writer& out);

}  // namespace fe::outbound
