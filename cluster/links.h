// File: cluster/links.h
//
// Where a request this node forwards on its own (not down a client flow)
// goes on the wire: a SIP URI turned into a destination (IP literal, port,
// transport), and the worker's outbound TCP connections to such
// destinations, opened on first use and reused while they stay open (the
// next hop, an edge in front of us, a UA's Contact over TCP). The node does
// no DNS: a host name is refused here (kUnresolvable).
//
//   fe::cluster::OutboundLinks links(config);
//   auto to = fe::cluster::destination_of("sip:10.0.0.5:5060;transport=tcp");
//   if (to) { auto c = links.connection_to(runtime, to->endpoint); ... }
//   links.on_closed(connection);            // from on_connection_closed()
//
// All calls on the worker's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/base/endpoint.h"
#include "net/runtime.h"

namespace fe::cluster {

// Outbound connections one worker keeps open at once: the next hop, a few
// peer proxies, and UAs without outbound reached at their Contact over TCP.
// Each costs a direct descriptor and ~300 B; past this a forward that needs a
// new connection is refused (503), not queued.
inline constexpr uint32_t kOutboundLinkCountMax = 1024;

struct Destination {
    Endpoint endpoint;
    Transport transport = Transport::kUdp;
    // kTls: the host the URI names (without brackets; an IP literal here),
    // which the server's certificate must match (RFC 5922 §7.3). A view into
    // the URI text given to destination_of(), or into the node's context.
    std::string_view host;
};

enum class DestinationError : uint8_t {
    kOk,
    kMalformed,       // not a SIP URI
    kUnresolvable,    // a host name: the node does no DNS
    kUnsupported,     // tel:, or a transport we do not speak (ws, sctp)
};

// The destination a sip or sips URI names (RFC 3263 reduced to IP literals:
// maddr wins over the host; the port defaults to 5060, 5061 for TLS;
// transport from the `transport` parameter, UDP by default, TLS for sips).
DestinationError destination_of(std::string_view uri, Destination& out);

class OutboundLinks {
  public:
    OutboundLinks() = default;
    OutboundLinks(const OutboundLinks&) = delete;
    OutboundLinks& operator=(const OutboundLinks&) = delete;

    // The open (or opening) connection to `to` (TCP or TLS), or a new one;
    // nullopt when none can be made (limit reached, connect refused at once,
    // TLS without a client context).
    std::optional<net::ConnectionId> connection_to(net::Runtime& runtime, const Destination& to,
                                                   const net::tls::TlsContext* tls_client);
    // One of ours opened (its connect completed).
    void on_opened(net::ConnectionId connection);
    // Forgets `connection` if it is one of ours (it closed). Returns the
    // destination when it never opened: the connect failed, and whatever was
    // queued on it is lost (the home proxy treats that as a transport error,
    // RFC 3261 §16.9).
    std::optional<Endpoint> on_closed(net::ConnectionId connection);

    size_t count() const { return by_endpoint_.size(); }

  private:
    // A TCP and a TLS link to one address are different links.
    using Key = std::pair<Endpoint, Transport>;
    absl::flat_hash_map<Key, net::ConnectionId> by_endpoint_;
    // connection slot -> the link's endpoint and whether it opened, to
    // forget a link when it closes.
    struct Link {
        Key key;
        bool opened = false;
    };
    absl::flat_hash_map<uint32_t, Link> by_slot_;
};

}  // namespace fe::cluster
