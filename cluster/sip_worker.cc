#include "cluster/sip_worker.h"

#include "cluster/proxy.h"

#include <cstdio>
#include <cstring>
#include <utility>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/sip/response.h"
#include "core/stun/message.h"
#include "core/stun/server.h"
#include "core/syntax/contact.h"
#include "core/syntax/host.h"
#include "core/syntax/uri.h"
#include "core/syntax/values.h"
#include "core/syntax/via.h"
#include "net/limits.h"
#include "state/binding_store.h"
#include "state/redis_store.h"

namespace fe::cluster {

// Where a message came from: the flow and how to answer on it.
struct SipWorker::Source {
    Transport transport = Transport::kUdp;
    net::ConnectionId connection;  // streams
    net::UdpSocketId socket;       // UDP
    Endpoint remote;
    state::FlowHandle flow;
};

struct SipWorker::ConnState {
    uint32_t generation = 0;  // of the connection using the slot
    state::FlowHandle flow;
    sip::StreamScan scan;
};

// A message for a flow of another worker. Allocated by the sender, owned and
// freed by the receiver. TODO(w1): pool these per worker pair; today a
// cross-worker delivery costs one allocation.
struct SipWorker::Delivery {
    token::Fields target;
    std::string bytes;
    uint32_t flow_timer_s = 0;
    // Sent to reply_to when the target flow is gone (a 430), if not empty.
    std::string failure;
    // A request of this worker's proxy role: when the target flow is gone the
    // receiver answers it with a 430 that reaches the proxy (OB-430-02).
    bool from_proxy = false;
    bool has_reply_to = false;
    token::Fields reply_to;
};

// What a forwarded request gets besides the RFC 3261 §16.6 basics.
struct SipWorker::ForwardEdits {
    bool remove_top_route = false;
    std::string_view record_route;    // Record-Route value to add on top, or empty
    std::string_view path;            // Path value to add on top (REGISTER), or empty
    bool require_path = false;        // add "Require: path" (OB-DEP-04)
    std::string_view via_flow_token;  // `fl` of our Via: the flow responses go back to
    outbound::MaxForwards max_forwards;
};

namespace {

// "Bad Route: bad port" and the like, for 400 reason phrases.
std::string_view join_reason(std::string_view what, std::string_view detail, char* buf,
                             size_t capacity) {
    sip::Writer w(buf, capacity);
    w.append(what);
    w.append(detail);
    return w.view();
}

constexpr std::string_view kOurBranchPrefix = "z9hG4bK-fe";

}  // namespace

SipWorker::SipWorker(uint32_t index, const NodeContext& context, RegistrarService* registrar,
                     ProxyService* proxy)
    : index_(index),
      context_(context),
      registrar_(registrar),
      proxy_(proxy),
      identity_{.host = context.advertise_host, .ports = context.ports},
      flows_([&] {
          state::FlowTableConfig c;
          c.generation_start = context.generation_start;
          c.flow_count_max = context.flow_count_max;
          // A worker's stream flows are its connections: no more than its
          // io_uring file table holds.
          c.stream_flow_count_max = net::kConnectionCountMax;
          return c;
      }()),
      arena_(std::make_unique<sip::EditArena>()),
      scratch_(std::make_unique<char[]>(kDeliverySizeMax)),
      response_buffer_(std::make_unique<char[]>(kLocalResponseSizeMax)),
      sweep_timer_(&SipWorker::on_sweep_timer, this),
      redis_down_reported_(context.redis_down_at_start) {
    FE_ASSERT(context.config != nullptr);
    FE_ASSERT(context.key_ring != nullptr);
    FE_ASSERT(index < context.worker_count);
}

SipWorker::~SipWorker() {
    FE_ASSERT(!sweep_timer_.armed());
    FE_ASSERT(redis_ == nullptr);  // removed on the worker's thread, in on_stop()
}

void SipWorker::set_redis_store(WorkerStore* slot, RedisFactory make) {
    FE_ASSERT(slot != nullptr);
    FE_ASSERT(worker_ == nullptr);  // before the worker runs
    store_slot_ = slot;
    make_redis_store_ = std::move(make);
}

outbound::EdgeAddress SipWorker::our_address(Transport transport) const {
    uint16_t port = transport == Transport::kUdp ? context_.udp_port : context_.tcp_port;
    if (port == 0) {
        port = context_.udp_port != 0 ? context_.udp_port : context_.tcp_port;
    }
    return outbound::EdgeAddress{context_.advertise_host, port, transport};
}

// ---- Receiving --------------------------------------------------------------

void SipWorker::on_datagram(net::Worker& worker, net::UdpSocketId socket, const Endpoint& from,
                            std::string_view bytes, Time now) {
    worker_ = &worker;
    if (bytes.empty() || from.port == 0) {
        return;
    }
    const auto first = static_cast<uint8_t>(bytes[0]);
    if (first == 0x00 || first == 0x01) {
        // RFC 5626 §8 demultiplexing (OB-STUN-04): STUN, never SIP.
        answer_stun(socket, from, bytes, now);
        return;
    }
    sip::FrameResult frame = sip::frame_datagram(bytes);
    if (frame.kind == sip::FrameKind::kIgnore) {
        return;  // a CRLF keep-alive on UDP (OB-KA-05): no answer
    }
    std::optional<state::FlowHandle> flow = flows_.find_udp(from, static_cast<uint16_t>(socket.index));
    if (flow) {
        (void)flows_.touch(*flow, now);
    } else {
        state::FlowCreated created = flows_.create_udp(from, static_cast<uint16_t>(socket.index), now);
        if (created.result != state::FlowResult::kOk) {
            stats_.flows_table_full.add();
            return;
        }
        stats_.flows_created.add();
        flow = created.handle;
    }
    Source source{.transport = Transport::kUdp, .connection = {}, .socket = socket,
                  .remote = from, .flow = *flow};
    if (frame.kind == sip::FrameKind::kError) {
        answer_malformed(source, bytes, frame.error);
        return;
    }
    handle_message(source, bytes.substr(0, frame.size), now);
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
    stun::Answer answer = stun::answer(datagram, from, out);
    if (answer.verdict != stun::Verdict::kSendSuccess &&
        answer.verdict != stun::Verdict::kSendUnknownAttributes) {
        stats_.stun_dropped.add();
        return;
    }
    // A keep-alive is activity on the flow (RFC 5626 §4.4.2); it creates none.
    if (auto flow = flows_.find_udp(from, static_cast<uint16_t>(socket.index))) {
        (void)flows_.touch(*flow, now);
    }
    const std::string_view response(reinterpret_cast<const char*>(out.data()),
                                    answer.response_size);
    if (worker_->send_datagram(socket, from, response) != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        return;
    }
    stats_.stun_answered.add();
}

size_t SipWorker::on_stream_data(net::Worker& worker, net::ConnectionId connection,
                                 std::string_view bytes, Time now) {
    worker_ = &worker;
    if (connection.index >= connections_.size() ||
        connections_[connection.index].generation != connection.generation) {
        return bytes.size();  // not a connection we opened a flow for
    }
    ConnState& conn = connections_[connection.index];
    const state::FlowEntry* entry = flows_.find(conn.flow);
    if (entry == nullptr) {
        return bytes.size();
    }
    Source source{.transport = entry->transport, .connection = connection, .socket = {},
                  .remote = entry->remote, .flow = conn.flow};
    size_t consumed = 0;
    while (consumed < bytes.size()) {
        const std::string_view rest = bytes.substr(consumed);
        sip::FrameResult frame = sip::frame_stream(rest, conn.scan);
        switch (frame.kind) {
            case sip::FrameKind::kIncomplete:
                return consumed;
            case sip::FrameKind::kError:
                // The message's end is unknowable: answer what we can, then
                // close this connection only (every other flow goes on).
                stats_.stream_framing_errors.add();
                answer_malformed(source, rest, frame.error);
                (void)worker.close(connection, net::CloseMode::kAfterSend);
                return bytes.size();
            case sip::FrameKind::kPing:
                // OB-EDGE-17 / OB-KA-20: one CRLF back at once.
                (void)flows_.touch(source.flow, now);
                if (worker.send_stream(connection, "\r\n") == net::SendResult::kQueued) {
                    stats_.pings_answered.add();
                }
                break;
            case sip::FrameKind::kPong:
            case sip::FrameKind::kIgnore:
                (void)flows_.touch(source.flow, now);
                break;
            case sip::FrameKind::kMessage:
                (void)flows_.touch(source.flow, now);
                handle_message(source, rest.substr(0, frame.size), now);
                break;
        }
        consumed += frame.size;
        if (connections_[connection.index].generation != connection.generation ||
            !flows_.find(source.flow)) {
            return bytes.size();  // closed while handling
        }
    }
    return consumed;
}

void SipWorker::handle_message(const Source& source, std::string_view bytes, Time now) {
    sip::Message message;
    if (sip::ParseError error = message.parse(bytes); error != sip::ParseError::kOk) {
        answer_malformed(source, bytes, error);
        return;
    }
    if (!message.is_request()) {
        stats_.responses.add();
        handle_response(message, now);
        return;
    }
    stats_.requests.add();
    handle_request(source, message, now);
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
    char reason[128];
    outbound::LoopResult loop = outbound::detect_loop(request, identity_);
    if (loop.verdict == outbound::LoopCheck::kMalformed) {
        stats_.malformed_requests.add();
        respond(source, request, 400,
                join_reason("Bad Via: ", syntax::error_text(loop.error), reason, sizeof(reason)));
        return;
    }
    if (loop.verdict == outbound::LoopCheck::kLoop) {
        stats_.loops.add();
        respond(source, request, 482);
        return;
    }
    if (request.method() == sip::Method::kRegister) {
        handle_register(source, request, now);
        return;
    }
    outbound::RouteDecision route =
        outbound::classify_route(request, identity_, *context_.key_ring, fields_of(source));
    switch (route.kind) {
        case outbound::RouteClass::kMalformed:
            stats_.malformed_requests.add();
            respond(source, request, 400,
                    join_reason("Bad Route: ", syntax::error_text(route.syntax_error), reason,
                                sizeof(reason)));
            return;
        case outbound::RouteClass::kBadToken:
            stats_.route_bad_token.add();
            respond(source, request, 403, "Invalid Flow Token");
            return;
        case outbound::RouteClass::kIncoming:
            handle_routed(source, request, route, now);
            return;
        case outbound::RouteClass::kOutgoing:
            stats_.route_outgoing.add();
            route_onward(source, request, /*remove_top_route=*/true, now);
            return;
        case outbound::RouteClass::kOursNoToken:
            stats_.route_ours_no_token.add();
            route_onward(source, request, /*remove_top_route=*/true, now);
            return;
        case outbound::RouteClass::kNotOurs:
        case outbound::RouteClass::kNoRoute:
            route_onward(source, request, /*remove_top_route=*/false, now);
            return;
    }
}

// ---- REGISTER (RFC 5626 §5.1, RFC 3327) --------------------------------------

void SipWorker::handle_register(const Source& source, const sip::Message& request, Time now) {
    char reason[128];
    bool outbound_contact = false;
    for (std::string_view value : request.list(sip::HeaderId::kContact)) {
        syntax::Contact contact;
        if (syntax::Error e = syntax::parse_contact(value, contact); e != syntax::Error::kOk) {
            stats_.malformed_requests.add();
            respond(source, request, 400,
                    join_reason("Bad Contact: ", syntax::error_text(e), reason, sizeof(reason)));
            return;
        }
        outbound_contact = outbound_contact || contact.has_reg_id();
    }
    const bool first_hop = outbound::is_first_hop(request);
    const bool local = context_.config->has_role(Role::kRegistrar) && registrar_ != nullptr;
    // OB-DEP-04: a registrar elsewhere must support Path, or the binding would
    // lose its flow silently.
    if (outbound_contact && !local &&
        !outbound::has_option(request, sip::HeaderId::kSupported, "path")) {
        stats_.registers_rejected.add();
        const std::string_view extra[] = {"Require: path"};
        respond(source, request, 421, {}, extra);
        return;
    }
    const token::Fields fields = fields_of(source);
    std::array<char, token::kTokenTextSizeMax> token_buf;
    std::string_view token;
    char path[outbound::kFlowUriValueSizeMax];
    std::string_view path_value;
    if (outbound_contact) {
        token = mint_token(fields, token_buf);
        if (token.empty()) {
            // OB-EDGE-03: never forward without a token.
            stats_.registers_rejected.add();
            respond(source, request, 500, "No Flow Token Key");
            return;
        }
        const size_t n = outbound::write_flow_uri_value(
            token, our_address(source.transport),
            first_hop ? outbound::ObParam::kAdd : outbound::ObParam::kOmit, path, sizeof(path));
        FE_ASSERT(n > 0);
        path_value = std::string_view(path, n);
        (void)flows_.set_flags(source.flow, state::kFlowOutbound);
    }
    if (local) {
        stats_.registers_local.add();
        RegisterFlow flow{.first_hop = first_hop, .path_value = path_value, .flow_token = token,
                          .transport = source.transport, .source = source.remote};
        registrar_->handle_register(request, flow, now, [this, fields](std::string_view response) {
            uint32_t flow_timer_s = 0;
            sip::Message parsed;
            if (parsed.parse(response) == sip::ParseError::kOk &&
                outbound::response_is_outbound_register_ok(parsed)) {
                // OB-FT-02: the UA now pings at this interval; wait longer.
                uint32_t value = 0;
                flow_timer_s = syntax::parse_flow_timer(parsed.header(sip::HeaderId::kFlowTimer),
                                                        value) == syntax::Error::kOk
                                   ? value
                                   : context_.config->flow_timer_s;
            }
            const std::string_view parts[] = {response};
            if (deliver(fields, parts, flow_timer_s, {}, nullptr) == DeliverResult::kGone) {
                stats_.responses_flow_gone.add();
            }
        });
        return;
    }
    if (!context_.has_next_hop) {
        stats_.unavailable.add();
        respond(source, request, 480);
        return;
    }
    ForwardEdits what;
    if (!check_hops(source, request, what)) {
        return;
    }
    std::array<char, token::kTokenTextSizeMax> via_token_buf;
    what.path = path_value;
    what.require_path = outbound_contact;
    what.via_flow_token = token.empty() ? mint_token(fields, via_token_buf) : token;
    arena_->reset();
    sip::EditList edits(request, *arena_);
    if (!apply_forward_edits(source, request, what, context_.next_hop_transport, edits)) {
        stats_.sends_failed.add();
        respond(source, request, 500, "Edit Space Exhausted");
        return;
    }
    stats_.registers_forwarded.add();
    send_to_next_hop(source, request, edits);
}

// ---- Requests routed by our flow token (RFC 5626 §5.3.1) ---------------------

void SipWorker::handle_routed(const Source& source, const sip::Message& request,
                              const outbound::RouteDecision& route, Time now) {
    (void)now;
    ForwardEdits what;
    if (!check_hops(source, request, what)) {
        return;
    }
    if (route.flow.node_id != context_.config->node_id) {
        // TODO(w1): issue #3 follow-up: relay to the owning node; until the
        // relay exists the flow is unreachable from here.
        stats_.route_other_node.add();
        respond(source, request, 430);
        return;
    }
    const token::Fields from = fields_of(source);
    std::array<char, token::kTokenTextSizeMax> via_token_buf;
    what.remove_top_route = true;
    what.via_flow_token = mint_token(from, via_token_buf);
    char rr[outbound::kFlowUriValueSizeMax];
    if (route.ob && outbound::is_dialog_forming(request)) {
        // OB-OBP-03 / OB-EDGE-11: stay in the dialog with the same token, no ob.
        const size_t n = outbound::write_flow_uri_value(
            route.token, our_address(route.flow.transport), outbound::ObParam::kOmit, rr,
            sizeof(rr));
        what.record_route = std::string_view(rr, n);
    }
    arena_->reset();
    sip::EditList edits(request, *arena_);
    if (!apply_forward_edits(source, request, what, route.flow.transport, edits)) {
        stats_.sends_failed.add();
        respond(source, request, 500, "Edit Space Exhausted");
        return;
    }
    std::array<std::string_view, net::kSendPartCountMax> parts;
    const size_t part_count = gather(edits, parts);
    const std::span<const std::string_view> message(parts.data(), part_count);
    DeliverResult result;
    if (route.flow.worker_index == index_) {
        result = deliver_local(route.flow, message, 0);
    } else {
        // The owner answers 430 itself when the flow is gone, so it needs the
        // answer ready-made.
        sip::Writer out(response_buffer_.get(), kLocalResponseSizeMax);
        const sip::ResponseSpec spec{.status_code = 430, .to_tag = "fe430"};
        std::string_view failure;
        if (sip::build_response(request, spec, out) == sip::BuildError::kOk) {
            failure = out.view();
        }
        result = deliver(route.flow, message, 0, failure, &from);
    }
    switch (result) {
        case DeliverResult::kSent:
        case DeliverResult::kPosted:
            stats_.route_incoming.add();
            return;
        case DeliverResult::kGone:
            stats_.route_flow_gone.add();  // OB-EDGE-15, OB-430-01
            respond(source, request, 430);
            return;
        case DeliverResult::kFailed:
            respond(source, request, 503, "Flow Busy");
            return;
    }
}

// ---- Everything else: proxy role, next hop or 480 ---------------------------

void SipWorker::route_onward(const Source& source, const sip::Message& request,
                             bool remove_top_route, Time now) {
    ForwardEdits what;
    if (!check_hops(source, request, what)) {
        return;
    }
    const token::Fields from = fields_of(source);
    std::array<char, token::kTokenTextSizeMax> token_buf;
    const std::string_view token = mint_token(from, token_buf);
    char rr[outbound::kFlowUriValueSizeMax];
    if (outbound::is_dialog_forming(request) && !token.empty()) {
        // OB-EDGE-13: the UA asks (;ob in its Contact) to be reached over this
        // flow for the rest of the dialog.
        syntax::Contact contact;
        const sip::ListRange contacts = request.list(sip::HeaderId::kContact);
        if (!contacts.empty() &&
            syntax::parse_contact(*contacts.begin(), contact) == syntax::Error::kOk &&
            contact.has_ob()) {
            const size_t n = outbound::write_flow_uri_value(
                token, our_address(source.transport), outbound::ObParam::kOmit, rr, sizeof(rr));
            what.record_route = std::string_view(rr, n);
        }
    }
    if (context_.config->has_role(Role::kProxy)) {
        if (proxy_ == nullptr) {
            // TODO(w1): issue #3: the home proxy (AOR lookup, one flow per
            // instance) plugs in through ProxyService; until then requests for
            // AORs get 480.
            stats_.unavailable.add();
            respond(source, request, 480);
            return;
        }
        stats_.to_proxy.add();
        RequestFlow flow{.transport = source.transport, .source = source.remote,
                         .flow_token = token, .record_route_value = what.record_route,
                         .top_route_is_ours = remove_top_route};
        proxy_->handle_request(request, flow, now, [this, from](std::string_view response) {
            const std::string_view parts[] = {response};
            (void)deliver(from, parts, 0, {}, nullptr);
        });
        return;
    }
    if (!context_.has_next_hop) {
        stats_.unavailable.add();
        respond(source, request, 480);
        return;
    }
    what.remove_top_route = remove_top_route;
    what.via_flow_token = token;
    arena_->reset();
    sip::EditList edits(request, *arena_);
    if (!apply_forward_edits(source, request, what, context_.next_hop_transport, edits)) {
        stats_.sends_failed.add();
        respond(source, request, 500, "Edit Space Exhausted");
        return;
    }
    stats_.forwarded_next_hop.add();
    send_to_next_hop(source, request, edits);
}

// Max-Forwards before any forward (RFC 3261 §16.3 step 3, §16.6 step 3): 483
// when exhausted, 400 when unreadable; otherwise `what` learns the new value.
bool SipWorker::check_hops(const Source& source, const sip::Message& request,
                           ForwardEdits& what) {
    what.max_forwards = outbound::check_max_forwards(request);
    if (what.max_forwards.verdict == outbound::MaxForwardsVerdict::kTooManyHops) {
        stats_.too_many_hops.add();
        respond(source, request, 483);
        return false;
    }
    if (what.max_forwards.verdict == outbound::MaxForwardsVerdict::kMalformed) {
        stats_.malformed_requests.add();
        respond(source, request, 400, "Bad Max-Forwards");
        return false;
    }
    return true;
}

bool SipWorker::apply_forward_edits(const Source& source, const sip::Message& request,
                                    const ForwardEdits& what, Transport out_transport,
                                    sip::EditList& edits) {
    bool ok = true;
    auto check = [&ok](sip::EditError e) { ok = ok && e == sip::EditError::kOk; };
    // The sender's Via: received/rport so responses find it (RFC 3581, OB-DEP-07).
    const std::string_view top_value = *request.list(sip::HeaderId::kVia).begin();
    syntax::Via top;
    std::string_view top_branch;
    if (syntax::parse_via(top_value, top) == syntax::Error::kOk) {
        char received[outbound::kViaReceivedSizeMax];
        const size_t n = outbound::write_via_received(top, source.remote, received,
                                                      sizeof(received));
        if (n > 0) {
            check(edits.insert_after(top_value, std::string_view(received, n)));
        }
        top_branch = top.branch;
    }
    if (what.remove_top_route) {
        check(edits.remove_first_value(sip::HeaderId::kRoute));
    }
    switch (what.max_forwards.verdict) {
        case outbound::MaxForwardsVerdict::kAbsent: {
            char text[16];
            sip::Writer w(text, sizeof(text));
            w.append_u32(what.max_forwards.next_value);
            check(edits.insert_header_at_end("Max-Forwards", w.view()));
            break;
        }
        case outbound::MaxForwardsVerdict::kForward:
            check(edits.replace_value(request.field(request.first_index(sip::HeaderId::kMaxForwards)),
                                      what.max_forwards.next_value));
            break;
        case outbound::MaxForwardsVerdict::kTooManyHops:
        case outbound::MaxForwardsVerdict::kMalformed:
            FE_BUG(true, "forwarding a request whose Max-Forwards was refused");
            return false;
    }
    char branch[outbound::kBranchSizeMax];
    const size_t branch_size = outbound::write_branch(request, top_branch, branch, sizeof(branch));
    char via[outbound::kEdgeViaValueSizeMax];
    const size_t via_size =
        outbound::write_via_value(our_address(out_transport), std::string_view(branch, branch_size),
                                  what.via_flow_token, via, sizeof(via));
    if (branch_size == 0 || via_size == 0) {
        return false;
    }
    check(edits.insert_header_before(sip::HeaderId::kVia, "Via", std::string_view(via, via_size)));
    if (!what.record_route.empty()) {
        check(edits.insert_header_before(sip::HeaderId::kRecordRoute, "Record-Route",
                                         what.record_route));
    }
    if (!what.path.empty()) {
        check(edits.insert_header_before(sip::HeaderId::kPath, "Path", what.path));
    }
    if (what.require_path) {
        check(edits.insert_header_at_end("Require", "path"));
    }
    return ok;
}

size_t SipWorker::gather(sip::EditList& edits,
                         std::array<std::string_view, net::kSendPartCountMax>& parts) {
    sip::ConstBuffer ranges[sip::kEditRangeCountMax];
    const size_t n = edits.gather(ranges, std::size(ranges));
    if (n <= parts.size()) {
        for (size_t i = 0; i < n; ++i) {
            parts[i] = std::string_view(static_cast<const char*>(ranges[i].data), ranges[i].size);
        }
        return n;
    }
    // More pieces than one send takes: copy once into the scratch buffer.
    const size_t size = edits.serialize_into(scratch_.get(), kDeliverySizeMax);
    parts[0] = std::string_view(scratch_.get(), size);
    return size == 0 ? 0 : 1;
}

bool SipWorker::next_hop_connection(net::ConnectionId& out) {
    if (next_hop_connected_) {
        out = next_hop_connection_;
        return true;
    }
    net::ConnectionId id;
    if (worker_->connect(context_.next_hop, &id) != net::ConnectResult::kStarted) {
        return false;
    }
    next_hop_connection_ = id;
    next_hop_connected_ = true;
    out = id;
    return true;
}

void SipWorker::send_to_next_hop(const Source& source, const sip::Message& request,
                                 sip::EditList& edits) {
    std::array<std::string_view, net::kSendPartCountMax> parts;
    const size_t part_count = gather(edits, parts);
    const std::span<const std::string_view> message(parts.data(), part_count);
    net::SendResult result = net::SendResult::kBadSocket;
    if (context_.next_hop_transport == Transport::kUdp) {
        // The first UDP socket (listen order); the next hop's responses come
        // back to it and any worker on the same address can take them.
        if (!udp_socket_ports_.empty()) {
            result = worker_->send_datagram(net::UdpSocketId{0}, context_.next_hop, message);
        }
    } else {
        net::ConnectionId connection;
        if (next_hop_connection(connection)) {
            result = worker_->send_stream(connection, message);
            if (result == net::SendResult::kStale || result == net::SendResult::kClosing) {
                next_hop_connected_ = false;
                if (next_hop_connection(connection)) {
                    result = worker_->send_stream(connection, message);
                }
            }
        }
    }
    if (result != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        respond(source, request, 503, "Next Hop Unreachable");
    }
}

// ---- Responses (RFC 3261 §16.7, stateless) ----------------------------------

void SipWorker::handle_response(const sip::Message& response, Time now) {
    const std::string_view top_value = *response.list(sip::HeaderId::kVia).begin();
    syntax::Via top;
    if (syntax::parse_via(top_value, top) != syntax::Error::kOk) {
        stats_.malformed_responses.add();
        return;
    }
    if (!top.branch.starts_with(kOurBranchPrefix) || !outbound::uri_is_ours(top.host, top.port, identity_)) {
        stats_.responses_not_ours.add();
        return;
    }
    const std::optional<syntax::Param> fl = top.params.find("fl");
    if (!fl || !fl->has_value) {
        to_proxy_response(response, top.branch, now);
        return;
    }
    token::VerifyResult flow = token::verify(*context_.key_ring, fl->value);
    if (flow.status != token::VerifyStatus::kOk) {
        stats_.responses_not_ours.add();
        return;
    }
    arena_->reset();
    sip::EditList edits(response, *arena_);
    if (edits.remove_first_value(sip::HeaderId::kVia) != sip::EditError::kOk) {
        stats_.malformed_responses.add();
        return;
    }
    uint32_t flow_timer_s = 0;
    if (outbound::response_is_outbound_register_ok(response)) {
        uint32_t value = 0;
        if (syntax::parse_flow_timer(response.header(sip::HeaderId::kFlowTimer), value) ==
            syntax::Error::kOk) {
            flow_timer_s = value;
        } else {
            // OB-FT-01: we are the last proxy before the UA; say how often to ping.
            flow_timer_s = context_.config->flow_timer_s;
            char text[16];
            sip::Writer w(text, sizeof(text));
            w.append_u32(flow_timer_s);
            if (edits.insert_header_at_end("Flow-Timer", w.view()) != sip::EditError::kOk) {
                stats_.sends_failed.add();
                return;
            }
        }
    }
    std::array<std::string_view, net::kSendPartCountMax> parts;
    const size_t part_count = gather(edits, parts);
    DeliverResult result =
        deliver(flow.fields, std::span(parts.data(), part_count), flow_timer_s, {}, nullptr);
    if (result == DeliverResult::kGone) {
        stats_.responses_flow_gone.add();
    } else if (result != DeliverResult::kFailed) {
        stats_.responses_forwarded.add();
    }
}

// ---- The proxy role's sends ---------------------------------------------------

// A response to a branch of a HomeProxy: the branch id names the worker whose
// proxy holds the call, which may not be this one (the UA's flow can live on
// any worker).
void SipWorker::to_proxy_response(const sip::Message& response, std::string_view branch, Time now) {
    const std::optional<uint32_t> owner = home_proxy_worker_of(branch);
    if (owner && *owner != index_ && *owner < context_.worker_count) {
        auto bytes = std::make_unique<std::string>(response.bytes());
        net::MailboxItem item;
        item.kind = kMailProxyResponse;
        item.from_worker_index = index_;
        item.words[0] = reinterpret_cast<uintptr_t>(bytes.get());
        if (worker_->post(*owner, item) != net::PostResult::kPosted) {
            stats_.deliveries_dropped.add();
            return;
        }
        (void)bytes.release();  // the owner frees it
        stats_.deliveries_posted.add();
        return;
    }
    if (proxy_ == nullptr) {
        stats_.responses_not_ours.add();
        return;
    }
    proxy_->handle_response(response, now);
}

// The flow a proxy branch was posted to is gone on this worker: answer the
// branch with 430 Flow Failed (RFC 5626 §5.3.1) so its proxy tries the
// instance's next flow, wherever that proxy runs.
void SipWorker::answer_proxy_branch_flow_gone(std::string_view request_bytes, Time now) {
    sip::Message request;
    if (request.parse(request_bytes) != sip::ParseError::kOk) {
        return;
    }
    sip::Writer writer(response_buffer_.get(), kLocalResponseSizeMax);
    const sip::ResponseSpec spec{.status_code = 430, .to_tag = "fe430"};
    if (sip::build_response(request, spec, writer) != sip::BuildError::kOk) {
        return;
    }
    sip::Message response;
    if (response.parse(writer.view()) != sip::ParseError::kOk) {
        return;
    }
    handle_response(response, now);
}

EdgeSender::SendStatus SipWorker::send_request(std::span<const std::string_view> parts,
                                               std::string_view route_uri) {
    syntax::Uri uri;
    if (syntax::parse_uri(route_uri, uri) != syntax::Error::kOk || uri.is_tel()) {
        return SendStatus::kBadTarget;
    }
    if (uri.has_user() && outbound::uri_is_ours(uri.host, uri.port, identity_)) {
        token::VerifyResult flow = token::verify(*context_.key_ring, uri.user);
        if (flow.status != token::VerifyStatus::kOk) {
            return SendStatus::kBadTarget;
        }
        switch (deliver(flow.fields, parts, 0, {}, nullptr, FromProxy::kYes)) {
            case DeliverResult::kSent:
            case DeliverResult::kPosted:
                stats_.route_incoming.add();
                return SendStatus::kSent;
            case DeliverResult::kGone:
                stats_.route_flow_gone.add();
                return SendStatus::kFlowGone;
            case DeliverResult::kFailed:
                return SendStatus::kBusy;
        }
    }
    if (uri.has_user()) {
        // A Path of another node of the cluster (a binding registered there,
        // shared through Redis): its token verifies with our keys but names
        // that node's flow, which only that node can reach. With no relay
        // between nodes yet, it is as gone for us as a closed flow of our
        // own, so the proxy tries the instance's next flow (OB-430-02).
        // TODO(w1): relay to the owning node instead.
        token::VerifyResult flow = token::verify(*context_.key_ring, uri.user);
        if (flow.status == token::VerifyStatus::kOk &&
            flow.fields.node_id != context_.config->node_id) {
            stats_.route_other_node.add();
            return SendStatus::kFlowGone;
        }
    }
    // A plain RFC 3261 binding: its Contact's address, over UDP.
    std::optional<Endpoint> to = Endpoint::parse(syntax::host_address(uri.host));
    const std::optional<Transport> transport = uri.transport();
    if (!to || (transport && *transport != Transport::kUdp) || udp_socket_ports_.empty()) {
        return SendStatus::kBadTarget;
    }
    to->port = uri.has_port() ? uri.port : 5060;
    if (worker_->send_datagram(net::UdpSocketId{0}, *to, parts) != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        return SendStatus::kBusy;
    }
    return SendStatus::kSent;
}

// ---- Flows and delivery -----------------------------------------------------

token::Fields SipWorker::fields_of(const Source& source) const {
    token::Fields f;
    f.node_id = context_.config->node_id;
    f.worker_index = static_cast<uint8_t>(index_);
    f.slot = source.flow.slot;
    f.generation = source.flow.generation;
    f.transport = source.transport;
    if (source.transport == Transport::kUdp) {
        f.remote = source.remote;
        f.local_socket_index = static_cast<uint16_t>(source.socket.index);
    }
    return f;
}

std::string_view SipWorker::mint_token(const token::Fields& fields, std::span<char> out) {
    token::MintResult m = token::mint(*context_.key_ring, fields, out);
    if (m.status != token::MintStatus::kOk) {
        return {};
    }
    return std::string_view(out.data(), m.size);
}

SipWorker::DeliverResult SipWorker::deliver(const token::Fields& target,
                                            std::span<const std::string_view> parts,
                                            uint32_t flow_timer_s, std::string_view failure,
                                            const token::Fields* reply_to, FromProxy from_proxy) {
    if (target.node_id != context_.config->node_id ||
        target.worker_index >= context_.worker_count) {
        return DeliverResult::kGone;
    }
    if (target.worker_index == index_) {
        return deliver_local(target, parts, flow_timer_s);
    }
    auto delivery = std::make_unique<Delivery>();
    delivery->target = target;
    size_t size = 0;
    for (std::string_view part : parts) {
        size += part.size();
    }
    delivery->bytes.reserve(size);
    for (std::string_view part : parts) {
        delivery->bytes.append(part);
    }
    delivery->flow_timer_s = flow_timer_s;
    delivery->failure = std::string(failure);
    delivery->from_proxy = from_proxy == FromProxy::kYes;
    if (reply_to != nullptr) {
        delivery->has_reply_to = true;
        delivery->reply_to = *reply_to;
    }
    net::MailboxItem item;
    item.kind = kMailDelivery;
    item.from_worker_index = index_;
    item.words[0] = reinterpret_cast<uintptr_t>(delivery.get());
    if (worker_->post(target.worker_index, item) != net::PostResult::kPosted) {
        stats_.deliveries_dropped.add();
        return DeliverResult::kFailed;
    }
    (void)delivery.release();  // the receiver owns it now
    stats_.deliveries_posted.add();
    return DeliverResult::kPosted;
}

SipWorker::DeliverResult SipWorker::deliver_local(const token::Fields& target,
                                                  std::span<const std::string_view> parts,
                                                  uint32_t flow_timer_s) {
    const state::FlowHandle handle{target.slot, target.generation};
    const state::FlowEntry* entry = flows_.find(handle);
    if (entry == nullptr || entry->transport != target.transport) {
        return DeliverResult::kGone;
    }
    net::SendResult sent;
    if (entry->is_udp()) {
        sent = worker_->send_datagram(net::UdpSocketId{entry->local_socket}, entry->remote, parts);
    } else {
        sent = worker_->send_stream(net::ConnectionId{entry->connection_id, entry->cookie}, parts);
    }
    if (sent == net::SendResult::kStale || sent == net::SendResult::kClosing) {
        return DeliverResult::kGone;
    }
    if (sent != net::SendResult::kQueued) {
        stats_.sends_failed.add();
        return DeliverResult::kFailed;
    }
    if (flow_timer_s != 0) {
        (void)flows_.set_flow_timer(handle, seconds(flow_timer_s));
        (void)flows_.set_flags(handle, state::kFlowOutbound);
    }
    return DeliverResult::kSent;
}

void SipWorker::reply(const Source& source, std::string_view bytes) {
    net::SendResult sent = source.transport == Transport::kUdp
                               ? worker_->send_datagram(source.socket, source.remote, bytes)
                               : worker_->send_stream(source.connection, bytes);
    if (sent != net::SendResult::kQueued) {
        stats_.sends_failed.add();
    }
}

void SipWorker::respond(const Source& source, const sip::Message& request, uint16_t status,
                        std::string_view reason, std::span<const std::string_view> extra) {
    sip::Writer out(response_buffer_.get(), kLocalResponseSizeMax);
    const sip::ResponseSpec spec{.status_code = status, .reason = reason, .to_tag = "fe",
                                 .extra_headers = extra};
    if (sip::build_response(request, spec, out) != sip::BuildError::kOk) {
        return;  // ACK, or no room: nothing to send
    }
    reply(source, out.view());
}

// ---- Connections, mailbox, sweep -------------------------------------------

void SipWorker::on_connection_open(net::Worker& worker, net::ConnectionId connection,
                                   const Endpoint& peer, Transport transport, Time now) {
    worker_ = &worker;
    if (connection.index >= connections_.size()) {
        connections_.resize(connection.index + 1);
    }
    ConnState& conn = connections_[connection.index];
    conn = ConnState{};
    conn.generation = connection.generation;
    if (auto stale = flows_.find_by_connection(connection.index)) {
        // The previous connection in this slot closed without our seeing it:
        // end its flow so its tokens go stale (OB-EDGE-04).
        FE_BUG(true, "a connection slot reopened with its old flow alive");
        (void)flows_.erase(*stale);
    }
    state::FlowCreated created = flows_.create_stream(connection.index, transport, now, peer);
    if (created.result != state::FlowResult::kOk) {
        stats_.flows_table_full.add();
        conn.generation = 0;
        (void)worker.close(connection, net::CloseMode::kAbort);
        return;
    }
    stats_.flows_created.add();
    (void)flows_.set_cookie(created.handle, connection.generation);
    conn.flow = created.handle;
}

void SipWorker::on_connection_closed(net::Worker& worker, net::ConnectionId connection,
                                     net::CloseReason reason, Time now) {
    (void)reason;
    worker_ = &worker;
    if (next_hop_connected_ && next_hop_connection_ == connection) {
        next_hop_connected_ = false;
    }
    if (connection.index >= connections_.size() ||
        connections_[connection.index].generation != connection.generation) {
        return;
    }
    ConnState& conn = connections_[connection.index];
    if (const state::FlowEntry* entry = flows_.find(conn.flow)) {
        const state::FlowEntry copy = *entry;
        flow_closed(conn.flow, copy, now);
        (void)flows_.erase(conn.flow);  // old tokens now get 430 (OB-EDGE-15)
    }
    conn = ConnState{};
}

void SipWorker::flow_closed(state::FlowHandle handle, const state::FlowEntry& entry, Time now) {
    if (!entry.has(state::kFlowOutbound) || registrar_ == nullptr) {
        return;
    }
    // OB-AUTH-06/07: bindings over this flow are dead. The token is the one
    // the Path carried: same fields, same key.
    token::Fields f;
    f.node_id = context_.config->node_id;
    f.worker_index = static_cast<uint8_t>(index_);
    f.slot = handle.slot;
    f.generation = handle.generation;
    f.transport = entry.transport;
    if (entry.is_udp()) {
        f.remote = entry.remote;
        f.local_socket_index = entry.local_socket;
    }
    std::array<char, token::kTokenTextSizeMax> buf;
    const std::string_view token = mint_token(f, buf);
    if (!token.empty()) {
        registrar_->on_flow_closed(token, now);
    }
}

void SipWorker::on_mailbox(net::Worker& worker, const net::MailboxItem& item, Time now) {
    worker_ = &worker;
    if (item.kind == kMailStart) {
        udp_socket_ports_.clear();
        for (const net::WorkerSocket& s : worker.sockets()) {
            if (s.transport == Transport::kUdp) {
                udp_socket_ports_.push_back(s.local.port);
            }
        }
        if (!stopping_) {
            if (store_slot_ != nullptr && redis_ == nullptr) {
                std::unique_ptr<state::RedisStore> store = make_redis_store_(worker);
                redis_ = store.get();
                store_slot_->install(std::move(store));
            }
            worker.timer_wheel().arm(sweep_timer_, now + kSweepInterval);
        }
        return;
    }
    if (item.kind == kMailProxyResponse) {
        std::unique_ptr<std::string> bytes(reinterpret_cast<std::string*>(item.words[0]));
        stats_.deliveries_received.add();
        sip::Message response;
        if (proxy_ == nullptr || response.parse(*bytes) != sip::ParseError::kOk) {
            stats_.responses_not_ours.add();
            return;
        }
        proxy_->handle_response(response, now);
        return;
    }
    if (item.kind != kMailDelivery) {
        FE_BUG(true, "unknown mailbox item kind");
        return;
    }
    std::unique_ptr<Delivery> delivery(reinterpret_cast<Delivery*>(item.words[0]));
    stats_.deliveries_received.add();
    const std::string_view parts[] = {delivery->bytes};
    DeliverResult result = deliver_local(delivery->target, parts, delivery->flow_timer_s);
    if (result == DeliverResult::kGone && delivery->from_proxy) {
        stats_.route_flow_gone.add();
        answer_proxy_branch_flow_gone(delivery->bytes, now);
        return;
    }
    if (result == DeliverResult::kGone && delivery->has_reply_to && !delivery->failure.empty()) {
        stats_.route_flow_gone.add();
        const std::string_view failure[] = {delivery->failure};
        (void)deliver(delivery->reply_to, failure, 0, {}, nullptr);
    }
}

void SipWorker::on_sweep_timer(time::Timer& timer, Time now) {
    auto* self = static_cast<SipWorker*>(timer.context);
    self->sweep(now);
    if (!self->stopping_) {
        self->worker_->timer_wheel().arm(self->sweep_timer_, now + kSweepInterval);
    }
}

void SipWorker::sweep(Time now) {
    flows_.expire(now, flows_.sweep_budget(kSweepInterval),
                  [&](state::FlowHandle handle, const state::FlowEntry& entry) {
                      stats_.flows_expired.add();
                      if (entry.is_udp()) {
                          flow_closed(handle, entry, now);
                          return state::ExpireDecision::kErase;
                      }
                      // Closed after the sweep; on_connection_closed() erases
                      // the flow and tells the registrar (OB-AUTH-07).
                      to_close_.push_back(net::ConnectionId{entry.connection_id, entry.cookie});
                      return state::ExpireDecision::kClosing;
                  });
    for (net::ConnectionId connection : to_close_) {
        (void)worker_->close(connection, net::CloseMode::kAbort);
    }
    to_close_.clear();
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
    store_slot_->remove();
}

void SipWorker::on_stop(net::Worker& worker, Time now) {
    (void)now;
    worker_ = &worker;
    stopping_ = true;
    if (sweep_timer_.armed()) {
        worker.timer_wheel().cancel(sweep_timer_);
    }
    remove_redis_store();
}

}  // namespace fe::cluster
