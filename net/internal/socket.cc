#include "net/internal/socket.h"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/strings.h"
#include "net/limits.h"

namespace fe::net::internal {

socklen_t to_sockaddr(const Endpoint& endpoint, sockaddr_storage& storage) {
    std::memset(&storage, 0, sizeof(storage));
    if (endpoint.is_v4()) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(endpoint.port);
        std::memcpy(&v4->sin_addr, endpoint.addr.data(), 4);
        return sizeof(sockaddr_in);
    }
    if (endpoint.is_v6()) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(endpoint.port);
        std::memcpy(&v6->sin6_addr, endpoint.addr.data(), 16);
        return sizeof(sockaddr_in6);
    }
    return 0;
}

Endpoint from_sockaddr(const sockaddr* address, socklen_t size) {
    Endpoint endpoint;
    if (address->sa_family == AF_INET && size >= sizeof(sockaddr_in)) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        endpoint.family = Endpoint::Family::kV4;
        endpoint.port = ntohs(v4->sin_port);
        std::memcpy(endpoint.addr.data(), &v4->sin_addr, 4);
    } else if (address->sa_family == AF_INET6 && size >= sizeof(sockaddr_in6)) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        endpoint.family = Endpoint::Family::kV6;
        endpoint.port = ntohs(v6->sin6_port);
        std::memcpy(endpoint.addr.data(), &v6->sin6_addr, 16);
    }
    return endpoint;
}

namespace {

std::string describe(Transport transport, const Endpoint& endpoint) {
    return absl::StrCat(to_absl(transport_param_name(transport)), ":",
                        endpoint.to_string());
}

absl::Status bind_error(Transport transport, const Endpoint& endpoint, int error) {
    const std::string where = describe(transport, endpoint);
    if (error == EADDRINUSE) {
        return absl::AlreadyExistsError(absl::StrCat(
            "cannot listen on ", where,
            ": address already in use (another process holds it); stop it or choose "
            "another port"));
    }
    if (error == EADDRNOTAVAIL) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot listen on ", where, ": the address is not configured on this host"));
    }
    if (error == EACCES) {
        return absl::PermissionDeniedError(absl::StrCat(
            "cannot listen on ", where,
            ": ports below 1024 need CAP_NET_BIND_SERVICE (or lower "
            "net.ipv4.ip_unprivileged_port_start)"));
    }
    return absl::InternalError(
        absl::StrCat("cannot listen on ", where, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<ListenSocket> open_listen_socket(Transport transport, const Endpoint& endpoint) {
    if (transport != Transport::kUdp && transport != Transport::kTcp &&
        transport != Transport::kTls && transport != Transport::kWs &&
        transport != Transport::kWss) {
        return absl::UnimplementedError(absl::StrCat(
            "net/ listens on udp, tcp, tls, ws and wss only, not ", to_absl(transport_param_name(transport))));
    }
    sockaddr_storage storage;
    const socklen_t size = to_sockaddr(endpoint, storage);
    if (size == 0) {
        return absl::InvalidArgumentError("listen address has no IP family");
    }
    const int type = transport == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
    const int fd = socket(storage.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return absl::InternalError(absl::StrCat("socket(): ", std::strerror(errno)));
    }
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (endpoint.is_v6()) {
        // An IPv6 listener serves IPv6 only; IPv4 gets its own listener, so a
        // peer's address is never a v4-mapped v6 address.
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (transport == Transport::kUdp) {
        const int buffer_size = kUdpSocketReceiveBufferSize;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_size, sizeof(buffer_size)) != 0) {
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof(buffer_size));
        }
    }
    if (transport != Transport::kUdp) {
        // SO_REUSEADDR lets a restart bind while old connections sit in
        // TIME_WAIT (not set on UDP, where it would share datagrams with any
        // other socket that sets it). Accepted sockets inherit TCP_NODELAY: SIP
        // messages go out whole, without Nagle's delay.
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), size) != 0) {
        const int error = errno;
        close(fd);
        return bind_error(transport, endpoint, error);
    }
    if (transport != Transport::kUdp && listen(fd, kListenBacklog) != 0) {
        const int error = errno;
        close(fd);
        return bind_error(transport, endpoint, error);
    }
    socklen_t bound_size = sizeof(storage);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &bound_size) != 0) {
        const int error = errno;
        close(fd);
        return absl::InternalError(absl::StrCat("getsockname(): ", std::strerror(error)));
    }
    return ListenSocket{fd, from_sockaddr(reinterpret_cast<sockaddr*>(&storage), bound_size)};
}

// ---- Outbound connect ------------------------------------------------------

namespace {

// From <linux/io_uring.h> of kernel 6.7+. liburing 2.3's copy has neither the
// command number nor the sqe fields, which overlay unions it does have:
//   level u32 @16 and optname u32 @20 (addr), optlen u32 @44 (file_index),
//   optval u64 @48 (addr3).
constexpr uint32_t kSocketUringOpSetsockopt = 3;  // SOCKET_URING_OP_SETSOCKOPT
constexpr size_t kSqeLevelOffset = 16;
constexpr size_t kSqeOptnameOffset = 20;
constexpr size_t kSqeOptlenOffset = 44;
static_assert(sizeof(io_uring_sqe) == 64);
static_assert(offsetof(io_uring_sqe, cmd_op) == 8);
static_assert(offsetof(io_uring_sqe, addr) == kSqeLevelOffset);
static_assert(offsetof(io_uring_sqe, file_index) == kSqeOptlenOffset);
static_assert(offsetof(io_uring_sqe, addr3) == 48);  // optval

// The kernel reads optval when the command runs, which for a linked one is
// after the socket completed: it must outlive every SQE.
constexpr int kTcpNodelayOn = 1;

void put_sqe_u32(io_uring_sqe* sqe, size_t offset, uint32_t value) {
    std::memcpy(reinterpret_cast<char*>(sqe) + offset, &value, sizeof(value));
}

}  // namespace

void prep_tcp_nodelay(io_uring_sqe* sqe, int fd) {
    io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, nullptr, 0, 0);  // zeroes the rest
    sqe->cmd_op = kSocketUringOpSetsockopt;
    put_sqe_u32(sqe, kSqeLevelOffset, IPPROTO_TCP);
    put_sqe_u32(sqe, kSqeOptnameOffset, TCP_NODELAY);
    put_sqe_u32(sqe, kSqeOptlenOffset, sizeof(kTcpNodelayOn));
    sqe->addr3 = reinterpret_cast<uintptr_t>(&kTcpNodelayOn);
}

bool probe_tcp_nodelay(io_uring& ring) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int32_t result = -EAGAIN;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe != nullptr) {
        prep_tcp_nodelay(sqe, fd);
        io_uring_sqe_set_data64(sqe, 0);
        if (io_uring_submit(&ring) == 1) {
            io_uring_cqe* cqe = nullptr;
            int rc = 0;
            do {
                rc = io_uring_wait_cqe(&ring, &cqe);
            } while (rc == -EINTR);
            if (rc == 0) {
                result = cqe->res;
                io_uring_cqe_seen(&ring, cqe);
            }
        }
    }
    // Read it back: a wrong sqe layout would set some other option.
    int value = 0;
    socklen_t size = sizeof(value);
    const bool set =
        result == 0 && getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &size) == 0 && value == 1;
    close(fd);
    return set;
}

}  // namespace fe::net::internal
