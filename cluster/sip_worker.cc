// The SIP worker: receive, ask the router, carry out. See sip_worker.h.
#include "cluster/sip_worker.h"

#include <array>
#include <cstdio>
#include <utility>

#include "cluster/node_limits.h"
#include "core/base/assert.h"
#include "core/outbound/edge.h"
#include "core/outbound/proxy_request.h"
#include "core/sip/framing.h"
#include "core/sip/response.h"
#include "core/stun/message.h"
#include "core/stun/server.h"
#include "core/syntax/values.h"
#include "core/syntax/via.h"
#include "net/limits.h"
#include "state/redis_store.h"

namespace fe::cluster {
namespace {

// "Bad Route: bad port" and the like, for 400 reason phrases.
std::string_view join_reason(std::string_view what, syntax::Error detail, char* buf,
                             size_t capacity) {
    sip::Writer w(buf, capacity);
    w.append(what);
    if (detail != syntax::Error::kOk) {
        w.append(": ");
        w.append(syntax::error_text(detail));
    }
    return w.view();
}

}  // namespace

SipWorker::SipWorker(net::Runtime& runtime, const NodeContext& context,
                     std::unique_ptr<state::RedisStore> redis)
    : runtime_(runtime),
      index_(runtime.index()),
      context_(context),
      identity_(context.identity()),
      flows_(runtime.index(), context),
      response_buffer_(std::make_unique<char[]>(kLocalResponseSizeMax)),
      sweep_timer_(&SipWorker::on_sweep_timer, this),
      redis_down_reported_(context.redis_down_at_start) {
    FE_ASSERT(context.config != nullptr);
    FE_ASSERT(context.key_ring != nullptr);
    FE_ASSERT(index_ < context.worker_count);
    FE_ASSERT(context.mail != nullptr || context.worker_count == 1);
    flows_.set_udp_sockets(runtime.sockets());
    state::BindingStore* store = context.store;
    if (redis != nullptr) {
        redis_ = redis.get();
        redis_slot_.install(std::move(redis));
        store = &redis_slot_;
    }
    if (store != nullptr && context.roles.registrar) {
        registrar_ = std::make_unique<Registrar>(*store, context.registrar);
    }
    if (store != nullptr && context.roles.proxy) {
        HomeProxyConfig config = context.proxy;
        config.worker_index = static_cast<uint8_t>(index_);
        config.token_cache = &tokens_;
        proxy_ = std::make_unique<HomeProxy>(*store, *this, runtime.timer_wheel(),
                                             std::move(config));
    }
    runtime.timer_wheel().arm(sweep_timer_, runtime.now() + kSweepInterval);
}

SipWorker::~SipWorker() {
    if (sweep_timer_.armed()) {
        runtime_.timer_wheel().cancel(sweep_timer_);
    }
    // The roles go before the store they hold.
    proxy_.reset();
    registrar_.reset();
}

// ---- Receiving --------------------------------------------------------------

void SipWorker::on_datagram(net::Runtime& runtime, net::UdpSocketId socket, const Endpoint& from,
                            std::string_view bytes, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    if (bytes.empty() || from.port == 0) {
        return;
    }
    const auto first = static_cast<uint8_t>(bytes[0]);
    if (first == 0x00 || first == 0x01) {
        // RFC 5626 §8 demultiplexing (OB-STUN-04): STUN, never SIP.
        answer_stun(socket, from, bytes, now);
        return;
    }
    const sip::FrameResult frame = sip::frame_datagram(bytes);
    if (frame.kind == sip::FrameKind::kIgnore) {
        return;  // a CRLF keep-alive on UDP (OB-KA-05): no answer
    }
    bool created = false;
    const std::optional<Source> source = flows_.datagram_source(socket, from, now, created);
    if (!source) {
        stats_.flows_table_full.add();
        return;
    }
    if (created) {
        stats_.flows_created.add();
    }
    if (frame.kind == sip::FrameKind::kError) {
        answer_malformed(*source, bytes, frame.error);
        return;
    }
    handle_message(*source, bytes.substr(0, frame.size), now);
}

void SipWorker::answer_stun(net::UdpSocketId socket, const Endpoint& from, std::string_view bytes,
                            Time now) {
    const std::span<const uint8_t> datagram(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size());
    if (!stun::looks_like_stun(datagram)) {
        stats_.non_sip_dropped.add();  // RFC 3489 style or garbage (OB-STUN-09)
        return;
    }
    std::array<uint8_t, stun::kResponseSizeMax> out;
    const stun::Answer answer = stun::answer(datagram, from, out);
    if (answer.verdict != stun::Verdict::kSendSuccess &&
        answer.verdict != stun::Verdict::kSendUnknownAttributes) {
        stats_.stun_dropped.add();
        return;
    }
    flows_.touch_udp(socket, from, now);  // a keep-alive is activity (RFC 5626 §4.4.2)
    const std::string_view response(reinterpret_cast<const char*>(out.data()),
                                    answer.response_size);
    if (runtime_.send_datagram(socket, from, response) != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        return;
    }
    stats_.stun_answered.add();
}

size_t SipWorker::on_stream_data(net::Runtime& runtime, net::ConnectionId connection,
                                 std::string_view bytes, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    const std::optional<Source> source = flows_.stream_source(connection);
    if (!source) {
        return bytes.size();  // not a connection we hold a flow for
    }
    size_t consumed = 0;
    while (consumed < bytes.size()) {
        sip::StreamScan* scan = flows_.stream_scan(connection);
        if (scan == nullptr || !flows_.alive(*source)) {
            return bytes.size();  // closed while handling
        }
        const std::string_view rest = bytes.substr(consumed);
        const sip::FrameResult frame = sip::frame_stream(rest, *scan);
        switch (frame.kind) {
            case sip::FrameKind::kIncomplete:
                return consumed;
            case sip::FrameKind::kError:
                // The message's end is unknowable: answer what we can, then
                // close this connection only (every other flow goes on).
                stats_.stream_framing_errors.add();
                answer_malformed(*source, rest, frame.error);
                (void)runtime_.close(connection, net::CloseMode::kAfterSend);
                return bytes.size();
            case sip::FrameKind::kPing:
                // OB-EDGE-17 / OB-KA-20: one CRLF back at once.
                flows_.touch(*source, now);
                if (runtime_.send_stream(connection, "\r\n") == net::SendResult::kQueued) {
                    stats_.pings_answered.add();
                }
                break;
            case sip::FrameKind::kPong:
            case sip::FrameKind::kIgnore:
                flows_.touch(*source, now);
                break;
            case sip::FrameKind::kMessage:
                flows_.touch(*source, now);
                handle_message(*source, rest.substr(0, frame.size), now);
                break;
        }
        consumed += frame.size;
    }
    return consumed;
}

// One WebSocket message is one SIP message (RFC 7118 §5.1): the WebSocket
// frames it, so it is framed like a datagram (Content-Length optional, a
// body never longer than it says). A CRLF keep-alive inside a text frame,
// which RFC 7118 does not define but some clients send, is answered as on
// TCP (OB-EDGE-17), inside a frame of its own.
void SipWorker::on_stream_message(net::Runtime& runtime, net::ConnectionId connection,
                                  std::string_view message, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    const std::optional<Source> source = flows_.stream_source(connection);
    if (!source || message.empty()) {
        return;
    }
    flows_.touch(*source, now);
    const sip::FrameResult frame = sip::frame_datagram(message);
    if (frame.kind == sip::FrameKind::kIgnore) {
        if (message == "\r\n\r\n" &&
            runtime_.send_stream(connection, "\r\n") == net::SendResult::kQueued) {
            stats_.pings_answered.add();
        }
        return;
    }
    if (frame.kind == sip::FrameKind::kError) {
        stats_.stream_framing_errors.add();
        answer_malformed(*source, message, frame.error);
        return;  // the message ended with its frame: the connection goes on
    }
    handle_message(*source, message.substr(0, frame.size), now);
}

void SipWorker::handle_message(const Source& source, std::string_view bytes, Time now) {
    sip::Message message;
    if (const sip::ParseError error = message.parse(bytes); error != sip::ParseError::kOk) {
        answer_malformed(source, bytes, error);
        return;
    }
    if (!message.is_request()) {
        stats_.responses.add();
        handle_response(message, now);
        return;
    }
    if (source.worker == index_ && dispatch(source, message)) {
        return;
    }
    stats_.requests.add();
    handle_request(source, message, now);
}

namespace {

// FNV-1a: the same bytes give the same worker for a request's whole life.
uint32_t hash32(std::string_view text) {
    uint32_t h = 2166136261u;
    for (char c : text) {
        h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    }
    return h;
}

// The URI of a From value, without display name or tag: the same user gives
// the same text whatever the call ("Alice" <sip:a@x>;tag=1 -> sip:a@x).
std::string_view from_uri(std::string_view from) {
    const size_t open = from.find('<');
    if (open != std::string_view::npos) {
        const size_t close = from.find('>', open);
        return from.substr(open + 1, close == std::string_view::npos ? close : close - open - 1);
    }
    return from.substr(0, from.find(';'));
}

}  // namespace

// One flow must not pin the node to one worker (issue 9): a trunk's requests
// (a flow that carried more than one user: a PBX, an SBC, a load generator,
// an edge in front of us) are spread by Call-ID, so every request of one
// call or registration (retransmissions, ACK, CANCEL, refreshes) meets the
// same worker's transactions. A UA's own flow is never spread: it would only
// add a hop.
bool SipWorker::dispatch(const Source& source, const sip::Message& request) {
    if (context_.worker_count < 2 || context_.mail == nullptr ||
        !flows_.note_user(source, hash32(from_uri(request.header(sip::HeaderId::kFrom))))) {
        return false;
    }
    const uint32_t owner = hash32(request.header(sip::HeaderId::kCallId)) % context_.worker_count;
    if (owner == index_) {
        return false;
    }
    if (request.method() == sip::Method::kRegister) {
        // The flow's bindings must be forgotten when it closes, whichever
        // worker registered them (OB-AUTH-07).
        flows_.mark_outbound(source);
    }
    const ParcelHeader header{.kind = ParcelKind::kInbound, .flow_timer_s = 0,
                              .flow = flows_.fields_of(source), .remote = source.remote};
    const std::string_view parts[] = {request.bytes()};
    if (context_.mail->send(runtime_, index_, owner, header, parts) == MailResult::kRingFull) {
        stats_.deliveries_dropped.add();  // the UA or the peer retransmits
        return true;
    }
    stats_.dispatched.add();
    return true;
}

void SipWorker::answer_malformed(const Source& source, std::string_view bytes,
                                 sip::ParseError error) {
    sip::Writer out(response_buffer_.get(), kLocalResponseSizeMax);
    if (!outbound::build_raw_error_response(bytes, sip::parse_error_status(error),
                                            sip::parse_error_reason(error), out)) {
        // A response (or not SIP at all): dropped and counted, never answered.
        stats_.malformed_responses.add();
        return;
    }
    stats_.malformed_requests.add();
    reply(source, out.view());
}

void SipWorker::handle_request(const Source& source, const sip::Message& request, Time now) {
    const outbound::RouterContext ctx{
        .me = &identity_,
        .keys = context_.key_ring,
        .token_cache = &tokens_,
        .source = flows_.fields_of(source),
        .roles = context_.roles,
        .ack_matches_proxy = proxy_ != nullptr && request.method() == sip::Method::kAck &&
                             proxy_->matches_ack(request)};
    const outbound::RequestRoute route = outbound::route_request(request, ctx);
    switch (route.kind) {
        case outbound::RequestRouteKind::kRespond:
            respond_route(source, request, route);
            return;
        case outbound::RequestRouteKind::kDrop:
            return;
        case outbound::RequestRouteKind::kToRegistrar:
            to_registrar(source, request, route, now);
            return;
        case outbound::RequestRouteKind::kToProxy:
            to_proxy(source, request, route, now);
            return;
        case outbound::RequestRouteKind::kDeliverToFlow:
        case outbound::RequestRouteKind::kForwardToUri:
        case outbound::RequestRouteKind::kForwardNextHop:
            forward(source, request, route, now);
            return;
    }
}

// ---- Carrying out the router's decision --------------------------------------

void SipWorker::respond_route(const Source& source, const sip::Message& request,
                              const outbound::RequestRoute& route) {
    switch (route.status) {
        case 400: stats_.malformed_requests.add(); break;
        case 403: stats_.route_bad_token.add(); break;
        case 404: stats_.unavailable.add(); break;
        case 421: stats_.registers_rejected.add(); break;
        case 482: stats_.loops.add(); break;
        case 483: stats_.too_many_hops.add(); break;
        default: break;
    }
    char reason[128];
    const std::string_view text =
        route.syntax_error == syntax::Error::kOk
            ? route.reason
            : join_reason(route.reason, route.syntax_error, reason, sizeof(reason));
    if (route.status == 421) {
        const std::string_view extra[] = {"Require: path"};  // OB-DEP-04
        respond(source, request, 421, text, extra);
        return;
    }
    if (route.status == 420) {
        // §16.3 step 5: every tag a proxy would have to understand.
        char line[sip::kHeaderLineSizeMax];
        sip::Writer w(line, sizeof(line));
        w.append("Unsupported: ");
        bool first = true;
        for (std::string_view tag : request.list(sip::HeaderId::kProxyRequire)) {
            w.append(first ? "" : ", ");
            w.append(tag);
            first = false;
        }
        const std::string_view extra[] = {w.view()};
        respond(source, request, 420, text, w.overflowed() ? std::span<const std::string_view>()
                                                           : std::span(extra));
        return;
    }
    respond(source, request, route.status, text);
}

void SipWorker::to_registrar(const Source& source, const sip::Message& request,
                             const outbound::RequestRoute& route, Time now) {
    if (registrar_ == nullptr) {
        respond(source, request, 500, "No Binding Store");
        return;
    }
    const token::Fields from = flows_.fields_of(source);
    // sips: in our Path when the REGISTER's Request-URI was sips.
    const syntax::UriScheme scheme = outbound::uri_scheme_of(request.request_uri());
    std::array<char, token::kTokenTextSizeMax> token_buf;
    std::string_view token;
    char path[outbound::kFlowUriValueSizeMax];
    std::string_view path_value;
    if (route.edits.path) {
        token = mint(from, token_buf);
        if (token.empty()) {
            // OB-EDGE-03: never store a binding without its token.
            stats_.registers_rejected.add();
            respond(source, request, 500, "No Flow Token Key");
            return;
        }
        const size_t n = outbound::write_flow_uri_value(
            token, context_.address(source.transport, scheme),
            route.edits.path_ob ? outbound::ObParam::kAdd : outbound::ObParam::kOmit, path,
            sizeof(path));
        FE_ASSERT(n > 0);
        path_value = std::string_view(path, n);
        flows_.mark_outbound(source);
    }
    stats_.registers_local.add();
    const RegisterFlow flow{.first_hop = route.first_hop, .path_value = path_value,
                            .flow_token = token, .transport = source.transport,
                            .source = source.remote, .top_via = &route.top_via};
    registrar_->handle_register(
        request, flow, now, [this, source, from](std::string_view response, uint32_t flow_timer_s) {
            respond_on(source, from, response, flow_timer_s);
        });
}

void SipWorker::to_proxy(const Source& source, const sip::Message& request,
                         const outbound::RequestRoute& route, Time now) {
    if (proxy_ == nullptr) {
        respond(source, request, 500, "No Binding Store");
        return;
    }
    const token::Fields from = flows_.fields_of(source);
    const syntax::UriScheme scheme = outbound::uri_scheme_of(request.request_uri());
    std::array<char, token::kTokenTextSizeMax> token_buf;
    const std::string_view token = mint(from, token_buf);
    char rr[outbound::kFlowUriValueSizeMax];
    std::string_view record_route;
    if (route.edits.record_route_source && !token.empty()) {
        const size_t n = outbound::write_flow_uri_value(token, context_.address(source.transport, scheme),
                                                        outbound::ObParam::kOmit, rr, sizeof(rr));
        record_route = std::string_view(rr, n);
    }
    stats_.to_proxy.add();
    const RequestFlow flow{.transport = source.transport,
                           .source = source.remote,
                           .flow_token = token,
                           .record_route_value = record_route,
                           .route_values_removed = route.edits.route_values_removed};
    proxy_->handle_request(request, flow, now, [this, source, from](std::string_view response) {
        respond_on(source, from, response, 0);
    });
}

// Stateless forwarding (RFC 3261 §16.11): down one of our flows (a token in
// the Route), to the next hop, or to a URI.
void SipWorker::forward(const Source& source, const sip::Message& request,
                        const outbound::RequestRoute& route, Time now) {
    (void)now;
    const token::Fields from = flows_.fields_of(source);
    // Our Path and Record-Route URIs are sips when the Request-URI is
    // (RFC 3261 §16.6 step 4); the Via names the transport only.
    const syntax::UriScheme scheme = outbound::uri_scheme_of(request.request_uri());
    std::array<char, token::kTokenTextSizeMax> from_token_buf;
    const std::string_view from_token = mint(from, from_token_buf);
    if (from_token.empty()) {
        stats_.registers_rejected.add();
        respond(source, request, 500, "No Flow Token Key");  // OB-EDGE-03
        return;
    }
    // How the request leaves: our Via and Record-Route name that transport.
    Transport out = context_.next_hop_transport;
    Destination destination;
    if (route.kind == outbound::RequestRouteKind::kDeliverToFlow) {
        out = route.flow.transport;
    } else if (route.kind == outbound::RequestRouteKind::kForwardToUri) {
        switch (destination_of(route.target_uri, destination)) {
            case DestinationError::kOk:
                out = destination.transport;
                if (out == Transport::kTls && context_.tls_client == nullptr) {
                    // No --tls-ca: no server certificate could be checked.
                    respond(source, request, 502, "No TLS Client");
                    return;
                }
                break;
            case DestinationError::kMalformed:
                respond(source, request, 400, "Bad Target URI");
                return;
            case DestinationError::kUnresolvable:
                respond(source, request, 503, "No DNS Here");
                return;
            case DestinationError::kUnsupported:
                respond(source, request, 502, "Unsupported Transport");
                return;
        }
    }
    const bool register_first_hop =
        request.method() == sip::Method::kRegister && route.edits.path_ob;
    const outbound::BranchId branch = outbound::write_branch(
        request, route.top_via.branch,
        register_first_hop ? outbound::BranchKind::kStatelessRegister
                           : outbound::BranchKind::kStateless);
    char via[outbound::kEdgeViaValueSizeMax];
    const size_t via_size = outbound::write_via_value(context_.address(out), branch.view(),
                                                      from_token, via, sizeof(via));
    FE_ASSERT(via_size > 0);
    char rr_target[outbound::kFlowUriValueSizeMax];
    char rr_source[outbound::kFlowUriValueSizeMax];
    char path[outbound::kFlowUriValueSizeMax];
    ForwardPlan plan{.edits = &route.edits, .via = std::string_view(via, via_size)};
    const outbound::ViaReceived received = outbound::via_received_of(route.top_via, source.remote);
    plan.via_received = received.edit();
    if (route.edits.record_route_target) {
        const size_t n = outbound::write_flow_uri_value(route.flow_token, context_.address(out, scheme),
                                                        outbound::ObParam::kOmit, rr_target,
                                                        sizeof(rr_target));
        plan.record_route_target = std::string_view(rr_target, n);
    }
    if (route.edits.record_route_source) {
        const size_t n = outbound::write_flow_uri_value(
            from_token, context_.address(source.transport, scheme), outbound::ObParam::kOmit, rr_source,
            sizeof(rr_source));
        plan.record_route_source = std::string_view(rr_source, n);
    }
    if (route.edits.path) {
        const size_t n = outbound::write_flow_uri_value(
            from_token, context_.address(source.transport, scheme),
            route.edits.path_ob ? outbound::ObParam::kAdd : outbound::ObParam::kOmit, path,
            sizeof(path));
        plan.path = std::string_view(path, n);
        flows_.mark_outbound(source);
    }
    const std::span<const std::string_view> parts = forwarder_.request(request, plan);
    if (parts.empty()) {
        stats_.sends_failed.add();
        respond(source, request, 500, "Edit Space Exhausted");
        return;
    }
    if (request.method() == sip::Method::kRegister) {
        stats_.registers_forwarded.add();
    }
    Delivery sent = Delivery::kFailed;
    switch (route.kind) {
        case outbound::RequestRouteKind::kDeliverToFlow:
            sent = deliver(route.flow, parts, 0);
            if (sent == Delivery::kGone) {
                stats_.route_flow_gone.add();  // OB-EDGE-15, OB-430-01
                if (route.flow.node_id != context_.config->node_id) {
                    stats_.route_other_node.add();  // no relay between nodes yet
                }
                respond(source, request, 430);
                return;
            }
            if (sent != Delivery::kFailed) {
                stats_.route_incoming.add();
            }
            break;
        case outbound::RequestRouteKind::kForwardNextHop:
            stats_.forwarded_next_hop.add();
            sent = send_to_destination({}, parts);
            break;
        case outbound::RequestRouteKind::kForwardToUri:
            stats_.forwarded_uri.add();
            sent = send_to_destination(route.target_uri, parts);
            break;
        default:
            FE_BUG(true, "forward() given a route that is not a forward");
            return;
    }
    if (sent == Delivery::kFailed || sent == Delivery::kGone) {
        stats_.sends_failed.add();
        respond(source, request, 503, "Next Hop Unreachable");
    }
}

// ---- Responses (RFC 3261 §16.7) ----------------------------------------------

void SipWorker::handle_response(const sip::Message& response, Time now) {
    const outbound::ResponseRoute route =
        outbound::route_response(response, identity_, *context_.key_ring, &tokens_);
    switch (route.kind) {
        case outbound::ResponseRouteKind::kDrop:
            if (route.drop == outbound::ResponseDrop::kMalformedVia) {
                stats_.malformed_responses.add();
            } else {
                stats_.responses_not_ours.add();
            }
            return;
        case outbound::ResponseRouteKind::kToFlow:
            forward_response_to_flow(response, route.flow, route.flow_timer);
            return;
        case outbound::ResponseRouteKind::kToProxy:
            break;
    }
    const uint32_t owner = route.branch.worker_index;
    if (owner != index_ && owner < context_.worker_count) {
        // The call lives on the worker whose proxy made the branch.
        const ParcelHeader header{.kind = ParcelKind::kProxyResponse};
        const std::string_view parts[] = {response.bytes()};
        if (context_.mail->send(runtime_, index_, owner, header, parts) ==
            MailResult::kRingFull) {
            stats_.deliveries_dropped.add();
            return;
        }
        stats_.deliveries_posted.add();
        return;
    }
    if (proxy_ != nullptr && proxy_->handle_response(response, now)) {
        return;
    }
    // No live call: a 2xx of an INVITE still goes up, statelessly, to the
    // caller's flow our Via names (RFC 3261 §16.7 step 5, RFC 6026 §7.2).
    if (route.has_flow && response.cseq_method() == sip::Method::kInvite &&
        response.status_code() >= 200 && response.status_code() < 300) {
        forward_response_to_flow(response, route.flow, false);
        return;
    }
    stats_.responses_not_ours.add();
}

void SipWorker::forward_response_to_flow(const sip::Message& response, const token::Fields& flow,
                                         bool flow_timer) {
    uint32_t flow_timer_s = 0;
    char text[16];
    std::string_view add_flow_timer;
    if (flow_timer) {
        // OB-FT-01: we are the UA's first hop; say how often to ping, and
        // hold the flow to it (OB-FT-02).
        uint32_t value = 0;
        if (syntax::parse_flow_timer(response.header(sip::HeaderId::kFlowTimer), value) ==
            syntax::Error::kOk) {
            flow_timer_s = value;
        } else {
            flow_timer_s = context_.config->flow_timer_s;
            sip::Writer w(text, sizeof(text));
            w.append_u32(flow_timer_s);
            add_flow_timer = w.view();
        }
    }
    const std::span<const std::string_view> parts = forwarder_.response(response, add_flow_timer);
    if (parts.empty()) {
        stats_.malformed_responses.add();
        return;
    }
    switch (deliver(flow, parts, flow_timer_s)) {
        case Delivery::kSent:
        case Delivery::kPosted:
            stats_.responses_forwarded.add();
            return;
        case Delivery::kGone:
            stats_.responses_flow_gone.add();
            return;
        case Delivery::kFailed:
            return;
    }
}

// ---- The proxy role's sends ---------------------------------------------------

ProxySender::SendStatus SipWorker::send_to_flow(const token::Fields& flow,
                                                std::span<const std::string_view> parts) {
    switch (deliver(flow, parts, 0)) {
        case Delivery::kSent:
        case Delivery::kPosted:
            stats_.route_incoming.add();
            return SendStatus::kSent;
        case Delivery::kGone:
            stats_.route_flow_gone.add();
            if (flow.node_id != context_.config->node_id) {
                // A binding registered through another node (shared through
                // Redis): with no relay yet, its flow is as gone for us as a
                // closed flow of our own, so the proxy tries the instance's
                // next flow (OB-430-02). TODO(w1): relay to the owning node.
                stats_.route_other_node.add();
            }
            return SendStatus::kFlowGone;
        case Delivery::kFailed:
            return SendStatus::kBusy;
    }
    return SendStatus::kBusy;
}

ProxySender::SendStatus SipWorker::send_to_uri(std::string_view uri,
                                               std::span<const std::string_view> parts) {
    Destination destination;
    if (destination_of(uri, destination) != DestinationError::kOk) {
        return SendStatus::kBadTarget;
    }
    return send_to_destination(uri, parts) == Delivery::kSent ? SendStatus::kSent
                                                              : SendStatus::kBusy;
}

// ---- Flows and delivery -----------------------------------------------------

std::string_view SipWorker::mint(const token::Fields& fields, std::span<char> out) {
    const token::MintResult m = tokens_.mint(*context_.key_ring, fields, out);
    if (m.status != token::MintStatus::kOk) {
        return {};
    }
    return std::string_view(out.data(), m.size);
}

SipWorker::Delivery SipWorker::deliver(const token::Fields& target,
                                       std::span<const std::string_view> parts,
                                       uint32_t flow_timer_s) {
    if (target.node_id != context_.config->node_id ||
        target.worker_index >= context_.worker_count) {
        return Delivery::kGone;
    }
    if (target.worker_index == index_) {
        switch (flows_.send(runtime_, target, parts, flow_timer_s)) {
            case SendOutcome::kSent: return Delivery::kSent;
            case SendOutcome::kGone: return Delivery::kGone;
            case SendOutcome::kFailed:
                stats_.sends_failed.add();
                return Delivery::kFailed;
        }
    }
    const ParcelHeader header{.kind = ParcelKind::kDeliver, .flow_timer_s = flow_timer_s,
                              .flow = target};
    if (context_.mail->send(runtime_, index_, target.worker_index, header, parts) ==
        MailResult::kRingFull) {
        stats_.deliveries_dropped.add();
        return Delivery::kFailed;
    }
    stats_.deliveries_posted.add();
    return Delivery::kPosted;
}

// The next hop (empty uri) or the destination a URI names.
SipWorker::Delivery SipWorker::send_to_destination(std::string_view uri,
                                                   std::span<const std::string_view> parts) {
    Destination destination{context_.next_hop, context_.next_hop_transport,
                            context_.next_hop_host};
    if (!uri.empty() && destination_of(uri, destination) != DestinationError::kOk) {
        return Delivery::kFailed;
    }
    net::SendResult result = net::SendResult::kBadSocket;
    if (destination.transport == Transport::kUdp) {
        // The first UDP socket (listen order): its port is in our Via, and
        // the answer may come back to any worker on that address.
        if (!flows_.udp_socket_ports().empty()) {
            result = runtime_.send_datagram(net::UdpSocketId{0}, destination.endpoint, parts);
        }
    } else if (const auto connection =
                   links_.connection_to(runtime_, destination, context_.tls_client)) {
        result = runtime_.send_stream(*connection, parts);
    }
    if (result != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        return Delivery::kFailed;
    }
    return Delivery::kSent;
}

// A role's answer (now or after the store answered) back to the request's
// flow. Over UDP it leaves from this worker's own socket whichever worker
// received the request, and a Flow-Timer for another worker's flow follows
// as a header-only parcel; a stream goes through the flow's worker.
void SipWorker::respond_on(const Source& source, const token::Fields& from,
                           std::string_view response, uint32_t flow_timer_s) {
    const std::string_view parts[] = {response};
    if (source.transport == Transport::kUdp && source.worker != index_) {
        reply(source, response);
        if (flow_timer_s != 0) {
            const ParcelHeader header{.kind = ParcelKind::kFlowTimer,
                                      .flow_timer_s = flow_timer_s, .flow = from};
            if (context_.mail->send(runtime_, index_, source.worker, header, {}) ==
                MailResult::kRingFull) {
                stats_.deliveries_dropped.add();  // the flow keeps its default idle limit
            }
        }
        return;
    }
    if (deliver(from, parts, flow_timer_s) == Delivery::kGone) {
        stats_.responses_flow_gone.add();
    }
}

void SipWorker::reply(const Source& source, std::string_view bytes) {
    const std::string_view parts[] = {bytes};
    if (source.worker == index_ || source.transport == Transport::kUdp) {
        // UDP from our own socket of the same index: the same port the
        // request came to, whichever worker received it.
        if (flows_.reply(runtime_, source, parts) != SendOutcome::kSent) {
            stats_.sends_failed.add();
        }
        return;
    }
    if (deliver(flows_.fields_of(source), parts, 0) == Delivery::kFailed) {
        stats_.sends_failed.add();
    }
}

void SipWorker::respond(const Source& source, const sip::Message& request, uint16_t status,
                        std::string_view reason, std::span<const std::string_view> extra) {
    const outbound::ViaReceived received = outbound::via_received_of(request, source.remote);
    sip::Writer out(response_buffer_.get(), kLocalResponseSizeMax);
    const outbound::ToTag tag = outbound::response_to_tag(request, context_.proxy.branch_secret);
    const sip::ResponseSpec spec{.status_code = status, .reason = reason, .to_tag = tag.view(),
                                 .extra_headers = extra, .top_via = received.edit()};
    if (sip::build_response(request, spec, out) != sip::BuildError::kOk) {
        return;  // ACK, or no room: nothing to send
    }
    reply(source, out.view());
}

// ---- Parcels from other workers ----------------------------------------------

void SipWorker::on_mailbox(net::Runtime& runtime, const net::MailboxItem& item, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    if (item.kind != kMailParcel || item.from_worker_index >= context_.worker_count ||
        item.from_worker_index == index_) {
        FE_BUG(true, "unknown mailbox item");
        return;
    }
    context_.mail->receive(index_, item.from_worker_index,
                           [&](const ParcelHeader& header, std::string_view message) {
                               deliver_parcel(header, message, now);
                           });
}

void SipWorker::deliver_parcel(const ParcelHeader& header, std::string_view message, Time now) {
    stats_.deliveries_received.add();
    if (header.kind == ParcelKind::kInbound) {
        const Source source{.transport = header.flow.transport,
                            .connection = {},
                            .socket = net::UdpSocketId{header.flow.local_socket_index},
                            .remote = header.remote,
                            .flow = state::FlowHandle{header.flow.slot, header.flow.generation},
                            .worker = header.flow.worker_index};
        handle_message(source, message, now);
        return;
    }
    if (header.kind == ParcelKind::kFlowTimer) {
        (void)flows_.hold(header.flow, header.flow_timer_s);
        return;
    }
    if (header.kind == ParcelKind::kProxyResponse) {
        sip::Message response;
        if (response.parse(message) != sip::ParseError::kOk) {
            FE_BUG(true, "a parcel holding a response that does not parse");
            return;
        }
        const outbound::ResponseRoute route =
            outbound::route_response(response, identity_, *context_.key_ring, &tokens_);
        if (proxy_ != nullptr && proxy_->handle_response(response, now)) {
            return;
        }
        if (route.has_flow && response.cseq_method() == sip::Method::kInvite &&
            response.status_code() >= 200 && response.status_code() < 300) {
            forward_response_to_flow(response, route.flow, false);  // RFC 6026 §7.2
        }
        return;
    }
    FE_ASSERT(header.kind == ParcelKind::kDeliver);
    const std::string_view parts[] = {message};
    if (header.flow.worker_index != index_) {
        FE_BUG(true, "a parcel for a flow of another worker");
        return;
    }
    switch (flows_.send(runtime_, header.flow, parts, header.flow_timer_s)) {
        case SendOutcome::kSent:
            return;
        case SendOutcome::kFailed:
            stats_.sends_failed.add();
            return;
        case SendOutcome::kGone:
            answer_gone_request(message, now);
            return;
    }
}

// The flow a request was posted to is gone here: answer it 430 (RFC 5626
// §5.3.1) and route that answer like a response from the network, so it
// reaches the proxy branch (OB-430-02) or the flow our Via's `fl` names.
void SipWorker::answer_gone_request(std::string_view request_bytes, Time now) {
    sip::Message request;
    if (request.parse(request_bytes) != sip::ParseError::kOk || !request.is_request()) {
        stats_.responses_flow_gone.add();  // a response whose flow went: dropped
        return;
    }
    stats_.route_flow_gone.add();
    sip::Writer writer(response_buffer_.get(), kLocalResponseSizeMax);
    const outbound::ToTag tag = outbound::response_to_tag(request, context_.proxy.branch_secret);
    const sip::ResponseSpec spec{.status_code = 430, .to_tag = tag.view()};
    if (sip::build_response(request, spec, writer) != sip::BuildError::kOk) {
        return;  // an ACK: nobody waits for it
    }
    sip::Message response;
    if (response.parse(writer.view()) != sip::ParseError::kOk) {
        return;
    }
    handle_response(response, now);
}

// ---- Connections, sweep, stop ------------------------------------------------

void SipWorker::on_connection_open(net::Runtime& runtime, net::ConnectionId connection,
                                   const Endpoint& peer, Transport transport, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    links_.on_opened(connection);
    if (!flows_.open_connection(connection, peer, transport, now)) {
        stats_.flows_table_full.add();
        (void)runtime_.close(connection, net::CloseMode::kAbort);
        return;
    }
    stats_.flows_created.add();
}

void SipWorker::on_connection_closed(net::Runtime& runtime, net::ConnectionId connection,
                                     net::CloseReason reason, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    if (const std::optional<Endpoint> unreachable = links_.on_closed(connection)) {
        stats_.connects_failed.add();
        if ((reason == net::CloseReason::kTlsFailed ||
             reason == net::CloseReason::kTlsHandshakeTimeout) &&
            now - tls_failure_logged_ >= kTlsFailureLogInterval) {
            // An operator's problem (a certificate the CAs do not vouch for,
            // one that does not name the host dialled): said, at most once
            // a second per worker; counted always (net tls_handshakes_failed).
            tls_failure_logged_ = now;
            const std::string why(reason == net::CloseReason::kTlsFailed
                                      ? runtime_.last_tls_failure()
                                      : net::close_reason_name(reason));
            std::fprintf(stderr,
                         "flowedge: TLS to %s failed: %s (its certificate must chain to "
                         "--tls-ca and name the host dialled, RFC 5922); requests to it fail\n",
                         unreachable->to_string().c_str(), why.c_str());
        }
        if (proxy_ != nullptr) {
            proxy_->on_destination_failed(*unreachable, now);
        }
    }
    if (const std::optional<EndedFlow> ended = flows_.close_connection(connection)) {
        flow_ended(*ended, now);
    }
}

void SipWorker::flow_ended(const EndedFlow& ended, Time now) {
    if (!ended.outbound || registrar_ == nullptr) {
        return;
    }
    // OB-AUTH-06/07: bindings over this flow are dead. The token is the one
    // the Path carried: same fields, same key.
    std::array<char, token::kTokenTextSizeMax> buf;
    const std::string_view token = mint(ended.fields, buf);
    if (!token.empty()) {
        registrar_->on_flow_closed(token, now);
    }
}

void SipWorker::on_sweep_timer(time::Timer& timer, Time now) {
    auto* self = static_cast<SipWorker*>(timer.context);
    self->sweep(now);
    if (!self->stopping_) {
        self->runtime_.timer_wheel().arm(self->sweep_timer_, now + kSweepInterval);
    }
}

void SipWorker::sweep(Time now) {
    const size_t expired = flows_.expire(runtime_, now, kSweepInterval,
                                         [&](const EndedFlow& ended) { flow_ended(ended, now); });
    stats_.flows_expired.add(expired);
    if (context_.mail != nullptr) {
        // A parcel whose doorbell was lost to a full mailbox waits at most
        // one sweep.
        context_.mail->receive_all(index_, [&](const ParcelHeader& header, std::string_view m) {
            deliver_parcel(header, m, now);
        });
    }
    if (index_ == 0 && context_.store != nullptr) {
        (void)context_.store->expire(now);
    }
    if (index_ == 0 && redis_ != nullptr) {
        report_redis_health();
    }
}

// Worker 0 speaks for the node: every worker has its own connection, but they
// reach the same server, so one line per change (not per worker, never per
// request) tells the operator that REGISTERs fail and when they work again.
void SipWorker::report_redis_health() {
    const state::RedisStoreStats& s = redis_->stats();
    const uint64_t failures = s.connect_failures.get() + s.disconnects.get();
    if (redis_down_reported_ && redis_->connected()) {
        redis_down_reported_ = false;
        std::fprintf(stderr, "flowedge: redis %s reachable again\n", context_.redis_label.c_str());
    } else if (!redis_down_reported_ && !redis_->connected() && failures != redis_failures_seen_) {
        redis_down_reported_ = true;
        std::fprintf(stderr,
                     "flowedge: redis %s unreachable; REGISTER will get 500 until it is back\n",
                     context_.redis_label.c_str());
    }
    redis_failures_seen_ = failures;
}

// Destroys this worker's Redis store on its own thread, keeping its counters
// for the node's shutdown line. Its pending calls are answered kUnavailable
// (the registrar and the proxy answer 500) while it goes.
void SipWorker::remove_redis_store() {
    if (redis_ == nullptr) {
        return;
    }
    const state::RedisStoreStats& s = redis_->stats();
    stats_.store_connects.add(s.connects.get());
    stats_.store_connect_failures.add(s.connect_failures.get());
    stats_.store_disconnects.add(s.disconnects.get());
    // The counters go with the store: its pending calls, answered while it
    // goes, are counted here in advance.
    stats_.store_unavailable.add(s.unavailable.get() + redis_->pending_count());
    redis_ = nullptr;
    redis_slot_.remove();
}

void SipWorker::on_stop(net::Runtime& runtime, Time now) {
    FE_ASSERT(&runtime == &runtime_);
    (void)now;
    stopping_ = true;
    if (sweep_timer_.armed()) {
        runtime_.timer_wheel().cancel(sweep_timer_);
    }
    remove_redis_store();
}

}  // namespace fe::cluster
