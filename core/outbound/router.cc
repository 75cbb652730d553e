// The routing decision: see router.h for the rules and their RFC text.
#include "core/outbound/router.h"

#include "core/base/assert.h"
#include "core/outbound/edge_limits.h"
#include "core/syntax/contact.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/uri.h"
#include "core/syntax/via.h"

namespace fe::outbound {
namespace {

token::VerifyResult verify_token(const token::KeyRing& keys, std::string_view text,
                                 token::TokenCache* cache) {
    return cache != nullptr ? cache->verify(keys, text) : token::verify(keys, text);
}

RequestRoute respond(uint16_t status, std::string_view reason = {},
                     syntax::Error error = syntax::Error::kOk) {
    RequestRoute r;
    r.kind = RequestRouteKind::kRespond;
    r.status = status;
    r.reason = reason;
    r.syntax_error = error;
    return r;
}

bool is_ip_literal(const syntax::Uri& uri) {
    return uri.host_kind == syntax::HostKind::kIpv4 || uri.host_kind == syntax::HostKind::kIpv6;
}

// The request's first Contact carries `ob` (OB-OBP-04): its UA asks to be
// reached over this flow for the rest of the dialog.
bool contact_has_ob(const sip::Message& request) {
    const sip::ListRange contacts = request.list(sip::HeaderId::kContact);
    syntax::Contact contact;
    return !contacts.empty() &&
           syntax::parse_contact(*contacts.begin(), contact) == syntax::Error::kOk &&
           contact.has_ob();
}

// The result of taking our own values off the top of the Route set.
struct RouteWalk {
    uint8_t removed = 0;
    bool outgoing_ob = false;  // an outgoing token of ours carried `ob`
    bool deliver = false;      // ended on a token of another flow
    Hop hop;                   // deliver, or the first failure
    bool failed = false;       // 400 or 403: `hop` says which
    std::string_view next;     // the first value not ours, when one is left
};

RouteWalk walk_routes(const sip::Message& request, const RouterContext& ctx) {
    RouteWalk walk;
    for (std::string_view value : request.list(sip::HeaderId::kRoute)) {
        if (walk.removed == kRouteValuesOursMax) {
            walk.next = value;  // more of ours than any real route set holds
            return walk;
        }
        Hop hop = classify_hop(value, *ctx.me, *ctx.keys, ctx.token_cache);
        switch (hop.kind) {
            case HopKind::kForeign:
            case HopKind::kClusterToken:  // another node of ours: loose-routed to it
                walk.next = value;
                return walk;
            case HopKind::kMalformed:
            case HopKind::kBadToken:
                walk.failed = true;
                walk.hop = hop;
                return walk;
            case HopKind::kOursBare:  // OB-EDGE-09
                ++walk.removed;
                continue;
            case HopKind::kOursToken:
                ++walk.removed;
                if (same_flow(hop.flow, ctx.source)) {  // OB-EDGE-10: from that flow
                    walk.outgoing_ob = walk.outgoing_ob || hop.ob;
                    continue;
                }
                walk.deliver = true;  // OB-EDGE-12: to that flow
                walk.hop = hop;
                return walk;
        }
    }
    return walk;
}

// §16.3 steps 1, 2, 4, 5, and the From/To syntax (RFC 4475 §3.1.2.x): a
// verdict when the request must be refused, else nullopt. Max-Forwards waits
// for a forward (a REGISTER answered here ignores it).
std::optional<RequestRoute> validate(const sip::Message& request, const RouterContext& ctx,
                                     syntax::Uri& ruri, syntax::Via& top_via) {
    const LoopResult loop = detect_loop(request, *ctx.me);
    top_via = loop.top;
    if (loop.verdict == LoopCheck::kMalformed) {
        return respond(400, "Bad Via", loop.error);
    }
    if (loop.verdict == LoopCheck::kLoop) {
        return respond(482);
    }
    if (syntax::Error e = syntax::parse_uri(request.request_uri(), ruri); e != syntax::Error::kOk) {
        return e == syntax::Error::kUnsupportedScheme ? respond(416)
                                                      : respond(400, "Bad Request-URI", e);
    }
    syntax::NameAddr name_addr;
    if (syntax::Error e = syntax::parse_name_addr(request.header(sip::HeaderId::kFrom), name_addr);
        e != syntax::Error::kOk) {
        return respond(400, "Bad From", e);
    }
    if (syntax::Error e = syntax::parse_name_addr(request.header(sip::HeaderId::kTo), name_addr);
        e != syntax::Error::kOk) {
        return respond(400, "Bad To", e);
    }
    const sip::ListRange proxy_require = request.list(sip::HeaderId::kProxyRequire);
    if (!proxy_require.empty() && request.method() != sip::Method::kAck &&
        request.method() != sip::Method::kCancel) {
        // We support no option tag a proxy must understand; §16.3 step 5.
        return respond(420);
    }
    return std::nullopt;
}

// Max-Forwards before any forward (§16.3 step 3): the edits learn the new
// value, or the verdict is returned.
std::optional<RequestRoute> check_hops(const sip::Message& request, ForwardEdits& edits) {
    edits.max_forwards = check_max_forwards(request);
    switch (edits.max_forwards.verdict) {
        case MaxForwardsVerdict::kTooManyHops:
            return respond(483);
        case MaxForwardsVerdict::kMalformed:
            return respond(400, "Bad Max-Forwards");
        case MaxForwardsVerdict::kAbsent:
        case MaxForwardsVerdict::kForward:
            return std::nullopt;
    }
    return std::nullopt;
}

// Where a request goes when no token of ours routes it and no proxy takes
// it: the Route value left, the next hop, or `uri` (the Request-URI).
RequestRoute forward_onward(const sip::Message& request, const RouterContext& ctx,
                            const RouteWalk& walk, const syntax::Uri& ruri, ForwardEdits edits) {
    std::string_view target;
    bool literal = false;
    if (!walk.next.empty()) {
        syntax::NameAddr next;
        if (syntax::Error e = syntax::parse_name_addr(walk.next, next); e != syntax::Error::kOk) {
            return respond(400, "Bad Route", e);
        }
        target = next.uri_text;
        literal = is_ip_literal(next.uri);
    } else if (!uri_names_node(ruri, *ctx.me) && !ruri.is_tel()) {
        target = request.request_uri();
        literal = is_ip_literal(ruri);
    }
    RequestRoute r;
    r.edits = edits;
    if (!target.empty() && (literal || !ctx.roles.has_next_hop)) {
        r.kind = RequestRouteKind::kForwardToUri;
        r.target_uri = target;
        return r;
    }
    if (ctx.roles.has_next_hop) {
        r.kind = RequestRouteKind::kForwardNextHop;
        return r;
    }
    return respond(404);
}

RequestRoute route_register(const sip::Message& request, const RouterContext& ctx,
                            const RouteWalk& walk, const syntax::Uri& ruri) {
    bool outbound_contact = false;
    for (std::string_view value : request.list(sip::HeaderId::kContact)) {
        syntax::Contact contact;
        if (syntax::Error e = syntax::parse_contact(value, contact); e != syntax::Error::kOk) {
            return respond(400, "Bad Contact", e);
        }
        outbound_contact = outbound_contact || contact.has_reg_id();
    }
    const bool first_hop = is_first_hop(request);
    // OB-SEC-02: a Path naming this node (or, from a UA itself, any node of
    // the cluster) was not put there by us for this flow: a copied token
    // would make the proxy deliver someone else's calls down another flow.
    for (std::string_view value : request.list(sip::HeaderId::kPath)) {
        const Hop hop = classify_hop(value, *ctx.me, *ctx.keys, ctx.token_cache);
        if (hop.kind == HopKind::kMalformed) {
            return respond(400, "Bad Path", hop.error);
        }
        if (hop.kind == HopKind::kOursToken || hop.kind == HopKind::kBadToken ||
            (hop.kind == HopKind::kClusterToken && first_hop)) {
            return respond(403, "Forged Path");
        }
    }
    ForwardEdits edits;
    edits.route_values_removed = walk.removed;
    // OB-EDGE-01: the UA's first hop inserts itself when a reg-id asks for
    // it, with ob (OB-EDGE-06). Behind another edge we add nothing (the
    // OB-EDGE-02 policy): a Path of ours without ob on top would hide the
    // first edge's ob from the registrar, which then refuses outbound
    // (RFC 5626 §6, OB-REG-03).
    edits.path = ctx.roles.edge && outbound_contact && first_hop;
    edits.path_ob = edits.path;
    const bool local = ctx.roles.registrar && walk.next.empty() && !ruri.is_tel() &&
                       serves_domain(ruri.host, *ctx.me);
    if (local) {
        RequestRoute r;
        r.kind = RequestRouteKind::kToRegistrar;
        r.edits = edits;
        r.first_hop = first_hop;
        return r;
    }
    if (edits.path && !has_option(request, sip::HeaderId::kSupported, "path")) {
        return respond(421);  // OB-DEP-04, with Require: path
    }
    edits.require_path = edits.path;
    if (auto refused = check_hops(request, edits)) {
        return *refused;
    }
    if (walk.next.empty() && (uri_names_node(ruri, *ctx.me) || ruri.is_tel()) &&
        !ctx.roles.has_next_hop) {
        return respond(403, "Not a Registrar");
    }
    RequestRoute r = forward_onward(request, ctx, walk, ruri, edits);
    r.first_hop = first_hop;
    return r;
}

}  // namespace

std::string_view request_route_kind_name(RequestRouteKind kind) {
    switch (kind) {
        case RequestRouteKind::kRespond: return "respond";
        case RequestRouteKind::kDrop: return "drop";
        case RequestRouteKind::kToRegistrar: return "to_registrar";
        case RequestRouteKind::kDeliverToFlow: return "deliver_to_flow";
        case RequestRouteKind::kToProxy: return "to_proxy";
        case RequestRouteKind::kForwardToUri: return "forward_to_uri";
        case RequestRouteKind::kForwardNextHop: return "forward_next_hop";
    }
    return "unknown";
}

Hop classify_hop(std::string_view value, const EdgeIdentity& me, const token::KeyRing& keys,
                 token::TokenCache* cache) {
    Hop hop;
    syntax::NameAddr name_addr;
    if (syntax::Error e = syntax::parse_name_addr(value, name_addr); e != syntax::Error::kOk) {
        hop.kind = HopKind::kMalformed;
        hop.error = e;
        return hop;
    }
    hop.uri = name_addr.uri_text;
    if (name_addr.uri.is_tel() || !uri_is_ours(name_addr.uri.host, name_addr.uri.port, me)) {
        hop.kind = HopKind::kForeign;
        if (name_addr.uri.is_tel() || !name_addr.uri.has_user()) {
            return hop;
        }
        const token::VerifyResult v = verify_token(keys, name_addr.uri.user, cache);
        if (v.status == token::VerifyStatus::kOk) {
            hop.kind = HopKind::kClusterToken;
            hop.token = name_addr.uri.user;
            hop.flow = v.fields;
            hop.ob = name_addr.uri.has_ob();
        }
        return hop;
    }
    hop.ob = name_addr.uri.has_ob();
    if (!name_addr.uri.has_user()) {
        hop.kind = HopKind::kOursBare;
        return hop;
    }
    hop.token = name_addr.uri.user;
    const token::VerifyResult v = verify_token(keys, hop.token, cache);
    if (v.status != token::VerifyStatus::kOk) {
        hop.kind = HopKind::kBadToken;  // OB-EDGE-14, OB-EDGE-08
        return hop;
    }
    hop.kind = HopKind::kOursToken;
    hop.flow = v.fields;
    return hop;
}

namespace {

// route_request() without the top Via it hands back.
RequestRoute decide_route(const sip::Message& request, const RouterContext& ctx,
                          syntax::Via& top_via) {
    syntax::Uri ruri;
    if (auto refused = validate(request, ctx, ruri, top_via)) {
        return *refused;
    }
    const RouteWalk walk = walk_routes(request, ctx);
    if (walk.failed) {
        return walk.hop.kind == HopKind::kBadToken
                   ? respond(403, "Invalid Flow Token")
                   : respond(400, "Bad Route", walk.hop.error);
    }
    if (request.method() == sip::Method::kRegister && !walk.deliver) {
        return route_register(request, ctx, walk, ruri);
    }
    ForwardEdits edits;
    edits.route_values_removed = walk.removed;
    if (auto refused = check_hops(request, edits)) {
        return *refused;
    }
    const bool dialog_forming = is_dialog_forming(request);
    edits.record_route_source =
        ctx.roles.edge && dialog_forming &&
        (walk.outgoing_ob || contact_has_ob(request) || is_first_hop(request));
    if (walk.deliver) {
        RequestRoute r;
        r.kind = RequestRouteKind::kDeliverToFlow;
        r.flow = walk.hop.flow;
        r.flow_token = walk.hop.token;
        edits.record_route_target = walk.hop.ob && dialog_forming;  // OB-EDGE-11
        r.edits = edits;
        return r;
    }
    if (ctx.ack_matches_proxy && ctx.roles.proxy && request.method() == sip::Method::kAck) {
        RequestRoute r;
        r.kind = RequestRouteKind::kToProxy;
        r.edits = edits;
        return r;
    }
    const bool in_dialog = !dialog_forming && has_to_tag(request);
    if (!walk.next.empty() || in_dialog) {
        if (walk.next.empty() && uri_names_node(ruri, *ctx.me)) {
            // In dialog, addressed to this node, and nothing of ours in its
            // Route: no dialog of ours to route it by.
            if (request.method() == sip::Method::kAck) {
                return RequestRoute{};
            }
            return respond(404, "Not Here");
        }
        return forward_onward(request, ctx, walk, ruri, edits);
    }
    if (ctx.roles.proxy) {
        RequestRoute r;
        r.kind = RequestRouteKind::kToProxy;
        r.edits = edits;
        return r;
    }
    return forward_onward(request, ctx, walk, ruri, edits);
}

}  // namespace

RequestRoute route_request(const sip::Message& request, const RouterContext& ctx) {
    FE_ASSERT(request.is_request());
    FE_ASSERT(ctx.me != nullptr);
    FE_ASSERT(ctx.keys != nullptr);
    syntax::Via top_via;
    RequestRoute r = decide_route(request, ctx, top_via);
    r.top_via = top_via;
    return r;
}

ResponseRoute route_response(const sip::Message& response, const EdgeIdentity& me,
                             const token::KeyRing& keys, token::TokenCache* cache) {
    FE_ASSERT(!response.is_request());
    ResponseRoute r;
    const sip::ListRange vias = response.list(sip::HeaderId::kVia);
    syntax::Via top;
    if (vias.empty() || syntax::parse_via(*vias.begin(), top) != syntax::Error::kOk) {
        r.drop = ResponseDrop::kMalformedVia;
        return r;
    }
    const std::optional<BranchFields> branch = read_branch_id(top.branch);
    if (!branch || !uri_is_ours(top.host, top.port, me)) {
        r.drop = ResponseDrop::kNotOurs;
        return r;
    }
    r.branch = *branch;
    const std::optional<syntax::Param> fl = top.params.find("fl");
    if (fl && fl->has_value) {
        const token::VerifyResult flow = verify_token(keys, fl->value, cache);
        if (flow.status == token::VerifyStatus::kOk) {
            r.flow = flow.fields;
            r.has_flow = true;
        }
    }
    if (branch->kind == BranchKind::kProxy) {
        r.kind = ResponseRouteKind::kToProxy;
        return r;
    }
    if (!r.has_flow) {
        r.drop = ResponseDrop::kBadToken;
        return r;
    }
    r.kind = ResponseRouteKind::kToFlow;
    r.flow_timer = branch->kind == BranchKind::kStatelessRegister &&
                   response_is_outbound_register_ok(response);
    return r;
}

}  // namespace fe::outbound
