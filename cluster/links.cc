#include "cluster/links.h"

#include "core/syntax/host.h"
#include "core/syntax/uri.h"

namespace fe::cluster {

DestinationError destination_of(std::string_view uri_text, Destination& out) {
    syntax::Uri uri;
    if (syntax::parse_uri(uri_text, uri) != syntax::Error::kOk) {
        return DestinationError::kMalformed;
    }
    if (uri.is_tel()) {
        return DestinationError::kUnsupported;
    }
    std::string_view host = uri.host;
    if (const std::string_view maddr = uri.maddr_param(); !maddr.empty()) {
        host = maddr;  // RFC 3261 §16.6 step 6 / RFC 3263: maddr names where to send
    }
    std::optional<Endpoint> endpoint = Endpoint::parse(syntax::host_address(host));
    if (!endpoint) {
        return DestinationError::kUnresolvable;
    }
    Transport transport = uri.is_sips() ? Transport::kTls : Transport::kUdp;
    if (!uri.transport_param().empty()) {
        const std::optional<Transport> t = uri.transport();
        if (!t || (*t != Transport::kUdp && *t != Transport::kTcp && *t != Transport::kTls)) {
            return DestinationError::kUnsupported;
        }
        // sips: is TLS whatever the parameter says (RFC 3261 §26.2.2: a
        // sips URI with transport=tcp still means TLS over TCP).
        if (!uri.is_sips()) {
            transport = *t;
        } else if (*t == Transport::kUdp) {
            return DestinationError::kUnsupported;
        }
    }
    endpoint->port = uri.has_port() ? uri.port : (transport == Transport::kTls ? 5061 : 5060);
    out = Destination{*endpoint, transport, syntax::host_address(uri.host)};
    return DestinationError::kOk;
}

std::optional<net::ConnectionId> OutboundLinks::connection_to(
    net::Runtime& runtime, const Destination& to, const net::tls::TlsContext* tls_client) {
    const Key key{to.endpoint, to.transport};
    if (auto it = by_endpoint_.find(key); it != by_endpoint_.end()) {
        return it->second;
    }
    if (by_endpoint_.size() >= kOutboundLinkCountMax) {
        return std::nullopt;
    }
    net::ConnectionId id;
    if (to.transport == Transport::kTls) {
        if (tls_client == nullptr ||
            runtime.connect_tls(to.endpoint, *tls_client, to.host, &id) !=
                net::ConnectResult::kStarted) {
            return std::nullopt;
        }
    } else if (runtime.connect(to.endpoint, &id) != net::ConnectResult::kStarted) {
        return std::nullopt;
    }
    by_endpoint_[key] = id;
    by_slot_[id.index] = Link{key, false};
    return id;
}

void OutboundLinks::on_opened(net::ConnectionId connection) {
    const auto it = by_slot_.find(connection.index);
    const auto link = it == by_slot_.end() ? by_endpoint_.end()
                                           : by_endpoint_.find(it->second.key);
    if (link != by_endpoint_.end() && link->second == connection) {
        it->second.opened = true;
    }
}

std::optional<Endpoint> OutboundLinks::on_closed(net::ConnectionId connection) {
    const auto it = by_slot_.find(connection.index);
    if (it == by_slot_.end()) {
        return std::nullopt;
    }
    const Link closed = it->second;
    const auto link = by_endpoint_.find(closed.key);
    const bool ours = link != by_endpoint_.end() && link->second == connection;
    if (ours) {
        by_endpoint_.erase(link);
    }
    by_slot_.erase(it);
    if (!ours || closed.opened) {
        return std::nullopt;
    }
    return closed.key.first;
}

}  // namespace fe::cluster
