// File: net/internal/socket.h
//
// Conversions between fe::Endpoint and sockaddr, and creation of the listening
// sockets (one per worker per listen spec, with SO_REUSEPORT so the kernel
// spreads datagrams and connections over the workers).
//
//   sockaddr_storage storage;
//   socklen_t size = fe::net::internal::to_sockaddr(endpoint, storage);
//   auto fd = fe::net::internal::open_listen_socket(Transport::kUdp, endpoint);
#pragma once

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

}  // namespace fe::net::internal
