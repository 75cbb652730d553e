// File: net/tls/limits.h
//
// Every limit of the TLS building blocks (net/tls), with its default and the
// reason for it (STYLE §7). TlsContextConfig copies the per-session ones;
// tests shrink them.
//
//   fe::net::tls::TlsContextConfig config;                       // defaults from here
//   config.handshake_receive_size_max = 512;                      // a test of the cap
//
// What one session can hold, at most (a hostile or slow peer included):
//   BoringSSL's record buffer  one record, kTlsRecordSizeMax     ~ 16.6 KiB, freed when empty
//   handshake state            while handshaking only            ~ a few KiB, freed at the end
//   plaintext before the handshake completes  kTlsPendingPlaintextSizeMax = 64 KiB
//   ciphertext not yet taken  kTlsOutputSizeMax (+ one flight)   = 128 KiB
// and once the handshake is done and the buffers are drained, an idle session
// holds only BoringSSL's connection state, its keys and the peer's identity:
// about 4.2 kB on a server (measured, malloc overhead included, by
// IdleSessionMemory in tests/unit/net/tls/tls_session_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/time.h"

namespace fe::net::tls {

// TLS record plaintext (RFC 8446 §5.1, RFC 5246 §6.2.1: 2^14 bytes). feed()
// decrypts one whole record at a time, so its output span must hold one.
inline constexpr size_t kTlsRecordPlaintextSizeMax = 16384;
// A whole protected record on the wire: header, the plaintext and the largest
// expansion (RFC 5246 §6.2.3 allows 2048 bytes; BoringSSL refuses records
// above its own smaller bound). This is what BoringSSL buffers per session
// while a record is incomplete; a peer trickling bytes cannot make it more.
inline constexpr size_t kTlsRecordSizeMax = 5 + kTlsRecordPlaintextSizeMax + 2048;

// Ciphertext a peer may send before its handshake completes. A ClientHello is
// under 2 KiB, a client certificate chain under kTlsPeerCertificateListSizeMax;
// past this the peer is not doing a handshake we want (a slow drip of valid
// but useless records costs CPU), and the session fails with
// TlsFailure::kHandshakeTooLarge.
inline constexpr uint32_t kTlsHandshakeReceiveSizeMax = 64 * 1024;

// Bytes of certificate list a peer may send (SSL_CTX_set_max_cert_list). A
// three-certificate RSA-4096 chain is about 6 KiB; 32 KiB leaves room for
// long SAN lists without letting one handshake allocate BoringSSL's default
// of 100 KiB.
inline constexpr uint32_t kTlsPeerCertificateListSizeMax = 32 * 1024;

// Application data written before the handshake completes (an outbound
// connection's first request queued while it opens) is kept in plaintext and
// encrypted when the handshake ends. One largest SIP message
// (net::kPartialMessageSizeMax); write() refuses more with kFull.
inline constexpr uint32_t kTlsPendingPlaintextSizeMax = 64 * 1024;

// Ciphertext produced and not yet taken with take_output(). The caller takes
// it every loop turn and hands it to the connection's send queue, whose own
// limit (net::kSendQueueSizeMax, 256 KiB) is the real backpressure; this only
// stops a caller that forgets. A largest SIP message plus a handshake flight
// and record overhead fit; write() refuses more with kFull.
inline constexpr uint32_t kTlsOutputSizeMax = 128 * 1024;

// The transport closes a connection whose handshake has not completed in this
// time (slowloris at the TLS layer). A real client on a slow mobile link needs
// 2-3 round trips; 10 s matches net::kConnectTimeMax. Enforced by the
// transport's timer: a TlsSession has no clock.
inline constexpr Duration kTlsHandshakeTimeMax = std::chrono::seconds(10);

// Handshakes in progress per worker. A full TLS 1.3 handshake costs the
// server about 0.16 ms of CPU with an ECDSA P-256 certificate, 0.75 ms with
// RSA-2048, 0.66 ms when it also verifies a client certificate
// (bench/tls_benchmark.cc, Debian's BoringSSL); a storm of new connections
// must not starve established flows, so the transport stops reading new
// ClientHellos past this. Enforced by the transport.
inline constexpr uint32_t kTlsHandshakesInFlightMax = 256;

// Server certificates (SNI identities) per context. A virtual server hosts a
// handful of SIP domains (RFC 5923 §9.3); selection is a linear scan of their
// names, done once per handshake.
inline constexpr size_t kTlsIdentityCountMax = 64;

// Session ticket keys per context: the current key (encrypts) and older ones
// still accepted (decrypt, then re-issue with the current key). Rotating
// daily with a ticket lifetime under a day needs 2; 4 leaves room.
inline constexpr size_t kTlsTicketKeyCountMax = 4;

// Lifetime of a session (TLS 1.2 session ticket, TLS 1.3 PSK). A resumption
// skips the peer's certificate exchange; we verify the certificate kept in
// the ticket again on resumption, so this bounds how long a ticket key
// compromise is useful, not how long a revoked peer is trusted. Phones
// reconnect within minutes after a NAT rebinding, proxies within hours.
inline constexpr uint32_t kTlsSessionLifetimeS = 2 * 60 * 60;

// NewSessionTicket messages a TLS 1.3 server sends per handshake. BoringSSL
// sends 2 by default (for clients racing two connections); a SIP flow opens
// one connection, and each ticket is ~200 bytes on the wire and in the
// client's cache.
inline constexpr size_t kTlsTicketsPerHandshake = 1;

// Longest certificate or key file read at configuration time. A chain is a
// few KiB; this only guards against pointing the loader at the wrong file.
inline constexpr size_t kTlsPemFileSizeMax = 1024 * 1024;

}  // namespace fe::net::tls
