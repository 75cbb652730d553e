// File: net/tls/internal/identity.h
//
// TlsContext::Identity, shared by tls_context.cc (which loads it) and
// tls_session.cc (which hands its certificate to BoringSSL per session).
//
//   const TlsContext::Identity& id = *context.identities_[index];
//   SSL_set_chain_and_key(ssl, id.chain_pointers.data(), id.chain_pointers.size(),
//                         id.key.get(), nullptr);
#pragma once

#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <vector>

#include "net/tls/tls_context.h"

namespace fe::net::tls {

// One certificate this context presents: the chain as BoringSSL buffers (for
// SSL_set_chain_and_key, shared by every session by reference), its key, and
// the session id context that keeps its sessions apart from other identities'.
struct TlsContext::Identity {
    TlsIdentityInfo info;
    std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain;  // leaf first
    std::vector<CRYPTO_BUFFER*> chain_pointers;         // the same, as BoringSSL takes them
    bssl::UniquePtr<EVP_PKEY> key;
    // SHA-256 over a label, the client-certificate policy and the leaf: a
    // ticket resumes only on the identity (and policy) that issued it, on any
    // node configured with the same certificate and ticket keys.
    std::array<uint8_t, SHA256_DIGEST_LENGTH> session_id_context{};
};

}  // namespace fe::net::tls
