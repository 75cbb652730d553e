// File: core/txn/internal/txn_key.h
//
// The composed transaction keys of RFC 3261 §17.1.3 and §17.2.3, shared by the
// two indexes of the transaction layer: TxnTable (live transactions) and
// CompletedTable (transactions that only answer retransmissions). One
// composition means one set of matching rules (magic cookie, case, ACK and
// CANCEL) for both.
//
//   fe::txn::internal::KeyBuilder key;
//   if (fe::txn::internal::check_server(request_key) == fe::txn::TxnTableError::kOk) {
//       fe::txn::internal::compose_server(request_key, "INVITE", key);  // an ACK's INVITE
//       index.find(key.view());
//   }
//
// Layout (never on a wire; the index keys are these bytes):
//
//   client: 'C' | branch size (2, big-endian) | lower(branch) | method
//   server: 'S' | branch size (2) | lower(branch) | sent-by size (2) | lower(sent-by) | method
//
// Sizes make the split unambiguous whatever bytes the parts hold; the method
// is last, so it needs none. The tag keeps client and server keys apart.
// Branch and sent-by compare case-insensitively (§7.3.1), the method
// case-sensitively (§7.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/assert.h"
#include "core/txn/limits.h"
#include "core/txn/txn_table.h"

namespace fe::txn::internal {

inline constexpr size_t kComposedKeySizeMax =
    1 + 2 + kBranchSizeMax + 2 + kSentBySizeMax + kMethodSizeMax;
static_assert(kBranchSizeMax <= UINT16_MAX, "branch size must fit its 2-byte prefix");
static_assert(kSentBySizeMax <= UINT16_MAX, "sent-by size must fit its 2-byte prefix");

inline constexpr std::string_view kAck = "ACK";
inline constexpr std::string_view kInvite = "INVITE";
inline constexpr std::string_view kCancel = "CANCEL";

// A composed key on the stack; parts must have passed check_*() first.
class KeyBuilder {
public:
    void put_tag(char tag) {
        reserve(1);
        bytes_[size_++] = tag;
    }
    void put_sized_lower(std::string_view part);
    void put_raw(std::string_view part);
    std::string_view view() const { return std::string_view(bytes_.data(), size_); }

private:
    // One check per part, not per byte: every lookup composes a key.
    void reserve(size_t size) {
        FE_ASSERT(size <= bytes_.size() - size_);  // parts were checked against their limits
    }

    std::array<char, kComposedKeySizeMax> bytes_;
    size_t size_ = 0;
};

// ascii_lower() of each of the eight bytes of `word` (any byte order).
uint64_t ascii_lower_8(uint64_t word);

// kOk, or why the key cannot name an RFC 3261 transaction.
TxnTableError check_client(const ClientKey& key);
TxnTableError check_server(const ServerKey& key);

void compose_client(const ClientKey& key, KeyBuilder& out);
// `method` is passed apart from key.method so that an ACK can look up its
// INVITE and a CANCEL the INVITE it cancels.
void compose_server(const ServerKey& key, std::string_view method, KeyBuilder& out);

}  // namespace fe::txn::internal
