#include "net/tls/internal/boringssl.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/base/assert.h"

namespace fe::net::tls::internal {

CRYPTO_BUFFER_POOL* certificate_pool() {
    static CRYPTO_BUFFER_POOL* const pool = CRYPTO_BUFFER_POOL_new();
    FE_ASSERT(pool != nullptr);
    return pool;
}

int session_ex_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    FE_ASSERT(index >= 0);
    return index;
}

const char* take_error_reason(uint32_t* packed_error) {
    const uint32_t error = ERR_peek_last_error();
    if (packed_error != nullptr) {
        *packed_error = error;
    }
    ERR_clear_error();
    return error == 0 ? nullptr : ERR_reason_error_string(error);
}

std::string subject_text(const X509& certificate) {
    char buffer[256];
    if (X509_NAME_oneline(X509_get_subject_name(&certificate), buffer, sizeof(buffer)) == nullptr) {
        return "(no subject)";
    }
    std::string text(buffer);
    // "/O=x/CN=y" reads better as "O=x, CN=y".
    if (!text.empty() && text[0] == '/') {
        text.erase(0, 1);
    }
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '/') {
            text.replace(i, 1, ", ");
        }
    }
    return text;
}

std::string time_text(const ASN1_TIME* time) {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || time == nullptr || ASN1_TIME_print(bio.get(), time) != 1) {
        ERR_clear_error();
        return "(unreadable time)";
    }
    const uint8_t* data = nullptr;
    size_t size = 0;
    BIO_mem_contents(bio.get(), &data, &size);
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace fe::net::tls::internal
