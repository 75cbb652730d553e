// Checks the composed transaction key (core/txn/internal/txn_key.h) byte by
// byte: the eight-at-a-time lowercasing against ascii_lower() for every byte
// value in every lane, and the layout of a server key for parts whose sizes
// are and are not multiples of eight.
#include "core/txn/internal/txn_key.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/base/strings.h"

namespace fe::txn::internal {
namespace {

TEST(TxnKeyTest, EightAtATimeLowersExactlyLikeAsciiLower) {
    for (unsigned value = 0; value < 256; ++value) {
        for (size_t lane = 0; lane < 8; ++lane) {
            // The other lanes hold neighbours of the value, so carries or
            // borrows between lanes would show.
            char bytes[8];
            for (size_t i = 0; i < 8; ++i) {
                bytes[i] = static_cast<char>(i == lane ? value : (value + 37 * i) & 0xff);
            }
            uint64_t word;
            std::memcpy(&word, bytes, 8);
            word = ascii_lower_8(word);
            char lowered[8];
            std::memcpy(lowered, &word, 8);
            for (size_t i = 0; i < 8; ++i) {
                ASSERT_EQ(lowered[i], ascii_lower(bytes[i])) << "value " << value << " lane " << i;
            }
        }
    }
}

TEST(TxnKeyTest, ServerKeyLayout) {
    for (size_t size : {7u, 8u, 9u, 16u, 23u, 64u}) {
        const std::string branch = "z9hG4bK" + std::string(size, 'X') + "Az@[`{";
        const ServerKey key{branch, "Pc33.Atlanta.COM:5060", "INVITE"};
        ASSERT_EQ(check_server(key), TxnTableError::kOk);
        KeyBuilder composed;
        compose_server(key, "ACK", composed);
        std::string expected = "S";
        expected += static_cast<char>(branch.size() >> 8);
        expected += static_cast<char>(branch.size() & 0xff);
        for (char c : branch) {
            expected += ascii_lower(c);
        }
        expected += '\0';
        expected += static_cast<char>(21);
        expected += "pc33.atlanta.com:5060";
        expected += "ACK";  // the method as given, case kept
        EXPECT_EQ(composed.view(), expected) << size;
    }
}

}  // namespace
}  // namespace fe::txn::internal
