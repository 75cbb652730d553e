#include "net/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/base/strings.h"
#include "net/tls/certificate_names.h"
#include "net/tls/internal/boringssl.h"
#include "net/tls/internal/identity.h"
#include "net/tls/internal/pem.h"
#include "net/tls/tls_session.h"

namespace fe::net::tls {

namespace {

uint16_t wire_version(TlsVersion version) {
    return version == TlsVersion::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = ascii_lower(c);
    }
    return out;
}

absl::Status check_validity(const std::string& path, size_t index, const X509& certificate,
                            int64_t now_unix_s) {
    time_t now = static_cast<time_t>(now_unix_s);
    const std::string which =
        index == 0 ? absl::StrCat("TLS certificate ", path)
                   : absl::StrCat("TLS certificate #", index + 1, " of the chain in ", path);
    const std::string subject = internal::subject_text(certificate);
    const int after = X509_cmp_time(X509_get0_notAfter(&certificate), &now);
    const int before = X509_cmp_time(X509_get0_notBefore(&certificate), &now);
    if (after == 0 || before == 0) {
        ERR_clear_error();
        return absl::InvalidArgumentError(
            absl::StrCat(which, " (", subject, ") has a validity period that does not parse"));
    }
    if (after < 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(which, " (", subject, ") expired on ",
                         internal::time_text(X509_get0_notAfter(&certificate)),
                         ": renew it (and restart or reload flowedge)"));
    }
    if (before > 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            which, " (", subject, ") is not valid before ",
            internal::time_text(X509_get0_notBefore(&certificate)),
            ": check this machine's clock, or use a certificate that is already valid"));
    }
    return absl::OkStatus();
}

bssl::UniquePtr<CRYPTO_BUFFER> to_buffer(const X509& certificate) {
    uint8_t* der = nullptr;
    const int size = i2d_X509(const_cast<X509*>(&certificate), &der);
    FE_ASSERT(size > 0);
    bssl::UniquePtr<CRYPTO_BUFFER> buffer(
        CRYPTO_BUFFER_new(der, static_cast<size_t>(size), internal::certificate_pool()));
    OPENSSL_free(der);
    FE_ASSERT(buffer != nullptr);
    return buffer;
}

// The names SNI selects this certificate by: the configured ones, or the
// certificate's DNS-type SIP identities, its dNSNames, and last its CN.
std::vector<std::string> default_server_names(const fe::tls::CertificateNames& names,
                                              const fe::tls::SipIdentities& identities) {
    std::vector<std::string> out;
    auto add = [&out](std::string_view host) {
        std::optional<fe::tls::SipIdentity> canonical = fe::tls::canonical_host(host);
        if (canonical && canonical->kind == fe::tls::IdentityKind::kDnsName &&
            std::find(out.begin(), out.end(), canonical->name) == out.end()) {
            out.push_back(canonical->name);
        }
    };
    for (const fe::tls::SipIdentity& id : identities.identities) {
        add(id.name);
    }
    for (const std::string& dns : names.dns_names) {
        add(dns);
    }
    if (out.empty()) {
        for (const std::string& cn : names.common_names) {
            add(cn);
        }
    }
    return out;
}

}  // namespace

std::string_view client_certificate_policy_name(ClientCertificatePolicy policy) {
    switch (policy) {
        case ClientCertificatePolicy::kNone:
            return "none";
        case ClientCertificatePolicy::kOptional:
            return "optional";
        case ClientCertificatePolicy::kRequired:
            return "required";
    }
    return "unknown";
}

std::string_view tls_version_name(TlsVersion version) {
    return version == TlsVersion::kTls12 ? "TLSv1.2" : "TLSv1.3";
}

absl::StatusOr<std::vector<TicketKey>> TicketKey::parse(std::string_view bytes) {
    if (bytes.empty() || bytes.size() % kSize != 0 ||
        bytes.size() / kSize > kTlsTicketKeyCountMax) {
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS session ticket key file holds ", bytes.size(), " bytes; it must hold 1 to ",
            kTlsTicketKeyCountMax, " keys of ", kSize,
            " bytes each (16 name, 32 HMAC, 32 AES), the current key first: make one with "
            "`openssl rand 80 > ticket.key` and give every node the same file"));
    }
    std::vector<TicketKey> keys(bytes.size() / kSize);
    for (size_t i = 0; i < keys.size(); ++i) {
        const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + i * kSize;
        std::copy(p, p + kNameSize, keys[i].name.begin());
        std::copy(p + kNameSize, p + kNameSize + kHmacKeySize, keys[i].hmac_key.begin());
        std::copy(p + kNameSize + kHmacKeySize, p + kSize, keys[i].aes_key.begin());
    }
    return keys;
}

TlsContext::TlsContext() = default;
TlsContext::~TlsContext() = default;

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::create(const TlsContextConfig& config) {
    std::unique_ptr<TlsContext> context(new TlsContext());
    FE_RETURN_IF_ERROR(context->init(config));
    return context;
}

const TlsIdentityInfo& TlsContext::identity(size_t index) const {
    FE_ASSERT(index < identities_.size());
    return identities_[index]->info;
}

std::optional<size_t> TlsContext::find_identity(std::string_view server_name) const {
    for (size_t i = 0; i < identities_.size(); ++i) {
        for (const std::string& name : identities_[i]->info.server_names) {
            if (fe::tls::dns_name_equal(name, server_name)) {
                return i;
            }
        }
    }
    return std::nullopt;
}

absl::Status TlsContext::init(const TlsContextConfig& config) {
    role_ = config.role;
    client_certificate_ = config.client_certificate;
    identity_policy_ = config.identity_policy;
    handshake_receive_size_max_ = config.handshake_receive_size_max;
    pending_plaintext_size_max_ = config.pending_plaintext_size_max;
    output_size_max_ = config.output_size_max;
    now_unix_s_for_test_ = config.now_unix_s_for_test;

    if (config.version_min > config.version_max) {
        return absl::InvalidArgumentError(
            absl::StrCat("TLS minimum version ", to_absl(tls_version_name(config.version_min)),
                         " is above the maximum ", to_absl(tls_version_name(config.version_max)),
                         ": lower the minimum or raise the maximum"));
    }
    if (role_ == TlsRole::kServer && config.identities.empty()) {
        return absl::InvalidArgumentError(
            "a TLS listener needs a certificate chain and its private key (--tls-cert and "
            "--tls-key)");
    }
    if (config.identities.size() > kTlsIdentityCountMax) {
        return absl::InvalidArgumentError(absl::StrCat("TLS context has ", config.identities.size(),
                                                       " certificates; at most ",
                                                       kTlsIdentityCountMax, " are supported"));
    }
    for (const TlsIdentityConfig& identity : config.identities) {
        FE_RETURN_IF_ERROR(load_identity(identity));
    }
    FE_RETURN_IF_ERROR(check_server_names());
    if (!config.ticket_keys.empty()) {
        if (role_ != TlsRole::kServer) {
            return absl::InvalidArgumentError(
                "TLS session ticket keys belong to a listener (server role), not to outbound "
                "connections");
        }
        if (config.ticket_keys.size() > kTlsTicketKeyCountMax) {
            return absl::InvalidArgumentError(
                absl::StrCat("TLS context has ", config.ticket_keys.size(),
                             " ticket keys; at most ", kTlsTicketKeyCountMax));
        }
        ticket_keys_ = config.ticket_keys;
    }
    const bool verifies_peers =
        role_ == TlsRole::kClient || client_certificate_ != ClientCertificatePolicy::kNone;
    if (verifies_peers) {
        if (config.ca_file.empty()) {
            const std::string who =
                role_ == TlsRole::kClient
                    ? std::string("outbound TLS connections verify the server's certificate")
                    : absl::StrCat("a TLS listener with client certificate policy ",
                                   to_absl(client_certificate_policy_name(client_certificate_)),
                                   " verifies client certificates");
            return absl::InvalidArgumentError(absl::StrCat(
                who, ", which needs trust anchors: give --tls-ca a PEM file of CA certificates"));
        }
        FE_ASSIGN_OR_RETURN(std::string pem, internal::read_pem_file("TLS CA", config.ca_file));
        FE_ASSIGN_OR_RETURN(std::vector<bssl::UniquePtr<X509>> cas,
                            internal::parse_certificates("TLS CA", config.ca_file, pem));
        trust_.reset(X509_STORE_new());
        FE_ASSERT(trust_ != nullptr);
        for (const bssl::UniquePtr<X509>& ca : cas) {
            (void)X509_STORE_add_cert(trust_.get(), ca.get());  // fails only on a duplicate
            ERR_clear_error();
        }
    }
    return init_ssl_ctx(config);
}

absl::Status TlsContext::load_identity(const TlsIdentityConfig& config) {
    const std::string& chain_path = config.certificate_chain_file;
    FE_ASSIGN_OR_RETURN(std::string chain_pem,
                        internal::read_pem_file("TLS certificate chain", chain_path));
    FE_ASSIGN_OR_RETURN(
        std::vector<bssl::UniquePtr<X509>> chain,
        internal::parse_certificates("TLS certificate chain", chain_path, chain_pem));
    FE_ASSIGN_OR_RETURN(std::string key_pem,
                        internal::read_pem_file("TLS private key", config.private_key_file));
    FE_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key,
                        internal::parse_private_key(config.private_key_file, key_pem));
    const X509& leaf = *chain.front();
    if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
        ERR_clear_error();
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS private key ", config.private_key_file, " does not match the certificate in ",
            chain_path, " (", internal::subject_text(leaf),
            "): give the key the certificate was issued for (the leaf must come first in the "
            "chain file)"));
    }
    const int64_t now =
        now_unix_s_for_test_ ? *now_unix_s_for_test_ : static_cast<int64_t>(std::time(nullptr));
    for (size_t i = 0; i < chain.size(); ++i) {
        FE_RETURN_IF_ERROR(check_validity(chain_path, i, *chain[i], now));
    }

    auto identity = std::make_unique<Identity>();
    fe::tls::CertificateNames names = certificate_names(leaf);
    identity->info.sip_identities = fe::tls::find_sip_identities(names);
    for (const std::string& name : config.server_names) {
        identity->info.server_names.push_back(lower_ascii(name));
    }
    if (identity->info.server_names.empty()) {
        identity->info.server_names = default_server_names(names, identity->info.sip_identities);
    }
    identity->info.label = identity->info.server_names.empty()
                               ? internal::subject_text(leaf)
                               : identity->info.server_names.front();
    for (const bssl::UniquePtr<X509>& certificate : chain) {
        identity->chain.push_back(to_buffer(*certificate));
        identity->chain_pointers.push_back(identity->chain.back().get());
    }
    identity->key = std::move(key);

    SHA256_CTX sha;
    SHA256_Init(&sha);
    static constexpr std::string_view kLabel = "flowedge tls session v1";
    SHA256_Update(&sha, kLabel.data(), kLabel.size());
    const auto policy = static_cast<uint8_t>(client_certificate_);
    SHA256_Update(&sha, &policy, 1);
    SHA256_Update(&sha, CRYPTO_BUFFER_data(identity->chain.front().get()),
                  CRYPTO_BUFFER_len(identity->chain.front().get()));
    SHA256_Final(identity->session_id_context.data(), &sha);

    identities_.push_back(std::move(identity));
    return absl::OkStatus();
}

absl::Status TlsContext::check_server_names() const {
    if (role_ != TlsRole::kServer) {
        return absl::OkStatus();
    }
    for (size_t i = 0; i < identities_.size(); ++i) {
        for (const std::string& name : identities_[i]->info.server_names) {
            for (size_t j = i + 1; j < identities_.size(); ++j) {
                const std::vector<std::string>& other = identities_[j]->info.server_names;
                if (std::find(other.begin(), other.end(), name) != other.end()) {
                    return absl::InvalidArgumentError(absl::StrCat(
                        "TLS server name ", name, " is claimed by certificate ", i + 1, " (",
                        identities_[i]->info.label, ") and certificate ", j + 1, " (",
                        identities_[j]->info.label,
                        "): SNI must select one; give each certificate its own server names"));
                }
            }
        }
    }
    return absl::OkStatus();
}

absl::Status TlsContext::init_ssl_ctx(const TlsContextConfig& config) {
    // TLS_with_buffers_method: certificates stay DER buffers interned in one
    // pool, and we verify peers ourselves (TlsSession::verify_peer), instead of
    // BoringSSL parsing every peer chain into X509 objects kept per session.
    ssl_ctx_.reset(SSL_CTX_new(TLS_with_buffers_method()));
    FE_ASSERT(ssl_ctx_ != nullptr);
    SSL_CTX* ctx = ssl_ctx_.get();
    SSL_CTX_set0_buffer_pool(ctx, internal::certificate_pool());
    FE_ASSERT(SSL_CTX_set_min_proto_version(ctx, wire_version(config.version_min)) == 1);
    FE_ASSERT(SSL_CTX_set_max_proto_version(ctx, wire_version(config.version_max)) == 1);
    if (SSL_CTX_set_strict_cipher_list(ctx, config.tls12_ciphers.c_str()) != 1) {
        const char* reason = internal::take_error_reason();
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS 1.2 cipher list \"", config.tls12_ciphers, "\" is not valid (",
            reason != nullptr ? reason : "unknown error",
            "): use BoringSSL names such as ECDHE-RSA-AES128-GCM-SHA256, ':'-separated"));
    }
    SSL_CTX_set_max_cert_list(ctx, kTlsPeerCertificateListSizeMax);
    SSL_CTX_set_timeout(ctx, kTlsSessionLifetimeS);
    SSL_CTX_set_session_psk_dhe_timeout(ctx, kTlsSessionLifetimeS);
    if (role_ == TlsRole::kServer) {
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
        // Tickets only: a server-side session cache would hold memory per
        // client and would not be shared between nodes.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        FE_ASSERT(SSL_CTX_set_num_tickets(ctx, kTlsTicketsPerHandshake) == 1);
    } else {
        // The cache lives with the caller (TlsSession::take_resumption()).
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    }
    TlsSession::configure_context(*this);
    return absl::OkStatus();
}

}  // namespace fe::net::tls
