// File: net/internal/socket.h
//
// Conversions between fe::Endpoint and sockaddr, creation of the listening
// sockets (one per worker per listen spec, with SO_REUSEPORT so the kernel
// spreads datagrams and connections over the workers), and TCP_NODELAY for
// outbound sockets that exist only as io_uring direct descriptors.
//
//   sockaddr_storage storage;
//   socklen_t size = fe::net::internal::to_sockaddr(endpoint, storage);
//   auto fd = fe::net::internal::open_listen_socket(Transport::kUdp, endpoint);
//   if (fe::net::internal::probe_tcp_nodelay(ring)) {   // once, on an idle ring
//       prep_tcp_nodelay(sqe, direct_index);            // between socket and connect
//       sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
//   }
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/status/statusor.h"
#include "core/base/endpoint.h"

namespace fe::net::internal {

// Returns the sockaddr size used; 0 when the endpoint is empty.
socklen_t to_sockaddr(const Endpoint& endpoint, sockaddr_storage& storage);
// An empty Endpoint when the family is neither AF_INET nor AF_INET6 or the size
// is short.
Endpoint from_sockaddr(const sockaddr* address, socklen_t size);

struct ListenSocket {
    int fd = -1;
    Endpoint local;  // as bound (port 0 resolved)
};

// A bound (and for TCP, listening) non-blocking socket with SO_REUSEPORT. The
// error explains the fix when the address is taken or not local.
absl::StatusOr<ListenSocket> open_listen_socket(Transport transport, const Endpoint& endpoint);

// ---- Outbound connect ------------------------------------------------------
//
// A socket made by IORING_OP_SOCKET into a direct descriptor has no fd for
// setsockopt(), so it would keep Nagle on: a second small write (a 200 right
// after its 180) waits for the peer's delayed ACK, 40 ms. Accepted sockets
// inherit TCP_NODELAY from the listener; outbound ones get it from an
// IORING_OP_URING_CMD SOCKET_URING_OP_SETSOCKOPT (kernel 6.7+) linked between
// the socket and the connect.

// Fills `sqe` with setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1). `fd` is a
// direct descriptor index when the caller sets IOSQE_FIXED_FILE. Completes
// with 0, or -EOPNOTSUPP on a kernel older than 6.7.
void prep_tcp_nodelay(io_uring_sqe* sqe, int fd);

// Whether the kernel runs prep_tcp_nodelay(): submits one on a throwaway
// socket and waits for it. Call on the ring's own thread while nothing else is
// queued on it (at init), since it consumes the first completion.
bool probe_tcp_nodelay(io_uring& ring);

}  // namespace fe::net::internal
