// Checks net/tls/tls_context.h, the control plane of TLS: what a context
// learns from its certificates (SNI names, SIP identities), and that every
// configuration mistake is an absl::Status whose message names the file and
// says how to fix it (missing file, wrong content, a key that does not match,
// expired and not yet valid certificates, trust anchors, ticket key files,
// versions, ciphers, a server name claimed twice).
#include "net/tls/tls_context.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/net/tls/tls_test_util.h"

namespace fe::net::tls {
namespace {

using namespace fe::net::tls::testing;

std::string error_of(const TlsContextConfig& config) {
    absl::StatusOr<std::unique_ptr<TlsContext>> context = TlsContext::create(config);
    EXPECT_FALSE(context.ok());
    return context.ok() ? std::string() : std::string(context.status().message());
}

TEST(TlsContextTest, IdentitiesAndTheirServerNames) {
    auto context = make_context(server_config({kExampleComEc, kExampleNetRsa}));
    ASSERT_TRUE(context);
    ASSERT_EQ(context->identity_count(), 2u);
    EXPECT_EQ(context->identity(0).label, "example.com");
    EXPECT_EQ(context->identity(0).server_names,
              (std::vector<std::string>{"example.com", "p1.example.com"}));
    EXPECT_EQ(context->identity(1).server_names,
              (std::vector<std::string>{"example.net", "p2.example.net"}));
    EXPECT_EQ(context->identity(1).sip_identities.source, fe::tls::IdentitySource::kSipUri);
    EXPECT_EQ(context->find_identity("P2.Example.NET"), 1u);
    EXPECT_EQ(context->find_identity("example.com"), 0u);
    EXPECT_EQ(context->find_identity("www.example.com"), std::nullopt);
    EXPECT_EQ(context->client_certificate(), ClientCertificatePolicy::kOptional);  // the default
}

TEST(TlsContextTest, ConfiguredServerNamesReplaceTheCertificates) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.identities[0].server_names = {"SIP.Example.COM"};
    auto context = make_context(config);
    ASSERT_TRUE(context);
    EXPECT_EQ(context->identity(0).server_names, (std::vector<std::string>{"sip.example.com"}));
    EXPECT_EQ(context->find_identity("example.com"), std::nullopt);
}

TEST(TlsContextTest, CommonNameOnlyCertificateIsNamedByItsCn) {
    auto context = make_context(server_config({kCnOnly}));
    ASSERT_TRUE(context);
    EXPECT_EQ(context->identity(0).server_names, (std::vector<std::string>{"legacy.example.com"}));
}

TEST(TlsContextTest, ChainWithIntermediateLoads) {
    auto context = make_context(server_config({kChainLeaf}));
    ASSERT_TRUE(context);
    EXPECT_EQ(context->identity(0).label, "chain.example.com");
}

TEST(TlsContextTest, MissingFileSaysWhichAndWhy) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.identities[0].certificate_chain_file = "/nonexistent/cert.pem";
    EXPECT_EQ(error_of(config),
              "TLS certificate chain file /nonexistent/cert.pem cannot be read: No such file or "
              "directory; check the path and that flowedge may read it");
}

TEST(TlsContextTest, AFileWithoutCertificate) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.identities[0].certificate_chain_file = data_path("example-com-ec.key");
    std::string error = error_of(config);
    EXPECT_NE(
        error.find("holds no certificate: it needs PEM blocks starting -----BEGIN CERTIFICATE"),
        std::string::npos)
        << error;
}

TEST(TlsContextTest, AFileWithoutKey) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.identities[0].private_key_file = data_path("example-com-ec.pem");
    std::string error = error_of(config);
    EXPECT_NE(error.find("holds no usable private key"), std::string::npos) << error;
    EXPECT_NE(error.find("-----BEGIN PRIVATE KEY-----"), std::string::npos) << error;
}

TEST(TlsContextTest, KeyThatDoesNotMatchTheCertificate) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.identities[0].private_key_file = data_path("names.key");
    std::string error = error_of(config);
    EXPECT_EQ(error, "TLS private key " + data_path("names.key") +
                         " does not match the certificate in " + data_path("example-com-ec.pem") +
                         " (CN=p1.example.com): give the key the certificate was issued for (the "
                         "leaf must come first in the chain file)");
}

TEST(TlsContextTest, ExpiredCertificate) {
    TlsContextConfig config = server_config({kExpired});
    absl::StatusOr<std::unique_ptr<TlsContext>> context = TlsContext::create(config);
    ASSERT_FALSE(context.ok());
    EXPECT_EQ(context.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(context.status().message(),
              "TLS certificate " + data_path("expired.pem") +
                  " (CN=p1.example.com) expired on Jan  1 00:00:00 2001 GMT: renew it (and restart "
                  "or reload flowedge)");
}

TEST(TlsContextTest, NotYetValidCertificate) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.now_unix_s_for_test = 946684800;  // 2000-01-01, before every test certificate
    std::string error = error_of(config);
    EXPECT_NE(error.find("is not valid before"), std::string::npos) << error;
    EXPECT_NE(error.find("check this machine's clock"), std::string::npos) << error;
}

TEST(TlsContextTest, ExpiredIntermediateIsNamedByItsPlaceInTheChain) {
    TlsContextConfig config = server_config({kChainLeaf});
    config.now_unix_s_for_test = 7258118400;  // 2200-01-01
    std::string error = error_of(config);
    EXPECT_NE(error.find("TLS certificate " + data_path("chain-leaf-chain.pem") +
                         " (CN=chain.example.com) expired"),
              std::string::npos)
        << error;
}

TEST(TlsContextTest, AListenerNeedsACertificate) {
    TlsContextConfig config = server_config({});
    EXPECT_EQ(error_of(config),
              "a TLS listener needs a certificate chain and its private key (--tls-cert and "
              "--tls-key)");
}

TEST(TlsContextTest, TrustAnchorsWhenPeersAreVerified) {
    TlsContextConfig client = client_config();
    client.ca_file.clear();
    EXPECT_EQ(
        error_of(client),
        "outbound TLS connections verify the server's certificate, which needs trust anchors: "
        "give --tls-ca a PEM file of CA certificates");
    TlsContextConfig server = server_config({kExampleComEc}, ClientCertificatePolicy::kOptional);
    server.ca_file.clear();
    EXPECT_NE(error_of(server).find("client certificate policy optional"), std::string::npos);
    // A phone listener verifies nobody and needs no CA file.
    TlsContextConfig phones = server_config({kExampleComEc}, ClientCertificatePolicy::kNone);
    phones.ca_file.clear();
    EXPECT_TRUE(make_context(phones));
    TlsContextConfig missing = client_config();
    missing.ca_file = "/nonexistent/ca.pem";
    EXPECT_NE(error_of(missing).find("TLS CA file /nonexistent/ca.pem cannot be read"),
              std::string::npos);
}

TEST(TlsContextTest, TicketKeyFiles) {
    EXPECT_TRUE(TicketKey::parse(std::string(80, 'k')).ok());
    EXPECT_EQ(TicketKey::parse(std::string(160, 'k'))->size(), 2u);
    for (size_t size : {0u, 48u, 79u, 81u, 400u}) {
        absl::StatusOr<std::vector<TicketKey>> keys = TicketKey::parse(std::string(size, 'k'));
        ASSERT_FALSE(keys.ok()) << size;
        EXPECT_NE(std::string(keys.status().message()).find("`openssl rand 80 > ticket.key`"),
                  std::string::npos);
    }
    std::string bytes(80, '\0');
    bytes[0] = 'N';
    bytes[16] = 'H';
    bytes[48] = 'A';
    TicketKey key = TicketKey::parse(bytes)->front();
    EXPECT_EQ(key.name[0], 'N');
    EXPECT_EQ(key.hmac_key[0], 'H');
    EXPECT_EQ(key.aes_key[0], 'A');
    TlsContextConfig client = client_config();
    client.ticket_keys = test_ticket_keys(1);
    EXPECT_NE(error_of(client).find("belong to a listener"), std::string::npos);
}

TEST(TlsContextTest, VersionsAndCiphers) {
    TlsContextConfig config = server_config({kExampleComEc});
    config.version_min = TlsVersion::kTls13;
    config.version_max = TlsVersion::kTls12;
    EXPECT_EQ(
        error_of(config),
        "TLS minimum version TLSv1.3 is above the maximum TLSv1.2: lower the minimum or raise "
        "the maximum");
    TlsContextConfig ciphers = server_config({kExampleComEc});
    ciphers.tls12_ciphers = "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER";
    EXPECT_NE(error_of(ciphers).find("is not valid"), std::string::npos);
}

TEST(TlsContextTest, AServerNameClaimedTwice) {
    TlsContextConfig config = server_config({kExampleComEc, kUntrusted});  // same names
    EXPECT_EQ(error_of(config),
              "TLS server name example.com is claimed by certificate 1 (example.com) and "
              "certificate 2 (example.com): SNI must select one; give each certificate its own "
              "server names");
}

}  // namespace
}  // namespace fe::net::tls
