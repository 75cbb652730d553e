#include "bench/loadgen/io.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bench/loadgen/text.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "net/internal/socket.h"

namespace fe::loadgen {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr uint16_t kBufferGroup = 7;
// IORING_OP_BIND (kernel 6.11) is newer than our liburing 2.3 headers.
constexpr uint8_t kOpBind = 56;
// CQEs copied out per batch, and batches per poll() so timers get a look-in.
constexpr uint32_t kCqeBatchMax = 256;
constexpr uint32_t kCqeBatchesPerPoll = 8;

// Latencies measured with Nagle on are the generator's, not the server's:
// say so once per process, on stderr, the first time it happens.
void warn_nodelay_once(const char* why) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
        std::fprintf(stderr,
                     "flowedge-bench: warning: TCP flows without TCP_NODELAY (%s); back-to-back "
                     "small messages may wait 40 ms for a delayed ACK\n",
                     why);
    }
}

}  // namespace

struct Io::Conn {
    enum class State : uint8_t { kFree, kConnecting, kOpen, kClosing };
    State state = State::kFree;
    // False from a close() or failure on: no more handler calls.
    bool file_installed = false;
    bool recv_armed = false;
    bool send_in_flight = false;
    bool close_submitted = false;
    bool connect_failed = false;
    uint8_t connect_steps_left = 0;  // socket, nodelay, bind, connect completions to come
    // Operations in the kernel naming this slot; the slot is freed at 0 after
    // the descriptor was closed.
    uint16_t ops = 0;
    uint32_t generation = 0;
    uint64_t user = 0;
    uint32_t send_head = kNone;  // queued send slots, head is the one in flight
    uint32_t send_tail = kNone;
    sockaddr_in bind_addr{};
    sockaddr_in peer{};
    std::string partial;  // bytes of an incomplete message; empty almost always
};

struct Io::SendSlot {
    uint32_t size = 0;
    uint32_t offset = 0;  // TCP: bytes already sent
    uint32_t next = kNone;
    sockaddr_in to{};
    iovec iov{};
    msghdr msg{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))]{};
    char data[kIoSendSlotSize];
};

struct Io::UdpSocket {
    int fd = -1;
    bool armed = false;
    msghdr recv_msg{};
};

Io::Io() = default;

Io::~Io() {
    if (ring_ready_) {
        buffers_.destroy(ring_);
        io_uring_queue_exit(&ring_);
    }
    for (const UdpSocket& s : udp_) {
        ::close(s.fd);
    }
}

Time Io::clock_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return time_from_ns(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

absl::Status Io::init(const IoConfig& config, IoHandler& handler, std::vector<int> udp_fds) {
    handler_ = &handler;
    for (int fd : udp_fds) {
        UdpSocket s;
        s.fd = fd;
        udp_.push_back(s);
    }
    io_uring_params params{};
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE |
                   IORING_SETUP_SINGLE_ISSUER;
    params.cq_entries = config.ring_entries * 4;
    const int rc = io_uring_queue_init_params(config.ring_entries, &ring_, &params);
    if (rc < 0) {
        return absl::UnavailableError(cat(
            "io_uring_queue_init: ", std::strerror(-rc),
            " (is io_uring disabled? check /proc/sys/kernel/io_uring_disabled)"));
    }
    ring_ready_ = true;
    connection_count_max_ = config.connection_count_max;
    if (connection_count_max_ > 0) {
        // Before anything is queued: the probe waits for its own completion.
        tcp_nodelay_supported_ = net::internal::probe_tcp_nodelay(ring_);
        if (!tcp_nodelay_supported_) {
            warn_nodelay_once("the kernel lacks SOCKET_URING_OP_SETSOCKOPT, Linux 6.7+");
        }
        const int r = io_uring_register_files_sparse(&ring_, connection_count_max_);
        if (r < 0) {
            return absl::ResourceExhaustedError(cat(
                "registering a file table of ", connection_count_max_, " slots: ",
                std::strerror(-r), " (the table is capped by RLIMIT_NOFILE: use more --threads)"));
        }
    }
    FE_RETURN_IF_ERROR(buffers_.init(ring_, kBufferGroup, config.recv_buffer_count,
                                     kIoRecvBufferSize));
    conns_ = std::make_unique<Conn[]>(connection_count_max_);
    conn_free_.reserve(connection_count_max_);
    for (uint32_t i = connection_count_max_; i > 0; --i) {
        conn_free_.push_back(i - 1);
    }
    slots_ = std::make_unique<SendSlot[]>(config.send_slot_count);
    for (uint32_t i = config.send_slot_count; i > 0; --i) {
        slot_free_.push_back(i - 1);
    }
    for (uint32_t i = 0; i < udp_.size(); ++i) {
        UdpSocket& s = udp_[i];
        s.recv_msg.msg_namelen = sizeof(sockaddr_in);
        s.recv_msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        arm_udp_recv(i);
    }
    return absl::OkStatus();
}

uint64_t Io::pack(OpKind kind, uint32_t index, uint32_t generation) {
    FE_ASSERT(index < (1u << 24));
    return (static_cast<uint64_t>(kind) << 56) | (static_cast<uint64_t>(index) << 32) |
           generation;
}

io_uring_sqe* Io::get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
        ++stats_.sq_full;
        (void)io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

uint32_t Io::take_slot() {
    if (slot_free_.empty()) {
        ++stats_.send_no_slot;
        return kNone;
    }
    const uint32_t slot = slot_free_.back();
    slot_free_.pop_back();
    SendSlot& s = slots_[slot];
    s.offset = 0;
    s.next = kNone;
    return slot;
}

void Io::free_slot(uint32_t slot) { slot_free_.push_back(slot); }

// ---- TCP -------------------------------------------------------------------

IoConnectResult Io::connect(uint32_t source_addr, const sockaddr_in& to, uint64_t user,
                            ConnRef* conn) {
    if (conn_free_.empty()) {
        return IoConnectResult::kTableFull;
    }
    const uint32_t index = conn_free_.back();
    conn_free_.pop_back();
    ++conn_in_use_;
    Conn& c = conns_[index];
    FE_ASSERT(c.state == Conn::State::kFree);
    c.state = Conn::State::kConnecting;
    c.user = user;
    c.connect_failed = false;
    c.close_submitted = false;
    const uint8_t steps = tcp_nodelay_supported_ ? 4 : 3;
    c.connect_steps_left = steps;
    c.ops = steps;
    c.peer = to;
    c.bind_addr = sockaddr_in{};
    c.bind_addr.sin_family = AF_INET;
    c.bind_addr.sin_addr.s_addr = htonl(source_addr);
    c.bind_addr.sin_port = 0;  // the kernel picks a port free on this address

    // The linked chain must reach the kernel in one submission: get_sqe()
    // submitting halfway would cut it.
    if (io_uring_sq_space_left(&ring_) < steps) {
        ++stats_.sq_full;
        (void)io_uring_submit(&ring_);
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_socket_direct(sqe, AF_INET, SOCK_STREAM, 0, index, 0);
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kSocket, index, c.generation));

    if (tcp_nodelay_supported_) {
        // A hard link: a failed TCP_NODELAY does not cancel bind and connect.
        sqe = get_sqe();
        net::internal::prep_tcp_nodelay(sqe, static_cast<int>(index));
        sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_FIXED_FILE;
        io_uring_sqe_set_data64(sqe, pack(OpKind::kNodelay, index, c.generation));
    } else {
        ++stats_.nodelay_errors;
    }

    sqe = get_sqe();
    io_uring_prep_rw(kOpBind, sqe, static_cast<int>(index), &c.bind_addr, 0, sizeof(sockaddr_in));
    sqe->flags |= IOSQE_IO_LINK | IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kBind, index, c.generation));

    sqe = get_sqe();
    io_uring_prep_connect(sqe, static_cast<int>(index), reinterpret_cast<const sockaddr*>(&c.peer),
                          sizeof(sockaddr_in));
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kConnect, index, c.generation));
    *conn = ConnRef{index, c.generation};
    return IoConnectResult::kStarted;
}

void Io::on_connect_step(Conn& c, OpKind kind, int32_t result, Time now) {
    FE_ASSERT(c.connect_steps_left > 0);
    --c.connect_steps_left;
    --c.ops;
    if (kind == OpKind::kSocket && result >= 0) {
        c.file_installed = true;
    }
    if (kind == OpKind::kNodelay) {
        // -ECANCELED: the socket failed, which fails the connection anyway.
        if (result < 0 && result != -ECANCELED) {
            ++stats_.nodelay_errors;
            warn_nodelay_once(std::strerror(-result));
        }
    } else if (result < 0) {
        c.connect_failed = true;
    }
    if (c.connect_steps_left > 0) {
        return;
    }
    if (c.state == Conn::State::kClosing) {
        finish_close_if_idle(c);
        return;
    }
    FE_ASSERT(c.state == Conn::State::kConnecting);
    if (c.connect_failed) {
        ++stats_.connect_errors;
        fail(c, IoCloseReason::kConnectFailed, now);
        return;
    }
    c.state = Conn::State::kOpen;
    arm_recv(c);
    const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
    handler_->on_connected(ConnRef{index, c.generation}, c.user, now);
    if (c.state == Conn::State::kOpen && c.send_head != kNone && !c.send_in_flight) {
        submit_send(c);
    }
}

void Io::arm_recv(Conn& c) {
    const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, static_cast<int>(index), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kRecv, index, c.generation));
    c.recv_armed = true;
    ++c.ops;
}

void Io::on_recv(Conn& c, int32_t result, uint32_t flags, Time now) {
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (result > 0) {
        FE_ASSERT(flags & IORING_CQE_F_BUFFER);
        const auto buffer_id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        if (c.state == Conn::State::kOpen) {
            deliver(c, std::string_view(buffers_.buffer(buffer_id), static_cast<size_t>(result)),
                    now);
        }
        buffers_.recycle(buffer_id);
    }
    if (!more) {
        c.recv_armed = false;
        --c.ops;
    }
    if (c.state == Conn::State::kOpen) {
        if (result == 0) {
            fail(c, IoCloseReason::kPeerClosed, now);
        } else if (result == -ENOBUFS) {
            ++stats_.udp_recv_no_buffers;
            if (!c.recv_armed) {
                arm_recv(c);
            }
        } else if (result < 0) {
            ++stats_.stream_errors;
            fail(c, IoCloseReason::kError, now);
        } else if (!c.recv_armed) {
            arm_recv(c);
        }
    }
    if (c.state == Conn::State::kClosing) {
        finish_close_if_idle(c);
    }
}

void Io::deliver(Conn& c, std::string_view bytes, Time now) {
    const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
    const ConnRef ref{index, c.generation};
    if (c.partial.empty()) {
        while (!bytes.empty() && c.state == Conn::State::kOpen) {
            const size_t used = handler_->on_stream_data(ref, c.user, bytes, now);
            if (used == 0) {
                break;
            }
            bytes.remove_prefix(used);
        }
        if (!bytes.empty() && c.state == Conn::State::kOpen) {
            c.partial.assign(bytes);
        }
        return;
    }
    if (c.partial.size() + bytes.size() > kIoPartialSizeMax) {
        ++stats_.partial_overflow;
        fail(c, IoCloseReason::kError, now);
        return;
    }
    c.partial.append(bytes);
    size_t offset = 0;
    while (offset < c.partial.size() && c.state == Conn::State::kOpen) {
        const size_t used = handler_->on_stream_data(
            ref, c.user, std::string_view(c.partial).substr(offset), now);
        if (used == 0) {
            break;
        }
        offset += used;
    }
    if (c.state != Conn::State::kOpen || offset == c.partial.size()) {
        std::string().swap(c.partial);  // an idle flow holds no buffer
    } else {
        c.partial.erase(0, offset);
    }
}

IoSendResult Io::send(ConnRef ref, std::string_view bytes) {
    if (!ref.valid() || ref.index >= connection_count_max_) {
        return IoSendResult::kStale;
    }
    Conn& c = conns_[ref.index];
    if (c.generation != ref.generation ||
        (c.state != Conn::State::kOpen && c.state != Conn::State::kConnecting)) {
        return IoSendResult::kStale;
    }
    if (bytes.size() > kIoSendSlotSize) {
        return IoSendResult::kTooLarge;
    }
    const uint32_t slot = take_slot();
    if (slot == kNone) {
        return IoSendResult::kNoSlot;
    }
    SendSlot& s = slots_[slot];
    std::memcpy(s.data, bytes.data(), bytes.size());
    s.size = static_cast<uint32_t>(bytes.size());
    if (c.send_tail == kNone) {
        c.send_head = slot;
    } else {
        slots_[c.send_tail].next = slot;
    }
    c.send_tail = slot;
    if (c.state == Conn::State::kOpen && !c.send_in_flight) {
        submit_send(c);
    }
    return IoSendResult::kQueued;
}

void Io::submit_send(Conn& c) {
    FE_ASSERT(!c.send_in_flight);
    FE_ASSERT(c.send_head != kNone);
    const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
    SendSlot& s = slots_[c.send_head];
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, static_cast<int>(index), s.data + s.offset, s.size - s.offset,
                       MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kSend, index, c.generation));
    c.send_in_flight = true;
    ++c.ops;
}

void Io::on_send(Conn& c, int32_t result, Time now) {
    FE_ASSERT(c.send_in_flight);
    c.send_in_flight = false;
    --c.ops;
    FE_ASSERT(c.send_head != kNone);
    SendSlot& s = slots_[c.send_head];
    if (c.state != Conn::State::kOpen || result < 0) {
        if (c.state == Conn::State::kOpen) {
            ++stats_.stream_errors;
            fail(c, IoCloseReason::kError, now);
        }
        finish_close_if_idle(c);
        return;
    }
    s.offset += static_cast<uint32_t>(result);
    if (s.offset >= s.size) {
        const uint32_t done = c.send_head;
        c.send_head = s.next;
        if (c.send_head == kNone) {
            c.send_tail = kNone;
        }
        free_slot(done);
    }
    if (c.send_head != kNone) {
        submit_send(c);
    }
}

void Io::fail(Conn& c, IoCloseReason reason, Time now) {
    const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
    const ConnRef ref{index, c.generation};
    const uint64_t user = c.user;
    begin_close(c);
    handler_->on_closed(ref, user, reason, now);
}

void Io::close(ConnRef ref) {
    if (!ref.valid() || ref.index >= connection_count_max_) {
        return;
    }
    Conn& c = conns_[ref.index];
    if (c.generation != ref.generation || c.state == Conn::State::kFree ||
        c.state == Conn::State::kClosing) {
        return;
    }
    begin_close(c);
}

void Io::begin_close(Conn& c) {
    FE_ASSERT(c.state == Conn::State::kOpen || c.state == Conn::State::kConnecting);
    c.state = Conn::State::kClosing;
    std::string().swap(c.partial);
    // Queued sends that are not in the kernel go back to the pool now.
    uint32_t slot = c.send_head;
    if (c.send_in_flight && slot != kNone) {
        slot = slots_[slot].next;
        slots_[c.send_head].next = kNone;
        c.send_tail = c.send_head;
    } else {
        c.send_head = kNone;
        c.send_tail = kNone;
    }
    while (slot != kNone) {
        const uint32_t next = slots_[slot].next;
        free_slot(slot);
        slot = next;
    }
    if (c.ops > 0 && c.file_installed) {
        const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_cancel_fd(sqe, static_cast<int>(index),
                                IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
        io_uring_sqe_set_data64(sqe, pack(OpKind::kCancel, index, c.generation));
        ++c.ops;
    }
    finish_close_if_idle(c);
}

void Io::finish_close_if_idle(Conn& c) {
    if (c.state != Conn::State::kClosing || c.ops > 0) {
        return;
    }
    if (c.send_head != kNone) {  // the in-flight send completed during close
        free_slot(c.send_head);
        c.send_head = kNone;
        c.send_tail = kNone;
    }
    if (c.file_installed && !c.close_submitted) {
        const uint32_t index = static_cast<uint32_t>(&c - conns_.get());
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_close_direct(sqe, index);
        io_uring_sqe_set_data64(sqe, pack(OpKind::kClose, index, c.generation));
        c.close_submitted = true;
        ++c.ops;
        return;
    }
    if (!c.file_installed) {
        free_conn(c);
    }
}

void Io::free_conn(Conn& c) {
    FE_ASSERT(c.ops == 0);
    c.state = Conn::State::kFree;
    ++c.generation;
    c.user = 0;
    conn_free_.push_back(static_cast<uint32_t>(&c - conns_.get()));
    --conn_in_use_;
}

// ---- UDP -------------------------------------------------------------------

void Io::arm_udp_recv(uint32_t socket_index) {
    UdpSocket& s = udp_[socket_index];
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recvmsg_multishot(sqe, s.fd, &s.recv_msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, pack(OpKind::kUdpRecv, socket_index, 0));
    s.armed = true;
}

void Io::on_udp_recv(uint32_t socket_index, int32_t result, uint32_t flags, Time now) {
    UdpSocket& s = udp_[socket_index];
    if (result >= 0 && (flags & IORING_CQE_F_BUFFER) != 0) {
        const auto buffer_id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        char* buffer = buffers_.buffer(buffer_id);
        io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, result, &s.recv_msg);
        if (out != nullptr && (out->flags & MSG_TRUNC) == 0 &&
            out->namelen >= sizeof(sockaddr_in)) {
            uint32_t local_addr = 0;
            for (cmsghdr* cm = io_uring_recvmsg_cmsg_firsthdr(out, &s.recv_msg); cm != nullptr;
                 cm = io_uring_recvmsg_cmsg_nexthdr(out, &s.recv_msg, cm)) {
                if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
                    in_pktinfo info{};
                    std::memcpy(&info, CMSG_DATA(cm), sizeof(info));
                    local_addr = ntohl(info.ipi_addr.s_addr);
                }
            }
            sockaddr_in from{};
            std::memcpy(&from, io_uring_recvmsg_name(out), sizeof(from));
            const auto* payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &s.recv_msg));
            const uint32_t size = io_uring_recvmsg_payload_length(out, result, &s.recv_msg);
            handler_->on_datagram(socket_index, local_addr, from, std::string_view(payload, size),
                                  now);
        }
        buffers_.recycle(buffer_id);
    } else if (result == -ENOBUFS) {
        ++stats_.udp_recv_no_buffers;
    }
    if ((flags & IORING_CQE_F_MORE) == 0) {
        s.armed = false;
        udp_rearm_.push_back(socket_index);
    }
}

IoSendResult Io::send_datagram(uint32_t socket_index, uint32_t source_addr, const sockaddr_in& to,
                               std::string_view bytes) {
    FE_ASSERT(socket_index < udp_.size());
    if (bytes.size() > kIoSendSlotSize) {
        return IoSendResult::kTooLarge;
    }
    const uint32_t slot = take_slot();
    if (slot == kNone) {
        return IoSendResult::kNoSlot;
    }
    SendSlot& s = slots_[slot];
    std::memcpy(s.data, bytes.data(), bytes.size());
    s.size = static_cast<uint32_t>(bytes.size());
    s.to = to;
    s.iov = iovec{s.data, s.size};
    s.msg = msghdr{};
    s.msg.msg_name = &s.to;
    s.msg.msg_namelen = sizeof(sockaddr_in);
    s.msg.msg_iov = &s.iov;
    s.msg.msg_iovlen = 1;
    s.msg.msg_control = s.control;
    s.msg.msg_controllen = sizeof(s.control);
    cmsghdr* cm = CMSG_FIRSTHDR(&s.msg);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(source_addr);
    std::memcpy(CMSG_DATA(cm), &info, sizeof(info));
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, udp_[socket_index].fd, &s.msg, 0);
    io_uring_sqe_set_data64(sqe, pack(OpKind::kUdpSend, slot, 0));
    return IoSendResult::kQueued;
}

// ---- Loop ------------------------------------------------------------------

void Io::dispatch(const io_uring_cqe& cqe, Time now) {
    const uint64_t data = cqe.user_data;
    const auto kind = static_cast<OpKind>(data >> 56);
    const auto index = static_cast<uint32_t>((data >> 32) & 0xFFFFFF);
    const auto generation = static_cast<uint32_t>(data);
    switch (kind) {
        case OpKind::kUdpRecv: on_udp_recv(index, cqe.res, cqe.flags, now); return;
        case OpKind::kUdpSend:
            if (cqe.res < 0) {
                ++stats_.udp_send_errors;
            }
            free_slot(index);
            return;
        default: break;
    }
    FE_ASSERT(index < connection_count_max_);
    Conn& c = conns_[index];
    // Slots are freed only after all their operations completed.
    FE_ASSERT(c.generation == generation);
    FE_ASSERT(c.state != Conn::State::kFree);
    switch (kind) {
        case OpKind::kSocket:
        case OpKind::kNodelay:
        case OpKind::kBind:
        case OpKind::kConnect: on_connect_step(c, kind, cqe.res, now); break;
        case OpKind::kRecv: on_recv(c, cqe.res, cqe.flags, now); break;
        case OpKind::kSend: on_send(c, cqe.res, now); break;
        case OpKind::kCancel:
            --c.ops;
            finish_close_if_idle(c);
            break;
        case OpKind::kClose:
            --c.ops;
            c.file_installed = false;
            free_conn(c);
            break;
        default: FE_BUG(true, "unknown io_uring operation kind");
    }
}

Time Io::poll(Time deadline) {
    Time now = clock_now();
    if (deadline > now) {
        const int64_t wait_ns = to_ns(deadline - now);
        __kernel_timespec ts{};
        ts.tv_sec = wait_ns / 1'000'000'000;
        ts.tv_nsec = wait_ns % 1'000'000'000;
        io_uring_cqe* cqe = nullptr;
        (void)io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
        (void)io_uring_submit(&ring_);
    }
    now = clock_now();
    io_uring_cqe* batch[kCqeBatchMax];
    for (uint32_t round = 0; round < kCqeBatchesPerPoll; ++round) {
        const unsigned count = io_uring_peek_batch_cqe(&ring_, batch, kCqeBatchMax);
        if (count == 0) {
            break;
        }
        io_uring_cqe copies[kCqeBatchMax];
        for (unsigned i = 0; i < count; ++i) {
            copies[i] = *batch[i];
        }
        io_uring_cq_advance(&ring_, count);
        for (unsigned i = 0; i < count; ++i) {
            dispatch(copies[i], now);
        }
        for (uint32_t socket_index : udp_rearm_) {
            if (!udp_[socket_index].armed) {
                arm_udp_recv(socket_index);
            }
        }
        udp_rearm_.clear();
        buffers_.publish();
    }
    return now;
}

}  // namespace fe::loadgen
