// File: core/outbound/router.h
//
// Where a message goes: the node's routing decision for every request and
// response it receives, as one pure function each (RFC 3261 §16.3-16.7,
// RFC 5626 §5.3, RFC 3327). It takes the parsed message, who this node is,
// the token keys, the flow the message came in on and the node's roles, and
// returns one action; the worker (cluster/sip_worker) carries it out and
// decides nothing.
//
//   fe::outbound::RouterContext ctx{.me = &identity, .keys = &ring, .source = flow_fields,
//                                   .roles = {.edge = true, .registrar = true, .proxy = true}};
//   fe::outbound::RequestRoute r = fe::outbound::route_request(request, ctx);
//   switch (r.kind) {
//       case RequestRouteKind::kRespond:       answer(r.status, r.reason); break;
//       case RequestRouteKind::kDeliverToFlow: forward_to_flow(r.flow, r.edits); break;
//       ...
//   }
//
// Requests, in order (each step can end the decision):
//   1. §16.3: a Via that does not parse (400), a loop (482), a Request-URI
//      that does not parse (400) or has a scheme other than sip/sips/tel
//      (416), a From or To that does not parse (400), Proxy-Require with any
//      option tag (420 listing them: we support none).
//   2. §16.4 and RFC 5626 §5.3: the Route values naming this node at the top
//      are taken off one by one. Without a user part (OB-EDGE-09), or with a
//      token of the very flow the request came in on (outgoing, OB-EDGE-10),
//      the walk goes on; a token of another flow ends it: the request goes
//      down that flow (incoming, OB-EDGE-12), Record-Routed with the token
//      when the Route had `ob` and the request forms a dialog (OB-EDGE-11,
//      OB-OBP-03); a user part that does not verify is 403 (OB-EDGE-14).
//   3. REGISTER: a Path value with a token of this node, or from a UA itself
//      (one Via) a token of any node of the cluster, is forged: 403
//      (OB-SEC-02). To the local registrar when this node has that role, no
//      Route is left and the Request-URI names this node or a served domain;
//      else forwarded (to the Route left, the next hop, or the Request-URI).
//      With the edge role, a Contact with reg-id and this node the UA's first
//      hop, a Path with a token of the source flow and `ob` goes on top
//      (OB-EDGE-01, -06); behind another edge, none (OB-EDGE-02, -07).
//      Forwarding it elsewhere needs the UA's `Supported: path` (421
//      otherwise, OB-DEP-04).
//   4. A Route value of another element left on top: loose routing to it.
//   5. An ACK the proxy's transaction matched goes to the proxy (hop by hop).
//      In-dialog requests (To tag), the ACK of a 2xx among them, are never
//      looked up as AORs: with no Route left they go to their Request-URI.
//      One whose Request-URI names this node has nowhere to go: 404 (an ACK
//      is dropped).
//   6. Out of dialog: the proxy role (AOR lookup, cluster/proxy), else the
//      next hop, else the Request-URI when it is not this node (404 when it
//      is and nothing here routes it).
// Every forward (steps 2, 4-6) first checks Max-Forwards (483, or 400 when
// unreadable). With the edge role, a dialog-forming request whose Contact
// (or an outgoing Route of ours) has `ob`, or that comes straight from its UA
// (one Via), is Record-Routed with a token of the flow it came in on
// (OB-EDGE-13), so mid-dialog requests come back over that flow even for a
// UA behind a NAT that does not speak outbound.
//
// Pure edge (no proxy role, with --next-hop): everything that is not routed
// by one of our tokens goes to the next hop, except a Route or Request-URI
// naming an IP literal, which is used as is.
//
// Responses: a top Via of ours with a stateless branch goes back over the
// flow its `fl` token names, our Via removed; a 2xx REGISTER with
// `Require: outbound` forwarded by the UA's first hop gets Flow-Timer there
// (OB-FT-01, RFC 5626 §5.4). A proxy branch goes to the worker whose proxy
// holds the call (a 2xx it no longer knows falls back on the `fl` flow:
// RFC 3261 §16.7 step 5, RFC 6026 §7.2). Anything else is dropped.
//
// Views in results point into the message (and the key-verified token
// fields are copies); valid as long as the message is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/outbound/branch_id.h"
#include "core/outbound/edge.h"
#include "core/sip/message.h"
#include "core/syntax/error.h"
#include "core/token/flow_token.h"
#include "core/token/key_ring.h"
#include "core/token/token_cache.h"

namespace fe::outbound {

struct Roles {
    bool edge = true;
    bool registrar = true;
    bool proxy = true;
    bool has_next_hop = false;  // --next-hop is set
};

struct RouterContext {
    const EdgeIdentity* me = nullptr;
    const token::KeyRing* keys = nullptr;
    // The worker's cache of verified tokens, or null (verify every time).
    token::TokenCache* token_cache = nullptr;
    // The flow the message came in on, as its token would name it (node,
    // worker, slot, generation, transport; for UDP the remote address and
    // the local socket).
    token::Fields source;
    Roles roles;
    // An ACK that matches an INVITE server transaction of this worker's home
    // proxy (the ACK of a non-2xx it answered, RFC 3261 §17.2.1): it goes to
    // the proxy. Looked up by the caller, which holds that state.
    bool ack_matches_proxy = false;
};

enum class RequestRouteKind : uint8_t {
    kRespond,         // answer `status` (`reason`; 420 lists Proxy-Require as Unsupported)
    kDrop,            // nothing to answer (an ACK with nowhere to go)
    kToRegistrar,     // the local registrar (REGISTER)
    kDeliverToFlow,   // down the flow `flow` names (may be another worker's or node's)
    kToProxy,         // the home proxy: AOR lookup and forking
    kForwardToUri,    // stateless, to `target_uri` (a Route value or the Request-URI)
    kForwardNextHop,  // stateless, to --next-hop
};
std::string_view request_route_kind_name(RequestRouteKind kind);

// What carrying out a forward adds to the message, beyond the RFC 3261
// §16.6 basics (our Via with `fl` naming the source flow, received/rport on
// the sender's Via, Max-Forwards).
struct ForwardEdits {
    // Route values at the top that name this node: removed.
    uint8_t route_values_removed = 0;
    // Record-Route with the token of the flow the request is delivered to,
    // without `ob` (OB-EDGE-11); the token is RequestRoute::flow_token.
    bool record_route_target = false;
    // Record-Route with a token of the source flow, without `ob` (OB-EDGE-13).
    bool record_route_source = false;
    // REGISTER: Path with a token of the source flow (OB-EDGE-01), with `ob`
    // when path_ob (OB-EDGE-06).
    bool path = false;
    bool path_ob = false;
    // "Require: path" on a forwarded REGISTER that got our Path (OB-DEP-04).
    bool require_path = false;
    MaxForwards max_forwards;
};

struct [[nodiscard]] RequestRoute {
    RequestRouteKind kind = RequestRouteKind::kDrop;
    // kRespond.
    uint16_t status = 0;
    std::string_view reason = {};
    // The forward's edits (kDeliverToFlow, kToProxy, kForwardToUri,
    // kForwardNextHop, and Path for kToRegistrar).
    ForwardEdits edits;
    // kDeliverToFlow: the flow, and the token text that named it.
    token::Fields flow;
    std::string_view flow_token = {};
    // kForwardToUri: where to (an addr-spec).
    std::string_view target_uri = {};
    // kToRegistrar: the REGISTER came straight from its UA (one Via).
    bool first_hop = false;
    // kRespond with a syntax defect: which one (for the reason phrase).
    syntax::Error syntax_error = syntax::Error::kOk;
    // The request's top Via as the router parsed it (for received/rport and
    // the transaction key, so no later step parses it again); empty (no
    // host) when the request was refused before or because of its Vias.
    syntax::Via top_via;
};

RequestRoute route_request(const sip::Message& request, const RouterContext& ctx);

// ---- One hop of a route set (a Route value, or a Path value of a binding) ----

enum class HopKind : uint8_t {
    kForeign,     // another element: send there
    // Another element whose user part is a token our keys verify: a flow of
    // another node of the cluster (`flow` names it). Routed like kForeign;
    // the home proxy takes it for that node's flow.
    kClusterToken,
    kOursBare,    // this node, no user part: skip it
    kOursToken,   // this node with a verified token: deliver down that flow
    kBadToken,    // this node with a user part that does not verify
    kMalformed,   // does not parse as name-addr
};

struct Hop {
    HopKind kind = HopKind::kForeign;
    std::string_view uri = {};     // the addr-spec inside the value
    std::string_view token = {};   // kOursToken / kBadToken: the user part
    token::Fields flow;            // kOursToken
    bool ob = false;               // the URI carries `ob`
    syntax::Error error = syntax::Error::kOk;
};

Hop classify_hop(std::string_view value, const EdgeIdentity& me, const token::KeyRing& keys,
                 token::TokenCache* cache = nullptr);

// ---- Responses ----

enum class ResponseRouteKind : uint8_t {
    kToFlow,   // our stateless Via: remove it, send over `flow`
    kToProxy,  // a branch of the home proxy on worker `branch.worker_index`
    kDrop,     // `drop` says why
};

enum class ResponseDrop : uint8_t {
    kNone,
    kMalformedVia,  // the top Via does not parse
    kNotOurs,       // the top Via is not one we wrote
    kBadToken,      // our stateless Via whose `fl` is missing or does not verify
};

struct [[nodiscard]] ResponseRoute {
    ResponseRouteKind kind = ResponseRouteKind::kDrop;
    ResponseDrop drop = ResponseDrop::kNone;
    BranchFields branch;
    // kToFlow: the flow; kToProxy: the caller's flow from `fl`, when present
    // and valid (has_flow), for a 2xx the proxy no longer knows.
    token::Fields flow;
    bool has_flow = false;
    // kToFlow: a 2xx to a REGISTER with Require: outbound that this node
    // forwarded as the UA's first hop: add Flow-Timer when absent and hold
    // the flow to it (OB-FT-01, OB-FT-02). Only the first hop does.
    bool flow_timer = false;
};

ResponseRoute route_response(const sip::Message& response, const EdgeIdentity& me,
                             const token::KeyRing& keys, token::TokenCache* cache = nullptr);

}  // namespace fe::outbound
