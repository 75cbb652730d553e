// The completed-transaction table: records written back to back into pooled
// blocks, reclaimed oldest first, found through a set of record pointers.
#include "core/txn/completed_table.h"

#include <cstring>
#include <new>

#include "absl/hash/hash.h"
#include "core/base/assert.h"
#include "core/txn/internal/txn_key.h"

namespace fe::txn {

// One entry as it lies in a block: this header, then key_size bytes of
// composed key, then response_size bytes of response, then padding to
// alignof(Record).
//
//   expires_at  response_size  aux  key_size  kind  indexed  pad | key | response | pad
//   8           4              4    2         1     1        4   | ~50 | 0..8192   | 0..7
struct CompletedTable::Record {
    Time expires_at;
    uint32_t response_size;
    uint32_t aux;
    uint16_t key_size;
    CompletedKind kind;
    // True while index_ points at this record: false once a newer record with
    // the same key replaced it.
    bool indexed;

    std::string_view key() const {
        return std::string_view(reinterpret_cast<const char*>(this + 1), key_size);
    }
    std::string_view response() const {
        return std::string_view(reinterpret_cast<const char*>(this + 1) + key_size, response_size);
    }
    // Bytes this record takes in its block.
    size_t footprint() const { return footprint_of(key_size, response_size); }
    static constexpr size_t footprint_of(size_t key_size, size_t response_size) {
        const size_t raw = sizeof(Record) + key_size + response_size;
        return (raw + alignof(Record) - 1) / alignof(Record) * alignof(Record);
    }
};

namespace {

constexpr size_t kRecordSizeMax = 64;  // headroom over the 24 bytes we expect
using internal::kAck;
using internal::kCancel;
using internal::kInvite;

}  // namespace

static_assert(internal::kComposedKeySizeMax <= UINT16_MAX, "key_size is 16 bits");
static_assert(kCompletedResponseSizeMax <= UINT32_MAX, "response_size is 32 bits");
static_assert(kRecordSizeMax + internal::kComposedKeySizeMax + kCompletedResponseSizeMax + 8 <=
                  kCompletedBlockSize,
              "the largest record must fit one block");
static_assert(kCompletedBlockSize % 16 == 0, "blocks keep records aligned");

size_t CompletedTable::KeyHash::operator()(absl::string_view key) const {
    return absl::Hash<absl::string_view>{}(key);
}

size_t CompletedTable::KeyHash::operator()(const Record* record) const {
    const std::string_view key = record->key();
    return (*this)(absl::string_view(key.data(), key.size()));
}

bool CompletedTable::KeyEq::operator()(const Record* a, const Record* b) const {
    return a->key() == b->key();
}

bool CompletedTable::KeyEq::operator()(const Record* a, absl::string_view b) const {
    return a->key() == std::string_view(b.data(), b.size());
}

bool CompletedTable::KeyEq::operator()(absl::string_view a, const Record* b) const {
    return (*this)(b, a);
}

CompletedTable::CompletedTable(CompletedTableConfig config)
    : entry_count_max_(config.entry_count_max),
      block_count_max_(static_cast<uint32_t>(config.byte_count_max / kCompletedBlockSize)) {
    static_assert(sizeof(Record) <= kRecordSizeMax);
    FE_ASSERT(entry_count_max_ > 0);
    FE_ASSERT(block_count_max_ > 0);
    FE_ASSERT(config.byte_count_max / kCompletedBlockSize <= UINT32_MAX);
    // Small fixed parts now; blocks and index slots as the table first needs
    // them (it pins what its busiest window needed, not its maximum).
    ring_.resize(block_count_max_);
    blocks_.reserve(block_count_max_);
    free_blocks_.reserve(block_count_max_);
}

size_t CompletedTable::index_bytes() const {
    return index_.capacity() * (sizeof(Record*) + 1);
}

// ---- Lookups ------------------------------------------------------------------

const CompletedTable::Record* CompletedTable::find(std::string_view composed, Time now) const {
    const auto it = index_.find(absl::string_view(composed.data(), composed.size()));
    if (it == index_.end()) {
        return nullptr;
    }
    const Record* record = *it;
    FE_ASSERT(record->indexed);
    return now < record->expires_at ? record : nullptr;
}

CompletedMatch CompletedTable::match(const ServerKey& key, Time now) const {
    if (internal::check_server(key) != TxnTableError::kOk) {
        return {};
    }
    const bool is_ack = key.method == kAck;
    internal::KeyBuilder composed;
    // §17.2.3: an ACK matches the INVITE transaction with its branch.
    internal::compose_server(key, is_ack ? kInvite : key.method, composed);
    const Record* record = find(composed.view(), now);
    if (record == nullptr) {
        return {};
    }
    switch (record->kind) {
        case CompletedKind::kNonInviteCompleted:
            FE_ASSERT(!is_ack);  // its key's method is never INVITE
            return {CompletedVerdict::kResend, record->response(), record->aux};
        case CompletedKind::kInviteAccepted:
            // RFC 6026 §7.1: the ACK (of the 2xx) is the TU's.
            return is_ack ? CompletedMatch{} : CompletedMatch{CompletedVerdict::kAbsorb, {}, 0};
        case CompletedKind::kInviteConfirmed:
            return {CompletedVerdict::kAbsorb, {}, 0};
    }
    return {};
}

bool CompletedTable::has_invite_for_cancel(const ServerKey& cancel_key, Time now) const {
    if (cancel_key.method != kCancel || internal::check_server(cancel_key) != TxnTableError::kOk) {
        return false;
    }
    internal::KeyBuilder composed;
    internal::compose_server(cancel_key, kInvite, composed);
    return find(composed.view(), now) != nullptr;
}

// ---- Inserting ------------------------------------------------------------------

CompletedInsert CompletedTable::insert(const CompletedEntry& entry, Time now) {
    const bool invite_kind = entry.kind != CompletedKind::kNonInviteCompleted;
    // The owner's own bookkeeping, not the peer's input: asserted.
    FE_ASSERT(entry.key.method != kAck);
    FE_ASSERT(invite_kind == (entry.key.method == kInvite));
    FE_ASSERT(invite_kind == entry.response.empty());
    if (internal::check_server(entry.key) != TxnTableError::kOk) {
        ++stats_.refused_bad_key;
        return CompletedInsert::kBadKey;
    }
    if (entry.response.size() > kCompletedResponseSizeMax) {
        ++stats_.refused_too_large;
        return CompletedInsert::kResponseTooLarge;
    }
    internal::KeyBuilder composed;
    internal::compose_server(entry.key, entry.key.method, composed);
    const std::string_view key = composed.view();

    (void)expire(now);
    CompletedInsert result = CompletedInsert::kInserted;
    const auto it = index_.find(absl::string_view(key.data(), key.size()));
    if (it != index_.end()) {
        // The old record stays in its block until its turn; only the index
        // forgets it.
        Record* old = *it;
        index_.erase(it);
        old->indexed = false;
        ++stats_.replaced;
        result = CompletedInsert::kReplaced;
    }
    while (entry_count_ >= entry_count_max_) {
        reclaim_oldest(now, Reclaim::kCountFull);
    }
    const size_t size = Record::footprint_of(key.size(), entry.response.size());
    char* at = reserve(size, now);
    Record* record = new (at) Record{.expires_at = entry.expires_at,
                                     .response_size = static_cast<uint32_t>(entry.response.size()),
                                     .aux = entry.aux,
                                     .key_size = static_cast<uint16_t>(key.size()),
                                     .kind = entry.kind,
                                     .indexed = true};
    char* bytes = reinterpret_cast<char*>(record + 1);
    std::memcpy(bytes, key.data(), key.size());
    if (!entry.response.empty()) {
        std::memcpy(bytes + key.size(), entry.response.data(), entry.response.size());
    }
    ++entry_count_;
    used_bytes_ += size;
    const bool inserted = index_.insert(record).second;
    FE_ASSERT(inserted);
    ++stats_.inserted;
    return result;
}

char* CompletedTable::reserve(size_t size, Time now) {
    FE_ASSERT(size <= kCompletedBlockSize);
    if (ring_count_ > 0) {
        Block& newest = blocks_[ring_[(ring_head_ + ring_count_ - 1) % block_count_max_]];
        if (kCompletedBlockSize - newest.used >= size) {
            char* at = newest.bytes.get() + newest.used;
            newest.used += size;
            return at;
        }
    }
    const uint32_t index = take_block(now);
    // take_block() may have emptied the ring to find a block.
    if (ring_count_ == 0) {
        head_offset_ = 0;
    }
    FE_ASSERT(ring_count_ < block_count_max_);
    ring_[(ring_head_ + ring_count_) % block_count_max_] = index;
    ++ring_count_;
    Block& block = blocks_[index];
    FE_ASSERT(block.used == 0);
    block.used = size;
    return block.bytes.get();
}

uint32_t CompletedTable::take_block(Time now) {
    if (free_blocks_.empty() && blocks_.size() < block_count_max_) {
        // Only while warming up: a block per ~100 entries, kept for good.
        // Not value-initialised: pages are touched only when written.
        blocks_.push_back(Block{std::unique_ptr<char[]>(new char[kCompletedBlockSize]), 0});
        return static_cast<uint32_t>(blocks_.size() - 1);
    }
    // Every block is in the ring: the oldest records go until their block
    // is free (at most one block's worth of records).
    while (free_blocks_.empty()) {
        reclaim_oldest(now, Reclaim::kBytesFull);
    }
    const uint32_t index = free_blocks_.back();
    free_blocks_.pop_back();
    return index;
}

// ---- Reclaiming -------------------------------------------------------------------

CompletedTable::Record* CompletedTable::oldest() const {
    FE_ASSERT(ring_count_ > 0);
    const Block& block = blocks_[ring_[ring_head_]];
    FE_ASSERT(head_offset_ < block.used);
    return std::launder(reinterpret_cast<Record*>(block.bytes.get() + head_offset_));
}

size_t CompletedTable::expire(Time now) {
    size_t reclaimed = 0;
    while (entry_count_ > 0) {
        const Record* record = oldest();
        if (record->indexed && now < record->expires_at) {
            break;
        }
        reclaim_oldest(now, Reclaim::kExpire);
        ++reclaimed;
    }
    return reclaimed;
}

void CompletedTable::reclaim_oldest(Time now, Reclaim why) {
    Record* record = oldest();
    if (record->indexed) {
        const size_t erased = index_.erase(record);
        FE_ASSERT(erased == 1);
        if (now >= record->expires_at) {
            ++stats_.expired;
        } else if (why == Reclaim::kCountFull) {
            ++stats_.evicted_count_full;
        } else {
            FE_ASSERT(why == Reclaim::kBytesFull);  // expire() takes dead records only
            ++stats_.evicted_bytes_full;
        }
    }
    const size_t size = record->footprint();
    FE_ASSERT(entry_count_ > 0);
    FE_ASSERT(used_bytes_ >= size);
    --entry_count_;
    used_bytes_ -= size;
    head_offset_ += size;
    const uint32_t index = ring_[ring_head_];
    Block& block = blocks_[index];
    FE_ASSERT(head_offset_ <= block.used);
    if (head_offset_ < block.used) {
        return;
    }
    // The oldest block holds nothing more (the newest block too, when the
    // table is now empty): back to the free list.
    FE_ASSERT(ring_count_ > 1 || entry_count_ == 0);
    block.used = 0;
    free_blocks_.push_back(index);
    ring_head_ = (ring_head_ + 1) % block_count_max_;
    --ring_count_;
    head_offset_ = 0;
    FE_ASSERT(ring_count_ > 0 || entry_count_ == 0);
}

}  // namespace fe::txn
