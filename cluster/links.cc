#include "cluster/links.h"

#include "core/syntax/host.h"
#include "core/syntax/uri.h"

namespace fe::cluster {

DestinationError destination_of(std::string_view uri_text, Destination& out) {
    syntax::Uri uri;
    if (syntax::parse_uri(uri_text, uri) != syntax::Error::kOk) {
        return DestinationError::kMalformed;
    }
    if (uri.is_tel() || uri.is_sips()) {
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
    Transport transport = Transport::kUdp;
    if (!uri.transport_param().empty()) {
        const std::optional<Transport> t = uri.transport();
        if (!t || (*t != Transport::kUdp && *t != Transport::kTcp)) {
            return DestinationError::kUnsupported;
        }
        transport = *t;
    }
    endpoint->port = uri.has_port() ? uri.port : 5060;
    out = Destination{*endpoint, transport};
    return DestinationError::kOk;
}

std::optional<net::ConnectionId> OutboundLinks::connection_to(net::Runtime& runtime,
                                                              const Endpoint& to) {
    if (auto it = by_endpoint_.find(to); it != by_endpoint_.end()) {
        return it->second;
    }
    if (by_endpoint_.size() >= kOutboundLinkCountMax) {
        return std::nullopt;
    }
    net::ConnectionId id;
    if (runtime.connect(to, &id) != net::ConnectResult::kStarted) {
        return std::nullopt;
    }
    by_endpoint_[to] = id;
    by_slot_[id.index] = Link{to, false};
    return id;
}

void OutboundLinks::on_opened(net::ConnectionId connection) {
    const auto it = by_slot_.find(connection.index);
    const auto link = it == by_slot_.end() ? by_endpoint_.end()
                                           : by_endpoint_.find(it->second.endpoint);
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
    const auto link = by_endpoint_.find(closed.endpoint);
    const bool ours = link != by_endpoint_.end() && link->second == connection;
    if (ours) {
        by_endpoint_.erase(link);
    }
    by_slot_.erase(it);
    if (!ours || closed.opened) {
        return std::nullopt;
    }
    return closed.endpoint;
}

}  // namespace fe::cluster
