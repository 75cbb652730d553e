#include "net/tls/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/assert.h"
#include "core/base/strings.h"
#include "net/tls/certificate_names.h"
#include "net/tls/internal/boringssl.h"
#include "net/tls/internal/identity.h"

namespace fe::net::tls {

// The C callbacks BoringSSL calls, each finding its TlsSession through the
// SSL's ex_data slot (or the BIO's data pointer).
struct TlsSession::Callbacks {
    static TlsSession& from(const SSL* ssl) {
        auto* session =
            static_cast<TlsSession*>(SSL_get_ex_data(ssl, internal::session_ex_index()));
        FE_ASSERT(session != nullptr);
        return *session;
    }

    // ---- The BIO: reads come from feed()'s span, writes go to output_. ----

    static int bio_read(BIO* bio, char* out, int size) {
        auto& s = *static_cast<TlsSession*>(BIO_get_data(bio));
        BIO_clear_retry_flags(bio);
        size_t n = std::min(s.in_.size() - s.in_offset_, static_cast<size_t>(std::max(size, 0)));
        if (n == 0) {
            BIO_set_retry_read(bio);  // "want read": feed() returns, all input taken
            return -1;
        }
        if (s.state_ == TlsState::kHandshaking) {
            const size_t max = s.context_.handshake_receive_size_max_;
            const size_t room = max - std::min(max, s.handshake_received_size_);
            if (room == 0) {
                s.handshake_limit_hit_ = true;
                return -1;  // no retry flag: a transport error, the handshake fails
            }
            n = std::min(n, room);
            s.handshake_received_size_ += n;
        }
        std::memcpy(out, s.in_.data() + s.in_offset_, n);
        s.in_offset_ += n;
        return static_cast<int>(n);
    }

    static int bio_write(BIO* bio, const char* data, int size) {
        auto& s = *static_cast<TlsSession*>(BIO_get_data(bio));
        BIO_clear_retry_flags(bio);
        FE_ASSERT(!s.output_taken_);  // every entry point releases taken output first
        s.output_.append(data, static_cast<size_t>(std::max(size, 0)));
        return size;
    }

    static long bio_ctrl(BIO*, int command, long, void*) {
        return command == BIO_CTRL_FLUSH ? 1 : 0;
    }

    static const BIO_METHOD* bio_method() {
        static const BIO_METHOD* const method = [] {
            BIO_METHOD* m =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fe_tls_session");
            FE_ASSERT(m != nullptr);
            FE_ASSERT(BIO_meth_set_read(m, bio_read) == 1);
            FE_ASSERT(BIO_meth_set_write(m, bio_write) == 1);
            FE_ASSERT(BIO_meth_set_ctrl(m, bio_ctrl) == 1);
            return m;
        }();
        return method;
    }

    // ---- Handshake callbacks. ----

    static ssl_verify_result_t verify(SSL* ssl, uint8_t* out_alert) {
        return from(ssl).verify_peer(*out_alert) ? ssl_verify_ok : ssl_verify_invalid;
    }

    // Server: picks the certificate by SNI (RFC 5922 §7.8), before BoringSSL
    // decides on resumption, and binds the session id context to it so that a
    // ticket never resumes under another virtual server identity (RFC 5923
    // §9.3).
    static int select_certificate(SSL* ssl, void*) {
        TlsSession& s = from(ssl);
        size_t index = 0;
        if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
            index = s.context_.find_identity(sni).value_or(0);
        }
        const TlsContext::Identity& id = *s.context_.identities_[index];
        if (SSL_set_chain_and_key(ssl, id.chain_pointers.data(), id.chain_pointers.size(),
                                  id.key.get(), nullptr) != 1 ||
            SSL_set_session_id_context(ssl, id.session_id_context.data(),
                                       id.session_id_context.size()) != 1) {
            return 0;
        }
        s.served_identity_index_ = index;
        return 1;
    }

    static void info(const SSL* ssl, int type, int value) {
        if ((type & SSL_CB_ALERT) == 0) {
            return;
        }
        const auto level = static_cast<uint8_t>(value >> 8);
        const auto alert = static_cast<uint8_t>(value & 0xff);
        if (level != SSL3_AL_FATAL) {
            return;  // close_notify and warnings: not a failure
        }
        TlsSession& s = from(ssl);
        if ((type & SSL_CB_READ) != 0) {
            s.failure_.alert_received = alert;
        } else {
            s.failure_.alert_sent = alert;
        }
    }

    // Session tickets sealed and opened with the context's keys (AES-256-CBC
    // and HMAC-SHA-256, RFC 5077 §4's recommended construction, as nginx and
    // Envoy do): the first key seals, any key opens, and a ticket opened
    // with an older key is renewed under the current one.
    static int ticket_key(SSL* ssl, uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher,
                          HMAC_CTX* hmac, int encrypt) {
        const std::vector<TicketKey>& keys = from(ssl).context_.ticket_keys_;
        FE_ASSERT(!keys.empty());
        if (encrypt == 1) {
            const TicketKey& key = keys.front();
            std::memcpy(key_name, key.name.data(), key.name.size());
            if (RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) != 1 ||
                EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv) !=
                    1 ||
                HMAC_Init_ex(hmac, key.hmac_key.data(), key.hmac_key.size(), EVP_sha256(),
                             nullptr) != 1) {
                return -1;
            }
            return 1;
        }
        for (size_t i = 0; i < keys.size(); ++i) {
            if (CRYPTO_memcmp(key_name, keys[i].name.data(), keys[i].name.size()) != 0) {
                continue;
            }
            if (HMAC_Init_ex(hmac, keys[i].hmac_key.data(), keys[i].hmac_key.size(), EVP_sha256(),
                             nullptr) != 1 ||
                EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, keys[i].aes_key.data(),
                                   iv) != 1) {
                return -1;
            }
            return i == 0 ? 1 : 2;
        }
        return 0;  // an unknown key (rotated out, another cluster): full handshake
    }

    // Client: a session (TLS 1.2 at the handshake's end, TLS 1.3 with each
    // NewSessionTicket) becomes the one take_resumption() hands out.
    static int new_session(SSL* ssl, SSL_SESSION* session) {
        from(ssl).resumption_.reset(session);
        return 1;  // we took the reference
    }
};

// ---------------------------------------------------------------------------

std::string_view tls_state_name(TlsState state) {
    switch (state) {
        case TlsState::kHandshaking:
            return "handshaking";
        case TlsState::kOpen:
            return "open";
        case TlsState::kClosing:
            return "closing";
        case TlsState::kClosed:
            return "closed";
        case TlsState::kFailed:
            return "failed";
    }
    return "unknown";
}

std::string_view tls_failure_name(TlsFailure failure) {
    switch (failure) {
        case TlsFailure::kNone:
            return "none";
        case TlsFailure::kProtocol:
            return "protocol-error";
        case TlsFailure::kNoCommonParameters:
            return "no-common-parameters";
        case TlsFailure::kAlertReceived:
            return "alert-received";
        case TlsFailure::kPeerCertificateMissing:
            return "peer-certificate-missing";
        case TlsFailure::kPeerCertificateInvalid:
            return "peer-certificate-invalid";
        case TlsFailure::kPeerNameMismatch:
            return "peer-name-mismatch";
        case TlsFailure::kHandshakeTooLarge:
            return "handshake-too-large";
        case TlsFailure::kTruncated:
            return "truncated";
        case TlsFailure::kInternal:
            return "internal";
    }
    return "unknown";
}

std::string_view peer_authentication_name(PeerAuthentication authentication) {
    switch (authentication) {
        case PeerAuthentication::kNone:
            return "none";
        case PeerAuthentication::kVerified:
            return "verified";
        case PeerAuthentication::kUnverified:
            return "unverified";
    }
    return "unknown";
}

TlsResumption::TlsResumption() = default;
TlsResumption::~TlsResumption() = default;
TlsResumption::TlsResumption(TlsResumption&&) noexcept = default;
TlsResumption& TlsResumption::operator=(TlsResumption&&) noexcept = default;
TlsResumption::TlsResumption(SSL_SESSION* session) : session_(session) {}

bool TlsResumption::single_use() const {
    return session_ != nullptr && SSL_SESSION_should_be_single_use(session_.get()) == 1;
}

// ---------------------------------------------------------------------------

void TlsSession::configure_context(const TlsContext& context) {
    SSL_CTX* ctx = context.ssl_ctx_.get();
    SSL_CTX_set_info_callback(ctx, Callbacks::info);
    if (context.role_ == TlsRole::kClient) {
        SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, Callbacks::verify);
        SSL_CTX_sess_set_new_cb(ctx, Callbacks::new_session);
        return;
    }
    int mode = SSL_VERIFY_NONE;
    if (context.client_certificate_ == ClientCertificatePolicy::kOptional) {
        mode = SSL_VERIFY_PEER;  // CR-36: always send a CertificateRequest
    } else if (context.client_certificate_ == ClientCertificatePolicy::kRequired) {
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_custom_verify(ctx, mode, Callbacks::verify);
    SSL_CTX_set_cert_cb(ctx, Callbacks::select_certificate, nullptr);
    if (!context.ticket_keys_.empty()) {
        SSL_CTX_set_tlsext_ticket_key_cb(ctx, Callbacks::ticket_key);
    }
}

TlsSession::TlsSession(const TlsContext& context) : context_(context) {}

TlsSession::~TlsSession() = default;

void TlsSession::start(TlsRole role) {
    ssl_.reset(SSL_new(context_.ssl_ctx_.get()));
    FE_ASSERT(ssl_ != nullptr);
    FE_ASSERT(SSL_set_ex_data(ssl_.get(), internal::session_ex_index(), this) == 1);
    BIO* bio = BIO_new(Callbacks::bio_method());
    FE_ASSERT(bio != nullptr);
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways: the SSL takes our one reference
    // Frees the certificate and cipher configuration copied into the SSL once
    // the handshake is over: part of keeping an idle session small.
    SSL_set_shed_handshake_config(ssl_.get(), 1);
    if (role == TlsRole::kServer) {
        SSL_set_accept_state(ssl_.get());
    } else {
        SSL_set_connect_state(ssl_.get());
    }
}

std::unique_ptr<TlsSession> TlsSession::accept(const TlsContext& context) {
    FE_ASSERT(context.role() == TlsRole::kServer);
    std::unique_ptr<TlsSession> session(new TlsSession(context));
    session->start(TlsRole::kServer);
    return session;
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::connect(const TlsContext& context,
                                                                const ClientOptions& options) {
    if (context.role() != TlsRole::kClient) {
        return absl::InvalidArgumentError("TlsSession::connect() needs a client-role TlsContext");
    }
    std::optional<fe::tls::SipIdentity> host = fe::tls::canonical_host(options.peer_host);
    if (!host) {
        return absl::InvalidArgumentError(
            absl::StrCat("TLS peer host \"", to_absl(options.peer_host),
                         "\" is not a host name or IP address: RFC 5922 checks the server "
                         "certificate against the host we dialled"));
    }
    if (options.identity_index && *options.identity_index >= context.identity_count()) {
        return absl::InvalidArgumentError(
            absl::StrCat("TLS client identity ", *options.identity_index,
                         " does not exist; the context has ", context.identity_count()));
    }
    std::unique_ptr<TlsSession> session(new TlsSession(context));
    session->start(TlsRole::kClient);
    SSL* ssl = session->ssl_.get();
    session->peer_host_ = host->name;
    // SNI carries host names only (RFC 6066 §3: "Literal IPv4 and IPv6
    // addresses are not permitted").
    if (host->kind == fe::tls::IdentityKind::kDnsName) {
        FE_ASSERT(SSL_set_tlsext_host_name(ssl, host->name.c_str()) == 1);
    }
    if (options.identity_index) {
        const TlsContext::Identity& id = *context.identities_[*options.identity_index];
        FE_ASSERT(SSL_set_chain_and_key(ssl, id.chain_pointers.data(), id.chain_pointers.size(),
                                        id.key.get(), nullptr) == 1);
        session->served_identity_index_ = options.identity_index;
    }
    if (options.resumption != nullptr && options.resumption->session_ != nullptr) {
        FE_ASSERT(SSL_set_session(ssl, options.resumption->session_.get()) == 1);
    }
    FeedResult ignored;
    (void)session->continue_handshake(ignored);  // writes the ClientHello
    return session;
}

// ---- Receiving. ----

FeedResult TlsSession::feed(std::string_view ciphertext, std::span<char> plaintext) {
    FE_ASSERT(plaintext.size() >= kTlsRecordPlaintextSizeMax);
    release_taken_output();
    FeedResult result;
    if (state_ == TlsState::kClosed || state_ == TlsState::kFailed) {
        result.consumed = ciphertext.size();  // ignored: nothing more is read (CR-35)
        result.state = state_;
        return result;
    }
    in_ = ciphertext;
    in_offset_ = 0;
    if (state_ != TlsState::kHandshaking || continue_handshake(result)) {
        read_records(plaintext, result);
    }
    result.consumed = in_offset_;
    in_ = std::string_view();
    in_offset_ = 0;
    if (state_ == TlsState::kClosed || state_ == TlsState::kFailed) {
        result.consumed = ciphertext.size();
    }
    result.state = state_;
    return result;
}

bool TlsSession::continue_handshake(FeedResult& result) {
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
        on_handshake_complete();
        result.handshake_completed = state_ == TlsState::kOpen;
        return result.handshake_completed;
    }
    const int error = SSL_get_error(ssl_.get(), ret);
    if (error == SSL_ERROR_WANT_READ) {
        return false;
    }
    fail_from_library(error);
    return false;
}

void TlsSession::on_handshake_complete() {
    state_ = TlsState::kOpen;
    // A resumed handshake exchanges no certificate, so the verify callback did
    // not run: check the chain the ticket kept against today's trust and time
    // (it may have expired since), and, as a client, against the dialled host.
    if (SSL_session_reused(ssl_.get()) == 1) {
        uint8_t alert = SSL_AD_CERTIFICATE_UNKNOWN;
        if (!verify_peer(alert)) {
            (void)SSL_send_fatal_alert(ssl_.get(), alert);
            failure_.alert_sent = alert;
            fail(failure_.failure == TlsFailure::kNone ? TlsFailure::kPeerCertificateInvalid
                                                       : failure_.failure);
            ERR_clear_error();
            return;
        }
    }
    peer_host_ = std::string();
    // A TLS 1.3 server's NewSessionTicket waits in BoringSSL until the next
    // write (so that a server with a small socket buffer never blocks on a
    // client that does not read). Our output never blocks: flush it now, so a
    // client gets its ticket even when we have nothing to say yet.
    if (context_.role_ == TlsRole::kServer && SSL_version(ssl_.get()) == TLS1_3_VERSION) {
        static const char kNothing = 0;
        if (SSL_write(ssl_.get(), &kNothing, 0) < 0) {
            ERR_clear_error();
        }
    }
    if (!pending_plaintext_.empty()) {
        std::string pending = std::move(pending_plaintext_);
        pending_plaintext_ = std::string();
        std::string_view part = pending;
        (void)encrypt(std::span<const std::string_view>(&part, 1));
    }
}

void TlsSession::read_records(std::span<char> plaintext, FeedResult& result) {
    size_t size = 0;
    while (state_ == TlsState::kOpen || state_ == TlsState::kClosing) {
        const size_t room = plaintext.size() - size;
        if (room < kTlsRecordPlaintextSizeMax) {
            break;  // the caller calls again once it took this plaintext
        }
        const int n = SSL_read(ssl_.get(), plaintext.data() + size,
                               static_cast<int>(std::min<size_t>(room, INT_MAX)));
        if (n > 0) {
            if (state_ == TlsState::kOpen) {
                size += static_cast<size_t>(n);
            }  // kClosing: discarded until the peer's close_notify (CR-34)
            continue;
        }
        const int error = SSL_get_error(ssl_.get(), n);
        if (error == SSL_ERROR_WANT_READ) {
            break;
        }
        if (error == SSL_ERROR_ZERO_RETURN) {
            state_ = TlsState::kClosed;  // close_notify: no new transaction here (CR-35)
            break;
        }
        fail_from_library(error);
    }
    result.plaintext_size = size;
}

TlsState TlsSession::end_of_input() {
    release_taken_output();
    if (state_ == TlsState::kClosing) {
        state_ = TlsState::kClosed;  // we closed first; the peer may just go away
    } else if (state_ == TlsState::kHandshaking || state_ == TlsState::kOpen) {
        fail(TlsFailure::kTruncated);
    }
    return state_;
}

// ---- Sending. ----

WriteResult TlsSession::write(std::span<const std::string_view> parts) {
    release_taken_output();
    if (state_ != TlsState::kOpen && state_ != TlsState::kHandshaking) {
        return WriteResult::kNotOpen;
    }
    size_t total = 0;
    for (std::string_view part : parts) {
        total += part.size();
    }
    if (state_ == TlsState::kHandshaking) {
        if (pending_plaintext_.size() + total > context_.pending_plaintext_size_max_) {
            return WriteResult::kFull;
        }
        for (std::string_view part : parts) {
            pending_plaintext_.append(part);
        }
        return WriteResult::kQueued;
    }
    const size_t records =
        std::max<size_t>(1, (total + kTlsRecordPlaintextSizeMax - 1) / kTlsRecordPlaintextSizeMax);
    const size_t ciphertext_size_max = total + records * SSL_max_seal_overhead(ssl_.get());
    if (output_.size() + ciphertext_size_max > context_.output_size_max_) {
        return WriteResult::kFull;
    }
    return encrypt(parts) ? WriteResult::kQueued : WriteResult::kNotOpen;
}

bool TlsSession::encrypt(std::span<const std::string_view> parts) {
    // Small parts (a message's edited headers) are gathered into one record
    // instead of a record each: one seal and 22-29 bytes of overhead per
    // record, not per part. One scratch per worker thread.
    thread_local std::array<char, kTlsRecordPlaintextSizeMax> scratch;
    size_t used = 0;
    auto seal = [&]() {
        if (used == 0) {
            return true;
        }
        const int n = SSL_write(ssl_.get(), scratch.data(), static_cast<int>(used));
        if (n <= 0) {
            fail_from_library(SSL_get_error(ssl_.get(), n));
            return false;
        }
        FE_ASSERT(static_cast<size_t>(n) == used);  // our BIO never writes partially
        used = 0;
        return true;
    };
    for (std::string_view part : parts) {
        while (!part.empty()) {
            const size_t n = std::min(part.size(), scratch.size() - used);
            std::memcpy(scratch.data() + used, part.data(), n);
            used += n;
            part.remove_prefix(n);
            if (used == scratch.size() && !seal()) {
                return false;
            }
        }
    }
    return seal();
}

std::string_view TlsSession::take_output() {
    release_taken_output();
    output_taken_ = true;
    return output_;
}

void TlsSession::release_taken_output() {
    if (output_taken_) {
        output_ = std::string();  // frees it: an idle session holds no output buffer
        output_taken_ = false;
    }
}

void TlsSession::close() {
    release_taken_output();
    const bool handshake_done = SSL_is_init_finished(ssl_.get()) == 1;
    switch (state_) {
        case TlsState::kHandshaking:
            pending_plaintext_ = std::string();
            state_ = TlsState::kClosed;
            return;
        case TlsState::kOpen:
        case TlsState::kClosed:
            if (handshake_done && SSL_shutdown(ssl_.get()) < 0) {
                ERR_clear_error();
            }
            if (state_ == TlsState::kOpen) {
                state_ = TlsState::kClosing;
            }
            return;
        case TlsState::kClosing:
        case TlsState::kFailed:
            return;
    }
}

// ---- Failures. ----

void TlsSession::fail(TlsFailure failure) {
    state_ = TlsState::kFailed;
    failure_.failure = failure;
    pending_plaintext_ = std::string();
    peer_host_ = std::string();
}

void TlsSession::fail_from_library(int ssl_error) {
    uint32_t error = 0;
    const char* reason = internal::take_error_reason(&error);
    if (reason != nullptr) {
        failure_.library_reason = reason;
    }
    TlsFailure failure = TlsFailure::kProtocol;
    const int library = ERR_GET_LIB(error);
    const int code = ERR_GET_REASON(error);
    if (failure_.failure != TlsFailure::kNone) {
        failure = failure_.failure;  // set by verify_peer()
    } else if (handshake_limit_hit_) {
        failure = TlsFailure::kHandshakeTooLarge;
    } else if (failure_.alert_received) {
        failure = TlsFailure::kAlertReceived;
    } else if (library == ERR_LIB_SSL && code == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        failure = TlsFailure::kPeerCertificateMissing;
    } else if (library == ERR_LIB_SSL &&
               (code == SSL_R_NO_SHARED_CIPHER || code == SSL_R_UNSUPPORTED_PROTOCOL ||
                code == SSL_R_NO_SHARED_GROUP || code == SSL_R_NO_COMMON_SIGNATURE_ALGORITHMS)) {
        failure = TlsFailure::kNoCommonParameters;
    } else if (ssl_error != SSL_ERROR_SSL && ssl_error != SSL_ERROR_SYSCALL) {
        failure = TlsFailure::kInternal;
    }
    fail(failure);
}

std::string TlsSession::describe_failure() const {
    std::string text(tls_failure_name(failure_.failure));
    if (failure_.failure == TlsFailure::kPeerCertificateInvalid && failure_.verify_error != 0) {
        absl::StrAppend(&text, ": ", X509_verify_cert_error_string(failure_.verify_error));
    } else if (failure_.library_reason != nullptr) {
        absl::StrAppend(&text, ": ", failure_.library_reason);
    }
    if (failure_.alert_sent) {
        absl::StrAppend(&text, " (alert sent: ", SSL_alert_desc_string_long(*failure_.alert_sent),
                        ")");
    }
    if (failure_.alert_received) {
        absl::StrAppend(
            &text, " (alert received: ", SSL_alert_desc_string_long(*failure_.alert_received), ")");
    }
    return text;
}

// ---- The peer's certificate. ----

namespace {

// RFC 5280 path validation of `leaf` with the intermediates of `chain` (leaf
// first) against `trust`, with the extendedKeyUsage the peer's role needs
// (RFC 5922 §7.1). X509_V_OK or the X509_V_ERR_* reason.
int verify_chain(X509& leaf, const STACK_OF(CRYPTO_BUFFER) & chain, X509_STORE* trust,
                 TlsRole our_role, std::optional<int64_t> now_unix_s) {
    bssl::UniquePtr<STACK_OF(X509)> intermediates(sk_X509_new_null());
    if (!intermediates || trust == nullptr) {
        return X509_V_ERR_UNSPECIFIED;
    }
    for (size_t i = 1; i < sk_CRYPTO_BUFFER_num(&chain); ++i) {
        bssl::UniquePtr<X509> x509(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(&chain, i)));
        if (!x509 || !bssl::PushToStack(intermediates.get(), std::move(x509))) {
            return X509_V_ERR_UNSPECIFIED;
        }
    }
    bssl::UniquePtr<X509_STORE_CTX> store(X509_STORE_CTX_new());
    if (!store || X509_STORE_CTX_init(store.get(), trust, &leaf, intermediates.get()) != 1) {
        return X509_V_ERR_UNSPECIFIED;
    }
    // Checking a server's certificate needs serverAuth, a client's clientAuth,
    // when the certificate restricts its usage (RFC 5280 §4.2.1.12).
    (void)X509_STORE_CTX_set_default(store.get(),
                                     our_role == TlsRole::kServer ? "ssl_client" : "ssl_server");
    if (now_unix_s) {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(store.get()),
                                   static_cast<time_t>(*now_unix_s));
    }
    if (X509_verify_cert(store.get()) == 1) {
        return X509_V_OK;
    }
    const int error = X509_STORE_CTX_get_error(store.get());
    return error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error;
}

}  // namespace

bool TlsSession::verify_peer(uint8_t& alert) {
    const TlsRole role = context_.role_;
    const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl_.get());
    peer_identities_ = fe::tls::SipIdentities();
    if (chain == nullptr || sk_CRYPTO_BUFFER_num(chain) == 0) {
        peer_authentication_ = PeerAuthentication::kNone;
        if (role == TlsRole::kClient ||
            context_.client_certificate_ == ClientCertificatePolicy::kRequired) {
            failure_.failure = TlsFailure::kPeerCertificateMissing;
            alert = SSL_AD_CERTIFICATE_REQUIRED;
            return false;
        }
        return true;  // CR-37: not authenticated, and that is all
    }
    // The leaf is parsed once, for the path validation and for its names.
    bssl::UniquePtr<X509> leaf(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(chain, 0)));
    const int error = leaf ? verify_chain(*leaf, *chain, context_.trust_.get(), role,
                                          context_.now_unix_s_for_test_)
                           : X509_V_ERR_UNSPECIFIED;
    ERR_clear_error();
    if (error != X509_V_OK) {
        peer_authentication_ = PeerAuthentication::kUnverified;
        failure_.verify_error = error;
        if (role == TlsRole::kServer &&
            context_.client_certificate_ == ClientCertificatePolicy::kOptional) {
            return true;  // CR-40: an invalid certificate only means "not authenticated"
        }
        failure_.failure = TlsFailure::kPeerCertificateInvalid;
        alert = static_cast<uint8_t>(SSL_alert_from_verify_result(error));
        return false;
    }
    peer_authentication_ = PeerAuthentication::kVerified;
    peer_identities_ =
        fe::tls::find_sip_identities(certificate_names(*leaf), context_.identity_policy_);
    if (role == TlsRole::kClient) {
        // RFC 5922 §7.3: the server must own the host we dialled (CR-11, CR-39).
        const fe::tls::MatchResult match =
            fe::tls::match_sip_identity(peer_identities_, peer_host_);
        if (match != fe::tls::MatchResult::kMatch) {
            failure_.failure = TlsFailure::kPeerNameMismatch;
            alert = SSL_AD_BAD_CERTIFICATE;
            return false;
        }
    }
    return true;
}

// ---- After the handshake. ----

bool TlsSession::resumed() const {
    return SSL_session_reused(ssl_.get()) == 1;
}

std::optional<TlsVersion> TlsSession::version() const {
    if (SSL_is_init_finished(ssl_.get()) != 1) {
        return std::nullopt;
    }
    return SSL_version(ssl_.get()) == TLS1_3_VERSION ? TlsVersion::kTls13 : TlsVersion::kTls12;
}

std::string_view TlsSession::cipher_name() const {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
    return cipher == nullptr ? std::string_view() : std::string_view(SSL_CIPHER_get_name(cipher));
}

std::string_view TlsSession::server_name() const {
    const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    return name == nullptr ? std::string_view() : std::string_view(name);
}

std::optional<TlsResumption> TlsSession::take_resumption() {
    if (!resumption_) {
        return std::nullopt;
    }
    return TlsResumption(resumption_.release());
}

}  // namespace fe::net::tls
