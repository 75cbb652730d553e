#include "net/tls/internal/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/base/strings.h"
#include "net/tls/internal/boringssl.h"
#include "net/tls/limits.h"

namespace fe::net::tls::internal {

namespace {

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

bssl::UniquePtr<BIO> memory_bio(std::string_view pem) {
    return bssl::UniquePtr<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// A password callback that has none: an encrypted key fails to load instead
// of prompting on a terminal the daemon does not have.
int no_password(char*, int, int, void*) {
    return 0;
}

}  // namespace

absl::StatusOr<std::string> read_pem_file(std::string_view what, const std::string& path) {
    if (path.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(to_absl(what), " file is not set"));
    }
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        return absl::NotFoundError(absl::StrCat(to_absl(what), " file ", path,
                                                " cannot be read: ", std::strerror(errno),
                                                "; check the path and that flowedge may read it"));
    }
    std::string data;
    char buffer[16384];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
        data.append(buffer, n);
        if (data.size() > kTlsPemFileSizeMax) {
            return absl::InvalidArgumentError(absl::StrCat(to_absl(what), " file ", path,
                                                           " is larger than ", kTlsPemFileSizeMax,
                                                           " bytes: is it the right file?"));
        }
    }
    if (std::ferror(file.get())) {
        return absl::InternalError(
            absl::StrCat(to_absl(what), " file ", path, " cannot be read: ", std::strerror(errno)));
    }
    return data;
}

absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> parse_certificates(std::string_view what,
                                                                      const std::string& path,
                                                                      std::string_view pem) {
    ERR_clear_error();  // only this file's errors below
    bssl::UniquePtr<BIO> bio = memory_bio(pem);
    std::vector<bssl::UniquePtr<X509>> certificates;
    while (true) {
        bssl::UniquePtr<X509> certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (certificate) {
            certificates.push_back(std::move(certificate));
            continue;
        }
        uint32_t error = 0;
        const char* reason = take_error_reason(&error);
        if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
            break;  // no more CERTIFICATE blocks
        }
        return absl::InvalidArgumentError(absl::StrCat(
            to_absl(what), " file ", path, " has a certificate that does not parse (",
            reason != nullptr ? reason : "unknown error", " after ", certificates.size(),
            " good ones): is it PEM with -----BEGIN CERTIFICATE----- blocks?"));
    }
    if (certificates.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            to_absl(what), " file ", path,
            " holds no certificate: it needs PEM blocks starting -----BEGIN CERTIFICATE-----"));
    }
    return certificates;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> parse_private_key(const std::string& path,
                                                            std::string_view pem) {
    ERR_clear_error();
    bssl::UniquePtr<BIO> bio = memory_bio(pem);
    bssl::UniquePtr<EVP_PKEY> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) {
        const char* reason = take_error_reason();
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS private key file ", path, " holds no usable private key (",
            reason != nullptr ? reason : "unknown error",
            "): it needs an unencrypted PEM block -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE "
            "KEY); decrypt an encrypted key with `openssl pkey -in KEY -out KEY.plain`"));
    }
    return key;
}

}  // namespace fe::net::tls::internal
