#include "core/txn/txn_table.h"

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/txn/internal/txn_key.h"

namespace fe::txn {

// Key checks and layout: internal/txn_key.h (shared with CompletedTable).
using internal::check_client;
using internal::check_server;
using internal::compose_client;
using internal::compose_server;
using internal::kAck;
using internal::kCancel;
using internal::kInvite;
using internal::KeyBuilder;

std::string_view txn_table_error_name(TxnTableError error) {
    switch (error) {
        case TxnTableError::kOk: return "ok";
        case TxnTableError::kTableFull: return "table-full";
        case TxnTableError::kNoMagicCookie: return "no-magic-cookie";
        case TxnTableError::kBranchTooLong: return "branch-too-long";
        case TxnTableError::kSentByEmpty: return "sent-by-empty";
        case TxnTableError::kSentByTooLong: return "sent-by-too-long";
        case TxnTableError::kMethodEmpty: return "method-empty";
        case TxnTableError::kMethodTooLong: return "method-too-long";
        case TxnTableError::kAckHasNoTransaction: return "ack-has-no-transaction";
        case TxnTableError::kDuplicate: return "duplicate";
    }
    return "unknown";
}

TxnTable::TxnTable(uint32_t transaction_count_max) : slots_(transaction_count_max) {
    FE_ASSERT(transaction_count_max > 0);
    free_indexes_.reserve(transaction_count_max);
    // Pushed in reverse so slot 0 is handed out first.
    for (uint32_t i = transaction_count_max; i > 0; --i) {
        free_indexes_.push_back(i - 1);
    }
    index_.reserve(transaction_count_max);
}

TxnInsertResult TxnTable::insert_client(const ClientKey& key) {
    if (TxnTableError e = check_client(key); e != TxnTableError::kOk) {
        return {e, {}};
    }
    if (key.method == kAck) {
        return {TxnTableError::kAckHasNoTransaction, {}};
    }
    KeyBuilder composed;
    compose_client(key, composed);
    return insert_key(composed.view());
}

TxnInsertResult TxnTable::insert_server(const ServerKey& key) {
    if (TxnTableError e = check_server(key); e != TxnTableError::kOk) {
        return {e, {}};
    }
    if (key.method == kAck) {
        return {TxnTableError::kAckHasNoTransaction, {}};
    }
    KeyBuilder composed;
    compose_server(key, key.method, composed);
    return insert_key(composed.view());
}

std::optional<TxnId> TxnTable::find_client(const ClientKey& key) const {
    if (check_client(key) != TxnTableError::kOk) {
        return std::nullopt;
    }
    KeyBuilder composed;
    compose_client(key, composed);
    return find_key(composed.view());
}

std::optional<TxnId> TxnTable::find_server(const ServerKey& key) const {
    if (check_server(key) != TxnTableError::kOk) {
        return std::nullopt;
    }
    KeyBuilder composed;
    // §17.2.3 rule 3: an ACK matches the INVITE that created the transaction.
    compose_server(key, key.method == kAck ? kInvite : key.method, composed);
    return find_key(composed.view());
}

std::optional<TxnId> TxnTable::find_server_invite_for_cancel(const ServerKey& cancel_key) const {
    if (cancel_key.method != kCancel || check_server(cancel_key) != TxnTableError::kOk) {
        return std::nullopt;
    }
    KeyBuilder composed;
    compose_server(cancel_key, kInvite, composed);
    return find_key(composed.view());
}

TxnInsertResult TxnTable::insert_key(std::string_view composed) {
    if (index_.contains(to_absl(composed))) {
        return {TxnTableError::kDuplicate, {}};
    }
    if (free_indexes_.empty()) {
        return {TxnTableError::kTableFull, {}};
    }
    uint32_t index = free_indexes_.back();
    free_indexes_.pop_back();
    Slot& slot = slots_[index];
    FE_ASSERT(!slot.live);
    slot.key.assign(composed);  // keeps its capacity from earlier use
    slot.live = true;
    ++slot.generation;
    auto [it, inserted] = index_.emplace(to_absl(slot.key), index);
    FE_ASSERT(inserted);
    ++count_;
    FE_DASSERT(index_.size() == count_);
    return {TxnTableError::kOk, TxnId{index, slot.generation}};
}

std::optional<TxnId> TxnTable::find_key(std::string_view composed) const {
    auto it = index_.find(to_absl(composed));
    if (it == index_.end()) {
        return std::nullopt;
    }
    const Slot& slot = slots_[it->second];
    FE_ASSERT(slot.live);
    return TxnId{it->second, slot.generation};
}

bool TxnTable::contains(TxnId id) const {
    return id.index < slots_.size() && slots_[id.index].live &&
           slots_[id.index].generation == id.generation;
}

bool TxnTable::erase(TxnId id) {
    if (!contains(id)) {
        return false;
    }
    Slot& slot = slots_[id.index];
    size_t erased = index_.erase(to_absl(slot.key));
    FE_ASSERT(erased == 1);
    slot.live = false;
    free_indexes_.push_back(id.index);
    FE_ASSERT(count_ > 0);
    --count_;
    return true;
}

}  // namespace fe::txn
