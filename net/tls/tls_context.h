// File: net/tls/tls_context.h
//
// The configuration of one TLS listener (server role) or of outbound TLS
// connections (client role), built once at start-up from PEM files and shared
// by every worker's sessions (net/tls/tls_session.h): the certificates this
// node presents (several for virtual servers, chosen by SNI), the CAs it
// trusts for peer certificates, the client-certificate policy of a listener,
// TLS versions and ciphers, and the session ticket keys the nodes of a cluster
// share so that a session from one node resumes on another.
//
//   fe::net::tls::TlsContextConfig config;
//   config.role = fe::net::tls::TlsRole::kServer;
//   config.identities.push_back({.certificate_chain_file = "/etc/flowedge/example-com.pem",
//                                .private_key_file = "/etc/flowedge/example-com.key"});
//   config.ca_file = "/etc/flowedge/peers-ca.pem";
//   config.client_certificate = fe::net::tls::ClientCertificatePolicy::kOptional;  // CR-36
//   FE_ASSIGN_OR_RETURN(config.ticket_keys, fe::net::tls::TicketKey::parse(key_file_bytes));
//   absl::StatusOr<std::unique_ptr<fe::net::tls::TlsContext>> context =
//       fe::net::tls::TlsContext::create(config);
//   if (!context.ok()) {
//       // e.g. "TLS private key /etc/flowedge/example-com.key does not match the
//       // certificate in /etc/flowedge/example-com.pem (CN=p1.example.com): ..."
//   }
//
// Control plane: create() returns absl::Status errors whose messages name the
// file and say how to fix it (missing file, no certificate in it, a key that
// does not match, an expired or not yet valid certificate, a bad ticket key
// file, a name claimed by two certificates).
//
// Threads: a context is immutable once created; any worker may create
// sessions from it at once. Sessions keep a reference to their context, so
// it must outlive them (the node keeps a context until its listener and every
// connection made from it are gone; a new configuration is a new context).
#pragma once

#include <openssl/base.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tls/peer_identity.h"
#include "net/tls/limits.h"

namespace fe::net::tls {

enum class TlsRole : uint8_t {
    kClient,  // outbound connections: verifies the server against the dialled host
    kServer,  // a listener
};

// What a listener asks of clients (issue 10: per listener).
enum class ClientCertificatePolicy : uint8_t {
    // No CertificateRequest: listeners that serve only phones.
    kNone,
    // Always send a CertificateRequest (RFC 5923 §9.2, CR-36) and accept a
    // client without a certificate, or with one that fails validation: such a
    // client is simply not authenticated (CR-37, CR-40) and gets no alias.
    kOptional,
    // A client without a valid certificate fails the handshake.
    kRequired,
};
std::string_view client_certificate_policy_name(ClientCertificatePolicy policy);

enum class TlsVersion : uint8_t {
    kTls12,
    kTls13,
};
std::string_view tls_version_name(TlsVersion version);

// One session ticket key, in the 80-byte layout nginx and Envoy read from a
// key file (`openssl rand 80 > ticket.key`), so operators can use one file
// for all of them:
//
//   0        16                    48                    80
//   +--------+---------------------+---------------------+
//   | name   | HMAC-SHA-256 key    | AES-256-CBC key     |
//   +--------+---------------------+---------------------+
//
// The name (public, sent in every ticket) selects the key when a ticket comes
// back; the first key of a context seals new tickets, every key opens them.
struct TicketKey {
    static constexpr size_t kNameSize = 16;
    static constexpr size_t kHmacKeySize = 32;
    static constexpr size_t kAesKeySize = 32;
    static constexpr size_t kSize = kNameSize + kHmacKeySize + kAesKeySize;

    std::array<uint8_t, kNameSize> name{};
    std::array<uint8_t, kHmacKeySize> hmac_key{};
    std::array<uint8_t, kAesKeySize> aes_key{};

    // 1 to kTlsTicketKeyCountMax keys of kSize bytes each, the current key
    // first. Errors say how to make a valid file.
    static absl::StatusOr<std::vector<TicketKey>> parse(std::string_view bytes);
};

// One certificate this node presents, with its private key.
struct TlsIdentityConfig {
    std::string certificate_chain_file = {};  // PEM: the leaf first, then intermediates
    std::string private_key_file = {};        // PEM, unencrypted (PKCS#8, RSA or EC)
    // Server role: the SNI names that select this identity (RFC 5922 §7.8).
    // Empty: the certificate's own SIP identities and dNSNames.
    std::vector<std::string> server_names = {};
};

struct TlsContextConfig {
    TlsRole role = TlsRole::kServer;
    // Server: at least one; the first answers clients that send no SNI or an
    // unknown name. Client: the certificates a session may present (to peers
    // that authenticate us, RFC 5923 §9.2), chosen per session; may be empty.
    std::vector<TlsIdentityConfig> identities;
    // PEM trust anchors for peer certificates. Required for the client role
    // and for a server whose policy is not kNone.
    std::string ca_file;
    ClientCertificatePolicy client_certificate = ClientCertificatePolicy::kOptional;
    TlsVersion version_min = TlsVersion::kTls12;
    TlsVersion version_max = TlsVersion::kTls13;
    // TLS 1.2 cipher suites (BoringSSL names, ':'-separated). The default
    // keeps forward secrecy and AEADs only; TLS 1.3 suites are not
    // configurable in BoringSSL (all three are AEADs).
    std::string tls12_ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    // Server: ticket keys shared by the nodes. Empty: BoringSSL makes a random
    // key per context (tickets then resume only on this context).
    std::vector<TicketKey> ticket_keys;
    // How peer certificates give SIP identities (core/tls/peer_identity.h).
    fe::tls::IdentityPolicy identity_policy;

    // Limits of every session made from this context (net/tls/limits.h).
    uint32_t handshake_receive_size_max = kTlsHandshakeReceiveSizeMax;
    uint32_t pending_plaintext_size_max = kTlsPendingPlaintextSizeMax;
    uint32_t output_size_max = kTlsOutputSizeMax;

    // Tests: the time (seconds since the epoch) at which certificates are
    // checked, at load and in every handshake, instead of the clock.
    std::optional<int64_t> now_unix_s_for_test;
};

// What a context knows about one of its own certificates.
struct TlsIdentityInfo {
    std::string label;                      // its first server name (or CN): for logs and reports
    std::vector<std::string> server_names;  // lower case
    fe::tls::SipIdentities sip_identities;  // RFC 5922 §7.1, of its leaf
};

class TlsSession;

class TlsContext {
  public:
    static absl::StatusOr<std::unique_ptr<TlsContext>> create(const TlsContextConfig& config);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    TlsRole role() const { return role_; }
    ClientCertificatePolicy client_certificate() const { return client_certificate_; }
    size_t identity_count() const { return identities_.size(); }
    const TlsIdentityInfo& identity(size_t index) const;
    // Server: the identity whose server names hold `server_name` (ASCII
    // case-insensitive, whole name, RFC 5922 §7.2 rules); nullopt when none.
    std::optional<size_t> find_identity(std::string_view server_name) const;

  private:
    friend class TlsSession;
    struct Identity;

    TlsContext();
    absl::Status init(const TlsContextConfig& config);
    absl::Status load_identity(const TlsIdentityConfig& config);
    absl::Status check_server_names() const;
    absl::Status init_ssl_ctx(const TlsContextConfig& config);

    TlsRole role_ = TlsRole::kServer;
    ClientCertificatePolicy client_certificate_ = ClientCertificatePolicy::kOptional;
    fe::tls::IdentityPolicy identity_policy_;
    uint32_t handshake_receive_size_max_ = kTlsHandshakeReceiveSizeMax;
    uint32_t pending_plaintext_size_max_ = kTlsPendingPlaintextSizeMax;
    uint32_t output_size_max_ = kTlsOutputSizeMax;
    std::optional<int64_t> now_unix_s_for_test_;

    std::vector<std::unique_ptr<Identity>> identities_;
    std::vector<TicketKey> ticket_keys_;
    // Trust anchors for peer certificates; null with policy kNone (server).
    bssl::UniquePtr<X509_STORE> trust_;
    bssl::UniquePtr<SSL_CTX> ssl_ctx_;
};

}  // namespace fe::net::tls
