// File: core/outbound/edge.h
//
// The building blocks of an RFC 5626 edge proxy (§5) that the router
// (core/outbound/router.h) decides with: is this node the first hop, does a
// URI name this node, what Path / Record-Route / Via text to add,
// Max-Forwards, RFC 3581 received/rport, the deterministic stateless branch
// (RFC 3261 §16.11) and loop detection. No sockets, no clocks, no allocation:
// the node (cluster/sip_worker) does the I/O.
//
//   fe::outbound::EdgeIdentity me{.host = "192.0.2.10", .ports = ports};
//   if (fe::outbound::uri_is_ours(uri.host, uri.port, me)) { ... }
//   char path[kFlowUriValueSizeMax];
//   size_t n = write_flow_uri_value(token, {"192.0.2.10", 5060, Transport::kTcp},
//                                   ObParam::kAdd, path, sizeof(path));
//   // "<sip:TOKEN@192.0.2.10:5060;transport=tcp;lr;ob>"
//
// Views in results point into the message's buffer and are valid as long as it is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/outbound/branch_id.h"
#include "core/outbound/edge_limits.h"
#include "core/sip/message.h"
#include "core/sip/response.h"
#include "core/syntax/error.h"
#include "core/syntax/uri.h"
#include "core/syntax/via.h"
#include "core/token/flow_token.h"
#include "core/token/key_ring.h"

namespace fe::outbound {

// How this node is named: what it writes in URIs it puts on the wire, what it
// recognises as itself in Routes and Request-URIs, and which AOR domains it
// serves. Views into the node's own storage.
struct EdgeIdentity {
    std::string_view host;            // advertised host (IP literal or name)
    std::span<const uint16_t> ports;  // every port we listen on (any transport)
    // Other hosts that name this node: its listen addresses when the
    // advertised host is a name or a public address.
    std::span<const std::string> aliases = {};
    // AOR domains served (case-insensitive); empty: every domain.
    std::span<const std::string> domains = {};
};

// One of our addresses, for a Path / Record-Route / Via we write.
struct EdgeAddress {
    std::string_view host;
    uint16_t port = 0;
    Transport transport = Transport::kUdp;
    // Of the URI write_flow_uri_value() writes (a Via has none): sips where
    // the request it goes on had a sips Request-URI (RFC 3261 §16.6 step 4,
    // RFC 5630 §4.1).
    syntax::UriScheme scheme = syntax::UriScheme::kSip;
};

// Which of our ports names us on `transport` (0: no such listener): its own
// listener's, else TCP's for TLS, else whichever we have. WS and WSS have
// no fallback to TCP's: a browser can only reach us on a WebSocket listener,
// so a WS address without one falls through to whichever we have.
struct EdgePorts {
    uint16_t udp = 0;
    uint16_t tcp = 0;
    uint16_t tls = 0;
    uint16_t ws = 0;
    uint16_t wss = 0;
};
uint16_t edge_port_for(Transport transport, const EdgePorts& ports);

// kSips when `uri` starts with "sips:" (case-insensitive), else kSip: the
// scheme of our Path / Record-Route for a request with this Request-URI.
syntax::UriScheme uri_scheme_of(std::string_view uri);

enum class ObParam : uint8_t { kOmit, kAdd };

// RFC 5626 §5.1: the REGISTER (or any request) came straight from the UA:
// exactly one Via value.
inline bool is_first_hop(const sip::Message& request) { return request.via_count() == 1; }

// Dialog-forming request without a To tag (INVITE, SUBSCRIBE, REFER: RFC 3261
// §12, RFC 6665, RFC 3515): what RFC 5626 §5.3 Record-Routes.
bool is_dialog_forming(const sip::Message& request);

// The To header has a tag: the request is inside a dialog (RFC 3261 §12.2).
// A To that does not parse counts as tagless.
bool has_to_tag(const sip::Message& request);

// "<sip:TOKEN@HOST:PORT;transport=T;lr[;ob]>" (sips: when at.scheme is kSips)
// into `out`; returns its size,
// or 0 when it does not fit. The value of our Path (RFC 3327 §4: name-addr
// with ;lr) and Record-Route headers; the token is the user part (OB-EDGE-05).
[[nodiscard]] size_t write_flow_uri_value(std::string_view token, const EdgeAddress& at,
                                          ObParam ob, char* out, size_t capacity);

// host:port names this node: the host is the advertised host or an alias
// (IP literals compared as addresses, names case-insensitively) and the port
// one we listen on (an absent port, 0, is 5060).
bool uri_is_ours(std::string_view host, uint16_t port, const EdgeIdentity& me);

// The host is an AOR domain this node serves (any, when no domain is
// configured) or names this node.
bool serves_domain(std::string_view host, const EdgeIdentity& me);

// The host names this node or is one of the configured domains.
bool is_local_host(std::string_view host, const EdgeIdentity& me);

// The URI ends here: its host:port is this node (uri_is_ours()), or its host
// is a configured AOR domain by name. Such a URI with no binding is "not
// registered" (480), never a target to forward to; any other URI is.
bool uri_names_node(const syntax::Uri& uri, const EdgeIdentity& me);

// The AOR key of a Request-URI or To URI (syntax::write_aor_key()), with the
// port left out when the host names this node or is a served domain and the
// port is absent or one of ours: clients address "sip:bob@edge:5060" and
// mean the AOR sip:bob@edge (RFC 3261 §10.3 and §16.5 leave this to the
// node; deployed proxies all treat it so).
syntax::Error write_local_aor_key(const syntax::Uri& uri, const EdgeIdentity& me, char* buffer,
                                  size_t buffer_size, std::string_view& key);

// ---- Flows (§5.3) ----

// Whether a decoded token names the flow `source`.
bool same_flow(const token::Fields& token_flow, const token::Fields& source);

// ---- Max-Forwards (RFC 3261 §16.3 step 3, §16.6 step 3) ----

enum class MaxForwardsVerdict : uint8_t {
    kAbsent,       // add "Max-Forwards: 70" when forwarding
    kForward,      // replace with `next_value` (decremented)
    kTooManyHops,  // 0: answer 483
    kMalformed,    // not a number: answer 400 "Bad Max-Forwards"
};
struct [[nodiscard]] MaxForwards {
    MaxForwardsVerdict verdict = MaxForwardsVerdict::kAbsent;
    uint32_t next_value = kEdgeMaxForwardsDefault;
};
MaxForwards check_max_forwards(const sip::Message& request);

// ---- Via (RFC 3261 §18.2.1, RFC 3581 §4) ----

// The parameters to append to the request's top Via (the sender's) so that
// responses find their way back through a NAT: ";received=IP" when the
// sent-by host is not the source address or rport was asked for, and
// ";rport=PORT" when the Via has a bare rport (OB-DEP-07), whose bare flag
// must then go (ViaReceived::drop: a Via may not hold rport twice). Returns the size
// written (0: nothing to add, or it did not fit: check `capacity` >=
// kViaReceivedSizeMax).
[[nodiscard]] size_t write_via_received(const syntax::Via& top, const Endpoint& source,
                                        char* out, size_t capacity);

// RFC 3581 §4 for the request's top Via: the bare ";rport" to drop (a view
// into the request) and the ";received=..;rport=.." to append, held inline.
// Applied to the request when forwarding it, and to every response this node
// builds for it (sip::ResponseSpec::top_via). Empty when there is nothing to
// change or the top Via does not parse.
struct ViaReceived {
    std::array<char, kViaReceivedSizeMax> bytes{};
    uint8_t size = 0;
    std::string_view drop;  // ";rport" inside the top Via value, or empty
    std::string_view view() const { return std::string_view(bytes.data(), size); }
    sip::TopViaEdit edit() const { return sip::TopViaEdit{.drop = drop, .append = view()}; }
};
ViaReceived via_received_of(const sip::Message& request, const Endpoint& source);
// The same from a top Via the caller parsed already (RequestRoute::top_via).
ViaReceived via_received_of(const syntax::Via& top, const Endpoint& source);

// A stateless branch for our Via (core/outbound/branch_id.h), derived from
// the request alone so that a retransmission maps to the same branch (RFC
// 3261 §16.11): a hash of the top Via branch and the method class, and the
// loop hash (below). ACK and CANCEL hash like the INVITE they belong to.
// `kind` is kStateless or kStatelessRegister.
BranchId write_branch(const sip::Message& request, std::string_view top_branch, BranchKind kind);
// The loop-detection half of our branch (RFC 3261 §16.3 step 4): a hash of
// the fields that stay the same when a request loops back unchanged
// (Request-URI, From tag, To, Call-ID, CSeq). A spiral (new Request-URI)
// hashes differently.
uint64_t loop_hash(const sip::Message& request);

enum class [[nodiscard]] LoopCheck : uint8_t {
    kNoLoop,
    kLoop,        // one of our Vias carries this request's loop hash: 482
    kMalformed,   // a Via does not parse: 400 naming the defect
};
struct LoopResult {
    LoopCheck verdict = LoopCheck::kNoLoop;
    syntax::Error error = syntax::Error::kOk;
    // The top Via, parsed on the way (unless kMalformed): later steps reuse it.
    syntax::Via top;
};
// Looks for a Via whose sent-by is ours and whose branch ends in this
// request's loop hash.
LoopResult detect_loop(const sip::Message& request, const EdgeIdentity& me);

// Our Via value: "SIP/2.0/T HOST:PORT;branch=BRANCH[;fl=TOKEN]". `flow_token`
// names the flow the request came in on, so the response that pops this Via
// goes back over exactly that flow. 0 when it does not fit.
[[nodiscard]] size_t write_via_value(const EdgeAddress& at, std::string_view branch,
                                     std::string_view flow_token, char* out, size_t capacity);

// ---- Responses ----

// A response to a request Message::parse() refused, built from the raw bytes
// by copying the Via, From, To, Call-ID and CSeq lines that are there (RFC
// 3261 §8.2.6), so the 400 still names the defect to a UA whose request we
// could not parse. False when the bytes do not start like a request (a
// response, or garbage: drop it) or the writer overflowed.
[[nodiscard]] bool build_raw_error_response(std::string_view bytes, uint16_t status_code,
                                            std::string_view reason, sip::Writer& out);

// RFC 5626 §5.4 / OB-FT-01: the 2xx REGISTER response leaving the edge for
// the UA may get a Flow-Timer when it has "Require: outbound" and no Flow-Timer.
bool response_wants_flow_timer(const sip::Message& response);
// The response has "Require: outbound" and is a 2xx to REGISTER: the UA will
// keep the flow alive, so the flow's idle limit becomes Flow-Timer + grace.
bool response_is_outbound_register_ok(const sip::Message& response);

// Whether the value list `header` holds `option` (case-insensitive), e.g.
// Supported: path.
bool has_option(const sip::Message& message, sip::HeaderId header, std::string_view option);

}  // namespace fe::outbound
