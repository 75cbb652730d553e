#include "core/reuse/alias_table.h"

#include <utility>

#include "core/base/assert.h"

namespace fe::reuse {

std::optional<AliasKey> target_alias_key(std::string_view host, uint16_t port,
                                         uint32_t local_identity_index) {
    std::optional<tls::SipIdentity> canonical = tls::canonical_host(host);
    if (!canonical) {
        return std::nullopt;
    }
    AliasKey key;
    key.host = std::move(canonical->name);
    key.port = port != 0 ? port : kTlsDefaultPort;
    key.transport = Transport::kTls;
    key.local_identity_index = local_identity_index;
    return key;
}

std::string_view insert_result_name(InsertResult result) {
    switch (result) {
        case InsertResult::kInserted:
            return "inserted";
        case InsertResult::kRefreshed:
            return "refreshed";
        case InsertResult::kMoved:
            return "moved";
        case InsertResult::kTableFull:
            return "table-full";
        case InsertResult::kConnectionFull:
            return "connection-full";
    }
    return "?";
}

AliasTable::AliasTable(size_t count_max) : rows_(count_max) {
    FE_ASSERT(count_max > 0);
    FE_ASSERT(count_max < kNone);
    free_rows_.reserve(count_max);
    // Highest index first, so that rows are taken from index 0 upwards.
    for (size_t i = count_max; i > 0; --i) {
        free_rows_.push_back(static_cast<uint32_t>(i - 1));
    }
    by_key_.reserve(count_max);
    by_connection_.reserve(count_max);
}

InsertResult AliasTable::insert(const AliasKey& key, ConnectionRef connection) {
    FE_ASSERT(!key.host.empty());
    FE_ASSERT(key.host.size() <= kAliasHostSizeMax);
    FE_ASSERT(key.transport == Transport::kTls);  // CR-44: never another transport
    FE_ASSERT(key.port != 0);
    auto it = by_key_.find(key.view());
    if (it != by_key_.end()) {
        uint32_t row_index = it->second;
        Row& row = rows_[row_index];
        FE_ASSERT(row.used);
        if (row.connection == connection) {
            return InsertResult::kRefreshed;
        }
        if (connection_alias_count(connection) >= kAliasPerConnectionCountMax) {
            ++stats_.refused_connection_full;
            return InsertResult::kConnectionFull;
        }
        // The peer now says this connection is where it listens (it
        // reconnected, CR-17, CR-26): the newest connection wins.
        unlink(row_index);
        link(row_index, connection);
        ++stats_.moved;
        return InsertResult::kMoved;
    }
    if (free_rows_.empty()) {
        ++stats_.refused_table_full;
        return InsertResult::kTableFull;
    }
    if (connection_alias_count(connection) >= kAliasPerConnectionCountMax) {
        ++stats_.refused_connection_full;
        return InsertResult::kConnectionFull;
    }
    uint32_t row_index = free_rows_.back();
    free_rows_.pop_back();
    Row& row = rows_[row_index];
    FE_ASSERT(!row.used);
    row.used = true;
    row.key = key;
    bool inserted = by_key_.emplace(row.key.view(), row_index).second;
    FE_ASSERT(inserted);
    link(row_index, connection);
    ++stats_.inserted;
    return InsertResult::kInserted;
}

std::optional<ConnectionRef> AliasTable::find(const AliasKeyView& key, IdentitiesOf identities_of) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) {
        return std::nullopt;
    }
    uint32_t row_index = it->second;
    const Row& row = rows_[row_index];
    FE_ASSERT(row.used);
    ConnectionRef connection = row.connection;
    const tls::SipIdentities* identities = identities_of(connection);
    // CR-15 (b), CR-31 (b): the certificate of the connection, as it is now,
    // names the host. A row is only made on a match, so a failure here means
    // the connection is gone or changed: the row goes.
    if (identities == nullptr ||
        tls::match_sip_identity(*identities, row.key.host) != tls::MatchResult::kMatch) {
        ++stats_.removed_stale;
        unlink(row_index);
        free_row(row_index);
        return std::nullopt;
    }
    return connection;
}

std::optional<ConnectionRef> AliasTable::peek_for_test(const AliasKeyView& key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) {
        return std::nullopt;
    }
    return rows_[it->second].connection;
}

bool AliasTable::remove(const AliasKeyView& key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) {
        return false;
    }
    uint32_t row_index = it->second;
    unlink(row_index);
    free_row(row_index);
    return true;
}

size_t AliasTable::remove_connection(ConnectionRef connection) {
    auto it = by_connection_.find(connection);
    if (it == by_connection_.end()) {
        return 0;
    }
    size_t removed = 0;
    uint32_t row_index = it->second.head;
    while (row_index != kNone) {
        uint32_t next = rows_[row_index].next_in_connection;
        FE_ASSERT(rows_[row_index].connection == connection);
        rows_[row_index].prev_in_connection = kNone;
        rows_[row_index].next_in_connection = kNone;
        free_row(row_index);
        ++removed;
        row_index = next;
    }
    FE_ASSERT(removed == it->second.count);
    by_connection_.erase(it);
    stats_.removed_with_connection += removed;
    return removed;
}

size_t AliasTable::connection_alias_count(ConnectionRef connection) const {
    auto it = by_connection_.find(connection);
    return it == by_connection_.end() ? 0 : it->second.count;
}

void AliasTable::link(uint32_t row_index, ConnectionRef connection) {
    Row& row = rows_[row_index];
    ConnectionRows& list = by_connection_[connection];
    FE_ASSERT(list.count < kAliasPerConnectionCountMax);
    row.connection = connection;
    row.prev_in_connection = kNone;
    row.next_in_connection = list.head;
    if (list.head != kNone) {
        rows_[list.head].prev_in_connection = row_index;
    }
    list.head = row_index;
    ++list.count;
}

void AliasTable::unlink(uint32_t row_index) {
    Row& row = rows_[row_index];
    auto it = by_connection_.find(row.connection);
    FE_ASSERT(it != by_connection_.end());
    ConnectionRows& list = it->second;
    if (row.prev_in_connection != kNone) {
        rows_[row.prev_in_connection].next_in_connection = row.next_in_connection;
    } else {
        FE_ASSERT(list.head == row_index);
        list.head = row.next_in_connection;
    }
    if (row.next_in_connection != kNone) {
        rows_[row.next_in_connection].prev_in_connection = row.prev_in_connection;
    }
    row.prev_in_connection = kNone;
    row.next_in_connection = kNone;
    FE_ASSERT(list.count > 0);
    --list.count;
    if (list.count == 0) {
        FE_ASSERT(list.head == kNone);
        by_connection_.erase(it);
    }
}

// The row must already be out of its connection's list.
void AliasTable::free_row(uint32_t row_index) {
    Row& row = rows_[row_index];
    FE_ASSERT(row.used);
    size_t erased = by_key_.erase(row.key.view());
    FE_ASSERT(erased == 1);
    row.used = false;
    row.key.host.clear();  // keeps its capacity: a later row reuses it
    row.connection = ConnectionRef{};
    free_rows_.push_back(row_index);
}

void AliasTable::check_invariants_for_test() const {
    size_t used = 0;
    for (uint32_t i = 0; i < rows_.size(); ++i) {
        const Row& row = rows_[i];
        if (!row.used) {
            continue;
        }
        ++used;
        auto it = by_key_.find(row.key.view());
        FE_ASSERT(it != by_key_.end());
        FE_ASSERT(it->second == i);
        FE_ASSERT(it->first.host.data() == row.key.host.data());
        FE_ASSERT(row.key.transport == Transport::kTls);
        FE_ASSERT(by_connection_.contains(row.connection));
    }
    FE_ASSERT(used == by_key_.size());
    FE_ASSERT(used + free_rows_.size() == rows_.size());
    size_t listed = 0;
    for (const auto& [connection, list] : by_connection_) {
        FE_ASSERT(list.count > 0);
        FE_ASSERT(list.count <= kAliasPerConnectionCountMax);
        size_t n = 0;
        uint32_t prev = kNone;
        for (uint32_t r = list.head; r != kNone; r = rows_[r].next_in_connection) {
            FE_ASSERT(rows_[r].used);
            FE_ASSERT(rows_[r].connection == connection);
            FE_ASSERT(rows_[r].prev_in_connection == prev);
            prev = r;
            ++n;
            FE_ASSERT(n <= list.count);
        }
        FE_ASSERT(n == list.count);
        listed += n;
    }
    FE_ASSERT(listed == used);
}

}  // namespace fe::reuse
