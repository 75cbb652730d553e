// Checks net/tls/tls_session.h: a client and a server TlsSession talking
// through memory (tls_test_util.h moves the ciphertext), with the checked-in
// test PKI of tests/data/tls. Covers handshakes in TLS 1.2 and 1.3, data both
// ways and across records, close_notify (CR-32..35), resumption with a ticket
// key shared by two server contexts ("nodes"), the client-certificate
// policies (CR-36..40), SNI and virtual server identities (RFC 5923 §9.3,
// CR-45..47), the RFC 5922 checks of the server by the client (CR-11, CR-39,
// CR-41, CR-42), hostile input (garbage, truncation, a handshake that never
// ends or sends too much), the buffering limits, and the memory an idle
// session holds.
#include "net/tls/tls_session.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "tests/unit/net/tls/tls_test_util.h"

namespace fe::net::tls {
namespace {

using namespace fe::net::tls::testing;
using fe::tls::IdentityKind;
using fe::tls::SipIdentity;

constexpr std::string_view kRegister =
    "REGISTER sips:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK776asdhds;alias\r\n"
    "Max-Forwards: 70\r\nTo: <sips:alice@example.com>\r\nFrom: "
    "<sips:alice@example.com>;tag=1928\r\n"
    "Call-ID: a84b4c76e66710\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";

std::vector<SipIdentity> dns_identities(std::vector<std::string> names) {
    std::vector<SipIdentity> out;
    for (std::string& n : names) {
        out.push_back(SipIdentity{IdentityKind::kDnsName, std::move(n)});
    }
    return out;
}

TlsContextConfig with_versions(TlsContextConfig config, TlsVersion min, TlsVersion max) {
    config.version_min = min;
    config.version_max = max;
    return config;
}

class TlsSessionTest : public ::testing::Test {
  protected:
    std::unique_ptr<TlsContext> server_ = make_context(server_config({kExampleComEc}));
    std::unique_ptr<TlsContext> client_ = make_context(client_config({kExampleComEc}));
};

// ---- Handshakes and data. ----

TEST_F(TlsSessionTest, Tls13HandshakeAuthenticatesBothSides) {
    SessionPair p =
        handshake(*client_, *server_, {.peer_host = "example.com", .identity_index = 0});
    ASSERT_EQ(p.client->state(), TlsState::kOpen) << p.client->describe_failure();
    ASSERT_EQ(p.server->state(), TlsState::kOpen) << p.server->describe_failure();
    EXPECT_TRUE(p.at_client.handshake_completed);
    EXPECT_TRUE(p.at_server.handshake_completed);
    EXPECT_EQ(p.client->version(), TlsVersion::kTls13);
    EXPECT_EQ(p.server->version(), TlsVersion::kTls13);
    EXPECT_FALSE(p.server->resumed());
    // CR-12: the client caches the server's SIP identities (RFC 5922 §7.1).
    EXPECT_EQ(p.client->peer_authentication(), PeerAuthentication::kVerified);
    EXPECT_EQ(p.client->peer_identities().identities,
              dns_identities({"example.com", "p1.example.com"}));
    // CR-29: the server caches the client's identities from its certificate.
    EXPECT_EQ(p.server->peer_authentication(), PeerAuthentication::kVerified);
    EXPECT_EQ(p.server->peer_identities().identities,
              dns_identities({"example.com", "p1.example.com"}));
    EXPECT_EQ(p.server->served_identity_index(), 0u);
    EXPECT_EQ(p.server->server_name(), "example.com");
}

TEST_F(TlsSessionTest, Tls12Handshake) {
    auto server = make_context(
        with_versions(server_config({kExampleComEc}), TlsVersion::kTls12, TlsVersion::kTls12));
    SessionPair p = handshake(*client_, *server, {.peer_host = "example.com", .identity_index = 0});
    ASSERT_EQ(p.client->state(), TlsState::kOpen) << p.client->describe_failure();
    ASSERT_EQ(p.server->state(), TlsState::kOpen) << p.server->describe_failure();
    EXPECT_EQ(p.client->version(), TlsVersion::kTls12);
    EXPECT_EQ(p.server->cipher_name(), "ECDHE-ECDSA-AES128-GCM-SHA256");
    EXPECT_EQ(p.server->peer_authentication(), PeerAuthentication::kVerified);
}

TEST_F(TlsSessionTest, NoCommonVersionFailsCleanly) {
    auto server = make_context(
        with_versions(server_config({kExampleComEc}), TlsVersion::kTls13, TlsVersion::kTls13));
    auto client =
        make_context(with_versions(client_config(), TlsVersion::kTls12, TlsVersion::kTls12));
    SessionPair p = handshake(*client, *server, {.peer_host = "example.com"});
    EXPECT_EQ(p.server->state(), TlsState::kFailed);
    EXPECT_EQ(p.server->failure().failure, TlsFailure::kNoCommonParameters)
        << p.server->describe_failure();
    EXPECT_EQ(p.client->state(), TlsState::kFailed);
    EXPECT_EQ(p.client->failure().failure, TlsFailure::kAlertReceived)
        << p.client->describe_failure();
}

TEST_F(TlsSessionTest, DataBothWays) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    ASSERT_EQ(p.client->state(), TlsState::kOpen);
    std::string_view parts[] = {kRegister.substr(0, 40), kRegister.substr(40)};
    EXPECT_EQ(p.client->write(parts), WriteResult::kQueued);
    p.pump();
    EXPECT_EQ(p.at_server.plaintext, kRegister);
    EXPECT_EQ(p.server->write("SIP/2.0 200 OK\r\n\r\n"), WriteResult::kQueued);
    p.pump();
    EXPECT_EQ(p.at_client.plaintext, "SIP/2.0 200 OK\r\n\r\n");
}

TEST_F(TlsSessionTest, SmallPartsShareOneRecord) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    std::vector<std::string_view> parts(16, "0123456789");
    ASSERT_EQ(p.client->write(parts), WriteResult::kQueued);
    std::string_view out = p.client->take_output();
    // One TLS 1.3 record: 5 header + 160 data + 1 content type + 16 tag.
    EXPECT_EQ(out.size(), 5u + 160u + 1u + 16u);
}

TEST_F(TlsSessionTest, MessageSplitAcrossRecordsAndFeeds) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    std::string big(40000, '\0');
    for (size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 26);
    }
    ASSERT_EQ(p.client->write(big), WriteResult::kQueued);  // three records
    std::string wire(p.client->take_output());
    EXPECT_GT(wire.size(), big.size() + 3 * 5);
    // Seven bytes at a time: every record arrives cut, headers included.
    feed_all(*p.server, wire, p.at_server, 7);
    EXPECT_EQ(p.at_server.plaintext, big);
}

TEST_F(TlsSessionTest, FullPlaintextSpanLeavesTheRestForTheNextCall) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    std::string big(3 * kTlsRecordPlaintextSizeMax, 'x');
    ASSERT_EQ(p.client->write(big), WriteResult::kQueued);
    std::string wire(p.client->take_output());
    std::array<char, kTlsRecordPlaintextSizeMax> plain{};
    FeedResult r = p.server->feed(wire, plain);
    EXPECT_EQ(r.plaintext_size, kTlsRecordPlaintextSizeMax);
    EXPECT_LT(r.consumed, wire.size());  // one record taken, two left to the caller
    size_t total = r.plaintext_size;
    std::string_view rest = std::string_view(wire).substr(r.consumed);
    while (!rest.empty()) {
        r = p.server->feed(rest, plain);
        total += r.plaintext_size;
        rest.remove_prefix(r.consumed);
    }
    EXPECT_EQ(total, big.size());
}

TEST_F(TlsSessionTest, WritesBeforeTheHandshakeEndAreSentAfterIt) {
    SessionPair p = connect_pair(*client_, *server_, {.peer_host = "example.com"});
    const size_t hello_size = p.client->buffered_size();
    EXPECT_EQ(p.client->write(kRegister), WriteResult::kQueued);
    EXPECT_EQ(p.client->buffered_size(), hello_size + kRegister.size());
    p.pump();
    EXPECT_EQ(p.at_server.plaintext, kRegister);
}

// ---- Closing (RFC 5923 §8.3). ----

TEST_F(TlsSessionTest, CloseNotifyBothWays) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    // CR-32: the client closes first.
    p.client->close();
    EXPECT_EQ(p.client->state(), TlsState::kClosing);
    p.pump();
    // CR-35: the server saw close_notify; nothing new may start on it.
    EXPECT_EQ(p.server->state(), TlsState::kClosed);
    EXPECT_EQ(p.server->write(kRegister), WriteResult::kNotOpen);
    // The server answers with its own close_notify; the client is done.
    p.server->close();
    p.pump();
    EXPECT_EQ(p.client->state(), TlsState::kClosed);
    EXPECT_EQ(p.client->end_of_input(), TlsState::kClosed);
}

TEST_F(TlsSessionTest, DataAfterOurCloseNotifyIsDiscarded) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    ASSERT_EQ(p.server->write(kRegister), WriteResult::kQueued);
    std::string in_flight(p.server->take_output());
    p.client->close();  // crosses the server's request on the wire
    Received received;
    feed_all(*p.client, in_flight, received);
    // CR-34: after sending close_notify, TLS data is discarded.
    EXPECT_EQ(received.plaintext, "");
    EXPECT_EQ(p.client->state(), TlsState::kClosing);
}

TEST_F(TlsSessionTest, EndOfInputWithoutCloseNotifyIsTruncation) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    ASSERT_EQ(p.client->write(kRegister), WriteResult::kQueued);
    std::string wire(p.client->take_output());
    Received received;
    feed_all(*p.server, std::string_view(wire).substr(0, wire.size() / 2), received);
    EXPECT_EQ(received.plaintext, "");  // half a record decrypts to nothing
    EXPECT_EQ(p.server->end_of_input(), TlsState::kFailed);
    EXPECT_EQ(p.server->failure().failure, TlsFailure::kTruncated);
}

TEST_F(TlsSessionTest, CloseBeforeTheHandshakeSendsNothing) {
    SessionPair p = connect_pair(*client_, *server_, {.peer_host = "example.com"});
    (void)p.client->take_output();
    p.client->close();
    EXPECT_EQ(p.client->state(), TlsState::kClosed);
    EXPECT_EQ(p.client->take_output(), "");
}

// ---- Resumption with shared ticket keys. ----

class TlsResumptionTest : public ::testing::TestWithParam<TlsVersion> {
  protected:
    TlsContextConfig node_config(std::vector<TicketKey> keys) {
        TlsContextConfig c =
            with_versions(server_config({kExampleComEc, kExampleNetRsa}), GetParam(), GetParam());
        c.ticket_keys = std::move(keys);
        return c;
    }
    // A first full handshake to node `server`; returns the ticket it gave.
    TlsResumption first_session(const TlsContext& server, std::string_view host) {
        SessionPair p = handshake(*client_, server, {.peer_host = host, .identity_index = 0});
        EXPECT_EQ(p.client->state(), TlsState::kOpen) << p.client->describe_failure();
        EXPECT_FALSE(p.client->resumed());
        std::optional<TlsResumption> ticket = p.client->take_resumption();
        EXPECT_TRUE(ticket.has_value());
        return ticket ? std::move(*ticket) : TlsResumption();
    }

    std::unique_ptr<TlsContext> client_ = make_context(client_config({kExampleComEc}));
};

TEST_P(TlsResumptionTest, AnotherNodeWithTheSameTicketKeyResumes) {
    auto node_a = make_context(node_config(test_ticket_keys(1)));
    auto node_b = make_context(node_config(test_ticket_keys(1)));
    TlsResumption ticket = first_session(*node_a, "example.com");
    SessionPair p =
        handshake(*client_, *node_b,
                  {.peer_host = "example.com", .identity_index = 0, .resumption = &ticket});
    ASSERT_EQ(p.server->state(), TlsState::kOpen) << p.server->describe_failure();
    ASSERT_EQ(p.client->state(), TlsState::kOpen) << p.client->describe_failure();
    EXPECT_TRUE(p.server->resumed());
    EXPECT_TRUE(p.client->resumed());
    // The identities survive resumption on both sides (checked again from
    // the certificates the ticket kept).
    EXPECT_EQ(p.server->peer_authentication(), PeerAuthentication::kVerified);
    EXPECT_EQ(p.server->peer_identities().identities,
              dns_identities({"example.com", "p1.example.com"}));
    EXPECT_EQ(p.client->peer_identities().identities,
              dns_identities({"example.com", "p1.example.com"}));
    ASSERT_EQ(p.client->write(kRegister), WriteResult::kQueued);
    p.pump();
    EXPECT_EQ(p.at_server.plaintext, kRegister);
}

TEST_P(TlsResumptionTest, OtherTicketKeysMeanAFullHandshake) {
    auto node_a = make_context(node_config(test_ticket_keys(1)));
    auto node_c = make_context(node_config(test_ticket_keys(99)));
    TlsResumption ticket = first_session(*node_a, "example.com");
    SessionPair p =
        handshake(*client_, *node_c,
                  {.peer_host = "example.com", .identity_index = 0, .resumption = &ticket});
    ASSERT_EQ(p.server->state(), TlsState::kOpen) << p.server->describe_failure();
    EXPECT_FALSE(p.server->resumed());
}

TEST_P(TlsResumptionTest, AnOlderKeyStillOpensTicketsAfterRotation) {
    auto node_a = make_context(node_config(test_ticket_keys(1)));
    std::vector<TicketKey> rotated = test_ticket_keys(50);  // new current key first
    rotated.push_back(test_ticket_keys(1).front());
    auto node_rotated = make_context(node_config(rotated));
    TlsResumption ticket = first_session(*node_a, "example.com");
    SessionPair p =
        handshake(*client_, *node_rotated,
                  {.peer_host = "example.com", .identity_index = 0, .resumption = &ticket});
    EXPECT_TRUE(p.server->resumed());
}

TEST_P(TlsResumptionTest, ATicketNeverResumesUnderAnotherVirtualServer) {
    auto node = make_context(node_config(test_ticket_keys(1)));
    TlsResumption ticket = first_session(*node, "example.com");
    // RFC 5923 §9.3: the same node, but the client now dials example.net.
    SessionPair p = handshake(
        *client_, *node, {.peer_host = "example.net", .identity_index = 0, .resumption = &ticket});
    ASSERT_EQ(p.client->state(), TlsState::kOpen) << p.client->describe_failure();
    EXPECT_FALSE(p.server->resumed());
    EXPECT_EQ(p.server->served_identity_index(), 1u);
    EXPECT_EQ(p.client->peer_identities().identities,
              dns_identities({"example.net", "p2.example.net"}));
}

TEST_P(TlsResumptionTest, AResumedServerIsCheckedAgainstTheDialledHost) {
    auto node = make_context(node_config(test_ticket_keys(1)));
    TlsResumption ticket = first_session(*node, "p1.example.com");
    // Misuse: the ticket of p1.example.com offered for example.net. Whatever
    // the server does, the client must not accept an example.com identity.
    SessionPair p = handshake(*client_, *node, {.peer_host = "example.net", .resumption = &ticket});
    if (p.client->state() == TlsState::kOpen) {
        EXPECT_EQ(p.client->peer_identities().identities,
                  dns_identities({"example.net", "p2.example.net"}));
    } else {
        EXPECT_EQ(p.client->failure().failure, TlsFailure::kPeerNameMismatch);
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsResumptionTest,
                         ::testing::Values(TlsVersion::kTls12, TlsVersion::kTls13),
                         [](const ::testing::TestParamInfo<TlsVersion>& param_info) {
                             return param_info.param == TlsVersion::kTls12 ? std::string("Tls12")
                                                                           : std::string("Tls13");
                         });

// ---- Client certificates (RFC 5923 §9.2). ----

struct PolicyCase {
    const char* name;
    ClientCertificatePolicy policy;
    std::optional<Cert> client_cert;
    TlsState server_state;
    PeerAuthentication authentication;
    TlsFailure server_failure;
    int verify_error;
};

class ClientCertificateTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(ClientCertificateTest, Policy) {
    const PolicyCase& c = GetParam();
    auto server = make_context(server_config({kExampleComEc}, c.policy));
    TlsContextConfig cc = client_config();
    if (c.client_cert) {
        cc.identities.push_back(identity_of(*c.client_cert));
    }
    auto client = make_context(cc);
    ClientOptions options{.peer_host = "example.com"};
    if (c.client_cert) {
        options.identity_index = 0;
    }
    SessionPair p = handshake(*client, *server, options);
    EXPECT_EQ(p.server->state(), c.server_state) << p.server->describe_failure();
    EXPECT_EQ(p.server->failure().failure, c.server_failure) << p.server->describe_failure();
    if (c.server_state == TlsState::kOpen) {
        EXPECT_EQ(p.server->peer_authentication(), c.authentication);
        EXPECT_EQ(p.client->state(), TlsState::kOpen);
    } else {
        EXPECT_EQ(p.client->state(), TlsState::kFailed);
        EXPECT_EQ(p.client->failure().failure, TlsFailure::kAlertReceived)
            << p.client->describe_failure();
    }
    EXPECT_EQ(p.server->failure().verify_error, c.verify_error) << p.server->describe_failure();
    if (p.server->peer_authentication() != PeerAuthentication::kVerified) {
        EXPECT_TRUE(p.server->peer_identities().empty());  // CR-37/CR-40: nothing to alias to
    }
}

INSTANTIATE_TEST_SUITE_P(
    Policies, ClientCertificateTest,
    ::testing::Values(
        // CR-36: an optional listener asks, so a client with a certificate presents it.
        PolicyCase{"OptionalAsksAndVerifies", ClientCertificatePolicy::kOptional, kExampleComEc,
                   TlsState::kOpen, PeerAuthentication::kVerified, TlsFailure::kNone, 0},
        // CR-37: a client without a certificate is accepted, not authenticated.
        PolicyCase{"OptionalAcceptsNoCertificate", ClientCertificatePolicy::kOptional, std::nullopt,
                   TlsState::kOpen, PeerAuthentication::kNone, TlsFailure::kNone, 0},
        // CR-40: an untrusted or expired certificate means "not authenticated".
        PolicyCase{"OptionalUntrustedIsUnverified", ClientCertificatePolicy::kOptional, kUntrusted,
                   TlsState::kOpen, PeerAuthentication::kUnverified, TlsFailure::kNone,
                   X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        // RFC 5922 §7.1, RFC 5280 §4.2.1.12: a serverAuth-only certificate is no client's.
        PolicyCase{"OptionalServerOnlyEkuIsUnverified", ClientCertificatePolicy::kOptional,
                   kServerOnly, TlsState::kOpen, PeerAuthentication::kUnverified, TlsFailure::kNone,
                   X509_V_ERR_INVALID_PURPOSE},
        PolicyCase{"RequiredVerifies", ClientCertificatePolicy::kRequired, kExampleComEc,
                   TlsState::kOpen, PeerAuthentication::kVerified, TlsFailure::kNone, 0},
        PolicyCase{"RequiredRefusesNoCertificate", ClientCertificatePolicy::kRequired, std::nullopt,
                   TlsState::kFailed, PeerAuthentication::kNone,
                   TlsFailure::kPeerCertificateMissing, 0},
        PolicyCase{"RequiredRefusesUntrusted", ClientCertificatePolicy::kRequired, kUntrusted,
                   TlsState::kFailed, PeerAuthentication::kUnverified,
                   TlsFailure::kPeerCertificateInvalid,
                   X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        // A phone listener does not ask: the client's certificate is not sent.
        PolicyCase{"NoneDoesNotAsk", ClientCertificatePolicy::kNone, kExampleComEc, TlsState::kOpen,
                   PeerAuthentication::kNone, TlsFailure::kNone, 0}),
    [](const ::testing::TestParamInfo<PolicyCase>& param_info) {
        return std::string(param_info.param.name);
    });

// A client that is not ours: plain BoringSSL with memory BIOs and any
// certificate (TlsContext refuses to load an expired one, as it should).
class RawClient {
  public:
    RawClient(Cert cert, const char* sni) : ctx_(SSL_CTX_new(TLS_method())) {
        EXPECT_EQ(SSL_CTX_use_certificate_chain_file(
                      ctx_.get(), data_path(std::string(cert.stem) + ".pem").c_str()),
                  1);
        EXPECT_EQ(
            SSL_CTX_use_PrivateKey_file(
                ctx_.get(), data_path(std::string(cert.stem) + ".key").c_str(), SSL_FILETYPE_PEM),
            1);
        ssl_.reset(SSL_new(ctx_.get()));
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl_.get(), in_, out_);
        SSL_set_connect_state(ssl_.get());
        SSL_set_tlsext_host_name(ssl_.get(), sni);
        (void)SSL_do_handshake(ssl_.get());
    }
    std::string take() {
        const uint8_t* data = nullptr;
        size_t size = 0;
        BIO_mem_contents(out_, &data, &size);
        std::string bytes(reinterpret_cast<const char*>(data), size);
        (void)BIO_reset(out_);
        return bytes;
    }
    void give(std::string_view bytes) {
        if (!bytes.empty()) {
            BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
        }
        (void)SSL_do_handshake(ssl_.get());
        char buffer[256];
        (void)SSL_read(ssl_.get(), buffer, sizeof(buffer));
    }
    // Moves bytes between this client and `server` until both are quiet.
    void pump(TlsSession& server) {
        Received ignored;
        for (int round = 0; round < 20; ++round) {
            std::string to_server = take();
            std::string to_client(server.take_output());
            if (to_server.empty() && to_client.empty()) {
                return;
            }
            feed_all(server, to_server, ignored);
            give(to_client);
        }
    }

  private:
    bssl::UniquePtr<SSL_CTX> ctx_;
    bssl::UniquePtr<SSL> ssl_;
    BIO* in_ = nullptr;   // owned by ssl_
    BIO* out_ = nullptr;  // owned by ssl_
};

TEST(ClientCertificate, OptionalTreatsAnExpiredCertificateAsUnverified) {
    // CR-40: an expired client certificate means "not authenticated".
    auto server = make_context(server_config({kExampleComEc}, ClientCertificatePolicy::kOptional));
    std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
    RawClient client(kExpired, "example.com");
    client.pump(*s);
    ASSERT_EQ(s->state(), TlsState::kOpen) << s->describe_failure();
    EXPECT_EQ(s->peer_authentication(), PeerAuthentication::kUnverified);
    EXPECT_EQ(s->failure().verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
    EXPECT_TRUE(s->peer_identities().empty());
}

TEST(ClientCertificate, RequiredRefusesAnExpiredCertificate) {
    auto server = make_context(server_config({kExampleComEc}, ClientCertificatePolicy::kRequired));
    std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
    RawClient client(kExpired, "example.com");
    client.pump(*s);
    EXPECT_EQ(s->state(), TlsState::kFailed);
    EXPECT_EQ(s->failure().failure, TlsFailure::kPeerCertificateInvalid);
    EXPECT_EQ(s->failure().alert_sent, SSL_AD_CERTIFICATE_EXPIRED);
    EXPECT_EQ(
        s->describe_failure(),
        "peer-certificate-invalid: certificate has expired (alert sent: certificate expired)");
}

TEST(ClientCertificate, AUserCertificateAuthenticatesButNamesNoDomain) {
    auto server = make_context(server_config({kExampleComEc}, ClientCertificatePolicy::kRequired));
    auto client = make_context(client_config({kAlicePhone}));
    SessionPair p = handshake(*client, *server, {.peer_host = "example.com", .identity_index = 0});
    ASSERT_EQ(p.server->state(), TlsState::kOpen) << p.server->describe_failure();
    EXPECT_EQ(p.server->peer_authentication(), PeerAuthentication::kVerified);
    // RFC 5922 §7.1: sip:alice@example.com names a user, not a domain.
    EXPECT_TRUE(p.server->peer_identities().empty());
}

TEST(ClientCertificate, FailuresSendAlertsThatSayWhy) {
    auto server = make_context(server_config({kExampleComEc}, ClientCertificatePolicy::kRequired));
    auto client = make_context(client_config({kUntrusted}));
    SessionPair p = handshake(*client, *server, {.peer_host = "example.com", .identity_index = 0});
    ASSERT_EQ(p.server->state(), TlsState::kFailed);
    EXPECT_EQ(p.server->failure().alert_sent, SSL_AD_UNKNOWN_CA);
    EXPECT_EQ(p.client->failure().alert_received, SSL_AD_UNKNOWN_CA);
    EXPECT_EQ(
        p.server->describe_failure(),
        "peer-certificate-invalid: unable to get local issuer certificate (alert sent: unknown "
        "CA)");
}

// ---- The server's certificate, checked by the client (RFC 5922 §7.3). ----

struct ServerNameCase {
    const char* name;
    Cert server_cert;
    const char* dialled;
    TlsFailure client_failure;
};

class ServerIdentityTest : public ::testing::TestWithParam<ServerNameCase> {};

TEST_P(ServerIdentityTest, ClientChecksTheDialledHost) {
    const ServerNameCase& c = GetParam();
    auto server = make_context(server_config({c.server_cert}, ClientCertificatePolicy::kNone));
    auto client = make_context(client_config());
    SessionPair p = handshake(*client, *server, {.peer_host = c.dialled});
    EXPECT_EQ(p.client->failure().failure, c.client_failure) << p.client->describe_failure();
    if (c.client_failure == TlsFailure::kNone) {
        EXPECT_EQ(p.client->state(), TlsState::kOpen);
        EXPECT_EQ(p.server->state(), TlsState::kOpen);
    } else {
        // §7.3: "the client MUST close the connection immediately": the
        // handshake fails, with an alert the server sees.
        EXPECT_EQ(p.client->state(), TlsState::kFailed);
        EXPECT_TRUE(p.client->failure().alert_sent.has_value());
        EXPECT_EQ(p.server->state(), TlsState::kFailed);
        EXPECT_EQ(p.server->failure().failure, TlsFailure::kAlertReceived);
        EXPECT_TRUE(p.client->peer_identities().empty() ||
                    c.client_failure == TlsFailure::kPeerNameMismatch);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5922, ServerIdentityTest,
    ::testing::Values(
        ServerNameCase{"DomainInSipUri", kExampleComEc, "example.com", TlsFailure::kNone},
        ServerNameCase{"CaseInsensitive", kExampleComEc, "EXAMPLE.com", TlsFailure::kNone},
        // CR-39: a certificate for p2.example.net only does not serve example.net... here the
        // certificate names example.com and p1.example.com: dialling another domain fails.
        ServerNameCase{"WrongDomainRefused", kExampleComEc, "example.net",
                       TlsFailure::kPeerNameMismatch},
        // CR-42: no suffix matching.
        ServerNameCase{"SubdomainRefused", kExampleComEc, "a.p1.example.com",
                       TlsFailure::kPeerNameMismatch},
        // CR-41: the dNSName p1.example.com is hidden by the certificate's sip URIs.
        ServerNameCase{"DnsNameHiddenBySipUri", kExampleComEc, "p1.example.com", TlsFailure::kNone},
        // CR-42: a wildcard dNSName authenticates no SIP domain.
        ServerNameCase{"WildcardRefused", kWildcard, "a.example.org",
                       TlsFailure::kPeerNameMismatch},
        // CR-41: no subjectAltName at all: the CN may count (§7.1 step 2).
        ServerNameCase{"CommonNameOnlyCertificate", kCnOnly, "legacy.example.com",
                       TlsFailure::kNone},
        // RFC 5280: a chain through an intermediate CA.
        ServerNameCase{"ChainThroughIntermediate", kChainLeaf, "chain.example.com",
                       TlsFailure::kNone},
        // CR-11: an untrusted server is not authenticated.
        ServerNameCase{"UntrustedServerRefused", kUntrusted, "example.com",
                       TlsFailure::kPeerCertificateInvalid},
        // An IP literal: no SNI, and the certificate has no sip:192.0.2.1.
        ServerNameCase{"IpLiteralNotInCertificate", kExampleComEc, "192.0.2.1",
                       TlsFailure::kPeerNameMismatch}),
    [](const ::testing::TestParamInfo<ServerNameCase>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(ServerIdentity, ExpiredServerCertificateRefused) {
    auto server = make_context(server_config({kExampleComEc}, ClientCertificatePolicy::kNone));
    TlsContextConfig cc = client_config();
    cc.now_unix_s_for_test = 7258118400;  // 2200-01-01: every test certificate has expired
    auto client = make_context(cc);
    SessionPair p = handshake(*client, *server, {.peer_host = "example.com"});
    EXPECT_EQ(p.client->failure().failure, TlsFailure::kPeerCertificateInvalid);
    EXPECT_EQ(p.client->failure().verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
    EXPECT_EQ(p.client->failure().alert_sent, SSL_AD_CERTIFICATE_EXPIRED);
}

// ---- SNI and virtual servers (RFC 5922 §7.8, RFC 5923 §9.3). ----

TEST(VirtualServers, SniSelectsTheCertificate) {
    auto server = make_context(server_config({kExampleComEc, kExampleNetRsa}));
    auto client = make_context(client_config({kExampleComEc, kExampleNetRsa}));
    struct Case {
        const char* dialled;
        size_t served;
    } cases[] = {
        {"example.com", 0}, {"p1.example.com", 0}, {"example.net", 1}, {"P2.EXAMPLE.NET", 1}};
    for (const Case& c : cases) {
        // CR-47: each side presents the certificate of the domain it speaks for.
        SessionPair p =
            handshake(*client, *server, {.peer_host = c.dialled, .identity_index = c.served});
        ASSERT_EQ(p.client->state(), TlsState::kOpen)
            << c.dialled << ": " << p.client->describe_failure();
        EXPECT_EQ(p.server->served_identity_index(), c.served) << c.dialled;
        EXPECT_EQ(p.client->served_identity_index(), c.served) << c.dialled;
        EXPECT_EQ(p.server->peer_identities().identities,
                  server->identity(c.served).sip_identities.identities)
            << c.dialled;
    }
}

TEST(VirtualServers, UnknownOrMissingSniGetsTheFirstCertificate) {
    auto server = make_context(server_config({kExampleComEc, kExampleNetRsa}));
    auto client = make_context(client_config());
    SessionPair p = handshake(*client, *server, {.peer_host = "other.example"});
    EXPECT_EQ(p.server->served_identity_index(), 0u);
    EXPECT_EQ(p.client->failure().failure, TlsFailure::kPeerNameMismatch);
    SessionPair q = handshake(*client, *server, {.peer_host = "192.0.2.1"});  // no SNI for an IP
    EXPECT_EQ(q.server->served_identity_index(), 0u);
    EXPECT_EQ(q.server->server_name(), "");
}

// ---- Hostile input. ----

TEST_F(TlsSessionTest, GarbageInsteadOfAClientHelloFailsCleanly) {
    const std::string_view inputs[] = {
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "REGISTER sip:example.com SIP/2.0\r\n",
        std::string_view("\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff",
                         10),  // handshake record of junk
        std::string_view("\x17\x03\x03\x00\x10"
                         "0123456789abcdef",
                         21),  // app data before a hello
    };
    for (std::string_view input : inputs) {
        std::unique_ptr<TlsSession> s = TlsSession::accept(*server_);
        Received received;
        feed_all(*s, input, received);
        EXPECT_EQ(s->state(), TlsState::kFailed) << input;
        EXPECT_EQ(s->failure().failure, TlsFailure::kProtocol) << s->describe_failure();
        EXPECT_EQ(received.plaintext, "");
        // More bytes after the failure are consumed and ignored.
        std::array<char, kTlsRecordPlaintextSizeMax> plain{};
        FeedResult r = s->feed("more", plain);
        EXPECT_EQ(r.consumed, 4u);
        EXPECT_EQ(r.state, TlsState::kFailed);
    }
}

TEST_F(TlsSessionTest, CorruptRecordAfterTheHandshakeFails) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    ASSERT_EQ(p.client->write(kRegister), WriteResult::kQueued);
    std::string wire(p.client->take_output());
    wire[wire.size() / 2] ^= 0x01;
    Received received;
    feed_all(*p.server, wire, received);
    EXPECT_EQ(p.server->state(), TlsState::kFailed);
    EXPECT_EQ(received.plaintext, "");
    EXPECT_EQ(p.server->failure().alert_sent, SSL_AD_BAD_RECORD_MAC);
}

TEST_F(TlsSessionTest, TruncatedClientHelloWaitsThenEndsAsTruncation) {
    SessionPair p = connect_pair(*client_, *server_, {.peer_host = "example.com"});
    std::string hello(p.client->take_output());
    Received received;
    feed_all(*p.server, std::string_view(hello).substr(0, hello.size() - 10), received);
    EXPECT_EQ(p.server->state(), TlsState::kHandshaking);
    EXPECT_EQ(p.server->take_output(), "");  // nothing to answer yet
    EXPECT_EQ(p.server->end_of_input(), TlsState::kFailed);
    EXPECT_EQ(p.server->failure().failure, TlsFailure::kTruncated);
}

TEST_F(TlsSessionTest, APeerThatNeverFinishesHoldsNoBuffer) {
    // A slowloris at the TLS layer: a record header announcing 16 KiB, then
    // one byte at a time. BoringSSL keeps the one incomplete record; we keep
    // nothing, and the session waits for the transport's handshake timer
    // (kTlsHandshakeTimeMax).
    std::unique_ptr<TlsSession> s = TlsSession::accept(*server_);
    std::array<char, kTlsRecordPlaintextSizeMax> plain{};
    FeedResult r =
        s->feed(std::string_view("\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03", 11), plain);
    EXPECT_EQ(r.consumed, 11u);
    for (int i = 0; i < 10000; ++i) {
        r = s->feed(std::string_view("\x00", 1), plain);
        ASSERT_EQ(r.consumed, 1u);
        ASSERT_EQ(r.state, TlsState::kHandshaking);
    }
    EXPECT_EQ(s->buffered_size(), 0u);
}

TEST_F(TlsSessionTest, HandshakeReceiveLimit) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.handshake_receive_size_max = 100;  // a ClientHello is larger
    auto server = make_context(config);
    SessionPair p = handshake(*client_, *server, {.peer_host = "example.com"});
    EXPECT_EQ(p.server->state(), TlsState::kFailed);
    EXPECT_EQ(p.server->failure().failure, TlsFailure::kHandshakeTooLarge)
        << p.server->describe_failure();
}

TEST_F(TlsSessionTest, TheDefaultHandshakeLimitHoldsAgainstAFlood) {
    // Valid-looking handshake records that never form a ClientHello's end: the
    // session fails at kTlsHandshakeReceiveSizeMax, not later.
    std::unique_ptr<TlsSession> s = TlsSession::accept(*server_);
    std::string hello_start("\x16\x03\x01\x40\x00\x01\xff\xff\xff", 9);  // a 16 MiB ClientHello
    std::array<char, kTlsRecordPlaintextSizeMax> plain{};
    (void)s->feed(hello_start, plain);
    std::string filler(4096, 'A');
    size_t fed = hello_start.size();
    while (s->state() == TlsState::kHandshaking && fed < 4 * kTlsHandshakeReceiveSizeMax) {
        FeedResult r = s->feed(filler, plain);
        fed += r.consumed;
    }
    EXPECT_EQ(s->state(), TlsState::kFailed);
    EXPECT_LE(fed, kTlsHandshakeReceiveSizeMax + filler.size());
}

// ---- Limits on what a session buffers. ----

TEST_F(TlsSessionTest, PendingPlaintextIsBounded) {
    TlsContextConfig config = client_config();
    config.pending_plaintext_size_max = 1000;
    auto client = make_context(config);
    SessionPair p = connect_pair(*client, *server_, {.peer_host = "example.com"});
    EXPECT_EQ(p.client->write(std::string(600, 'a')), WriteResult::kQueued);
    EXPECT_EQ(p.client->write(std::string(600, 'b')), WriteResult::kFull);
    EXPECT_EQ(p.client->write(std::string(400, 'c')), WriteResult::kQueued);
    p.pump();
    EXPECT_EQ(p.at_server.plaintext, std::string(600, 'a') + std::string(400, 'c'));
}

TEST_F(TlsSessionTest, OutputNotTakenIsBounded) {
    SessionPair p = handshake(*client_, *server_, {.peer_host = "example.com"});
    size_t queued = 0;
    WriteResult w = WriteResult::kQueued;
    while ((w = p.client->write(kRegister)) == WriteResult::kQueued) {
        queued += kRegister.size();
        ASSERT_LE(p.client->buffered_size(), kTlsOutputSizeMax);
    }
    EXPECT_EQ(w, WriteResult::kFull);
    EXPECT_GT(queued, kTlsOutputSizeMax / 2);
    p.pump();  // a slow reader that finally reads gets everything queued, intact
    EXPECT_EQ(p.at_server.plaintext.size(), queued);
    EXPECT_EQ(p.client->write(kRegister), WriteResult::kQueued);
}

// ---- Memory of an idle session. ----

[[maybe_unused]] size_t heap_in_use() {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

TEST(IdleSessionMemory, AFewKilobytesOnceTheHandshakeIsDone) {
#if defined(FE_SANITIZE) || defined(FE_FUZZ)
    GTEST_SKIP() << "the sanitizer's allocator does not report through mallinfo2()";
#else
    auto server = make_context(server_config({kExampleComEc}));
    auto client = make_context(client_config({kExampleComEc}));
    auto measure = [&](bool client_certificate) {
        constexpr size_t kCount = 200;
        // Warm up BoringSSL's per-thread state and our thread-local scratch.
        (void)handshake(*client, *server, {.peer_host = "example.com"});
        std::vector<SessionPair> pairs;
        pairs.reserve(kCount);
        const size_t before = heap_in_use();
        for (size_t i = 0; i < kCount; ++i) {
            ClientOptions options{.peer_host = "example.com"};
            if (client_certificate) {
                options.identity_index = 0;
            }
            pairs.push_back(handshake(*client, *server, options));
            EXPECT_EQ(pairs.back().client->write(kRegister), WriteResult::kQueued);
            pairs.back().pump();
            pairs.back().at_server = Received{};  // the test's own copies
            pairs.back().at_client = Received{};
        }
        const size_t both = heap_in_use() - before;
        for (SessionPair& p : pairs) {
            p.client.reset();
        }
        const size_t server_only = heap_in_use() - before;
        const size_t per_server = server_only / kCount;
        const size_t per_client = (both - server_only) / kCount;
        std::printf("idle session memory (%s client certificate): server %zu B, client %zu B\n",
                    client_certificate ? "with" : "without", per_server, per_client);
        return std::pair<size_t, size_t>(per_server, per_client);
    };
    auto [server_plain, client_plain] = measure(false);
    auto [server_mutual, client_mutual] = measure(true);
    RecordProperty("server_bytes_no_client_cert", static_cast<int>(server_plain));
    RecordProperty("server_bytes_client_cert", static_cast<int>(server_mutual));
    RecordProperty("client_bytes", static_cast<int>(client_mutual));
    // Measured (Release, BoringSSL of Debian 12): about 4.5 KB, 5.5 KB and
    // 3.7 KB, malloc overhead included. The bounds leave room for allocator
    // noise; a jump past them means something stopped being released.
    EXPECT_LE(server_plain, 6u * 1024);
    EXPECT_LE(server_mutual, 8u * 1024);
    EXPECT_LE(client_plain, 6u * 1024);
#endif
}

}  // namespace
}  // namespace fe::net::tls
