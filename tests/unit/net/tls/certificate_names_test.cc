// Checks net/tls/certificate_names.h, the copy of an X.509 certificate's names
// into the pure struct that core/tls's RFC 5922 rules read: every SAN type we
// look at, the CN, a certificate without subjectAltName, the name count limit
// (fail closed), and DER that does not parse. The certificates are the
// checked-in test PKI (tests/data/tls/make-test-certs.sh).
#include "net/tls/certificate_names.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/tls/limits.h"
#include "tests/unit/net/tls/tls_test_util.h"

namespace fe::net::tls {
namespace {

using fe::tls::IdentitySource;
using Strings = std::vector<std::string>;

bssl::UniquePtr<X509> load(std::string_view stem) {
    std::string path = testing::data_path(std::string(stem) + ".pem");
    FILE* f = std::fopen(path.c_str(), "r");
    EXPECT_NE(f, nullptr) << path;
    if (f == nullptr) {
        return nullptr;
    }
    bssl::UniquePtr<X509> x509(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    return x509;
}

TEST(CertificateNamesTest, EverySubjectAltNameType) {
    bssl::UniquePtr<X509> cert = load("names");
    ASSERT_TRUE(cert);
    fe::tls::CertificateNames names = certificate_names(*cert);
    EXPECT_TRUE(names.has_subject_alt_name);
    EXPECT_FALSE(names.truncated);
    EXPECT_EQ(names.uris,
              (Strings{"sip:example.com", "sips:secure.example.com", "sip:alice@example.com"}));
    EXPECT_EQ(names.dns_names, (Strings{"dns.example.com"}));
    EXPECT_EQ(names.ip_addresses, (Strings{"192.0.2.7", "2001:db8::7"}));
    EXPECT_EQ(names.common_names, (Strings{"names.example.com"}));  // email is never kept
    // RFC 5922 §7.1: only the sip URI without user part is an identity.
    fe::tls::SipIdentities ids = fe::tls::find_sip_identities(names);
    EXPECT_EQ(ids.source, IdentitySource::kSipUri);
    ASSERT_EQ(ids.identities.size(), 1u);
    EXPECT_EQ(ids.identities[0].name, "example.com");
}

TEST(CertificateNamesTest, NoSubjectAltNameKeepsTheCommonName) {
    bssl::UniquePtr<X509> cert = load("cn-only");
    ASSERT_TRUE(cert);
    fe::tls::CertificateNames names = certificate_names(*cert);
    EXPECT_FALSE(names.has_subject_alt_name);
    EXPECT_EQ(names.common_names, (Strings{"legacy.example.com"}));
    EXPECT_EQ(fe::tls::find_sip_identities(names).source, IdentitySource::kCommonName);
}

TEST(CertificateNamesTest, WildcardIsCopiedAsWritten) {
    bssl::UniquePtr<X509> cert = load("wildcard");
    ASSERT_TRUE(cert);
    fe::tls::CertificateNames names = certificate_names(*cert);
    EXPECT_EQ(names.dns_names, (Strings{"*.example.org"}));
    EXPECT_EQ(fe::tls::match_sip_identity(fe::tls::find_sip_identities(names), "a.example.org"),
              fe::tls::MatchResult::kNoMatch);
}

TEST(CertificateNamesTest, TooManyNamesFailClosed) {
    bssl::UniquePtr<X509> cert = load("many-names");  // 101 dNSNames
    ASSERT_TRUE(cert);
    fe::tls::CertificateNames names = certificate_names(*cert);
    EXPECT_TRUE(names.truncated);
    EXPECT_LE(names.dns_names.size(), fe::tls::kCertificateNameCountMax);
    EXPECT_TRUE(fe::tls::find_sip_identities(names).empty());
}

TEST(CertificateNamesTest, FromDerBuffers) {
    bssl::UniquePtr<X509> cert = load("example-net-rsa");
    ASSERT_TRUE(cert);
    uint8_t* der = nullptr;
    int size = i2d_X509(cert.get(), &der);
    ASSERT_GT(size, 0);
    bssl::UniquePtr<CRYPTO_BUFFER> buffer(
        CRYPTO_BUFFER_new(der, static_cast<size_t>(size), nullptr));
    OPENSSL_free(der);
    fe::tls::CertificateNames names = certificate_names_from_der(buffer.get());
    EXPECT_EQ(names.uris, (Strings{"sip:example.net", "sip:p2.example.net"}));

    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    bssl::UniquePtr<CRYPTO_BUFFER> bad(CRYPTO_BUFFER_new(junk, sizeof(junk), nullptr));
    fe::tls::CertificateNames none = certificate_names_from_der(bad.get());
    EXPECT_FALSE(none.has_subject_alt_name);
    EXPECT_TRUE(none.common_names.empty());
}

}  // namespace
}  // namespace fe::net::tls
