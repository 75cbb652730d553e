// File: net/tls/tls_session.h
//
// One TLS connection driven over memory: no socket, no thread, no clock and
// no blocking. The transport hands in the ciphertext it received and gets the
// plaintext out; it asks for plaintext to be sent and takes the ciphertext
// (records, handshake flights, alerts) to put on the wire. Both roles, TLS 1.2
// and 1.3, session resumption with tickets, and the RFC 5922 identity of the
// peer. Errors are values; a peer sending garbage gets a clean failure.
//
//   // Server side: the transport accepted a connection on a TLS listener.
//   std::unique_ptr<TlsSession> s = TlsSession::accept(context);
//   std::array<char, fe::net::tls::kTlsRecordPlaintextSizeMax> plain;  // a per-worker scratch
//   while (!received.empty()) {
//       FeedResult r = s->feed(received, plain);
//       received.remove_prefix(r.consumed);
//       deliver(std::string_view(plain.data(), r.plaintext_size));  // SIP framing
//       if (r.handshake_completed) {
//           s->peer_authentication();   // kVerified: s->peer_identities() (CR-29)
//           s->served_identity_index(); // which virtual server (RFC 5923 §9.3)
//       }
//       if (r.state == TlsState::kFailed) { log(s->describe_failure()); break; }
//   }
//   (void)s->write(parts);              // SIP message parts, encrypted into records
//   send(s->take_output());             // every turn: flights, records, alerts
//
//   // Client side: dialling sips:example.net, RFC 5922 §7.3.
//   ClientOptions options{.peer_host = "example.net", .identity_index = 0};
//   absl::StatusOr<std::unique_ptr<TlsSession>> c = TlsSession::connect(context, options);
//   send((*c)->take_output());          // the ClientHello
//
// Memory: the session keeps no copy of received bytes (BoringSSL holds at most
// one incomplete record) and gives back ciphertext and plaintext as soon as
// they are taken; once the handshake is over and the buffers are drained an
// idle session costs about 4.2 kB as a server, 4.4 kB when the client sent a
// certificate (BoringSSL's connection state and keys, the peer's identities;
// measured by IdleSessionMemory in tests/unit/net/tls/tls_session_test.cc).
// Buffering is bounded by the context's limits (net/tls/limits.h): write()
// refuses past them, feed() fails a handshake that sends too much.
//
// Transport: the BoringSSL `SSL` reads and writes through a BIO of our own
// (not a memory BIO or a BIO pair): its read hands BoringSSL bytes straight
// from the span given to feed(), its write appends to the session's output,
// so there is no second copy of the input and nothing held while idle.
//
// Threads: a session belongs to one worker; its context may be shared.
#pragma once

#include <openssl/base.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/tls/peer_identity.h"
#include "net/tls/tls_context.h"

namespace fe::net::tls {

enum class TlsState : uint8_t {
    kHandshaking,
    kOpen,
    kClosing,  // we sent close_notify; received data is discarded (CR-34)
    kClosed,   // the peer's close_notify arrived (CR-35), or close() before the handshake ended
    kFailed,   // failure() says why; take_output() may still hold the alert to send
};
std::string_view tls_state_name(TlsState state);

enum class TlsFailure : uint8_t {
    kNone,
    kProtocol,                // not TLS, a malformed or unexpected message, a bad record MAC
    kNoCommonParameters,      // no common version, cipher suite, group or signature algorithm
    kAlertReceived,           // the peer sent a fatal alert (alert_received)
    kPeerCertificateMissing,  // kRequired, or a server, and the peer sent none
    kPeerCertificateInvalid,  // RFC 5280 validation failed: verify_error says why (CR-40)
    kPeerNameMismatch,        // RFC 5922 §7.3: the server does not own the dialled host (CR-39)
    kHandshakeTooLarge,       // more than handshake_receive_size_max before the handshake ended
    kTruncated,               // the transport ended without close_notify (end_of_input())
    kInternal,                // BoringSSL failed for a reason of its own (allocation)
};
std::string_view tls_failure_name(TlsFailure failure);

struct TlsFailureInfo {
    TlsFailure failure = TlsFailure::kNone;
    // TLS AlertDescription values (RFC 8446 §6); 0 is close_notify, so
    // "none" is std::nullopt.
    std::optional<uint8_t> alert_sent;
    std::optional<uint8_t> alert_received;
    // X509_V_ERR_* of the peer's certificate: why kPeerCertificateInvalid,
    // or why peer_authentication() is kUnverified (kOptional).
    int verify_error = 0;
    const char* library_reason = nullptr;  // BoringSSL's reason string (static), if any
};

enum class PeerAuthentication : uint8_t {
    kNone,        // the peer presented no certificate (a phone on an kOptional listener)
    kVerified,    // RFC 5280 validation passed: peer_identities() holds its RFC 5922 identities
    kUnverified,  // presented, but validation failed (kOptional only): treat as kNone (CR-40)
};
std::string_view peer_authentication_name(PeerAuthentication authentication);

struct [[nodiscard]] FeedResult {
    size_t consumed = 0;                      // ciphertext bytes taken; call again with the rest
    size_t plaintext_size = 0;                // application data written to the output span
    bool handshake_completed = false;         // the handshake finished during this call
    TlsState state = TlsState::kHandshaking;  // after the call
};

enum class [[nodiscard]] WriteResult : uint8_t{
    kQueued,   // encrypted into the output (or kept until the handshake ends)
    kFull,     // a limit would be passed; nothing was queued (slow reader)
    kNotOpen,  // closing, closed or failed: nothing is sent any more
};

// A session a client may offer to resume (an SSL_SESSION reference). Keep it
// per dialled host (RFC 5922: the resumed session's server was verified for
// that host), and once used, drop it when it is single_use() (TLS 1.3).
class TlsResumption {
  public:
    TlsResumption();
    ~TlsResumption();
    TlsResumption(TlsResumption&&) noexcept;
    TlsResumption& operator=(TlsResumption&&) noexcept;

    bool single_use() const;

  private:
    friend class TlsSession;
    explicit TlsResumption(SSL_SESSION* session);
    bssl::UniquePtr<SSL_SESSION> session_;
};

struct ClientOptions {
    // The host of the URI we resolved to reach the peer (RFC 5922 §7.3: the
    // domain of the "AUS"; an IP literal when we dialled an address). The
    // server certificate must match it, or the handshake fails with
    // kPeerNameMismatch (CR-11, CR-39). Sent as SNI when it is a DNS name
    // (RFC 5922 §7.8). Copied.
    std::string_view peer_host = {};
    // Which of the context's identities to present if the server asks
    // (CR-47: the certificate of the domain we send for); none when empty.
    std::optional<size_t> identity_index = std::nullopt;
    // An earlier session to the same peer_host; not taken.
    const TlsResumption* resumption = nullptr;
};

class TlsSession {
  public:
    // Server side of an accepted connection. Only allocation can fail, and
    // that is fatal (STYLE §6).
    static std::unique_ptr<TlsSession> accept(const TlsContext& context);
    // Client side: the ClientHello is in take_output() on return. Errors: a
    // server context, a peer_host that is not a host, an unknown identity.
    static absl::StatusOr<std::unique_ptr<TlsSession>> connect(const TlsContext& context,
                                                               const ClientOptions& options);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Hands in ciphertext received from the peer. Decrypted application data
    // is written to `plaintext` (at least kTlsRecordPlaintextSizeMax bytes: a
    // whole record); when it fills, consumed < ciphertext.size() and the
    // caller calls again with the rest. Bytes after a failure or the peer's
    // close_notify are consumed and ignored. Output (a handshake flight, an
    // alert, a KeyUpdate answer) may be waiting in take_output() afterwards.
    FeedResult feed(std::string_view ciphertext, std::span<char> plaintext);
    // The transport ended (the peer closed TCP). Clean only after the peer's
    // close_notify (state kClosed) or our own (kClosing); otherwise the
    // session fails with kTruncated, a record cut short included. Returns the
    // state.
    TlsState end_of_input();

    // Queues application data: encrypted now into records of up to
    // kTlsRecordPlaintextSizeMax (small parts coalesced into one record), or
    // kept in plaintext until the handshake completes. The parts may be
    // reused when this returns.
    WriteResult write(std::span<const std::string_view> parts);
    WriteResult write(std::string_view bytes) {
        return write(std::span<const std::string_view>(&bytes, 1));
    }

    // Everything to send, in order; it counts as sent. The view is valid until
    // the next call of a non-const member.
    std::string_view take_output();
    bool has_output() const { return !output_taken_ && !output_.empty(); }

    // Sends close_notify (RFC 5923 §8.3, CR-32): state kClosing, or kClosed
    // when the peer's close_notify already came (our answer to it). Before the
    // handshake ends there is nothing to close cleanly: the state becomes
    // kClosed and nothing is sent.
    void close();

    TlsState state() const { return state_; }
    const TlsFailureInfo& failure() const { return failure_; }
    // One line for logs: "peer-certificate-invalid: certificate has expired
    // (alert sent: certificate expired)".
    std::string describe_failure() const;

    // ---- After the handshake. ----
    bool resumed() const;
    std::optional<TlsVersion> version() const;
    std::string_view cipher_name() const;
    PeerAuthentication peer_authentication() const { return peer_authentication_; }
    // Empty unless kVerified.
    const fe::tls::SipIdentities& peer_identities() const { return peer_identities_; }
    // Server: which of the context's identities served this connection (by
    // SNI); connections with different identities must never be reused for
    // each other (RFC 5923 §9.3, CR-45..47). Client: the identity presented.
    std::optional<size_t> served_identity_index() const { return served_identity_index_; }
    // Server: the SNI host name the client sent; empty when none.
    std::string_view server_name() const;
    // Client: the newest session the server gave us (TLS 1.3 tickets arrive
    // after the handshake, with the first data); nullopt when none yet.
    std::optional<TlsResumption> take_resumption();

    // Bytes this session buffers itself (output not taken, plaintext waiting
    // for the handshake); BoringSSL's own record buffer is not counted.
    size_t buffered_size() const { return output_.size() + pending_plaintext_.size(); }

  private:
    friend class TlsContext;
    struct Callbacks;

    // Installs the callbacks every session of `context` relies on.
    static void configure_context(const TlsContext& context);

    explicit TlsSession(const TlsContext& context);
    void start(TlsRole role);
    void release_taken_output();
    bool continue_handshake(FeedResult& result);
    void on_handshake_complete();
    void read_records(std::span<char> plaintext, FeedResult& result);
    bool encrypt(std::span<const std::string_view> parts);
    void fail(TlsFailure failure);
    void fail_from_library(int ssl_error);
    // Verifies the peer's chain (RFC 5280) and finds its identities (RFC 5922
    // §7.1); client: checks them against peer_host_ (§7.3). False when the
    // handshake must fail; `alert` is the alert to send then.
    bool verify_peer(uint8_t& alert);

    const TlsContext& context_;
    bssl::UniquePtr<SSL> ssl_;
    TlsState state_ = TlsState::kHandshaking;
    TlsFailureInfo failure_;

    // The ciphertext of the current feed() while BoringSSL reads it through
    // our BIO: in_ is the span, in_offset_ what BoringSSL has taken.
    std::string_view in_;
    size_t in_offset_ = 0;
    // Ciphertext received before the handshake completed (handshake limit).
    size_t handshake_received_size_ = 0;
    // The BIO refused input past handshake_receive_size_max.
    bool handshake_limit_hit_ = false;

    // Ciphertext to send. output_taken_: take_output() handed it out, and the
    // next mutating call clears it (and frees it: an idle session holds none).
    std::string output_;
    bool output_taken_ = false;
    // write() before the handshake completed; encrypted when it does.
    std::string pending_plaintext_;

    // Client: the dialled host, until the handshake has checked it.
    std::string peer_host_;
    PeerAuthentication peer_authentication_ = PeerAuthentication::kNone;
    fe::tls::SipIdentities peer_identities_;
    std::optional<size_t> served_identity_index_;
    bssl::UniquePtr<SSL_SESSION> resumption_;
};

}  // namespace fe::net::tls
