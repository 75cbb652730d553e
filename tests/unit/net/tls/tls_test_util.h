// File: tests/unit/net/tls/tls_test_util.h
//
// Helpers for the net/tls tests: paths of the checked-in test PKI
// (tests/data/tls, made by make-test-certs.sh), context builders, and a
// "wire" that moves ciphertext between two TlsSessions in memory until both
// are quiet.
//
//   auto server = make_server({kExampleComEc});
//   auto client = make_client({kExampleComEc});
//   SessionPair pair = connect_pair(*client, *server, {.peer_host = "example.com"});
//   pair.pump();
//   EXPECT_EQ(pair.server->state(), TlsState::kOpen);
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"

namespace fe::net::tls::testing {

inline std::string data_path(std::string_view name) {
    return std::string(FE_TLS_TEST_DATA_DIR) + "/" + std::string(name);
}

// A certificate of the test PKI by its file stem.
struct Cert {
    const char* stem;
};
inline constexpr Cert kExampleComEc{"example-com-ec"};    // sip:example.com, sip:p1.example.com
inline constexpr Cert kExampleNetRsa{"example-net-rsa"};  // sip:example.net, sip:p2.example.net
inline constexpr Cert kAlicePhone{"alice-phone"};         // sip:alice@example.com only
inline constexpr Cert kUntrusted{"untrusted"};            // other CA
inline constexpr Cert kWildcard{"wildcard"};              // DNS:*.example.org
inline constexpr Cert kCnOnly{"cn-only"};                 // CN=legacy.example.com
inline constexpr Cert kServerOnly{"server-only"};         // EKU serverAuth only
inline constexpr Cert kExpired{"expired"};                // 2000-2001
inline constexpr Cert kChainLeaf{"chain-leaf"};           // under the intermediate CA

inline TlsIdentityConfig identity_of(Cert cert) {
    TlsIdentityConfig id;
    id.certificate_chain_file =
        data_path(std::string(cert.stem) == "chain-leaf" ? "chain-leaf-chain.pem"
                                                         : std::string(cert.stem) + ".pem");
    id.private_key_file = data_path(std::string(cert.stem) + ".key");
    return id;
}

inline TlsContextConfig server_config(
    std::vector<Cert> certs, ClientCertificatePolicy policy = ClientCertificatePolicy::kOptional) {
    TlsContextConfig config;
    config.role = TlsRole::kServer;
    for (Cert c : certs) {
        config.identities.push_back(identity_of(c));
    }
    config.ca_file = data_path("ca.pem");
    config.client_certificate = policy;
    return config;
}

inline TlsContextConfig client_config(std::vector<Cert> certs = {}) {
    TlsContextConfig config;
    config.role = TlsRole::kClient;
    for (Cert c : certs) {
        config.identities.push_back(identity_of(c));
    }
    config.ca_file = data_path("ca.pem");
    return config;
}

inline std::unique_ptr<TlsContext> make_context(const TlsContextConfig& config) {
    absl::StatusOr<std::unique_ptr<TlsContext>> context = TlsContext::create(config);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? std::move(*context) : nullptr;
}

inline std::vector<TicketKey> test_ticket_keys(uint8_t seed, size_t count = 1) {
    std::string bytes(TicketKey::kSize * count, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>(seed + i * 7 + (i / TicketKey::kSize) * 31);
    }
    return *TicketKey::parse(bytes);
}

// What one side received.
struct Received {
    std::string plaintext;
    bool handshake_completed = false;
};

// Feeds all of `ciphertext` to `session`, in pieces of at most `chunk` bytes,
// into a one-record plaintext span (so a full span is exercised).
inline void feed_all(TlsSession& session, std::string_view ciphertext, Received& received,
                     size_t chunk = SIZE_MAX) {
    std::array<char, kTlsRecordPlaintextSizeMax> plain{};
    while (!ciphertext.empty()) {
        std::string_view piece = ciphertext.substr(0, std::min(chunk, ciphertext.size()));
        size_t taken_total = 0;
        while (taken_total < piece.size()) {
            FeedResult r = session.feed(piece.substr(taken_total), plain);
            received.plaintext.append(plain.data(), r.plaintext_size);
            received.handshake_completed = received.handshake_completed || r.handshake_completed;
            taken_total += r.consumed;
            if (r.consumed == 0 && r.plaintext_size == 0) {
                ADD_FAILURE() << "feed() made no progress";
                return;
            }
        }
        ciphertext.remove_prefix(piece.size());
    }
}

struct SessionPair {
    std::unique_ptr<TlsSession> client;
    std::unique_ptr<TlsSession> server;
    Received at_client;
    Received at_server;
    size_t bytes_to_server = 0;
    size_t bytes_to_client = 0;

    // Moves output both ways until neither side has any.
    void pump(size_t chunk = SIZE_MAX) {
        for (int round = 0; round < 100; ++round) {
            std::string to_server(client->take_output());
            std::string to_client(server->take_output());
            if (to_server.empty() && to_client.empty()) {
                return;
            }
            bytes_to_server += to_server.size();
            bytes_to_client += to_client.size();
            feed_all(*server, to_server, at_server, chunk);
            feed_all(*client, to_client, at_client, chunk);
        }
        ADD_FAILURE() << "the sessions never went quiet";
    }
};

inline SessionPair connect_pair(const TlsContext& client_context, const TlsContext& server_context,
                                const ClientOptions& options) {
    SessionPair pair;
    absl::StatusOr<std::unique_ptr<TlsSession>> client =
        TlsSession::connect(client_context, options);
    EXPECT_TRUE(client.ok()) << client.status();
    pair.client = std::move(*client);
    pair.server = TlsSession::accept(server_context);
    return pair;
}

inline SessionPair handshake(const TlsContext& client_context, const TlsContext& server_context,
                             const ClientOptions& options) {
    SessionPair pair = connect_pair(client_context, server_context, options);
    pair.pump();
    return pair;
}

}  // namespace fe::net::tls::testing
