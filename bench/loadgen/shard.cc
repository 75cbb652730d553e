#include "bench/loadgen/shard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "bench/loadgen/text.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/sip/framing.h"
#include "core/sip/message.h"
#include "core/stun/client.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/via.h"
#include "core/ua/instance.h"
#include "core/ua/register_response.h"
#include "core/ua/request_builder.h"

namespace fe::loadgen {

namespace {

// Calls in flight per shard; a slot still live when its sequence number comes
// round again is counted as a timeout (at 10k calls/s that is 6.5 s old).
constexpr uint32_t kPendingCallCountMax = 65536;
// RFC 3261 Timer F (64 x T1): a call without final response by then failed.
constexpr Duration kCallTimeout = seconds(32);
// At the end of a run, calls still in flight get this long to finish.
constexpr Duration kStopGrace = seconds(3);
// UDP REGISTER retransmission, RFC 3261 Timer E: T1 doubling up to T2.
constexpr Duration kTimerT1 = milliseconds(500);
constexpr Duration kTimerT2 = seconds(4);
// The shard's loop wakes at least this often to pace starts and calls.
constexpr Duration kPaceTick = milliseconds(1);
constexpr Duration kIdleWaitMax = milliseconds(50);
// Nominal Via/Contact port of a TCP UA: the kernel picks the real source
// port, which no io_uring operation reports for a direct descriptor; the
// registrar routes over the flow (RFC 5626), like a phone behind a NAT.
constexpr uint16_t kTcpNominalPort = 5060;
// Via lines copied into a response; more than this and the request is dropped.
constexpr uint32_t kViaCountMax = 16;
// Record-Route values of a 2xx the caller keeps as its route set; a longer
// route set leaves the call unable to send ACK and BYE (bye_not_sent).
constexpr uint32_t kRouteCountMax = 16;
// TCP flows per ring, and the ring's file table: below RLIMIT_NOFILE (20000).
// The table has spare slots beyond the flows because a cut connection's slot
// is freed only after its close completes, while the flow reconnects at once.
constexpr uint32_t kConnectionsPerRingMax = 19000;
constexpr uint32_t kConnectionTableSizeMax = 19900;

thread_local Shard* t_shard = nullptr;

uint64_t flow_key(uint32_t local, uint32_t flow_index) {
    return (static_cast<uint64_t>(local) << 3) | flow_index;
}

void format_ipv4(uint32_t addr, char* out, size_t size) {
    std::snprintf(out, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF,
                  addr & 0xFF);
}

std::string_view trim_crlf(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    return line;
}

// "b<send_ns>-<shard>-<seq>@bench": the send time travels in the Call-ID, so
// the callee (any shard, same process, same CLOCK_MONOTONIC) measures the
// delivery latency without shared state.
struct BenchCallId {
    int64_t sent_ns = 0;
    uint32_t shard = 0;
    uint32_t seq = 0;
};

std::optional<BenchCallId> parse_bench_call_id(std::string_view text) {
    if (text.size() < 2 || text[0] != 'b') {
        return std::nullopt;
    }
    BenchCallId id;
    const char* p = text.data() + 1;
    const char* end = text.data() + text.size();
    auto r = std::from_chars(p, end, id.sent_ns);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '-') {
        return std::nullopt;
    }
    r = std::from_chars(r.ptr + 1, end, id.shard);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '-') {
        return std::nullopt;
    }
    r = std::from_chars(r.ptr + 1, end, id.seq);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '@') {
        return std::nullopt;
    }
    return id;
}

}  // namespace

struct FlowIo {
    static void fsm_timer_fired(time::Timer& t, Time now) {
        t_shard->on_flow_timer(*static_cast<FlowIo*>(t.context), now);
    }
    static void rtx_timer_fired(time::Timer& t, Time now) {
        t_shard->on_retransmit_timer(*static_cast<FlowIo*>(t.context), now);
    }

    ConnRef conn;
    uint32_t ua_local = 0;
    uint8_t flow_index = 0;
    uint8_t edge_index = 0;
    bool open = false;  // the transport is usable (TCP connected; UDP always after kConnect)
    bool up = false;    // counted in Counts::flows_up
    uint32_t register_cseq = 0;  // outstanding REGISTER; 0 when none
    // TCP: the source port the registrar saw, from the rport of the top Via
    // of its last 2xx to REGISTER (RFC 3581); 0 when it gave none.
    uint16_t learned_port = 0;
    uint32_t retransmit_count = 0;
    Time register_sent_at{};
    fe::ua::Action last_register;  // rebuilt for UDP retransmissions
    fe::ua::StunTransactionId stun_id{};
    time::Timer fsm_timer{&FlowIo::fsm_timer_fired, this};
    time::Timer rtx_timer{&FlowIo::rtx_timer_fired, this};
};

// A call from its request to the end of its dialog. An INVITE call goes
// kRequest -> kBye (the 2xx came, ACK and BYE are out) -> ended by the BYE's
// final response or a timeout; a MESSAGE ends at its final response.
enum class CallStage : uint8_t { kRequest, kBye };

struct Shard::PendingCall {
    bool live = false;
    CallStage stage = CallStage::kRequest;
    uint32_t seq = 0;
    uint32_t caller_local = 0;
    uint8_t flow_index = 0;
    uint32_t bye_cseq = 0;  // valid in kBye
    Time sent{};            // the INVITE or MESSAGE
    Time bye_sent{};        // valid in kBye
};

Shard::Shard(Plan& plan, uint32_t index, Time run_start)
    : plan_(plan),
      options_(plan.options),
      index_(index),
      run_start_(run_start),
      wheel_(run_start, milliseconds(1)),
      rng_(plan.options.seed ^ 0x5eed5eed5eedull, 1000 + index) {}

Shard::~Shard() {
    if (flows_) {
        for (uint32_t i = 0; i < ua_count_ * flows_per_ua_; ++i) {
            wheel_.cancel(flows_[i].fsm_timer);
            wheel_.cancel(flows_[i].rtx_timer);
        }
    }
}

absl::Status Shard::open_udp_sockets(std::vector<int>& fds) {
    const uint64_t flows = uint64_t{ua_count_} * flows_per_ua_;
    const uint32_t per_port = options_.udp_addrs_per_port;
    const uint32_t needed = static_cast<uint32_t>((flows + per_port - 1) / per_port);
    // Shard i takes every thread_count-th port from the base, skipping taken ones.
    uint32_t port = options_.udp_port_base + index_;
    while (fds.size() < needed) {
        if (port > 65535) {
            return absl::ResourceExhaustedError(cat(
                "no free UDP ports left above --udp-port-base for ", flows,
                " UDP flows; lower --uas or raise the addresses per port"));
        }
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return absl::ResourceExhaustedError(cat("socket(): ", std::strerror(errno)));
        }
        const int on = 1;
        const int buffer = 4 << 20;
        (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
        sockaddr_in any{};
        any.sin_family = AF_INET;
        any.sin_port = htons(static_cast<uint16_t>(port));
        if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
            ::close(fd);  // taken by someone else: skip it
        } else {
            fds.push_back(fd);
            udp_ports_.push_back(static_cast<uint16_t>(port));
        }
        port += plan_.thread_count;
    }
    return absl::OkStatus();
}

absl::Status Shard::init() {
    ua_count_ = options_.ua_count / plan_.thread_count +
                (index_ < options_.ua_count % plan_.thread_count ? 1 : 0);
    flows_per_ua_ = options_.flows_per_ua;
    const uint32_t flow_count = ua_count_ * flows_per_ua_;
    IoConfig config;
    std::vector<int> udp_fds;
    if (options_.transport == Transport::kTcp) {
        if (flow_count > kConnectionsPerRingMax) {
            return absl::InvalidArgumentError(cat(
                "shard ", index_, " would hold ", flow_count, " TCP flows, more than ",
                kConnectionsPerRingMax, " per ring: raise --threads"));
        }
        config.connection_count_max =
            std::min<uint32_t>(flow_count * 2 + 64, kConnectionTableSizeMax);
    } else {
        FE_RETURN_IF_ERROR(open_udp_sockets(udp_fds));
    }
    FE_RETURN_IF_ERROR(io_.init(config, *this, std::move(udp_fds)));
    uas_.reserve(ua_count_);
    for (uint32_t local = 0; local < ua_count_; ++local) {
        uas_.emplace_back(plan_.ua_config, options_.seed, global_ua(local));
    }
    flows_ = std::make_unique<FlowIo[]>(flow_count);
    for (uint32_t local = 0; local < ua_count_; ++local) {
        for (uint32_t f = 0; f < flows_per_ua_; ++f) {
            FlowIo& flow = flows_[local * flows_per_ua_ + f];
            flow.ua_local = local;
            flow.flow_index = static_cast<uint8_t>(f);
        }
    }
    ua_down_since_.assign(ua_count_, Time::max());
    ua_flags_.assign(ua_count_, 0);
    calls_ = std::make_unique<PendingCall[]>(kPendingCallCountMax);
    current_ = std::make_unique<Sample>();
    return absl::OkStatus();
}

void Shard::run() {
    t_shard = this;
    status_ = init();
    if (!status_.ok()) {
        settled_.store(true, std::memory_order_release);
        finished_.store(true, std::memory_order_release);
        return;
    }
    loop();
    finished_.store(true, std::memory_order_release);
}

FlowIo* Shard::flow_of(uint64_t key) {
    const auto local = static_cast<uint32_t>(key >> 3);
    const auto f = static_cast<uint32_t>(key & 7);
    if (local >= ua_count_ || f >= flows_per_ua_) {
        return nullptr;
    }
    return &flows_[local * flows_per_ua_ + f];
}

uint32_t Shard::source_addr_of(const FlowIo& flow) const {
    const uint32_t host_count = (uint32_t{1} << (32 - options_.source_prefix)) - 2;
    const uint64_t flow_index = uint64_t{flow.ua_local} * flows_per_ua_ + flow.flow_index;
    if (options_.transport == Transport::kUdp) {
        const uint32_t per_port = options_.udp_addrs_per_port;
        return options_.source_net + 1 + static_cast<uint32_t>(flow_index % per_port) % host_count;
    }
    const uint64_t global = flow_index * plan_.thread_count + index_;
    return options_.source_net + 1 + static_cast<uint32_t>(global % host_count);
}

uint16_t Shard::local_port_of(const FlowIo& flow) const {
    if (options_.transport != Transport::kUdp) {
        return kTcpNominalPort;
    }
    const uint64_t flow_index = uint64_t{flow.ua_local} * flows_per_ua_ + flow.flow_index;
    return udp_ports_[flow_index / options_.udp_addrs_per_port];
}

// ---- Loop ------------------------------------------------------------------

void Shard::loop() {
    Time now = Io::clock_now();
    last_pace_ = now;
    Time stop_deadline = Time::max();
    for (;;) {
        const Command command = plan_.command.load(std::memory_order_acquire);
        if (command != seen_command_) {
            if (command == Command::kCut) {
                cut_flows(now);
            }
            if (command == Command::kStop) {
                stop_deadline = now + kStopGrace;
            }
            seen_command_ = command;
        }
        const double elapsed_s = std::chrono::duration<double>(now - last_pace_).count();
        last_pace_ = now;
        if (next_start_ < ua_count_) {
            if (options_.rate > 0) {
                start_credit_ += elapsed_s * options_.rate / plan_.thread_count;
            }
            start_uas(now);
        }
        const bool calling = plan_.calls_enabled && (command == Command::kHold ||
                                                     command == Command::kCut);
        if (calling) {
            call_credit_ += elapsed_s * plan_.call_rate_per_shard;
            place_calls(now);
        }
        wheel_.advance(now);
        if (now >= run_start_ + seconds(current_second_ + 1)) {
            expire_calls(now, false);
            publish_sample(now);
        }
        if (!settled_.load(std::memory_order_relaxed) && next_start_ == ua_count_ &&
            counts_.uas_settled == ua_count_) {
            settled_at_ = now;
            settled_register_ok_ = counts_.register_ok;
            settled_.store(true, std::memory_order_release);
        }
        if (command == Command::kStop && (calls_live_ == 0 || now >= stop_deadline)) {
            break;
        }
        Time deadline = now + kIdleWaitMax;
        if (const std::optional<Time> next = wheel_.next_deadline(); next && *next < deadline) {
            deadline = *next;
        }
        if ((next_start_ < ua_count_ && options_.rate > 0) || calling) {
            deadline = std::min(deadline, now + kPaceTick);
        }
        deadline = std::min(deadline, run_start_ + seconds(current_second_ + 1));
        now = io_.poll(deadline);
    }
    expire_calls(now, true);
    publish_sample(now);
}

void Shard::publish_sample(Time now) {
    const auto second = static_cast<uint32_t>(std::chrono::duration_cast<seconds>(
                                                  now - run_start_).count());
    current_->second = current_second_;
    current_->counts = counts_;
    register_latency_total_.merge(current_->register_latency);
    call_latency_total_.merge(current_->call_latency);
    delivery_latency_total_.merge(current_->delivery_latency);
    bye_latency_total_.merge(current_->bye_latency);
    {
        std::lock_guard<std::mutex> lock(sample_mutex_);
        outbox_.push_back(std::move(current_));
    }
    current_ = std::make_unique<Sample>();
    current_second_ = std::max(current_second_ + 1, second);
}

std::vector<std::unique_ptr<Sample>> Shard::take_samples() {
    std::lock_guard<std::mutex> lock(sample_mutex_);
    return std::move(outbox_);
}

// ---- Population ------------------------------------------------------------

void Shard::start_uas(Time now) {
    const uint32_t window = std::max<uint32_t>(1, options_.window / plan_.thread_count);
    while (next_start_ < ua_count_) {
        if (options_.rate > 0) {
            if (start_credit_ < 1) {
                return;
            }
            start_credit_ -= 1;
        } else if (counts_.uas_started - counts_.uas_settled >= window) {
            return;
        }
        start_ua(next_start_++, now);
    }
}

void Shard::start_ua(uint32_t local, Time now) {
    first_start_ = std::min(first_start_, now);
    ++counts_.uas_started;
    fe::ua::ActionList actions;
    uas_[local].start(now, actions);
    apply(local, actions, now);
}

void Shard::apply(uint32_t local, fe::ua::ActionList& actions, Time now) {
    // Copy: executing an action may feed the UA another input (an immediate
    // UDP "connect"), which produces its own list.
    const fe::ua::ActionList todo = actions;
    actions.clear();
    for (const fe::ua::Action& action : todo) {
        do_action(local, action, now);
    }
    after_input(local, now);
}

void Shard::after_input(uint32_t local, Time now) {
    fe::ua::Ua& ua = uas_[local];
    uint32_t up_count = 0;
    bool all_tried = true;
    for (uint32_t f = 0; f < flows_per_ua_; ++f) {
        FlowIo& flow = flows_[local * flows_per_ua_ + f];
        const fe::ua::FlowFsm& fsm = ua.flow(f);
        const bool up = fsm.state() == fe::ua::FlowState::kRegistered;
        if (up != flow.up) {
            flow.up = up;
            if (up) {
                ++counts_.flows_up;
            } else {
                --counts_.flows_up;
                ++counts_.flow_failures;
                ++failure_reasons_[static_cast<size_t>(fsm.last_failure()) % 32];
            }
        }
        if (flow.register_cseq != 0 && fsm.state() != fe::ua::FlowState::kRegistering &&
            fsm.state() != fe::ua::FlowState::kUnregistering &&
            fsm.state() != fe::ua::FlowState::kRegistered) {
            // The REGISTER was abandoned: by timeout, or because the flow died.
            if (fsm.last_failure() == fe::ua::FlowFailure::kRegisterTimeout) {
                ++counts_.register_timeout;
            } else {
                ++counts_.register_aborted;
            }
            flow.register_cseq = 0;
            wheel_.cancel(flow.rtx_timer);
        }
        up_count += up ? 1 : 0;
        if (!up && fsm.consecutive_failure_count() == 0 &&
            fsm.last_failure() == fe::ua::FlowFailure::kNone) {
            all_tried = false;
        }
    }
    uint8_t& flags = ua_flags_[local];
    const bool all_up = up_count == flows_per_ua_;
    if (all_up && (flags & 1) == 0) {
        flags |= 1;
        ++counts_.uas_registered;
    }
    if ((flags & 2) == 0 && (all_up || all_tried)) {
        flags |= 2;
        ++counts_.uas_settled;
    }
    if (!all_up && (flags & 1) != 0 && ua_down_since_[local] == Time::max()) {
        ua_down_since_[local] = now;
    } else if (all_up && ua_down_since_[local] != Time::max()) {
        recovery_total_.record(static_cast<uint64_t>(to_ns(now - ua_down_since_[local])));
        ua_down_since_[local] = Time::max();
        ++counts_.recoveries;
    }
}

void Shard::do_action(uint32_t local, const fe::ua::Action& action, Time now) {
    FlowIo& flow = flows_[local * flows_per_ua_ + action.flow_index];
    fe::ua::Ua& ua = uas_[local];
    switch (action.kind) {
        case fe::ua::ActionKind::kConnect: {
            flow.edge_index = action.edge_index;
            if (options_.transport == Transport::kUdp) {
                flow.open = true;
                fe::ua::ActionList next;
                ua.on_connected(flow.flow_index, now, next);
                apply(local, next, now);
                return;
            }
            const sockaddr_in& edge = options_.edges[action.edge_index % options_.edges.size()];
            ConnRef conn;
            if (io_.connect(source_addr_of(flow), edge, flow_key(local, flow.flow_index), &conn) !=
                IoConnectResult::kStarted) {
                ++counts_.connect_failures;
                fe::ua::ActionList next;
                ua.on_connect_failed(flow.flow_index, now, next);
                apply(local, next, now);
                return;
            }
            flow.conn = conn;
            flow.open = false;
            return;
        }
        case fe::ua::ActionKind::kSendRegister:
            flow.last_register = action;
            flow.register_cseq = action.cseq;
            flow.register_sent_at = now;
            flow.retransmit_count = 0;
            ++counts_.register_sent;
            send_register(flow, now);
            if (options_.transport == Transport::kUdp) {
                wheel_.arm(flow.rtx_timer, now + kTimerT1);
            }
            return;
        case fe::ua::ActionKind::kSendPing:
            ++counts_.keepalive_sent;
            (void)send_on_flow(flow, "\r\n\r\n");
            return;
        case fe::ua::ActionKind::kSendStunRequest: {
            ++counts_.keepalive_sent;
            flow.stun_id = action.transaction_id;
            std::array<uint8_t, fe::stun::kRequestSizeMax> request{};
            fe::stun::TransactionId id{};
            std::copy(action.transaction_id.begin(), action.transaction_id.end(), id.begin());
            const size_t size = fe::stun::build_binding_request(
                id, fe::stun::FingerprintMode::kOmit, request);
            (void)send_on_flow(flow, std::string_view(reinterpret_cast<const char*>(request.data()),
                                                      size));
            return;
        }
        case fe::ua::ActionKind::kClose:
            if (flow.conn.valid()) {
                io_.close(flow.conn);
                flow.conn = ConnRef{};
            }
            flow.open = false;
            wheel_.cancel(flow.rtx_timer);
            return;
        case fe::ua::ActionKind::kArmTimer: wheel_.arm(flow.fsm_timer, action.deadline); return;
        case fe::ua::ActionKind::kCancelTimer: wheel_.cancel(flow.fsm_timer); return;
    }
}

void Shard::send_register(FlowIo& flow, Time now) {
    (void)now;
    const fe::ua::Action& a = flow.last_register;
    const fe::ua::Ua& ua = uas_[flow.ua_local];
    const fe::ua::FlowFsm& fsm = ua.flow(flow.flow_index);
    char user[16];
    std::snprintf(user, sizeof(user), "u%u", global_ua(flow.ua_local));
    char host[16];
    format_ipv4(source_addr_of(flow), host, sizeof(host));
    const fe::ua::InstanceId instance =
        fe::ua::make_instance_id(options_.identity_seed, global_ua(flow.ua_local));
    fe::ua::RegisterParams p;
    p.domain = options_.domain;
    p.user = user;
    p.local_host = host;
    p.local_port = local_port_of(flow);
    p.transport = options_.transport;
    p.call_id = fsm.call_id();
    p.from_tag = fsm.from_tag();
    p.cseq = a.cseq;
    p.branch = a.branch;
    p.reg_id = a.mode == fe::ua::RegisterMode::kOutbound ? a.reg_id : 0;
    p.instance_urn = instance.urn();
    p.expires_s = a.expires_s;
    const fe::ua::BuildResult r = fe::ua::build_register(p, scratch_);
    FE_ASSERT(r.ok());
    (void)send_on_flow(flow, r.message);
}

bool Shard::send_on_flow(FlowIo& flow, std::string_view bytes) {
    IoSendResult result = IoSendResult::kStale;
    if (options_.transport == Transport::kUdp) {
        const uint64_t flow_index = uint64_t{flow.ua_local} * flows_per_ua_ + flow.flow_index;
        const auto socket_index = static_cast<uint32_t>(flow_index / options_.udp_addrs_per_port);
        const sockaddr_in& edge = options_.edges[flow.edge_index % options_.edges.size()];
        result = io_.send_datagram(socket_index, source_addr_of(flow), edge, bytes);
    } else {
        result = io_.send(flow.conn, bytes);
    }
    if (result != IoSendResult::kQueued) {
        ++counts_.send_errors;
        return false;
    }
    return true;
}

void Shard::on_flow_timer(FlowIo& flow, Time now) {
    fe::ua::ActionList actions;
    uas_[flow.ua_local].on_timer(flow.flow_index, now, actions);
    apply(flow.ua_local, actions, now);
}

void Shard::on_retransmit_timer(FlowIo& flow, Time now) {
    if (flow.register_cseq == 0 || flow.register_cseq != flow.last_register.cseq) {
        return;
    }
    ++flow.retransmit_count;
    ++counts_.register_retransmits;
    send_register(flow, now);
    const Duration wait = std::min(kTimerT2, kTimerT1 * (1 << std::min(flow.retransmit_count, 4u)));
    wheel_.arm(flow.rtx_timer, now + wait);
}

// ---- Transport events ------------------------------------------------------

void Shard::on_connected(ConnRef conn, uint64_t user, Time now) {
    FlowIo* flow = flow_of(user);
    FE_ASSERT(flow != nullptr);
    if (flow->conn.index != conn.index || flow->conn.generation != conn.generation) {
        return;
    }
    flow->open = true;
    flow->learned_port = 0;
    fe::ua::ActionList actions;
    uas_[flow->ua_local].on_connected(flow->flow_index, now, actions);
    apply(flow->ua_local, actions, now);
}

void Shard::on_closed(ConnRef conn, uint64_t user, IoCloseReason reason, Time now) {
    FlowIo* flow = flow_of(user);
    FE_ASSERT(flow != nullptr);
    if (flow->conn.index != conn.index || flow->conn.generation != conn.generation) {
        return;
    }
    flow->conn = ConnRef{};
    flow->open = false;
    fe::ua::ActionList actions;
    if (reason == IoCloseReason::kConnectFailed) {
        ++counts_.connect_failures;
        uas_[flow->ua_local].on_connect_failed(flow->flow_index, now, actions);
    } else {
        uas_[flow->ua_local].on_transport_closed(flow->flow_index, now, actions);
    }
    apply(flow->ua_local, actions, now);
}

size_t Shard::on_stream_data(ConnRef conn, uint64_t user, std::string_view bytes, Time now) {
    FlowIo* flow = flow_of(user);
    FE_ASSERT(flow != nullptr);
    const sip::FrameResult frame = sip::frame_stream(bytes, sip::KeepAliveRole::kPinger);
    switch (frame.kind) {
        case sip::FrameKind::kIncomplete: return 0;
        case sip::FrameKind::kPong: {
            ++counts_.keepalive_answered;
            fe::ua::ActionList actions;
            uas_[flow->ua_local].on_pong(flow->flow_index, now, actions);
            apply(flow->ua_local, actions, now);
            return frame.size;
        }
        case sip::FrameKind::kPing:
            (void)io_.send(conn, "\r\n");
            return frame.size;
        case sip::FrameKind::kMessage:
            on_message(*flow, bytes.substr(0, frame.size), nullptr, now);
            return frame.size;
        case sip::FrameKind::kError:
        case sip::FrameKind::kIgnore:
        default: {
            // A broken stream from the server: the flow has failed.
            io_.close(conn);
            flow->conn = ConnRef{};
            flow->open = false;
            fe::ua::ActionList actions;
            uas_[flow->ua_local].on_transport_closed(flow->flow_index, now, actions);
            apply(flow->ua_local, actions, now);
            return bytes.size();
        }
    }
}

void Shard::on_datagram(uint32_t socket_index, uint32_t local_addr, const sockaddr_in& from,
                        std::string_view bytes, Time now) {
    const uint32_t per_port = options_.udp_addrs_per_port;
    const uint32_t addr_offset = local_addr - (options_.source_net + 1);
    if (addr_offset >= per_port) {
        return;
    }
    const uint64_t flow_index = uint64_t{socket_index} * per_port + addr_offset;
    if (flow_index >= uint64_t{ua_count_} * flows_per_ua_) {
        return;
    }
    FlowIo& flow = flows_[flow_index];
    if (!bytes.empty() && (static_cast<uint8_t>(bytes[0]) & 0xC0) == 0) {
        on_stun(flow, bytes, now);
        return;
    }
    const sip::FrameResult frame = sip::frame_datagram(bytes);
    if (frame.kind != sip::FrameKind::kMessage) {
        return;
    }
    on_message(flow, bytes.substr(0, frame.size), &from, now);
}

void Shard::on_stun(FlowIo& flow, std::string_view bytes, Time now) {
    fe::stun::TransactionId expected{};
    std::copy(flow.stun_id.begin(), flow.stun_id.end(), expected.begin());
    const fe::stun::BindingResponse r = fe::stun::read_binding_response(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        expected);
    if (r.kind != fe::stun::ResponseKind::kSuccess && r.kind != fe::stun::ResponseKind::kError) {
        return;
    }
    ++counts_.keepalive_answered;
    fe::ua::StunResponse response;
    response.transaction_id = flow.stun_id;
    response.result = r.kind == fe::stun::ResponseKind::kSuccess ? fe::ua::StunResult::kSuccess
                                                                 : fe::ua::StunResult::kError;
    response.mapped = r.mapped;
    fe::ua::ActionList actions;
    uas_[flow.ua_local].on_stun_response(flow.flow_index, now, response, actions);
    apply(flow.ua_local, actions, now);
}

void Shard::on_message(FlowIo& flow, std::string_view bytes, const sockaddr_in* from, Time now) {
    sip::Message m;
    if (m.parse(bytes) != sip::ParseError::kOk) {
        return;  // a malformed message from the server: dropped, the transaction times out
    }
    if (m.is_request()) {
        on_request(flow, m, from, now);
    } else {
        on_response(flow, m, now);
    }
}

void Shard::on_response(FlowIo& flow, const sip::Message& m, Time now) {
    const uint16_t status = m.status_code();
    if (m.cseq_method() == sip::Method::kRegister) {
        if (m.cseq_number() != flow.register_cseq) {
            return;  // a late answer to a retransmission or an old REGISTER
        }
        wheel_.cancel(flow.rtx_timer);
        if (status >= 200) {
            const auto latency = static_cast<uint64_t>(to_ns(now - flow.register_sent_at));
            current_->register_latency.record(latency);
            ++register_status_[status < 700 ? status : 0];
            if (status < 300) {
                ++counts_.register_ok;
                publish_path(flow, m);
                learn_port(flow, m);
            } else {
                ++counts_.register_failed;
            }
            flow.register_cseq = 0;
        }
        const fe::ua::InstanceId instance =
            fe::ua::make_instance_id(options_.identity_seed, global_ua(flow.ua_local));
        const uint32_t reg_id = flow.last_register.mode == fe::ua::RegisterMode::kOutbound
                                    ? flow.last_register.reg_id
                                    : 0;
        const fe::ua::RegisterResponse response =
            fe::ua::read_register_response(m, instance.urn(), reg_id);
        fe::ua::ActionList actions;
        uas_[flow.ua_local].on_register_response(flow.flow_index, now, response, actions);
        apply(flow.ua_local, actions, now);
        return;
    }
    on_call_response(flow, m, now);
}

void Shard::on_call_response(FlowIo& flow, const sip::Message& m, Time now) {
    const uint16_t status = m.status_code();
    if (status < 200) {
        return;
    }
    const sip::Method method = m.cseq_method();
    if (method != sip::Method::kMessage && method != sip::Method::kInvite &&
        method != sip::Method::kBye) {
        return;
    }
    const std::optional<BenchCallId> id = parse_bench_call_id(m.header(sip::HeaderId::kCallId));
    if (!id || id->shard != index_) {
        return;  // strays
    }
    PendingCall& call = calls_[id->seq % kPendingCallCountMax];
    if (!call.live || call.seq != id->seq) {
        return;  // already timed out or ended
    }
    if (method == sip::Method::kBye) {
        if (call.stage == CallStage::kBye && m.cseq_number() == call.bye_cseq) {
            on_bye_response(m, call, now);
        }
        return;
    }
    if (call.stage != CallStage::kRequest) {
        // A retransmitted 2xx to the INVITE (RFC 6026 §7.2 lets a proxy
        // forward every one). TODO(bench): ACK it again, as a UA would; it
        // is rare on loopback and the BYE is already out.
        return;
    }
    current_->call_latency.record(static_cast<uint64_t>(to_ns(now - call.sent)));
    ++call_status_[status < 700 ? status : 0];
    if (status >= 300) {
        ++counts_.call_failed;
        end_call(call);
        return;
    }
    ++counts_.call_ok;
    if (method == sip::Method::kMessage) {
        ++counts_.call_completed;
        end_call(call);
        return;
    }
    ++counts_.invite_answered;
    if (!send_ack_and_bye(flow, m, call, now)) {
        ++counts_.bye_not_sent;
        end_call(call);
    }
}

void Shard::on_bye_response(const sip::Message& m, PendingCall& call, Time now) {
    const uint16_t status = m.status_code();
    current_->bye_latency.record(static_cast<uint64_t>(to_ns(now - call.bye_sent)));
    ++bye_status_[status < 700 ? status : 0];
    if (status < 300) {
        ++counts_.bye_ok;
        ++counts_.call_completed;
    } else {
        ++counts_.bye_failed;
    }
    end_call(call);
}

void Shard::end_call(PendingCall& call) {
    FE_ASSERT(call.live);
    call.live = false;
    --calls_live_;
}

// The ACK and the BYE of a 2xx-answered INVITE, as the UAC of the dialog
// sends them (RFC 3261 §12.1.2, §12.2.1.1, §13.2.2.4): the remote target is
// the Contact of the 2xx, the route set its Record-Route values in reverse
// order; with a strict router (no ;lr) first, that router's URI becomes the
// Request-URI and the remote target the last Route. Each request is a new
// transaction (new branch) over the flow the INVITE went out on. Returns
// false when the 2xx gives no usable Contact or a send is refused: the call
// then cannot complete.
bool Shard::send_ack_and_bye(FlowIo& flow, const sip::Message& ok, PendingCall& call, Time now) {
    syntax::NameAddr contact;
    bool have_contact = false;
    for (std::string_view value : ok.list(sip::HeaderId::kContact)) {
        have_contact = syntax::parse_name_addr(value, contact) == syntax::Error::kOk;
        break;
    }
    if (!have_contact || contact.uri.is_tel()) {
        return false;
    }
    // Record-Route values top first; the UAC's route set is their reverse.
    std::string_view record_routes[kRouteCountMax];
    bool lr_first = true;
    uint32_t route_count = 0;
    for (std::string_view value : ok.list(sip::HeaderId::kRecordRoute)) {
        syntax::NameAddr route;
        if (route_count == kRouteCountMax ||
            syntax::parse_name_addr(value, route) != syntax::Error::kOk) {
            return false;
        }
        record_routes[route_count++] = route.uri_text;
        lr_first = route.uri.has_lr();  // the last one read is the first of the route set
    }
    std::string_view request_uri = contact.uri_text;
    std::string routes;
    uint32_t first_route = route_count;  // Record-Route index of the first Route
    if (route_count > 0 && !lr_first) {
        request_uri = record_routes[route_count - 1];
        first_route = route_count - 1;
    }
    for (uint32_t i = first_route; i > 0; --i) {
        append(routes, "Route: <", record_routes[i - 1], ">\r\n");
    }
    if (first_route != route_count) {
        append(routes, "Route: <", contact.uri_text, ">\r\n");
    }
    const std::string_view from_line =
        trim_crlf(ok.line(ok.field(ok.first_index(sip::HeaderId::kFrom))));
    const std::string_view to_line =
        trim_crlf(ok.line(ok.field(ok.first_index(sip::HeaderId::kTo))));
    char host[16];
    format_ipv4(source_addr_of(flow), host, sizeof(host));
    for (int step = 0; step < 2; ++step) {
        const bool ack = step == 0;
        const char* method = ack ? "ACK" : "BYE";
        const uint32_t cseq = ack ? ok.cseq_number() : ok.cseq_number() + 1;
        std::string text = cat(method, " ", request_uri, " SIP/2.0\r\nVia: SIP/2.0/",
                               transport_via_name(options_.transport), " ", host, ":",
                               local_port_of(flow), ";branch=z9hG4bK", rng_.next_u64(),
                               ";rport\r\nMax-Forwards: 70\r\n");
        append(text, routes, from_line, "\r\n", to_line, "\r\nCall-ID: ",
               ok.header(sip::HeaderId::kCallId), "\r\nCSeq: ", cseq, " ", method,
               "\r\nContent-Length: 0\r\n\r\n");
        if (!send_on_flow(flow, text)) {
            return false;
        }
        if (ack) {
            ++counts_.ack_sent;
        } else {
            ++counts_.bye_sent;
            call.stage = CallStage::kBye;
            call.bye_cseq = cseq;
            call.bye_sent = now;
        }
    }
    return true;
}

// Like a phone that learns its public address from rport (pjsip's Contact
// rewrite), a TCP UA puts the port its registrar saw in the Contact of its
// answers, so a proxy without a flow token in its Record-Route (Kamailio in
// one hop) can still reach it over the flow by address. Without an rport
// value the Contact keeps the nominal port (kTcpNominalPort), as an UA behind
// a NAT that does not know its mapping.
void Shard::learn_port(FlowIo& flow, const sip::Message& m) {
    if (options_.transport != Transport::kTcp) {
        return;
    }
    for (std::string_view value : m.list(sip::HeaderId::kVia)) {
        syntax::Via via;
        if (syntax::parse_via(value, via) == syntax::Error::kOk &&
            via.rport == syntax::FlagOrValue::kValue) {
            flow.learned_port = via.rport_value;
        }
        return;  // the top Via only
    }
}

void Shard::publish_path(const FlowIo& flow, const sip::Message& m) {
    if (!plan_.path_sizes || flow.flow_index != 0 || !m.has(sip::HeaderId::kPath)) {
        return;
    }
    const uint32_t g = global_ua(flow.ua_local);
    std::atomic<uint8_t>& size = plan_.path_sizes[g];
    const std::string_view path = m.header(sip::HeaderId::kPath);
    if (size.load(std::memory_order_relaxed) != 0 || path.empty() || path.size() > kPathSizeMax) {
        return;
    }
    std::memcpy(&plan_.paths[uint64_t{g} * kPathSizeMax], path.data(), path.size());
    size.store(static_cast<uint8_t>(path.size()), std::memory_order_release);
}

void Shard::answer(FlowIo& flow, const sip::Message& m, uint16_t status, std::string_view reason,
                   const sockaddr_in* from) {
    std::string_view vias[kViaCountMax];
    uint32_t via_count = 0;
    for (const sip::HeaderField& f : m.fields(sip::HeaderId::kVia)) {
        if (via_count == kViaCountMax) {
            return;
        }
        vias[via_count++] = trim_crlf(m.line(f));
    }
    if (via_count == 0) {
        return;
    }
    char tag[17];
    const std::string_view call_id = m.header(sip::HeaderId::kCallId);
    std::snprintf(tag, sizeof(tag), "%016llx",
                  static_cast<unsigned long long>(std::hash<std::string_view>{}(call_id)));
    char user[16];
    std::snprintf(user, sizeof(user), "u%u", global_ua(flow.ua_local));
    char host[16];
    format_ipv4(source_addr_of(flow), host, sizeof(host));
    char contact[96];
    std::snprintf(contact, sizeof(contact), "<sip:%s@%s:%u;transport=%s;ob>", user, host,
                  flow.learned_port != 0 ? flow.learned_port : local_port_of(flow),
                  std::string(transport_param_name(options_.transport)).c_str());
    fe::ua::ResponseParams p;
    p.status_code = status;
    p.reason = reason;
    p.via_lines = std::span<const std::string_view>(vias, via_count);
    p.from_line = trim_crlf(m.line(m.field(m.first_index(sip::HeaderId::kFrom))));
    p.to_line = trim_crlf(m.line(m.field(m.first_index(sip::HeaderId::kTo))));
    p.call_id_line = trim_crlf(m.line(m.field(m.first_index(sip::HeaderId::kCallId))));
    p.cseq_line = trim_crlf(m.line(m.field(m.first_index(sip::HeaderId::kCSeq))));
    p.to_tag = tag;
    if (m.method() == sip::Method::kInvite) {
        p.contact = contact;
    }
    char buffer[fe::ua::kUaMessageSizeMax * 2];
    const fe::ua::BuildResult r = fe::ua::build_response(p, buffer);
    if (!r.ok()) {
        return;
    }
    std::string_view message = r.message;
    std::string with_record_route;
    if (m.method() == sip::Method::kInvite && status > 100 && status < 300 &&
        m.has(sip::HeaderId::kRecordRoute)) {
        // A response that establishes a dialog carries the request's
        // Record-Route values, in order (RFC 3261 §12.1.1): without them the
        // caller's ACK and BYE would not pass the proxies that asked to stay
        // in the dialog. Inserted after the status line.
        const size_t line_end = message.find("\r\n") + 2;
        with_record_route.assign(message.substr(0, line_end));
        for (const sip::HeaderField& f : m.fields(sip::HeaderId::kRecordRoute)) {
            append(with_record_route, trim_crlf(m.line(f)), "\r\n");
        }
        with_record_route.append(message.substr(line_end));
        message = with_record_route;
    }
    if (from != nullptr && options_.transport == Transport::kUdp) {
        // Over UDP the answer goes where the request came from (RFC 3581 rport).
        const uint64_t flow_index = uint64_t{flow.ua_local} * flows_per_ua_ + flow.flow_index;
        const auto socket_index = static_cast<uint32_t>(flow_index / options_.udp_addrs_per_port);
        if (io_.send_datagram(socket_index, source_addr_of(flow), *from, message) !=
            IoSendResult::kQueued) {
            ++counts_.send_errors;
        }
    } else {
        (void)send_on_flow(flow, message);
    }
}

void Shard::on_request(FlowIo& flow, const sip::Message& m, const sockaddr_in* from, Time now) {
    if (m.header_count(sip::HeaderId::kFrom) == 0 || m.header_count(sip::HeaderId::kTo) == 0 ||
        m.header_count(sip::HeaderId::kCallId) == 0 || m.header_count(sip::HeaderId::kCSeq) == 0) {
        return;
    }
    const sip::Method method = m.method();
    const std::optional<BenchCallId> id = parse_bench_call_id(m.header(sip::HeaderId::kCallId));
    if (method == sip::Method::kAck) {
        counts_.ack_delivered += id ? 1 : 0;
        return;
    }
    if (method == sip::Method::kMessage || method == sip::Method::kInvite) {
        if (id) {
            ++counts_.call_delivered;
            const int64_t latency = to_ns(now.time_since_epoch()) - id->sent_ns;
            current_->delivery_latency.record(latency > 0 ? static_cast<uint64_t>(latency) : 0);
        }
    }
    if (method == sip::Method::kBye && id) {
        // The BYE's Request-URI is the Contact this UA put in its 2xx
        // (sip:uN@...): one that reached another UA was misrouted, and a
        // phone knows no such dialog (RFC 3261 §15.1.2: 481).
        syntax::Uri uri;
        char user[16];
        std::snprintf(user, sizeof(user), "u%u", global_ua(flow.ua_local));
        if (syntax::parse_uri(m.request_uri(), uri) != syntax::Error::kOk || uri.user != user) {
            ++counts_.bye_misrouted;
            ++counts_.requests_answered;
            answer(flow, m, 481, "Call/Transaction Does Not Exist", from);
            return;
        }
        ++counts_.bye_delivered;
    }
    ++counts_.requests_answered;
    switch (method) {
        case sip::Method::kInvite:
            answer(flow, m, 180, "Ringing", from);
            answer(flow, m, 200, "OK", from);
            return;
        case sip::Method::kMessage:
        case sip::Method::kOptions:
        case sip::Method::kBye:
        case sip::Method::kNotify:
            answer(flow, m, 200, "OK", from);
            return;
        default: answer(flow, m, 405, "Method Not Allowed", from); return;
    }
}

// ---- Calls -----------------------------------------------------------------

void Shard::place_calls(Time now) {
    while (call_credit_ >= 1) {
        call_credit_ -= 1;
        place_call(now);
    }
}

void Shard::place_call(Time now) {
    if (ua_count_ == 0) {
        return;
    }
    const auto caller = static_cast<uint32_t>(rng_.uniform_below(ua_count_));
    FlowIo* flow = nullptr;
    for (uint32_t f = 0; f < flows_per_ua_; ++f) {
        FlowIo& candidate = flows_[caller * flows_per_ua_ + f];
        if (candidate.up && candidate.open) {
            flow = &candidate;
            break;
        }
    }
    ++counts_.call_sent;
    if (flow == nullptr) {
        ++counts_.call_not_sent;
        return;
    }
    uint32_t callee = static_cast<uint32_t>(rng_.uniform_below(options_.ua_count));
    if (options_.ua_count > 1 && callee == global_ua(caller)) {
        callee = (callee + 1) % options_.ua_count;
    }
    const uint32_t seq = ++call_seq_;
    PendingCall& call = calls_[seq % kPendingCallCountMax];
    if (call.live) {
        // Evicted: far older than any sane answer.
        ++(call.stage == CallStage::kBye ? counts_.bye_timeout : counts_.call_timeout);
        end_call(call);
    }
    char call_id[64];
    std::snprintf(call_id, sizeof(call_id), "b%lld-%u-%u@bench",
                  static_cast<long long>(to_ns(now.time_since_epoch())), index_, seq);
    char target[96];
    std::snprintf(target, sizeof(target), "sip:u%u@%s", callee, options_.domain.c_str());
    char user[16];
    std::snprintf(user, sizeof(user), "u%u", global_ua(caller));
    char host[16];
    format_ipv4(source_addr_of(*flow), host, sizeof(host));
    char from_tag[17];
    std::snprintf(from_tag, sizeof(from_tag), "%016llx",
                  static_cast<unsigned long long>(rng_.next_u64()));
    const fe::ua::InstanceId instance = fe::ua::make_instance_id(options_.identity_seed, global_ua(caller));
    fe::ua::RequestParams p;
    p.method = options_.method == CallMethod::kInvite ? fe::ua::RequestMethod::kInvite
                                                      : fe::ua::RequestMethod::kMessage;
    p.target_uri = target;
    p.domain = options_.domain;
    p.user = user;
    p.local_host = host;
    p.local_port = local_port_of(*flow);
    p.transport = options_.transport;
    p.call_id = call_id;
    p.from_tag = from_tag;
    p.cseq = 1;
    p.branch = rng_.next_u64();
    p.instance_urn = instance.urn();
    if (options_.method == CallMethod::kInvite) {
        p.content_type = "application/sdp";
        p.body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                 "m=audio 4000 RTP/AVP 0\r\n";
    } else {
        p.content_type = "text/plain";
        p.body = "flowedge-bench";
    }
    const fe::ua::BuildResult r = fe::ua::build_request(p, scratch_);
    FE_ASSERT(r.ok());
    std::string_view message = r.message;
    char routed[fe::ua::kUaMessageSizeMax + kPathSizeMax + 16];
    if (plan_.path_sizes) {
        // Route: <the callee's Path> after the request line.
        const uint8_t size = plan_.path_sizes[callee].load(std::memory_order_acquire);
        const size_t line_end = message.find("\r\n") + 2;
        if (size == 0 || line_end + size + 9 + (message.size() - line_end) > sizeof(routed)) {
            ++counts_.call_not_sent;
            return;
        }
        const std::string_view path(&plan_.paths[uint64_t{callee} * kPathSizeMax], size);
        std::string text = cat(message.substr(0, line_end), "Route: ", path, "\r\n",
                               message.substr(line_end));
        std::memcpy(routed, text.data(), text.size());
        message = std::string_view(routed, text.size());
    }
    if (!send_on_flow(*flow, message)) {
        ++counts_.call_not_sent;
        return;
    }
    call.live = true;
    call.stage = CallStage::kRequest;
    call.seq = seq;
    call.caller_local = caller;
    call.flow_index = flow->flow_index;
    call.sent = now;
    ++calls_live_;
}

void Shard::expire_calls(Time now, bool all) {
    if (calls_live_ == 0) {
        return;
    }
    for (uint32_t i = 0; i < kPendingCallCountMax; ++i) {
        PendingCall& call = calls_[i];
        if (!call.live) {
            continue;
        }
        const bool bye = call.stage == CallStage::kBye;
        if (all || now - (bye ? call.bye_sent : call.sent) >= kCallTimeout) {
            ++(bye ? counts_.bye_timeout : counts_.call_timeout);
            end_call(call);
        }
    }
}

void Shard::cut_flows(Time now) {
    const auto cut_count = static_cast<uint64_t>(options_.cut_fraction * ua_count_ + 0.5);
    for (uint32_t local = 0; local < cut_count && local < ua_count_; ++local) {
        for (uint32_t f = 0; f < flows_per_ua_; ++f) {
            FlowIo& flow = flows_[local * flows_per_ua_ + f];
            if (flow.conn.valid()) {
                io_.close(flow.conn);
                flow.conn = ConnRef{};
            }
            flow.open = false;
            fe::ua::ActionList actions;
            uas_[local].on_transport_closed(f, now, actions);
            apply(local, actions, now);
        }
    }
}

}  // namespace fe::loadgen
