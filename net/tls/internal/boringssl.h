// File: net/tls/internal/boringssl.h
//
// Process-wide BoringSSL objects the TLS building blocks share, and small
// helpers around BoringSSL's conventions.
//
//   CRYPTO_BUFFER* der = CRYPTO_BUFFER_new(bytes, size, certificate_pool());
//   SSL_set_ex_data(ssl, session_ex_index(), session);
#pragma once

#include <openssl/base.h>

#include <string>

namespace fe::net::tls::internal {

// The pool every certificate (ours and the peers') is interned in, so that
// connections from one peer share one copy of its chain (BoringSSL's
// CRYPTO_BUFFER_POOL; it takes a lock per insert and release, i.e. per
// handshake, never per record). BoringSSL requires the pool to outlive every
// SSL_CTX, SSL and SSL_SESSION, so it is made once and never freed.
CRYPTO_BUFFER_POOL* certificate_pool();

// The SSL ex_data slot holding the TlsSession that owns an SSL.
int session_ex_index();

// BoringSSL's reason for the newest error in this thread's queue (the one the
// failing call just pushed), or null; clears the queue, so that errors never
// leak into the next session's report.
const char* take_error_reason(uint32_t* packed_error = nullptr);

// "CN=p1.example.com" (the subject in one line), for messages.
std::string subject_text(const X509& certificate);
// "Jan  1 00:00:00 2001 GMT", for messages.
std::string time_text(const ASN1_TIME* time);

}  // namespace fe::net::tls::internal
