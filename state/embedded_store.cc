// The in-process binding store: sharded maps, a token index, expiry heaps.
#include "state/embedded_store.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "core/base/assert.h"
#include "core/base/strings.h"

namespace fe::state {

namespace {

// Per-thread copies of an AOR's bindings handed to `done`, one per nesting
// level. Bindings are copy-assigned into kept elements, so once warm a
// callback costs memcpy and no allocation.
struct Scratch {
    std::vector<Binding> bindings;
    std::string aor_key;
};
thread_local std::array<Scratch, kStoreCallbackDepthMax + 1> tl_scratch;
thread_local uint32_t tl_depth = 0;

// Shard from the top bits of a remixed hash: flat_hash_map uses the low 7 bits
// of the same absl::Hash for its control bytes, so taking the shard from
// those would leave each map only 2 distinct control values.
size_t shard_index(std::string_view key) {
    const uint64_t hash = absl::Hash<absl::string_view>{}(to_absl(key));
    static_assert(kStoreShardCount == 64, "the shift below takes 6 bits");
    return static_cast<size_t>((hash * 0x9E3779B97F4A7C15ull) >> 58);
}

bool expired(const Binding& b, Time now) { return b.expires_at <= now; }

bool same_key(const Binding& b, const BindingUpdate& u) {
    if (u.reg_id != 0 || b.reg_id != 0) {
        return b.reg_id == u.reg_id && b.instance_key == u.instance_key;
    }
    return b.contact_key == u.contact_key;
}

// §10.3 steps 6-7: may this REGISTER change binding `b`?
bool in_order(const Binding& b, std::string_view call_id, uint32_t cseq) {
    return b.call_id != call_id || cseq > b.cseq;
}

int find_binding(const std::vector<Binding>& bindings, const BindingUpdate& u) {
    for (size_t i = 0; i < bindings.size(); ++i) {
        if (same_key(bindings[i], u)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

void assign_binding(Binding& b, const RegisterUpdate& update, const BindingUpdate& u, Time now) {
    b.aor_key.assign(update.aor_key);
    b.instance_key.assign(u.instance_key);
    b.reg_id = u.reg_id;
    b.contact_key.assign(u.contact_key);
    b.contact.assign(u.contact);
    b.contact_uri.assign(u.contact_uri);
    b.path.resize(update.path.size());
    for (size_t i = 0; i < update.path.size(); ++i) {
        b.path[i].assign(update.path[i]);
    }
    b.flow_token.assign(update.flow_token);  // OB-REG-18: the flow may have changed.
    b.expires_at = now + u.expires_in;
    b.call_id.assign(update.call_id);
    b.cseq = update.cseq;
    b.has_q = u.has_q;
    b.q_thousandths = u.q_thousandths;
    b.updated_at = now;  // OB-REG-19.
    b.node_id = update.node_id;
}

}  // namespace

std::string_view store_status_name(StoreStatus s) {
    switch (s) {
        case StoreStatus::kOk: return "ok";
        case StoreStatus::kUnavailable: return "unavailable";
        case StoreStatus::kTooManyBindings: return "too many bindings";
        case StoreStatus::kOutOfOrder: return "out of order";
    }
    return "unknown";
}

EmbeddedStore::EmbeddedStore(EmbeddedStoreConfig config) : config_(config) {
    FE_ASSERT(config_.binding_count_per_aor_max >= 1);
    FE_ASSERT(config_.expire_aor_count_per_call_max >= 1);
}

EmbeddedStore::AorShard& EmbeddedStore::aor_shard(std::string_view aor_key) {
    return aor_shards_[shard_index(aor_key)];
}

EmbeddedStore::FlowShard& EmbeddedStore::flow_shard(std::string_view flow_token) {
    return flow_shards_[shard_index(flow_token)];
}

const EmbeddedStore::FlowShard& EmbeddedStore::flow_shard(std::string_view flow_token) const {
    return flow_shards_[shard_index(flow_token)];
}

StoreStatus EmbeddedStore::check(const RegisterUpdate& update, const AorRecord* record) const {
    const size_t count = record == nullptr ? 0 : record->bindings.size();
    if (update.remove_all) {
        for (size_t i = 0; record != nullptr && i < count; ++i) {
            if (!in_order(record->bindings[i], update.call_id, update.cseq)) {
                return StoreStatus::kOutOfOrder;
            }
        }
        return StoreStatus::kOk;
    }
    size_t count_after = count;
    for (const BindingUpdate& u : update.bindings) {
        const int index = record == nullptr ? -1 : find_binding(record->bindings, u);
        if (index >= 0 &&
            !in_order(record->bindings[static_cast<size_t>(index)], update.call_id, update.cseq)) {
            return StoreStatus::kOutOfOrder;
        }
        if (index < 0 && u.action == BindingAction::kUpsert) {
            ++count_after;
        } else if (index >= 0 && u.action == BindingAction::kRemove) {
            --count_after;
        }
    }
    // An AOR already above a lowered limit may still refresh and shrink.
    if (count_after > config_.binding_count_per_aor_max && count_after > count) {
        return StoreStatus::kTooManyBindings;
    }
    return StoreStatus::kOk;
}

void EmbeddedStore::remove_at(std::string_view aor_key, AorRecord& record, size_t index) {
    FE_ASSERT(index < record.bindings.size());
    std::string token = std::move(record.bindings[index].flow_token);
    record.bindings.erase(record.bindings.begin() + static_cast<std::ptrdiff_t>(index));
    sync_flow_index(token, aor_key, &record);
}

void EmbeddedStore::mutate(const RegisterUpdate& update, Time now, AorRecord& record) {
    if (update.remove_all) {
        while (!record.bindings.empty()) {
            remove_at(update.aor_key, record, record.bindings.size() - 1);
        }
        return;
    }
    for (const BindingUpdate& u : update.bindings) {
        const int found = find_binding(record.bindings, u);
        if (u.action == BindingAction::kRemove) {
            if (found >= 0) {
                remove_at(update.aor_key, record, static_cast<size_t>(found));
            }
            continue;
        }
        if (found < 0) {
            record.bindings.emplace_back();
            assign_binding(record.bindings.back(), update, u, now);
            continue;
        }
        Binding& b = record.bindings[static_cast<size_t>(found)];
        if (b.flow_token == update.flow_token) {
            assign_binding(b, update, u, now);  // A refresh over the same flow.
            continue;
        }
        // OB-REG-18: the binding moved to another flow.
        std::string old_token = std::move(b.flow_token);
        assign_binding(b, update, u, now);
        sync_flow_index(old_token, update.aor_key, &record);
    }
    sync_flow_index(update.flow_token, update.aor_key, &record);
}

void EmbeddedStore::sync_flow_index(std::string_view flow_token, std::string_view aor_key,
                                    const AorRecord* record) {
    if (flow_token.empty()) {
        return;
    }
    bool used = false;
    for (size_t i = 0; record != nullptr && i < record->bindings.size() && !used; ++i) {
        used = record->bindings[i].flow_token == flow_token;
    }
    FlowShard& shard = flow_shard(flow_token);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(to_absl(flow_token));
    if (used) {
        if (it == shard.aors_by_token.end()) {
            it = shard.aors_by_token.try_emplace(std::string(flow_token)).first;
        }
        auto& aors = it->second;
        if (std::find(aors.begin(), aors.end(), aor_key) == aors.end()) {
            aors.emplace_back(aor_key);
        }
        return;
    }
    if (it == shard.aors_by_token.end()) {
        return;
    }
    auto& aors = it->second;
    aors.erase(std::remove(aors.begin(), aors.end(), aor_key), aors.end());
    if (aors.empty()) {
        shard.aors_by_token.erase(it);
    }
}

size_t EmbeddedStore::purge_expired(std::string_view aor_key, AorRecord& record, Time now) {
    size_t removed = 0;
    for (size_t i = record.bindings.size(); i-- > 0;) {
        if (expired(record.bindings[i], now)) {
            remove_at(aor_key, record, i);
            ++removed;
        }
    }
    return removed;
}

void EmbeddedStore::schedule(AorShard& shard, std::string_view aor_key, AorRecord& record,
                             bool force) {
    FE_ASSERT(!record.bindings.empty());
    Time earliest = record.bindings.front().expires_at;
    for (const Binding& b : record.bindings) {
        earliest = std::min(earliest, b.expires_at);
    }
    // `force`: the live entry was just popped.
    if (force || !record.has_schedule || earliest < record.scheduled_at) {
        record.scheduled_at = earliest;
        record.has_schedule = true;
        shard.expiry.push(ExpiryEntry{earliest, std::string(aor_key)});
    }
}

AorView EmbeddedStore::copy_out(std::string_view aor_key, const AorRecord* record, Time now) {
    FE_ASSERT(tl_depth <= kStoreCallbackDepthMax);
    Scratch& scratch = tl_scratch[tl_depth];
    scratch.aor_key.assign(aor_key);
    size_t count = 0;
    for (size_t i = 0; record != nullptr && i < record->bindings.size(); ++i) {
        const Binding& b = record->bindings[i];
        if (expired(b, now)) {
            continue;  // Lookups never return an expired binding.
        }
        if (scratch.bindings.size() <= count) {
            scratch.bindings.emplace_back();
        }
        scratch.bindings[count++] = b;
    }
    return AorView{scratch.aor_key, std::span<const Binding>(scratch.bindings.data(), count)};
}

void EmbeddedStore::finish(StoreStatus status, const AorView& view, Done& done) {
    FE_ASSERT(tl_depth < kStoreCallbackDepthMax);
    ++tl_depth;
    done(status, view);
    --tl_depth;
}

void EmbeddedStore::apply(const RegisterUpdate& update, Time now, Done done) {
    FE_ASSERT(!update.aor_key.empty());
    FE_ASSERT(!update.remove_all || update.bindings.empty());
    AorShard& shard = aor_shard(update.aor_key);
    StoreStatus status;
    AorView view;
    {
        absl::MutexLock lock(&shard.mu);
        auto it = shard.aors.find(to_absl(update.aor_key));
        AorRecord* record = it == shard.aors.end() ? nullptr : &it->second;
        if (record != nullptr) {
            purge_expired(update.aor_key, *record, now);
            if (record->bindings.empty()) {
                shard.aors.erase(it);
                record = nullptr;
            }
        }
        status = check(update, record);
        const bool adds = std::any_of(update.bindings.begin(), update.bindings.end(),
                                      [](const BindingUpdate& u) {
                                          return u.action == BindingAction::kUpsert;
                                      });
        if (status == StoreStatus::kOk && record == nullptr && adds) {
            it = shard.aors.try_emplace(std::string(update.aor_key)).first;
            record = &it->second;
        }
        if (status == StoreStatus::kOk && record != nullptr) {
            mutate(update, now, *record);
            if (record->bindings.empty()) {
                shard.aors.erase(it);  // Its heap entry goes stale.
                record = nullptr;
            } else {
                schedule(shard, update.aor_key, *record, /*force=*/false);
            }
        }
        view = copy_out(update.aor_key, status == StoreStatus::kOk ? record : nullptr, now);
    }
    finish(status, view, done);
}

void EmbeddedStore::lookup(std::string_view aor_key, Time now, Done done) {
    const AorShard& shard = aor_shard(aor_key);
    AorView view;
    {
        absl::ReaderMutexLock lock(&shard.mu);
        auto it = shard.aors.find(to_absl(aor_key));
        view = copy_out(aor_key, it == shard.aors.end() ? nullptr : &it->second, now);
    }
    finish(StoreStatus::kOk, view, done);
}

void EmbeddedStore::forget_flow(std::string_view flow_token, Time now) {
    (void)now;
    if (flow_token.empty()) {
        return;
    }
    absl::InlinedVector<std::string, 1> aors;
    {
        FlowShard& shard = flow_shard(flow_token);
        absl::MutexLock lock(&shard.mu);
        auto it = shard.aors_by_token.find(to_absl(flow_token));
        if (it == shard.aors_by_token.end()) {
            return;
        }
        aors = std::move(it->second);
        shard.aors_by_token.erase(it);
    }
    // Between the erase above and the loop below an apply() may list an AOR
    // under the token again; removing its bindings here re-syncs the index.
    for (const std::string& aor_key : aors) {
        AorShard& shard = aor_shard(aor_key);
        absl::MutexLock lock(&shard.mu);
        auto it = shard.aors.find(to_absl(aor_key));
        if (it == shard.aors.end()) {
            continue;
        }
        AorRecord& record = it->second;
        for (size_t i = record.bindings.size(); i-- > 0;) {
            if (record.bindings[i].flow_token == flow_token) {
                remove_at(aor_key, record, i);
            }
        }
        if (record.bindings.empty()) {
            shard.aors.erase(it);
        }
    }
}

size_t EmbeddedStore::expire(Time now) {
    uint32_t budget = config_.expire_aor_count_per_call_max;
    size_t removed = 0;
    const size_t start = expire_cursor_.fetch_add(1, std::memory_order_relaxed) % kStoreShardCount;
    for (size_t k = 0; k < kStoreShardCount && budget > 0; ++k) {
        AorShard& shard = aor_shards_[(start + k) % kStoreShardCount];
        absl::MutexLock lock(&shard.mu);
        while (budget > 0 && !shard.expiry.empty() && shard.expiry.top().at <= now) {
            // priority_queue::top() is const; the entry is popped right after.
            ExpiryEntry entry = std::move(const_cast<ExpiryEntry&>(shard.expiry.top()));
            shard.expiry.pop();
            --budget;
            auto it = shard.aors.find(to_absl(entry.aor_key));
            if (it == shard.aors.end() || it->second.scheduled_at != entry.at) {
                continue;  // Stale: the AOR is gone or was rescheduled earlier.
            }
            removed += purge_expired(entry.aor_key, it->second, now);
            if (it->second.bindings.empty()) {
                shard.aors.erase(it);
            } else {
                schedule(shard, entry.aor_key, it->second, /*force=*/true);
            }
        }
    }
    return removed;
}

size_t EmbeddedStore::binding_count_for_test() const {
    size_t count = 0;
    for (const AorShard& shard : aor_shards_) {
        absl::ReaderMutexLock lock(&shard.mu);
        for (const auto& [key, record] : shard.aors) {
            count += record.bindings.size();
        }
    }
    return count;
}

size_t EmbeddedStore::flow_aor_count_for_test(std::string_view flow_token) const {
    const FlowShard& shard = flow_shard(flow_token);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(to_absl(flow_token));
    return it == shard.aors_by_token.end() ? 0 : it->second.size();
}

size_t EmbeddedStore::expiry_entry_count_for_test() const {
    size_t count = 0;
    for (const AorShard& shard : aor_shards_) {
        absl::ReaderMutexLock lock(&shard.mu);
        count += shard.expiry.size();
    }
    return count;
}

}  // namespace fe::state
