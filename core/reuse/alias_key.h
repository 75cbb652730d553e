// File: core/reuse/alias_key.h
//
// The key of an RFC 5923 alias row (core/reuse/alias_table.h) and the handle of
// the connection it names.
//
//   fe::reuse::AliasKey key{"p1.example.com", 5061, fe::Transport::kTls, 0};
//   fe::reuse::AliasKeyView view = key.view();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"
#include "core/base/endpoint.h"
#include "core/base/strings.h"

namespace fe::reuse {

// A connection of one worker: net::ConnectionId restated (core/ cannot include
// net/). The generation makes an id kept past its connection's close stale.
struct ConnectionRef {
    uint32_t index = 0;
    uint32_t generation = 0;
    friend bool operator==(ConnectionRef, ConnectionRef) = default;
    template <typename H>
    friend H AbslHashValue(H h, ConnectionRef c) {
        return H::combine(std::move(h), c.index, c.generation);
    }
};

struct AliasKeyView {
    // Canonical form (tls::canonical_host()): a host name in ASCII lower case
    // without a trailing dot, or an IP address in canonical text.
    std::string_view host;
    uint16_t port = 0;
    Transport transport = Transport::kTls;
    // Which of our virtual server identities the connection belongs to
    // (RFC 5923 §9.3): rows of different identities never mix.
    uint32_t local_identity_index = 0;

    friend bool operator==(const AliasKeyView&, const AliasKeyView&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const AliasKeyView& k) {
        return H::combine(std::move(h), to_absl(k.host), k.port, k.transport,
                          k.local_identity_index);
    }
};

struct AliasKey {
    std::string host;  // canonical, as AliasKeyView::host
    uint16_t port = 0;
    Transport transport = Transport::kTls;
    uint32_t local_identity_index = 0;

    AliasKeyView view() const { return AliasKeyView{host, port, transport, local_identity_index}; }
    friend bool operator==(const AliasKey&, const AliasKey&) = default;
};

}  // namespace fe::reuse
