#include "net/worker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "net/internal/socket.h"
#include "net/internal/worker_parts.h"
#include "net/probe.h"

namespace fe::net {

std::string_view close_reason_name(CloseReason reason) {
    switch (reason) {
        case CloseReason::kLocal: return "local";
        case CloseReason::kPeerClosed: return "peer closed";
        case CloseReason::kError: return "socket error";
        case CloseReason::kPartialTimeout: return "partial message timeout";
        case CloseReason::kPartialTooLarge: return "partial message too large";
        case CloseReason::kNoPartialBuffer: return "no partial buffer";
        case CloseReason::kSendQueueOverflow: return "send queue overflow";
        case CloseReason::kConnectFailed: return "connect failed";
        case CloseReason::kConnectTimeout: return "connect timeout";
        case CloseReason::kShutdown: return "shutdown";
        case CloseReason::kTlsHandshakeTimeout: return "TLS handshake timeout";
        case CloseReason::kTlsFailed: return "TLS failure";
        case CloseReason::kWsClosed: return "WebSocket close";
        case CloseReason::kWsProtocolError: return "WebSocket protocol error";
        case CloseReason::kWsHandshakeTimeout: return "WebSocket handshake timeout";
        case CloseReason::kWsPingTimeout: return "WebSocket ping timeout";
    }
    return "unknown";
}

namespace {

constexpr uint16_t kUdpBufferGroup = 0;
constexpr uint16_t kStreamBufferGroup = 1;
// IORING_OP_FIXED_FD_INSTALL (kernel 6.8) is newer than our liburing 2.3 headers.
constexpr uint8_t kOpFixedFdInstall = 54;

Time read_clock() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return time_from_ns(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

__kernel_timespec to_kernel_timespec(Duration d) {
    const int64_t ns = std::max<int64_t>(0, to_ns(d));
    return __kernel_timespec{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}

}  // namespace


Worker::Worker(uint32_t index, const WorkerConfig& config, Handler* handler)
    : index_(index),
      config_(config),
      handler_(handler),
      wheel_(read_clock(), kTimerTick),
      mailbox_(config.mailbox_capacity),
      doorbell_op_(std::make_unique<Op>(Op{OpKind::kDoorbell, 0})),
      eventfd_op_(std::make_unique<Op>(Op{OpKind::kEventfdRead, 0})),
      msg_ring_op_(std::make_unique<Op>(Op{OpKind::kMsgRingSent, 0})),
      fd_install_op_(std::make_unique<Op>(Op{OpKind::kFdInstallForTest, 0})) {}

Worker::~Worker() {
    // A worker destroyed without a clean stop may hold armed connection
    // timers; a timer must be disarmed before it dies.
    for (uint32_t i = 0; i < connection_count_max_; ++i) {
        wheel_.cancel(connections_[i].timer);
    }
    if (ring_ready_) {
        // Ends every request still in the kernel and drops the registered
        // buffer rings and descriptor table; the buffer memory goes after.
        io_uring_queue_exit(&ring_);
    }
    for (const WorkerSocket& socket : sockets_) {
        if (socket.fd >= 0) {
            ::close(socket.fd);
        }
    }
    if (eventfd_ >= 0) {
        ::close(eventfd_);
    }
}

absl::Status Worker::init(std::vector<WorkerSocket> sockets) {
    FE_ASSERT(!ring_ready_);
    FE_ASSERT(sockets.size() <= kListenerCountMax);
    sockets_ = std::move(sockets);
    auto mode = setup_ring(ring_, config_.ring_entries);
    if (!mode.ok()) {
        return mode.status();
    }
    ring_ready_ = true;
    // Before anything is queued: the probe waits for its own completion. A
    // kernel without it (< 6.7) connects with Nagle on, counted per connect.
    tcp_nodelay_supported_ = internal::probe_tcp_nodelay(ring_);
    FE_RETURN_IF_ERROR(init_connections());
    eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventfd_ < 0) {
        return absl::InternalError(absl::StrCat("eventfd(): ", std::strerror(errno)));
    }
    bool has_udp = false;
    for (const WorkerSocket& socket : sockets_) {
        has_udp = has_udp || socket.transport == Transport::kUdp;
    }
    if (has_udp) {
        FE_RETURN_IF_ERROR(udp_buffers_.init(ring_, kUdpBufferGroup, config_.udp_buffer_count,
                                             kUdpBufferSize));
        init_udp_send_slots();
    }
    FE_RETURN_IF_ERROR(stream_buffers_.init(ring_, kStreamBufferGroup,
                                            config_.stream_buffer_count, kStreamBufferSize));
    for (const WorkerSocket& socket : sockets_) {
        const bool over_tls =
            socket.transport == Transport::kTls || socket.transport == Transport::kWss;
        if (over_tls && tls_plaintext_ == nullptr) {
            tls_plaintext_ = std::make_unique<char[]>(tls::kTlsRecordPlaintextSizeMax);
        }
    }
    for (const WorkerSocket& socket : sockets_) {
        if (socket.transport == Transport::kUdp) {
            add_udp_socket(socket);
        } else {
            tcp_listen_fds_.push_back(socket.fd);
            const bool over_tls =
                socket.transport == Transport::kTls || socket.transport == Transport::kWss;
            listen_tls_.push_back(over_tls ? socket.tls : nullptr);
            listen_transport_.push_back(socket.transport);
            FE_ASSERT(over_tls == (socket.tls != nullptr));
            FE_ASSERT(socket.transport == Transport::kTcp || socket.transport == Transport::kWs ||
                      over_tls);
        }
    }
    ws_origins_.assign(config_.ws_origins_allowed.begin(), config_.ws_origins_allowed.end());
    init_accept_slots();
    init_poll_slots();
    now_ = read_clock();
    // First receives, accepts and the eventfd read; run() submits them.
    for (auto& udp : udp_sockets_) {
        arm_udp_recv(*udp);
    }
    for (uint32_t i = 0; i < accept_slot_count_; ++i) {
        arm_accept(accept_slots_[i]);
    }
    arm_eventfd_read();
    return absl::OkStatus();
}

absl::Status Worker::init_connections() {
    rlimit files{};
    uint32_t table_size = config_.connection_count_max;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < table_size) {
        // The kernel refuses a direct descriptor table larger than RLIMIT_NOFILE.
        table_size = static_cast<uint32_t>(files.rlim_cur);
    }
    FE_ASSERT(table_size > 0);
    const int result = io_uring_register_files_sparse(&ring_, table_size);
    if (result != 0) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "registering a direct descriptor table of ", table_size,
            " entries failed: ", std::strerror(-result),
            " (the table is capped by RLIMIT_NOFILE; lower connection_count_max)"));
    }
    connection_count_max_ = table_size;
    connections_ = std::make_unique<Connection[]>(table_size);
    connection_free_.reserve(table_size);
    for (uint32_t i = 0; i < table_size; ++i) {
        Connection& c = connections_[i];
        c.worker = this;
        c.index = i;
        c.recv_op = Op{OpKind::kStreamRecv, i};
        c.send_op = Op{OpKind::kStreamSend, i};
        c.socket_op = Op{OpKind::kSocket, i};
        c.nodelay_op = Op{OpKind::kNodelay, i};
        c.connect_op = Op{OpKind::kConnect, i};
        c.close_op = Op{OpKind::kCloseDirect, i};
        c.timer.context = &c;
        connection_free_.push_back(table_size - 1 - i);  // lowest index first
    }
    stream_rearm_.reserve(table_size);
    send_ready_.reserve(table_size);
    partial_free_.reserve(config_.partial_buffer_count_max);
    partial_storage_.reserve(config_.partial_buffer_count_max);
    chunk_free_.reserve(config_.send_chunk_count_max);
    chunk_storage_.reserve(config_.send_chunk_count_max);
    return absl::OkStatus();
}

void Worker::init_udp_send_slots() {
    const uint32_t count = config_.udp_send_in_flight_max;
    udp_send_slots_ = std::make_unique<UdpSendSlot[]>(count);
    udp_send_memory_ = std::make_unique<char[]>(static_cast<size_t>(count) * kUdpDatagramSizeMax);
    udp_send_free_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        UdpSendSlot& slot = udp_send_slots_[i];
        slot.op = Op{OpKind::kUdpSend, i};
        slot.data = udp_send_memory_.get() + static_cast<size_t>(i) * kUdpDatagramSizeMax;
        udp_send_free_.push_back(count - 1 - i);
    }
    udp_send_slot_count_ = count;
}

void Worker::init_accept_slots() {
    accept_slot_count_ =
        static_cast<uint32_t>(tcp_listen_fds_.size()) * config_.accept_in_flight_count;
    accept_slots_ = std::make_unique<AcceptSlot[]>(accept_slot_count_);
    for (uint32_t i = 0; i < accept_slot_count_; ++i) {
        accept_slots_[i].op = Op{OpKind::kAccept, i};
        accept_slots_[i].listener_index = i / config_.accept_in_flight_count;
    }
    starved_accepts_.reserve(accept_slot_count_);
}

// ---- Loop -----------------------------------------------------------------

void Worker::run() {
    FE_ASSERT(ring_ready_);
    FE_ASSERT(handler_ != nullptr);
    now_ = read_clock();
    for (;;) {
        if (!stopping_ && stop_requested_.load(std::memory_order_acquire)) {
            begin_stop();
        }
        stats_.timers_fired.add(wheel_.advance(now_));
        if (mailbox_more_) {
            drain_mailbox();
        }
        end_turn();
        if (stopping_ && quiescent()) {
            break;
        }
        wait_and_reap();
        stats_.loop_turns.add();
    }
    // Push out the close_direct of the last connections' descriptors.
    (void)io_uring_submit(&ring_);
}

void Worker::wait_and_reap() {
    Duration wait = kLoopWaitMax;
    if (auto deadline = wheel_.next_deadline()) {
        wait = std::clamp<Duration>(*deadline - now_, Duration::zero(), kLoopWaitMax);
    }
    if (mailbox_more_) {
        wait = Duration::zero();
    }
    __kernel_timespec timeout = to_kernel_timespec(wait);
    io_uring_cqe* cqe = nullptr;
    // One io_uring_enter: submits what this turn queued, then waits for one
    // completion or the timeout (EXT_ARG: no timeout SQE).
    const int result = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
    FE_BUG(result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY &&
               result != -EAGAIN,
           "io_uring_submit_and_wait_timeout failed");

    Completion batch[kCqeBatchMax];
    uint32_t count = 0;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        batch[count++] = Completion{cqe->user_data, cqe->res, cqe->flags};
        if (count == kCqeBatchMax) {
            break;
        }
    }
    io_uring_cq_advance(&ring_, count);
    now_ = read_clock();
    stats_.completions.add(count);
    for (uint32_t i = 0; i < count; ++i) {
        dispatch(batch[i]);
    }
    if (count == 0) {
        // A timed-out wait: look at the mailbox in case a doorbell was lost
        // (a failed MSG_RING leaves wake_pending_ set and nobody rings again).
        drain_mailbox();
    }
}

void Worker::dispatch(const Completion& c) {
    if (c.user_data == 0) {
        return;  // a cancel request's own completion
    }
    const Op& op = *reinterpret_cast<const Op*>(c.user_data);
    switch (op.kind) {
        case OpKind::kDoorbell:
            stats_.mailbox_doorbells.add();
            drain_mailbox();
            break;
        case OpKind::kMsgRingSent: stats_.mailbox_doorbell_errors.add(); break;
        case OpKind::kEventfdRead: on_eventfd_read(c.result); break;
        case OpKind::kUdpRecv: on_udp_recv(*udp_sockets_[op.index], c.result, c.flags); break;
        case OpKind::kUdpSend: on_udp_send(udp_send_slots_[op.index], c.result); break;
        case OpKind::kAccept: on_accept(accept_slots_[op.index], c.result); break;
        case OpKind::kSocket: on_socket(connections_[op.index], c.result); break;
        case OpKind::kNodelay: on_nodelay(connections_[op.index], c.result); break;
        case OpKind::kConnect: on_connect(connections_[op.index], c.result); break;
        case OpKind::kStreamRecv:
            on_stream_recv(connections_[op.index], c.result, c.flags);
            break;
        case OpKind::kStreamSend: on_stream_send(connections_[op.index], c.result); break;
        case OpKind::kCloseDirect: on_close_direct(connections_[op.index], c.result); break;
        case OpKind::kPoll: on_poll(poll_slots_[op.index], c.result); break;
        case OpKind::kFdInstallForTest: {
            FdInstalled done = std::move(fd_install_done_);
            fd_install_done_ = nullptr;
            done(c.result);
            break;
        }
    }
}

// Work deferred to the end of the turn so that it is batched: receives whose
// multishot ended, sends queued by handlers (coalesced per connection), and
// buffers handed back to the kernel.
void Worker::end_turn() {
    udp_buffers_.publish();
    stream_buffers_.publish();
    for (uint32_t index : stream_rearm_) {
        Connection& c = connections_[index];
        c.rearm_queued = false;
        if (c.state == Connection::State::kOpen && !c.recv_submitted) {
            arm_stream_recv(c);
        }
    }
    stream_rearm_.clear();
    if (udp_rearm_pending_) {
        udp_rearm_pending_ = false;
        for (auto& udp : udp_sockets_) {
            if (!udp->recv_submitted && !stopping_) {
                arm_udp_recv(*udp);
            }
        }
    }
    // submit_send() does not add to send_ready_, so the loop bound is stable.
    for (size_t i = 0; i < send_ready_.size(); ++i) {
        Connection& c = connections_[send_ready_[i]];
        c.send_scheduled = false;
        const bool may_send = c.state == Connection::State::kOpen ||
                              (c.state == Connection::State::kClosing && c.flush_before_close);
        if (may_send && !c.send_submitted && c.send_queue_size > 0) {
            submit_send(c);
        }
    }
    send_ready_.clear();
}

bool Worker::quiescent() const {
    return connection_in_use_count_ == 0 && accepts_in_flight_ == 0 && udp_recvs_in_flight_ == 0 &&
           udp_send_free_.size() == udp_send_slot_count_ && !eventfd_read_submitted_ &&
           polls_in_flight_ == 0 && fd_install_done_ == nullptr;
}

void Worker::begin_stop() {
    FE_ASSERT(!stopping_);
    stopping_ = true;
    handler_->on_stop(*this, now_);
    for (uint32_t i = 0; i < accept_slot_count_; ++i) {
        if (accept_slots_[i].submitted) {
            cancel_op(accept_slots_[i].op);
        }
    }
    starved_accepts_.clear();
    tls_parked_accepts_.clear();
    tls_waiting_.clear();  // their connections close below
    // Stop accepting now: new connections are refused rather than queued in a
    // backlog nobody serves. (Accepts still in the kernel hold their own
    // reference to the listener until their cancel completes.)
    for (WorkerSocket& socket : sockets_) {
        if (socket.transport != Transport::kUdp && socket.fd >= 0) {
            ::close(socket.fd);
            socket.fd = -1;
        }
    }
    for (auto& udp : udp_sockets_) {
        if (udp->recv_submitted) {
            cancel_op(udp->recv_op);
        }
    }
    if (eventfd_read_submitted_) {
        cancel_op(*eventfd_op_);
    }
    // A poll's owner (a Redis connection) may never disarm it; the loop must
    // still end. Their `ready` is dropped, as cancel_poll() would.
    for (uint32_t i = 0; i < config_.fd_poll_count_max; ++i) {
        PollSlot& slot = poll_slots_[i];
        if (slot.submitted && !slot.cancelled) {
            (void)cancel_poll(PollId{i, slot.generation});
        }
    }
    for (uint32_t i = 0; i < connection_count_max_; ++i) {
        Connection& c = connections_[i];
        if (c.state == Connection::State::kOpen || c.state == Connection::State::kConnecting) {
            begin_close(c, CloseReason::kShutdown, CloseMode::kAfterSend);
        }
    }
}

void Worker::request_stop() {
    stop_requested_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(eventfd_, &one, sizeof(one));
}

io_uring_sqe* Worker::get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        // The SQ filled within one turn: push it to the kernel and go on. Often
        // means kRingEntries is too small for the load.
        stats_.sq_full_submits.add();
        (void)io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
        FE_ASSERT(sqe != nullptr);
    }
    return sqe;
}

void Worker::cancel_op(const Op& op) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(&op), 0);
    io_uring_sqe_set_data64(sqe, 0);
}

// ---- Mailbox --------------------------------------------------------------

void Worker::drain_mailbox() {
    mailbox_.clear_wake();
    const size_t count = mailbox_.drain(
        [this](const MailboxItem& item) {
            stats_.mailbox_received.add();
            handler_->on_mailbox(*this, item, now_);
        },
        kCqeBatchMax);
    // A cut batch continues next turn, without waiting for another doorbell.
    mailbox_more_ = count == kCqeBatchMax;
}

PostResult Worker::post(uint32_t to_index, const MailboxItem& item) {
    if (to_index >= peers_.size()) {
        return PostResult::kNoWorker;
    }
    Worker& target = *peers_[to_index];
    switch (target.mailbox_.push(item)) {
        case PushResult::kFull:
            stats_.mailbox_full.add();
            return PostResult::kFull;
        case PushResult::kPushed:
            return PostResult::kPosted;
        case PushResult::kPushedWake:
            break;
    }
    if (&target == this) {
        mailbox_more_ = true;
        return PostResult::kPosted;
    }
    // The doorbell: a CQE on the target's ring whose user_data is its doorbell
    // op. Submitted with this turn's batch; our own CQE only on failure.
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_msg_ring(sqe, target.ring_.ring_fd, 0,
                           reinterpret_cast<uint64_t>(target.doorbell_op_.get()), 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, msg_ring_op_.get());
    return PostResult::kPosted;
}

PostResult Worker::post_from_any_thread(const MailboxItem& item) {
    switch (mailbox_.push(item)) {
        case PushResult::kFull:
            return PostResult::kFull;
        case PushResult::kPushed:
            return PostResult::kPosted;
        case PushResult::kPushedWake:
            break;
    }
    const uint64_t one = 1;
    (void)!write(eventfd_, &one, sizeof(one));
    return PostResult::kPosted;
}

void Worker::arm_eventfd_read() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, eventfd_, &eventfd_value_, sizeof(eventfd_value_), 0);
    io_uring_sqe_set_data(sqe, eventfd_op_.get());
    eventfd_read_submitted_ = true;
}

void Worker::on_eventfd_read(int32_t result) {
    FE_ASSERT(eventfd_read_submitted_);
    eventfd_read_submitted_ = false;
    (void)result;  // the value only says "woken"; stop is read from stop_requested_
    drain_mailbox();
    if (!stopping_) {
        arm_eventfd_read();
    }
}

// ---- UDP ------------------------------------------------------------------

void Worker::add_udp_socket(const WorkerSocket& socket) {
    auto udp = std::make_unique<UdpSocket>();
    udp->index = static_cast<uint32_t>(udp_sockets_.size());
    udp->recv_op = Op{OpKind::kUdpRecv, udp->index};
    udp->fd = socket.fd;
    udp->local = socket.local;
    udp->recv_msg.msg_namelen = sizeof(sockaddr_in6);
    udp_sockets_.push_back(std::move(udp));
}

void Worker::arm_udp_recv(UdpSocket& socket) {
    FE_ASSERT(!socket.recv_submitted);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recvmsg_multishot(sqe, socket.fd, &socket.recv_msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = udp_buffers_.group_id();
    io_uring_sqe_set_data(sqe, &socket.recv_op);
    socket.recv_submitted = true;
    ++udp_recvs_in_flight_;
}

void Worker::on_udp_recv(UdpSocket& socket, int32_t result, uint32_t flags) {
    FE_ASSERT(socket.recv_submitted);
    if ((flags & IORING_CQE_F_MORE) == 0) {
        // The multishot ended (ENOBUFS, an error, a cancel): re-arm at the end
        // of the turn, after this turn's buffers went back to the ring.
        socket.recv_submitted = false;
        --udp_recvs_in_flight_;
        udp_rearm_pending_ = !stopping_;
    }
    if ((flags & IORING_CQE_F_BUFFER) != 0) {
        const auto buffer_id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        if (result > 0) {
            deliver_datagram(socket, buffer_id, result);
        }
        udp_buffers_.recycle(buffer_id);
        return;
    }
    if (result == -ENOBUFS) {
        stats_.udp_recv_no_buffers.add();
    } else if (result < 0 && result != -ECANCELED) {
        stats_.udp_recv_errors.add();
    }
}

void Worker::deliver_datagram(UdpSocket& socket, uint16_t buffer_id, int32_t result) {
    char* buffer = udp_buffers_.buffer(buffer_id);
    io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, result, &socket.recv_msg);
    if (out == nullptr) {
        stats_.udp_recv_errors.add();
        return;
    }
    if ((out->flags & MSG_TRUNC) != 0) {
        stats_.udp_datagrams_truncated.add();
        return;
    }
    const Endpoint from = internal::from_sockaddr(
        static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
        std::min<socklen_t>(out->namelen, socket.recv_msg.msg_namelen));
    const auto* payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &socket.recv_msg));
    const unsigned int size = io_uring_recvmsg_payload_length(out, result, &socket.recv_msg);
    stats_.udp_datagrams_received.add();
    handler_->on_datagram(*this, UdpSocketId{socket.index}, from, std::string_view(payload, size),
                         now_);
}

SendResult Worker::send_datagram(UdpSocketId socket_id, const Endpoint& to,
                                 std::span<const std::string_view> parts) {
    if (socket_id.index >= udp_sockets_.size()) {
        return SendResult::kBadSocket;
    }
    UdpSocket& socket = *udp_sockets_[socket_id.index];
    if (to.family != socket.local.family) {
        return SendResult::kBadAddress;
    }
    if (parts.size() > kSendPartCountMax) {
        return SendResult::kTooLarge;
    }
    size_t total = 0;
    for (std::string_view part : parts) {
        total += part.size();
    }
    if (total > kUdpDatagramSizeMax) {
        return SendResult::kTooLarge;
    }
    if (udp_send_free_.empty()) {
        stats_.udp_send_busy.add();
        return SendResult::kBusy;
    }
    UdpSendSlot& slot = udp_send_slots_[udp_send_free_.back()];
    udp_send_free_.pop_back();
    size_t offset = 0;
    for (std::string_view part : parts) {
        std::memcpy(slot.data + offset, part.data(), part.size());
        offset += part.size();
    }
    slot.iov = iovec{slot.data, total};
    slot.msg = msghdr{};
    slot.msg.msg_name = &slot.address;
    slot.msg.msg_namelen = internal::to_sockaddr(to, slot.address);
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, socket.fd, &slot.msg, 0);
    io_uring_sqe_set_data(sqe, &slot.op);
    return SendResult::kQueued;
}

void Worker::on_udp_send(UdpSendSlot& slot, int32_t result) {
    if (result < 0) {
        stats_.udp_send_errors.add();
    } else {
        stats_.udp_datagrams_sent.add();
    }
    udp_send_free_.push_back(slot.op.index);
}

// ---- TCP accept and connect -----------------------------------------------

uint32_t Worker::take_connection_slot() {
    if (connection_free_.empty()) {
        return kNoSlot;
    }
    const uint32_t index = connection_free_.back();
    connection_free_.pop_back();
    ++connection_in_use_count_;
    FE_ASSERT(connections_[index].state == Connection::State::kFree);
    return index;
}

void Worker::free_connection(Connection& c) {
    FE_ASSERT(c.state != Connection::State::kFree);
    FE_ASSERT(c.partial == nullptr);
    FE_ASSERT(c.send_head == nullptr);
    FE_ASSERT(!c.recv_submitted && !c.send_submitted && !c.close_submitted);
    FE_ASSERT(!c.socket_submitted && !c.nodelay_submitted && !c.connect_submitted);
    FE_ASSERT(!c.file_installed);
    FE_ASSERT(!c.tls_handshaking);
    FE_ASSERT(!c.tls_counted);
    wheel_.cancel(c.timer);
    c.tls_waiting = false;
    c.wss = false;
    c.tls.reset();  // not earlier: deliver_tls() may still be inside it when the close starts
    release_ws_assembly(c);
    c.ws.reset();  // likewise: consume_ws() may still be inside it
    c.state = Connection::State::kFree;
    c.opened = false;
    c.flush_before_close = false;
    c.peer = Endpoint{};
    connection_free_.push_back(c.index);
    --connection_in_use_count_;
    rearm_starved_accepts();
}

// Accepts in flight, one connection slot each: the slot index is the direct
// descriptor the kernel installs the socket into, and the accept's own
// sockaddr gives the peer address (a multishot accept shares one sockaddr
// between completions, and getpeername() needs a real fd).
void Worker::arm_accept(AcceptSlot& slot) {
    FE_ASSERT(!slot.submitted);
    if (stopping_) {
        return;
    }
    const uint32_t index = take_connection_slot();
    if (index == kNoSlot) {
        // Table full: the connection waits in the kernel's backlog until one
        // closes (backpressure, not growth).
        starved_accepts_.push_back(slot.op.index);
        return;
    }
    connections_[index].state = Connection::State::kAccepting;
    slot.connection_index = index;
    slot.address_size = sizeof(slot.address);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_accept_direct(sqe, tcp_listen_fds_[slot.listener_index],
                                reinterpret_cast<sockaddr*>(&slot.address), &slot.address_size, 0,
                                index);
    io_uring_sqe_set_data(sqe, &slot.op);
    slot.submitted = true;
    ++accepts_in_flight_;
}

void Worker::rearm_starved_accepts() {
    while (!stopping_ && !starved_accepts_.empty() && !connection_free_.empty()) {
        const uint32_t slot_index = starved_accepts_.back();
        starved_accepts_.pop_back();
        arm_accept(accept_slots_[slot_index]);
    }
}

void Worker::on_accept(AcceptSlot& slot, int32_t result) {
    FE_ASSERT(slot.submitted);
    slot.submitted = false;
    --accepts_in_flight_;
    Connection& c = connections_[slot.connection_index];
    FE_ASSERT(c.state == Connection::State::kAccepting);
    slot.connection_index = kNoSlot;
    if (result < 0) {
        c.state = Connection::State::kClosing;  // free_connection() expects in-use
        free_connection(c);
        if (result == -ECANCELED || result == -EBADF || result == -EINVAL) {
            return;  // stopping, or the listener is gone
        }
        // ECONNABORTED, EMFILE, ENOMEM ...: transient, accept again.
        stats_.accept_errors.add();
        arm_accept(slot);
        return;
    }
    c.peer = internal::from_sockaddr(reinterpret_cast<const sockaddr*>(&slot.address),
                                     slot.address_size);
    c.file_installed = true;
    c.state = Connection::State::kOpen;
    stats_.connections_accepted.add();
    if (tls_listener(slot.listener_index)) {
        // The handler hears of it when the handshake completes (open_tls()).
        const uint32_t listener_index = slot.listener_index;
        // WSS: the WebSocket handshake follows the TLS one (open_tls()).
        c.wss = listen_transport_[listener_index] == Transport::kWss;
        if (!tls_accept_parked(slot)) {
            arm_accept(slot);
        }
        start_tls(c, listener_index);
        return;
    }
    if (listen_transport_[slot.listener_index] == Transport::kWs) {
        // The handler hears of it when the 101 is queued (consume_ws()).
        arm_accept(slot);
        start_ws(c);
        return;
    }
    c.opened = true;
    arm_accept(slot);
    handler_->on_connection_open(*this, id_of(c), c.peer, Transport::kTcp, now_);
    if (c.state != Connection::State::kOpen) {
        return;  // the handler closed it
    }
    arm_stream_recv(c);
    if (stopping_) {
        begin_close(c, CloseReason::kShutdown, CloseMode::kAfterSend);
    }
}

ConnectResult Worker::connect(const Endpoint& to, ConnectionId* connection) {
    FE_ASSERT(connection != nullptr);
    if (stopping_) {
        return ConnectResult::kStopping;
    }
    sockaddr_storage address;
    const socklen_t address_size = internal::to_sockaddr(to, address);
    if (address_size == 0) {
        return ConnectResult::kBadAddress;
    }
    const uint32_t index = take_connection_slot();
    if (index == kNoSlot) {
        return ConnectResult::kTableFull;
    }
    Connection& c = connections_[index];
    c.state = Connection::State::kConnecting;
    c.opened = true;
    c.peer = to;
    std::memcpy(&c.connect_address, &address, address_size);
    // socket -> TCP_NODELAY -> connect are linked and must reach the kernel in
    // one submission. The TCP_NODELAY link is hard: if it fails, the
    // connection still opens (with Nagle on, counted).
    if (io_uring_sq_space_left(&ring_) < 3) {
        stats_.sq_full_submits.add();
        (void)io_uring_submit(&ring_);
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_socket_direct(sqe, address.ss_family, SOCK_STREAM, 0, index, 0);
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data(sqe, &c.socket_op);
    c.socket_submitted = true;
    if (tcp_nodelay_supported_) {
        sqe = get_sqe();
        internal::prep_tcp_nodelay(sqe, static_cast<int>(index));
        sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        io_uring_sqe_set_data(sqe, &c.nodelay_op);
        c.nodelay_submitted = true;
    } else {
        stats_.connect_nodelay_failures.add();
    }
    sqe = get_sqe();
    io_uring_prep_connect(sqe, static_cast<int>(index),
                          reinterpret_cast<const sockaddr*>(&c.connect_address), address_size);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, &c.connect_op);
    c.connect_submitted = true;
    wheel_.arm(c.timer, now_ + config_.connect_time_max);
    *connection = id_of(c);
    return ConnectResult::kStarted;
}

void Worker::on_socket(Connection& c, int32_t result) {
    FE_ASSERT(c.socket_submitted);
    c.socket_submitted = false;
    if (result >= 0) {
        c.file_installed = true;
    }
    // On failure the linked connect completes with -ECANCELED and closes.
    if (c.state == Connection::State::kClosing) {
        finish_close_if_idle(c);
    }
}

void Worker::on_nodelay(Connection& c, int32_t result) {
    FE_ASSERT(c.nodelay_submitted);
    c.nodelay_submitted = false;
    // -ECANCELED: the socket failed, and the connect reports that.
    if (result < 0 && result != -ECANCELED) {
        stats_.connect_nodelay_failures.add();
    }
    if (c.state == Connection::State::kClosing) {
        finish_close_if_idle(c);
    }
}

void Worker::on_connect(Connection& c, int32_t result) {
    FE_ASSERT(c.connect_submitted);
    c.connect_submitted = false;
    if (c.state == Connection::State::kClosing) {
        finish_close_if_idle(c);
        return;
    }
    FE_ASSERT(c.state == Connection::State::kConnecting);
    if (result < 0) {
        stats_.connect_failures.add();
        begin_close(c, CloseReason::kConnectFailed, CloseMode::kAbort);
        return;
    }
    wheel_.cancel(c.timer);
    c.state = Connection::State::kOpen;
    stats_.connections_connected.add();
    if (c.tls != nullptr) {
        on_tls_connect(c);  // the handler hears of it when the handshake completes
        return;
    }
    handler_->on_connection_open(*this, id_of(c), c.peer, Transport::kTcp, now_);
    if (c.state != Connection::State::kOpen) {
        return;
    }
    arm_stream_recv(c);
    if (c.send_queue_size > 0) {
        schedule_send(c);
    }
}

// ---- Streams --------------------------------------------------------------

Worker::Connection* Worker::find(ConnectionId id) {
    if (id.index >= connection_count_max_) {
        return nullptr;
    }
    Connection& c = connections_[id.index];
    if (c.generation != id.generation) {
        return nullptr;
    }
    if (c.state != Connection::State::kOpen && c.state != Connection::State::kConnecting) {
        return nullptr;
    }
    return &c;
}

ConnectionId Worker::id_of(const Connection& c) const { return ConnectionId{c.index, c.generation}; }

void Worker::arm_stream_recv(Connection& c) {
    FE_ASSERT(!c.recv_submitted);
    FE_ASSERT(c.file_installed);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, static_cast<int>(c.index), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = stream_buffers_.group_id();
    io_uring_sqe_set_data(sqe, &c.recv_op);
    c.recv_submitted = true;
}

void Worker::on_stream_recv(Connection& c, int32_t result, uint32_t flags) {
    FE_ASSERT(c.recv_submitted);
    if ((flags & IORING_CQE_F_MORE) == 0) {
        c.recv_submitted = false;
    }
    if ((flags & IORING_CQE_F_BUFFER) != 0) {
        const auto buffer_id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        if (result > 0 && c.state == Connection::State::kOpen) {
            stats_.stream_bytes_received.add(static_cast<uint64_t>(result));
            const std::string_view bytes(stream_buffers_.buffer(buffer_id),
                                         static_cast<size_t>(result));
            if (c.tls != nullptr) {
                deliver_tls(c, bytes);
            } else {
                deliver_stream(c, bytes);
            }
        }
        stream_buffers_.recycle(buffer_id);
    } else if (result == 0) {
        if (c.state == Connection::State::kOpen) {
            begin_close(c, CloseReason::kPeerClosed, CloseMode::kAfterSend);
        }
    } else if (result == -ENOBUFS) {
        stats_.stream_recv_no_buffers.add();  // re-armed below, after buffers return
    } else if (result < 0 && result != -ECANCELED && c.state == Connection::State::kOpen) {
        stats_.stream_errors.add();
        begin_close(c, CloseReason::kError, CloseMode::kAbort);
    }
    if (c.state == Connection::State::kOpen) {
        if (!c.recv_submitted && !c.rearm_queued) {
            c.rearm_queued = true;
            stream_rearm_.push_back(c.index);
        }
    } else if (c.state == Connection::State::kClosing) {
        finish_close_if_idle(c);
    }
}

// Hands the handler the bytes straight from the provided buffer; only an
// unconsumed tail (an incomplete message) is copied, into a partial buffer.
void Worker::deliver_stream(Connection& c, std::string_view bytes) {
    if (c.partial != nullptr) {
        deliver_with_partial(c, bytes);
        return;
    }
    const size_t used = consume(c, bytes);
    if (c.state != Connection::State::kOpen || used == bytes.size()) {
        return;
    }
    (void)keep_partial(c, bytes.substr(used));
}

void Worker::deliver_with_partial(Connection& c, std::string_view bytes) {
    while (!bytes.empty()) {
        const uint32_t room = config_.partial_message_size_max - c.partial_size;
        if (room == 0) {
            stats_.partial_too_large.add();
            begin_close(c, CloseReason::kPartialTooLarge, CloseMode::kAbort);
            return;
        }
        const auto size = static_cast<uint32_t>(std::min<size_t>(room, bytes.size()));
        std::memcpy(c.partial + c.partial_size, bytes.data(), size);
        c.partial_size += size;
        bytes.remove_prefix(size);
        const size_t used = consume(c, std::string_view(c.partial, c.partial_size));
        if (c.state != Connection::State::kOpen) {
            return;
        }
        if (used == c.partial_size) {
            release_partial(c);
            deliver_stream(c, bytes);
            return;
        }
        if (used > 0) {
            std::memmove(c.partial, c.partial + used, c.partial_size - used);
            c.partial_size -= static_cast<uint32_t>(used);
            // A message completed: the next one gets its own time limit.
            if (!handshake_timer(c)) {
                wheel_.arm(c.timer, now_ + config_.partial_message_time_max);
            }
        }
    }
    if (c.partial_size == config_.partial_message_size_max) {
        stats_.partial_too_large.add();
        begin_close(c, CloseReason::kPartialTooLarge, CloseMode::kAbort);
    }
}

// Calls the handler until it consumes everything or asks for more bytes.
size_t Worker::consume(Connection& c, std::string_view bytes) {
    if (c.ws != nullptr) {
        return consume_ws(c, bytes);
    }
    const ConnectionId id = id_of(c);
    size_t total = 0;
    while (total < bytes.size()) {
        const size_t used = handler_->on_stream_data(*this, id, bytes.substr(total), now_);
        FE_ASSERT(used <= bytes.size() - total);
        if (used == 0) {
            break;
        }
        total += used;
        if (c.state != Connection::State::kOpen) {
            break;
        }
    }
    return total;
}

bool Worker::keep_partial(Connection& c, std::string_view rest) {
    if (rest.size() >= config_.partial_message_size_max) {
        stats_.partial_too_large.add();
        begin_close(c, CloseReason::kPartialTooLarge, CloseMode::kAbort);
        return false;
    }
    char* buffer = take_partial_buffer();
    if (buffer == nullptr) {
        stats_.partial_buffer_exhausted.add();
        begin_close(c, CloseReason::kNoPartialBuffer, CloseMode::kAbort);
        return false;
    }
    std::memcpy(buffer, rest.data(), rest.size());
    c.partial = buffer;
    c.partial_size = static_cast<uint32_t>(rest.size());
    if (!handshake_timer(c)) {
        wheel_.arm(c.timer, now_ + config_.partial_message_time_max);
    }
    return true;
}

// A buffer of partial_message_size_max bytes from the pool (partial
// messages, WebSocket fragment assembly), or null when the pool is spent.
char* Worker::take_partial_buffer() {
    if (!partial_free_.empty()) {
        char* buffer = partial_free_.back();
        partial_free_.pop_back();
        return buffer;
    }
    if (partial_storage_.size() < config_.partial_buffer_count_max) {
        partial_storage_.push_back(std::make_unique<char[]>(config_.partial_message_size_max));
        return partial_storage_.back().get();
    }
    return nullptr;
}

// While a TLS or WebSocket handshake runs, the connection timer is the
// handshake's deadline, which a partial request must not move.
bool Worker::handshake_timer(const Connection& c) const {
    return c.tls_handshaking || (c.ws != nullptr && c.ws->handshaking);
}

void Worker::release_partial(Connection& c) {
    if (c.partial == nullptr) {
        return;
    }
    partial_free_.push_back(c.partial);
    c.partial = nullptr;
    c.partial_size = 0;
    if (!handshake_timer(c)) {
        wheel_.cancel(c.timer);
        if (c.ws != nullptr && c.state == Connection::State::kOpen) {
            arm_ws_ping(c);  // the timer is the idle PING's again
        }
    }
}

SendResult Worker::send_stream(ConnectionId id, std::span<const std::string_view> parts) {
    Connection* c = find(id);
    if (c == nullptr) {
        return SendResult::kStale;
    }
    if (parts.size() > kSendPartCountMax) {
        return SendResult::kTooLarge;
    }
    size_t total = 0;
    for (std::string_view part : parts) {
        total += part.size();
    }
    if (c->ws != nullptr) {
        return send_ws(*c, parts, total);
    }
    return send_raw(*c, parts, total);
}

// The connection's own bytes (TCP, or the plaintext of TLS): into the send
// queue, encrypted first on TLS.
SendResult Worker::send_raw(Connection& c, std::span<const std::string_view> parts, size_t total) {
    if (c.tls != nullptr) {
        return send_tls(c, parts, total);
    }
    if (c.send_queue_size + total > config_.send_queue_size_max) {
        // A reader slower than we write: close rather than grow.
        stats_.send_queue_overflows.add();
        begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
        return SendResult::kQueueFull;
    }
    if (!reserve_chunks(c, total)) {
        stats_.send_chunk_exhausted.add();
        return SendResult::kBusy;
    }
    for (std::string_view part : parts) {
        append_send(c, part);
    }
    if (c.state == Connection::State::kOpen) {
        schedule_send(c);
    }
    return SendResult::kQueued;
}

// Makes sure append_send() will find the chunks it needs for `size` bytes.
bool Worker::reserve_chunks(Connection& c, size_t size) {
    const size_t room = c.send_tail != nullptr ? kSendChunkSize - c.send_tail->size : 0;
    if (size <= room) {
        return true;
    }
    const size_t needed = (size - room + kSendChunkSize - 1) / kSendChunkSize;
    while (chunk_free_.size() < needed && chunk_storage_.size() < config_.send_chunk_count_max) {
        chunk_storage_.push_back(std::make_unique<SendChunk>());
        chunk_free_.push_back(chunk_storage_.back().get());
    }
    return chunk_free_.size() >= needed;
}

void Worker::append_send(Connection& c, std::string_view bytes) {
    while (!bytes.empty()) {
        if (c.send_tail == nullptr || c.send_tail->size == kSendChunkSize) {
            FE_ASSERT(!chunk_free_.empty());
            SendChunk* chunk = chunk_free_.back();
            chunk_free_.pop_back();
            chunk->next = nullptr;
            chunk->size = 0;
            if (c.send_tail == nullptr) {
                c.send_head = chunk;
            } else {
                c.send_tail->next = chunk;
            }
            c.send_tail = chunk;
        }
        const auto size =
            static_cast<uint32_t>(std::min<size_t>(kSendChunkSize - c.send_tail->size, bytes.size()));
        std::memcpy(c.send_tail->data + c.send_tail->size, bytes.data(), size);
        c.send_tail->size += size;
        c.send_queue_size += size;
        bytes.remove_prefix(size);
    }
}

void Worker::schedule_send(Connection& c) {
    if (!c.send_scheduled) {
        c.send_scheduled = true;
        send_ready_.push_back(c.index);
    }
}

// One sendmsg over up to kSendIovecCountMax queued chunks.
void Worker::submit_send(Connection& c) {
    FE_ASSERT(!c.send_submitted);
    FE_ASSERT(c.send_queue_size > 0);
    uint32_t count = 0;
    uint32_t offset = c.send_head_offset;
    for (SendChunk* chunk = c.send_head; chunk != nullptr && count < kSendIovecCountMax;
         chunk = chunk->next) {
        FE_ASSERT(chunk->size > offset);
        c.send_iov[count++] = iovec{chunk->data + offset, chunk->size - offset};
        offset = 0;
    }
    c.send_msg = msghdr{};
    c.send_msg.msg_iov = c.send_iov;
    c.send_msg.msg_iovlen = count;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, static_cast<int>(c.index), &c.send_msg, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, &c.send_op);
    c.send_submitted = true;
}

void Worker::advance_send_queue(Connection& c, uint32_t sent) {
    FE_ASSERT(sent <= c.send_queue_size);
    c.send_queue_size -= sent;
    while (sent > 0) {
        SendChunk* head = c.send_head;
        const uint32_t available = head->size - c.send_head_offset;
        if (sent < available) {
            c.send_head_offset += sent;
            return;
        }
        sent -= available;
        c.send_head = head->next;
        c.send_head_offset = 0;
        if (c.send_head == nullptr) {
            c.send_tail = nullptr;
        }
        chunk_free_.push_back(head);
    }
}

void Worker::on_stream_send(Connection& c, int32_t result) {
    FE_ASSERT(c.send_submitted);
    c.send_submitted = false;
    if (result > 0) {
        stats_.stream_bytes_sent.add(static_cast<uint64_t>(result));
        advance_send_queue(c, static_cast<uint32_t>(result));
    }
    if (c.state == Connection::State::kOpen) {
        if (result < 0) {
            stats_.stream_errors.add();
            begin_close(c, CloseReason::kError, CloseMode::kAbort);
        } else if (c.send_queue_size > 0) {
            schedule_send(c);
        }
        return;
    }
    FE_ASSERT(c.state == Connection::State::kClosing);
    if (result < 0) {
        c.flush_before_close = false;
    }
    finish_close_if_idle(c);
}

void Worker::drop_send_queue(Connection& c) {
    FE_ASSERT(!c.send_submitted);
    for (SendChunk* chunk = c.send_head; chunk != nullptr;) {
        SendChunk* next = chunk->next;
        chunk_free_.push_back(chunk);
        chunk = next;
    }
    c.send_head = nullptr;
    c.send_tail = nullptr;
    c.send_head_offset = 0;
    c.send_queue_size = 0;
}

void Worker::begin_close(Connection& c, CloseReason reason, CloseMode mode) {
    if (c.state == Connection::State::kClosing || c.state == Connection::State::kFree) {
        return;
    }
    FE_ASSERT(c.state == Connection::State::kOpen || c.state == Connection::State::kConnecting);
    if (c.tls != nullptr) {
        if (mode == CloseMode::kAfterSend) {
            close_notify_tls(c);  // queued before the flush below decides
        }
        end_tls_handshake(c);
    }
    const ConnectionId id = id_of(c);
    const bool was_connecting = c.state == Connection::State::kConnecting;
    c.state = Connection::State::kClosing;
    ++c.generation;
    stats_.connections_closed.add();
    release_partial(c);
    wheel_.cancel(c.timer);
    c.flush_before_close = mode == CloseMode::kAfterSend && !was_connecting &&
                           c.send_queue_size > 0;
    if (c.flush_before_close) {
        wheel_.arm(c.timer, now_ + config_.close_flush_time_max);
    }
    if (c.recv_submitted) {
        cancel_op(c.recv_op);
    }
    if (c.send_submitted && !c.flush_before_close) {
        cancel_op(c.send_op);
    }
    if (c.connect_submitted) {
        cancel_op(c.connect_op);
    }
    if (c.opened) {
        c.opened = false;
        handler_->on_connection_closed(*this, id, reason, now_);
    }
    finish_close_if_idle(c);
}

// The last step of a close: once no op of the connection is in the kernel,
// close its direct descriptor; the slot is free when that completes.
void Worker::finish_close_if_idle(Connection& c) {
    FE_ASSERT(c.state == Connection::State::kClosing);
    if (c.recv_submitted || c.send_submitted || c.socket_submitted || c.nodelay_submitted ||
        c.connect_submitted || c.close_submitted) {
        return;
    }
    if (c.flush_before_close && c.send_queue_size > 0) {
        schedule_send(c);
        return;
    }
    drop_send_queue(c);
    if (c.file_installed) {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_close_direct(sqe, c.index);
        io_uring_sqe_set_data(sqe, &c.close_op);
        c.close_submitted = true;
        return;
    }
    free_connection(c);
}

void Worker::on_close_direct(Connection& c, int32_t result) {
    FE_ASSERT(c.close_submitted);
    c.close_submitted = false;
    c.file_installed = false;
    FE_BUG(result < 0, "close_direct of a connection's descriptor failed");
    free_connection(c);
}

bool Worker::close(ConnectionId id, CloseMode mode) {
    Connection* c = find(id);
    if (c == nullptr) {
        return false;
    }
    begin_close(*c, CloseReason::kLocal, mode);
    return true;
}

void Worker::on_connection_timer(time::Timer& timer, Time now) {
    (void)now;
    auto& c = *static_cast<Connection*>(timer.context);
    Worker& worker = *c.worker;
    switch (c.state) {
        case Connection::State::kConnecting:
            worker.stats_.connect_failures.add();
            worker.begin_close(c, CloseReason::kConnectTimeout, CloseMode::kAbort);
            break;
        case Connection::State::kOpen:
            if (c.tls_handshaking) {
                // Slowloris at the TLS layer: no handshake within its limit.
                worker.stats_.tls_handshake_timeouts.add();
                worker.begin_close(c, CloseReason::kTlsHandshakeTimeout, CloseMode::kAbort);
                break;
            }
            if (c.ws != nullptr && !c.ws->handshaking && c.partial == nullptr) {
                worker.on_ws_ping_timer(c);  // an idle WebSocket
                break;
            }
            if (c.ws != nullptr && c.ws->handshaking) {
                // Slowloris before the Upgrade request is whole: closed
                // unanswered (the handler never heard of it).
                worker.stats_.ws_handshake_timeouts.add();
                worker.begin_close(c, CloseReason::kWsHandshakeTimeout, CloseMode::kAbort);
                break;
            }
            // Slowloris: a partial message outlived its time limit.
            worker.stats_.partial_timeouts.add();
            worker.begin_close(c, CloseReason::kPartialTimeout, CloseMode::kAbort);
            break;
        case Connection::State::kClosing:
            // The peer does not read what we flush: give up on it.
            c.flush_before_close = false;
            if (c.send_submitted) {
                worker.cancel_op(c.send_op);
            }
            worker.finish_close_if_idle(c);
            break;
        case Connection::State::kFree:
        case Connection::State::kAccepting:
            FE_BUG(true, "connection timer fired on an unused slot");
            break;
    }
}

// ---- Readiness polls -------------------------------------------------------

void Worker::init_poll_slots() {
    const uint32_t count = config_.fd_poll_count_max;
    poll_slots_ = std::make_unique<PollSlot[]>(count);
    poll_free_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        poll_slots_[i].op = Op{OpKind::kPoll, i};
        poll_free_.push_back(count - 1 - i);  // lowest index first
    }
}

PollId Worker::poll_fd(int fd, uint32_t events, Ready ready) {
    FE_ASSERT(fd >= 0);
    FE_ASSERT(ring_ready_);
    if (stopping_ || poll_free_.empty()) {
        stats_.fd_polls_refused.add();
        return PollId{};
    }
    const uint32_t index = poll_free_.back();
    poll_free_.pop_back();
    PollSlot& slot = poll_slots_[index];
    FE_ASSERT(!slot.submitted);
    slot.submitted = true;
    slot.cancelled = false;
    slot.ready = std::move(ready);
    ++polls_in_flight_;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, fd, events);
    io_uring_sqe_set_data(sqe, &slot.op);
    return PollId{index, slot.generation};
}

bool Worker::cancel_poll(PollId id) {
    if (!id.valid() || id.index >= config_.fd_poll_count_max) {
        return false;
    }
    PollSlot& slot = poll_slots_[id.index];
    if (slot.generation != id.generation || !slot.submitted || slot.cancelled) {
        return false;
    }
    slot.cancelled = true;
    ++slot.generation;
    slot.ready = nullptr;  // Whatever it captured goes now, not at the CQE.
    cancel_op(slot.op);
    return true;
}

void Worker::on_poll(PollSlot& slot, int32_t result) {
    FE_ASSERT(slot.submitted);
    FE_ASSERT(polls_in_flight_ > 0);
    slot.submitted = false;
    --polls_in_flight_;
    const uint32_t index = slot.op.index;
    if (slot.cancelled) {
        poll_free_.push_back(index);
        return;
    }
    // Free the slot before the call: `ready` usually arms the next poll.
    ++slot.generation;
    Ready ready = std::move(slot.ready);
    slot.ready = nullptr;
    poll_free_.push_back(index);
    ready(result, now_);
}

// ---- Tests ----------------------------------------------------------------

bool Worker::install_fd_for_test(ConnectionId id, FdInstalled done) {
    Connection* c = find(id);
    if (c == nullptr || !c->file_installed || fd_install_done_ != nullptr) {
        return false;
    }
    fd_install_done_ = std::move(done);
    io_uring_sqe* sqe = get_sqe();
    // Everything but the descriptor index zero; the new fd is O_CLOEXEC.
    io_uring_prep_rw(kOpFixedFdInstall, sqe, static_cast<int>(c->index), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, fd_install_op_.get());
    return true;
}

}  // namespace fe::net
