#include "net/tls/certificate_names.h"

#include <openssl/asn1.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pool.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <string>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/tls/limits.h"

namespace fe::net::tls {

namespace {

using fe::tls::CertificateNames;
using fe::tls::kCertificateDnsNameSizeMax;
using fe::tls::kCertificateNameCountMax;
using fe::tls::kCertificateUriSizeMax;

size_t name_count(const CertificateNames& names) {
    return names.uris.size() + names.dns_names.size() + names.ip_addresses.size() +
           names.common_names.size();
}

// Appends `value` unless a limit is passed; then marks the names truncated.
void add_name(CertificateNames& names, std::vector<std::string>& list, std::string_view value,
              size_t size_max) {
    if (value.size() > size_max || name_count(names) >= kCertificateNameCountMax) {
        names.truncated = true;
        return;
    }
    list.emplace_back(value);
}

std::string_view string_of(const ASN1_STRING* s) {
    return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<size_t>(ASN1_STRING_length(s)));
}

// iPAddress is the address in network order: 4 or 16 bytes. Anything else is
// not an address (a name constraint's address+mask never appears in a SAN).
void add_ip_address(CertificateNames& names, const ASN1_OCTET_STRING* ip) {
    std::string_view bytes = string_of(ip);
    Endpoint endpoint;
    if (bytes.size() == 4) {
        endpoint.family = Endpoint::Family::kV4;
    } else if (bytes.size() == 16) {
        endpoint.family = Endpoint::Family::kV6;
    } else {
        return;
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
        endpoint.addr[i] = static_cast<uint8_t>(bytes[i]);
    }
    add_name(names, names.ip_addresses, endpoint.address_string(), kCertificateDnsNameSizeMax);
}

void add_subject_alt_names(const X509& certificate, CertificateNames& names) {
    int critical = -1;
    auto* san = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(&certificate, NID_subject_alt_name, &critical, nullptr));
    // -1: absent. Otherwise present, even when it does not decode (NULL with
    // 0/1) or appears twice (-2): then it has no usable entry, and §7.1 step 2
    // still forbids the CN.
    names.has_subject_alt_name = critical != -1;
    if (san == nullptr) {
        return;
    }
    for (size_t i = 0; i < sk_GENERAL_NAME_num(san); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(san, i);
        switch (name->type) {
            case GEN_URI:
                add_name(names, names.uris, string_of(name->d.uniformResourceIdentifier),
                         kCertificateUriSizeMax);
                break;
            case GEN_DNS:
                add_name(names, names.dns_names, string_of(name->d.dNSName),
                         kCertificateDnsNameSizeMax);
                break;
            case GEN_IPADD:
                add_ip_address(names, name->d.iPAddress);
                break;
            default:
                break;  // email, directoryName, otherName ...: never a SIP identity
        }
    }
    GENERAL_NAMES_free(san);
}

void add_common_names(const X509& certificate, CertificateNames& names) {
    const X509_NAME* subject = X509_get_subject_name(&certificate);
    if (subject == nullptr) {
        return;
    }
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
        const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        unsigned char* utf8 = nullptr;
        int size = ASN1_STRING_to_UTF8(&utf8, data);
        if (size >= 0) {
            add_name(
                names, names.common_names,
                std::string_view(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size)),
                kCertificateDnsNameSizeMax);
        }
        OPENSSL_free(utf8);
    }
}

}  // namespace

CertificateNames certificate_names(const X509& certificate) {
    CertificateNames names;
    add_subject_alt_names(certificate, names);
    add_common_names(certificate, names);
    return names;
}

CertificateNames certificate_names_from_der(CRYPTO_BUFFER* der) {
    bssl::UniquePtr<X509> x509(X509_parse_from_buffer(der));
    if (!x509) {
        return CertificateNames{};
    }
    return certificate_names(*x509);
}

}  // namespace fe::net::tls
