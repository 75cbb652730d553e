// The in-process binding store: sharded maps, a token index, expiry heaps.
#include "state/embedded_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
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

void EmbeddedStore::remove_at(AorNode& aor, size_t index) {
    std::vector<Binding>& bindings = aor.second.bindings;
    FE_ASSERT(index < bindings.size());
    std::string token = std::move(bindings[index].flow_token);
    bindings.erase(bindings.begin() + static_cast<std::ptrdiff_t>(index));
    sync_flow_index(token, aor);
}

size_t EmbeddedStore::remove_flow(AorNode& aor, std::string_view flow_token) {
    std::vector<Binding>& bindings = aor.second.bindings;
    const auto gone = std::remove_if(bindings.begin(), bindings.end(),
                                     [&](const Binding& b) { return b.flow_token == flow_token; });
    const auto removed = static_cast<size_t>(bindings.end() - gone);
    bindings.erase(gone, bindings.end());
    if (removed > 0) {
        sync_flow_index(flow_token, aor);
    }
    return removed;
}

void EmbeddedStore::mutate(const RegisterUpdate& update, Time now, AorNode& aor) {
    std::vector<Binding>& bindings = aor.second.bindings;
    if (update.remove_all) {
        while (!bindings.empty()) {
            remove_at(aor, bindings.size() - 1);
        }
        return;
    }
    // Whether a binding came onto update.flow_token. A refresh over the same
    // flow does not, and then the AOR is listed under it already (the
    // invariant), so the common REGISTER leaves the flow index alone.
    bool token_gained = false;
    for (const BindingUpdate& u : update.bindings) {
        const int found = find_binding(bindings, u);
        if (u.action == BindingAction::kRemove) {
            if (found >= 0) {
                remove_at(aor, static_cast<size_t>(found));
            }
            continue;
        }
        if (found < 0) {
            bindings.emplace_back();
            assign_binding(bindings.back(), update, u, now);
            token_gained = true;
            continue;
        }
        Binding& b = bindings[static_cast<size_t>(found)];
        if (b.flow_token == update.flow_token) {
            assign_binding(b, update, u, now);  // A refresh over the same flow.
            continue;
        }
        // OB-REG-18: the binding moved to another flow.
        std::string old_token = std::move(b.flow_token);
        assign_binding(b, update, u, now);
        token_gained = true;
        sync_flow_index(old_token, aor);
    }
    if (token_gained) {
        sync_flow_index(update.flow_token, aor);
    }
}

void EmbeddedStore::sync_flow_index(std::string_view flow_token, const AorNode& aor) {
    if (flow_token.empty()) {
        return;
    }
    // Bounded by binding_count_per_aor_max, not by the AORs on the flow.
    const std::vector<Binding>& bindings = aor.second.bindings;
    const bool used = std::any_of(bindings.begin(), bindings.end(),
                                  [&](const Binding& b) { return b.flow_token == flow_token; });
    FlowShard& shard = flow_shard(flow_token);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(to_absl(flow_token));
    if (used) {
        if (it == shard.aors_by_token.end()) {
            it = shard.aors_by_token.try_emplace(std::string(flow_token)).first;
        }
        (void)it->second.insert(&aor);  // False: listed already.
        return;
    }
    if (it == shard.aors_by_token.end()) {
        return;
    }
    (void)it->second.erase(&aor);  // False: a forget_flow took it off already.
    if (it->second.empty()) {
        shard.aors_by_token.erase(it);
    }
}

size_t EmbeddedStore::purge_expired(AorNode& aor, Time now) {
    size_t removed = 0;
    for (size_t i = aor.second.bindings.size(); i-- > 0;) {
        if (expired(aor.second.bindings[i], now)) {
            remove_at(aor, i);
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
            purge_expired(*it, now);
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
            mutate(update, now, *it);
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
    FlowShard& flows = flow_shard(flow_token);
    // Each round takes a batch of AORs off the token's list (copying their
    // keys: once off the list a node may be erased by another thread) and
    // then removes their bindings over the token. An apply() racing with us
    // may list an AOR under the token again; later rounds pick it up. The
    // round limit (twice the AORs listed at the start, plus a batch) keeps a
    // stream of REGISTERs over a dying flow from holding us here forever.
    absl::InlinedVector<std::string, kForgetAorCountPerBatchMax> batch;
    size_t budget = 0;
    bool first = true;
    while (first || budget > 0) {
        batch.clear();
        {
            absl::MutexLock lock(&flows.mu);
            auto it = flows.aors_by_token.find(to_absl(flow_token));
            if (it == flows.aors_by_token.end()) {
                return;
            }
            if (first) {
                budget = 2 * it->second.size() + kForgetAorCountPerBatchMax;
                first = false;
            }
            const size_t want = std::min<size_t>(budget, kForgetAorCountPerBatchMax);
            (void)it->second.drain(want,
                                   [&](const AorNode* aor) { batch.emplace_back(aor->first); });
            if (it->second.empty()) {
                flows.aors_by_token.erase(it);
            }
        }
        budget -= std::min(budget, batch.size());
        for (const std::string& aor_key : batch) {
            AorShard& shard = aor_shard(aor_key);
            absl::MutexLock lock(&shard.mu);
            auto it = shard.aors.find(to_absl(aor_key));
            if (it == shard.aors.end()) {
                continue;
            }
            (void)remove_flow(*it, flow_token);
            if (it->second.bindings.empty()) {
                shard.aors.erase(it);  // Its heap entry goes stale.
            }
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
            removed += purge_expired(*it, now);
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

std::vector<std::string> EmbeddedStore::flow_aor_keys_for_test(std::string_view flow_token) const {
    std::vector<std::string> keys;
    const FlowShard& shard = flow_shard(flow_token);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(to_absl(flow_token));
    if (it != shard.aors_by_token.end()) {
        it->second.for_each([&](const AorNode* aor) { keys.push_back(aor->first); });
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

bool EmbeddedStore::flow_index_consistent_for_test() const {
    // Every (AOR, token) pair of a stored binding is listed ...
    size_t pair_count = 0;
    for (const AorShard& shard : aor_shards_) {
        absl::ReaderMutexLock lock(&shard.mu);
        for (const AorNode& aor : shard.aors) {
            if (aor.second.bindings.empty()) {
                return false;  // An empty AOR must have been erased.
            }
            absl::flat_hash_set<absl::string_view> tokens;
            for (const Binding& b : aor.second.bindings) {
                if (!b.flow_token.empty()) {
                    tokens.insert(to_absl(b.flow_token));
                }
            }
            for (absl::string_view token : tokens) {
                const FlowShard& flows = flow_shard(std::string_view(token.data(), token.size()));
                absl::ReaderMutexLock flow_lock(&flows.mu);
                auto it = flows.aors_by_token.find(token);
                if (it == flows.aors_by_token.end() || !it->second.contains(&aor)) {
                    return false;
                }
            }
            pair_count += tokens.size();
        }
    }
    // ... and nothing else is: no empty list, and as many entries as pairs.
    size_t listed_count = 0;
    for (const FlowShard& flows : flow_shards_) {
        absl::ReaderMutexLock lock(&flows.mu);
        for (const auto& [token, aors] : flows.aors_by_token) {
            if (aors.empty()) {
                return false;
            }
            listed_count += aors.size();
        }
    }
    return listed_count == pair_count;
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
