// The in-process binding store: sharded sets of AOR blocks, a token index,
// expiry heaps.
#include "state/embedded_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "core/base/assert.h"
#include "core/base/strings.h"
#include "state/internal/binding_codec.h"

namespace fe::state {

namespace {

// Nesting level of store calls made from `done` callbacks on this thread.
thread_local uint32_t tl_depth = 0;
// The encoding of the AOR being written back; used under one shard lock at a
// time, never across a callback.
thread_local std::string tl_encoded;

// Shard from the top bits of a remixed hash: flat_hash_map uses the low 7 bits
// of the same absl::Hash for its control bytes, so taking the shard from
// those would leave each map only 2 distinct control values.
size_t shard_of(uint64_t hash) {
    static_assert(kStoreShardCount == 64, "the shift below takes 6 bits");
    return static_cast<size_t>((hash * 0x9E3779B97F4A7C15ull) >> 58);
}

uint64_t hash_text(std::string_view text) {
    return absl::Hash<absl::string_view>{}(to_absl(text));
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

int find_binding(std::span<const Binding> bindings, const BindingUpdate& u) {
    for (size_t i = 0; i < bindings.size(); ++i) {
        if (same_key(bindings[i], u)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

// Whether `u` in `update` would leave every string of `b` as it is (a
// refresh: only CSeq, times, q and node change).
bool same_strings(const Binding& b, const RegisterUpdate& update, const BindingUpdate& u) {
    if (b.contact != u.contact || b.contact_uri != u.contact_uri ||
        b.contact_key != u.contact_key || b.instance_key != u.instance_key ||
        b.flow_token != update.flow_token || b.call_id != update.call_id ||
        b.path.size() != update.path.size()) {
        return false;
    }
    for (size_t i = 0; i < update.path.size(); ++i) {
        if (b.path[i] != update.path[i]) {
            return false;
        }
    }
    return true;
}

// The part of assign_binding() that a refresh with same_strings() changes.
void assign_fields(Binding& b, const RegisterUpdate& update, const BindingUpdate& u, Time now) {
    b.reg_id = u.reg_id;
    b.expires_at = now + u.expires_in;
    b.cseq = update.cseq;
    b.has_q = u.has_q;
    b.q_thousandths = u.q_thousandths;
    b.updated_at = now;  // OB-REG-19.
    b.node_id = update.node_id;
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

bool contains(const absl::InlinedVector<uint64_t, 4>& hashes, uint64_t h) {
    return std::find(hashes.begin(), hashes.end(), h) != hashes.end();
}

}  // namespace

// An AOR's bindings while an operation works on them: bindings[0 .. count),
// decoded from its block. Elements past `count` are kept with their strings'
// capacity, so once warm an operation allocates nothing.
struct EmbeddedStore::Work {
    std::vector<Binding> bindings;
    size_t count = 0;
    std::string aor_key;
    // Where each binding's fields are in the block load() read.
    std::vector<internal::FieldsSpan> fields;
    // Whether the set of flow tokens may differ from what load() read (a
    // binding came, went or changed its token), i.e. the flow index may
    // need work.
    bool tokens_changed = false;
    // The token hashes as load() read them, taken just before the first
    // change that may alter them (a refresh over the same flow never hashes
    // a token).
    TokenHashes before;
    bool before_known = false;
    // Whether the block must be encoded again (a binding came, went or
    // changed a string). When false, only the bindings in `patched` changed,
    // and only in their fields (a refresh): they are patched in place.
    bool needs_encode = false;
    absl::InlinedVector<uint32_t, 4> patched;

    void load(const AorBlock* block, const internal::PathParts& parts) {
        count = block == nullptr ? 0
                                 : internal::decode_bindings(block->body(), block->key(),
                                                             bindings, &fields, &parts);
        tokens_changed = false;
        before_known = false;
        needs_encode = false;
        patched.clear();
    }

    // Call before changing a binding's token, adding or removing one.
    void note_token_change() {
        (void)original_tokens();
        tokens_changed = true;
    }
    const TokenHashes& original_tokens() {
        if (!before_known) {
            before = token_hashes(*this);
            before_known = true;
        }
        return before;
    }

    std::span<const Binding> span() const { return {bindings.data(), count}; }
    Binding& append() {
        note_token_change();
        needs_encode = true;
        if (bindings.size() <= count) {
            bindings.emplace_back();
        }
        return bindings[count++];
    }
    // Keeps the order of the others (the order the store returns them in).
    void erase_at(size_t index) {
        FE_ASSERT(index < count);
        if (!bindings[index].flow_token.empty()) {
            note_token_change();
        }
        needs_encode = true;
        std::rotate(bindings.begin() + static_cast<std::ptrdiff_t>(index),
                    bindings.begin() + static_cast<std::ptrdiff_t>(index) + 1,
                    bindings.begin() + static_cast<std::ptrdiff_t>(count));
        --count;
    }
    template <typename Pred>
    size_t erase_if(Pred&& pred) {
        size_t removed = 0;
        for (size_t i = count; i-- > 0;) {
            if (pred(bindings[i])) {
                erase_at(i);
                ++removed;
            }
        }
        return removed;
    }
};

// Per-thread work areas, one per nesting level (the view a callback holds
// lives in its level's area, so the callback may call the store again).
EmbeddedStore::Work& EmbeddedStore::work_area() {
    FE_ASSERT(tl_depth <= kStoreCallbackDepthMax);
    thread_local std::array<EmbeddedStore::Work, kStoreCallbackDepthMax + 1> areas;
    return areas[tl_depth];
}

std::string_view store_status_name(StoreStatus s) {
    switch (s) {
        case StoreStatus::kOk: return "ok";
        case StoreStatus::kUnavailable: return "unavailable";
        case StoreStatus::kTooManyBindings: return "too many bindings";
        case StoreStatus::kOutOfOrder: return "out of order";
    }
    return "unknown";
}

size_t EmbeddedStore::BlockHash::operator()(std::string_view key) const { return hash_text(key); }

EmbeddedStore::EmbeddedStore(EmbeddedStoreConfig config) : config_(config) {
    FE_ASSERT(config_.binding_count_per_aor_max >= 1);
    FE_ASSERT(config_.expire_aor_count_per_call_max >= 1);
}

EmbeddedStore::~EmbeddedStore() {
    for (AorShard& shard : aor_shards_) {
        absl::MutexLock lock(&shard.mu);
        for (AorBlock* block : shard.aors) {
            if (shard.expiry.contains(block)) {
                shard.expiry.remove(block);
            }
            AorBlock::destroy(block);
        }
        shard.aors.clear();
    }
}

uint64_t EmbeddedStore::aor_hash(std::string_view aor_key) { return hash_text(aor_key); }

EmbeddedStore::AorShard& EmbeddedStore::aor_shard(uint64_t aor_hash) {
    return aor_shards_[shard_of(aor_hash)];
}

EmbeddedStore::TokenHash EmbeddedStore::token_hash(std::string_view flow_token) {
    return hash_text(flow_token);
}

EmbeddedStore::FlowShard& EmbeddedStore::flow_shard(TokenHash token) {
    return flow_shards_[shard_of(token)];
}

const EmbeddedStore::FlowShard& EmbeddedStore::flow_shard(TokenHash token) const {
    return flow_shards_[shard_of(token)];
}

StoreStatus EmbeddedStore::check(const RegisterUpdate& update, const Work& work) const {
    const std::span<const Binding> bindings = work.span();
    if (update.remove_all) {
        for (const Binding& b : bindings) {
            if (!in_order(b, update.call_id, update.cseq)) {
                return StoreStatus::kOutOfOrder;
            }
        }
        return StoreStatus::kOk;
    }
    size_t count_after = bindings.size();
    for (const BindingUpdate& u : update.bindings) {
        const int index = find_binding(bindings, u);
        if (index >= 0 &&
            !in_order(bindings[static_cast<size_t>(index)], update.call_id, update.cseq)) {
            return StoreStatus::kOutOfOrder;
        }
        if (index < 0 && u.action == BindingAction::kUpsert) {
            ++count_after;
        } else if (index >= 0 && u.action == BindingAction::kRemove) {
            --count_after;
        }
    }
    // An AOR already above a lowered limit may still refresh and shrink.
    if (count_after > config_.binding_count_per_aor_max && count_after > bindings.size()) {
        return StoreStatus::kTooManyBindings;
    }
    return StoreStatus::kOk;
}

void EmbeddedStore::mutate(const RegisterUpdate& update, Time now, Work& work) {
    if (update.remove_all) {
        work.note_token_change();
        work.needs_encode = true;
        work.count = 0;
        return;
    }
    for (const BindingUpdate& u : update.bindings) {
        const int found = find_binding(work.span(), u);
        if (u.action == BindingAction::kRemove) {
            if (found >= 0) {
                work.erase_at(static_cast<size_t>(found));
            }
            continue;
        }
        // New, a refresh, or (OB-REG-18) a move to another flow: commit()
        // brings the flow index in step.
        if (found >= 0) {
            Binding& b = work.bindings[static_cast<size_t>(found)];
            if (same_strings(b, update, u)) {
                assign_fields(b, update, u, now);
                work.patched.push_back(static_cast<uint32_t>(found));
                continue;
            }
            if (b.flow_token != update.flow_token) {
                work.note_token_change();
            }
            work.needs_encode = true;
            assign_binding(b, update, u, now);
            continue;
        }
        assign_binding(work.append(), update, u, now);
    }
}

EmbeddedStore::TokenHashes EmbeddedStore::token_hashes(const Work& work) {
    TokenHashes hashes;
    for (const Binding& b : work.span()) {
        if (b.flow_token.empty()) {
            continue;
        }
        const TokenHash h = token_hash(b.flow_token);
        if (!contains(hashes, h)) {
            hashes.push_back(h);
        }
    }
    return hashes;
}

void EmbeddedStore::list(TokenHash token, const AorBlock* block) {
    FlowShard& shard = flow_shard(token);
    absl::MutexLock lock(&shard.mu);
    (void)shard.aors_by_token[token].insert(block);  // False: listed already.
}

void EmbeddedStore::unlist(TokenHash token, const AorBlock* block) {
    FlowShard& shard = flow_shard(token);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(token);
    if (it == shard.aors_by_token.end()) {
        return;
    }
    (void)it->second.erase(block);  // False: a forget_flow took it off already.
    if (it->second.empty()) {
        shard.aors_by_token.erase(it);
    }
}

void EmbeddedStore::sync_flow_index(const TokenHashes& before, const TokenHashes& after,
                                    const AorBlock* from, const AorBlock* to) {
    for (TokenHash h : before) {
        if (!contains(after, h)) {
            unlist(h, from);
        } else if (from != to) {
            // The block moved: re-point, unless a forget_flow took it off
            // (it then finds the AOR by key).
            FlowShard& shard = flow_shard(h);
            absl::MutexLock lock(&shard.mu);
            auto it = shard.aors_by_token.find(h);
            if (it != shard.aors_by_token.end() && it->second.erase(from)) {
                (void)it->second.insert(to);
            }
        }
    }
    for (TokenHash h : after) {
        if (!contains(before, h)) {
            list(h, to);
        }
    }
}

Time EmbeddedStore::earliest_expiry(const Work& work) {
    FE_ASSERT(work.count > 0);
    Time earliest = work.bindings[0].expires_at;
    for (const Binding& b : work.span()) {
        earliest = std::min(earliest, b.expires_at);
    }
    return earliest;
}

EmbeddedStore::AorBlock* EmbeddedStore::commit(AorShard& shard, AorBlock* block,
                                               std::string_view aor_key, Work& work,
                                               Reschedule reschedule) {
    if (work.count == 0) {
        if (block != nullptr) {
            sync_flow_index(work.original_tokens(), {}, block, nullptr);
            if (shard.expiry.contains(block)) {
                shard.expiry.remove(block);
            }
            shard.aors.erase(block);
            AorBlock::destroy(block);
        }
        return nullptr;
    }
    if (block != nullptr && !work.needs_encode && patch_in_place(block, work)) {
        schedule(shard, block, work, reschedule);
        return block;
    }
    tl_encoded.clear();
    internal::encode_bindings(work.span(), tl_encoded, &shard.path_parts);
    AorBlock* target = block;
    if (block == nullptr) {
        target = AorBlock::create(aor_key, tl_encoded);
        const bool inserted = shard.aors.insert(target).second;
        FE_ASSERT(inserted);
    } else if (!block->assign_body(tl_encoded)) {
        target = AorBlock::create(block->key(), tl_encoded);
    }
    if (work.tokens_changed) {
        sync_flow_index(work.original_tokens(), token_hashes(work), block, target);
    } else if (target != block) {
        sync_flow_index(work.original_tokens(), work.original_tokens(), block, target);
    }
    if (block != nullptr && target != block) {
        // Every index now names `target`; `block` can go.
        shard.aors.erase(block);
        const bool inserted = shard.aors.insert(target).second;
        FE_ASSERT(inserted);
        if (shard.expiry.contains(block)) {
            shard.expiry.replace(block, target);
        }
        AorBlock::destroy(block);
    }
    schedule(shard, target, work, reschedule);
    return target;
}

bool EmbeddedStore::patch_in_place(AorBlock* block, const Work& work) {
    // Bindings only changed their fields, and none was added or removed, so
    // the spans load() found still name them.
    FE_ASSERT(work.fields.size() == work.count);
    const std::span<char> body = block->mutable_body();
    for (uint32_t index : work.patched) {
        FE_ASSERT(index < work.count);
        const internal::FieldsSpan span = work.fields[index];
        if (!internal::patch_fields(body.subspan(span.begin, span.size), work.bindings[index])) {
            return false;  // Encoded again whole; what was patched is overwritten.
        }
    }
    return true;
}

void EmbeddedStore::schedule(AorShard& shard, AorBlock* block, const Work& work,
                             Reschedule reschedule) {
    // A refresh that lengthens the AOR's life leaves its entry where it is
    // (usually): it pops early, finds nothing expired and moves on
    // (expire()). A sift per refresh would touch ~log2(n) other blocks.
    const Time earliest = earliest_expiry(work);
    if (reschedule == Reschedule::kAlways || !shard.expiry.contains(block) ||
        earliest < shard.expiry.at(block)) {
        shard.expiry.schedule(block, earliest);
    }
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
    // One hash of the key picks the shard and finds the AOR in it.
    const uint64_t hash = aor_hash(update.aor_key);
    AorShard& shard = aor_shard(hash);
    Work& work = work_area();
    StoreStatus status;
    {
        absl::MutexLock lock(&shard.mu);
        auto it = shard.aors.find(update.aor_key, hash);
        AorBlock* block = it == shard.aors.end() ? nullptr : *it;
        work.load(block, shard.path_parts);
        bool changed = work.erase_if([&](const Binding& b) { return expired(b, now); }) > 0;
        status = check(update, work);
        if (status == StoreStatus::kOk && (update.remove_all || !update.bindings.empty())) {
            mutate(update, now, work);
            changed = true;
        }
        if (changed) {
            (void)commit(shard, block, update.aor_key, work);
        }
    }
    if (status != StoreStatus::kOk) {
        work.count = 0;
    }
    // Lookups never return an expired binding (one may be stored with a
    // lifetime of zero).
    (void)work.erase_if([&](const Binding& b) { return expired(b, now); });
    work.aor_key.assign(update.aor_key);
    finish(status, AorView{work.aor_key, work.span()}, done);
}

void EmbeddedStore::lookup(std::string_view aor_key, Time now, Done done) {
    const uint64_t hash = aor_hash(aor_key);
    const AorShard& shard = aor_shard(hash);
    Work& work = work_area();
    {
        absl::ReaderMutexLock lock(&shard.mu);
        auto it = shard.aors.find(aor_key, hash);
        work.load(it == shard.aors.end() ? nullptr : *it, shard.path_parts);
    }
    (void)work.erase_if([&](const Binding& b) { return expired(b, now); });
    work.aor_key.assign(aor_key);
    finish(StoreStatus::kOk, AorView{work.aor_key, work.span()}, done);
}

void EmbeddedStore::forget_flow(std::string_view flow_token, Time now) {
    (void)now;
    if (flow_token.empty()) {
        return;
    }
    const TokenHash token = token_hash(flow_token);
    FlowShard& flows = flow_shard(token);
    Work& work = work_area();
    // Each round takes a batch of AORs off the token's list (copying their
    // keys: once off the list a block may be freed by another thread) and
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
            auto it = flows.aors_by_token.find(token);
            if (it == flows.aors_by_token.end()) {
                return;
            }
            if (first) {
                budget = 2 * it->second.size() + kForgetAorCountPerBatchMax;
                first = false;
            }
            const size_t want = std::min<size_t>(budget, kForgetAorCountPerBatchMax);
            (void)it->second.drain(
                want, [&](const AorBlock* aor) { batch.emplace_back(aor->key()); });
            if (it->second.empty()) {
                flows.aors_by_token.erase(it);
            }
        }
        budget -= std::min(budget, batch.size());
        for (const std::string& aor_key : batch) {
            const uint64_t hash = aor_hash(aor_key);
            AorShard& shard = aor_shard(hash);
            absl::MutexLock lock(&shard.mu);
            auto it = shard.aors.find(aor_key, hash);
            if (it == shard.aors.end()) {
                continue;
            }
            AorBlock* block = *it;
            work.load(block, shard.path_parts);
            const size_t removed =
                work.erase_if([&](const Binding& b) { return b.flow_token == flow_token; });
            if (removed > 0) {
                block = commit(shard, block, aor_key, work);
            }
            // We took the AOR off the list: back on it if a binding over
            // another token with the same hash is left.
            if (block != nullptr && contains(token_hashes(work), token)) {
                list(token, block);
            }
        }
    }
}

size_t EmbeddedStore::expire(Time now) {
    uint32_t budget = config_.expire_aor_count_per_call_max;
    size_t removed = 0;
    Work& work = work_area();
    const size_t start = expire_cursor_.fetch_add(1, std::memory_order_relaxed) % kStoreShardCount;
    for (size_t k = 0; k < kStoreShardCount && budget > 0; ++k) {
        AorShard& shard = aor_shards_[(start + k) % kStoreShardCount];
        absl::MutexLock lock(&shard.mu);
        while (budget > 0 && !shard.expiry.empty() && shard.expiry.top_at() <= now) {
            --budget;
            AorBlock* block = shard.expiry.top();
            work.load(block, shard.path_parts);
            const size_t gone = work.erase_if([&](const Binding& b) { return expired(b, now); });
            removed += gone;
            if (gone > 0) {
                (void)commit(shard, block, block->key(), work, Reschedule::kAlways);
            } else {
                // Refreshed since it was scheduled: on to its new earliest.
                shard.expiry.schedule(block, earliest_expiry(work));
            }
        }
    }
    return removed;
}

size_t EmbeddedStore::binding_count_for_test() const {
    size_t count = 0;
    std::vector<Binding> bindings;
    for (const AorShard& shard : aor_shards_) {
        absl::ReaderMutexLock lock(&shard.mu);
        for (const AorBlock* block : shard.aors) {
            count += internal::decode_bindings(block->body(), block->key(), bindings, nullptr,
                                               &shard.path_parts);
        }
    }
    return count;
}

size_t EmbeddedStore::flow_aor_count_for_test(std::string_view flow_token) const {
    const TokenHash token = token_hash(flow_token);
    const FlowShard& shard = flow_shard(token);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(token);
    return it == shard.aors_by_token.end() ? 0 : it->second.size();
}

std::vector<std::string> EmbeddedStore::flow_aor_keys_for_test(std::string_view flow_token) const {
    std::vector<std::string> keys;
    const TokenHash token = token_hash(flow_token);
    const FlowShard& shard = flow_shard(token);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.aors_by_token.find(token);
    if (it != shard.aors_by_token.end()) {
        it->second.for_each([&](const AorBlock* aor) { keys.emplace_back(aor->key()); });
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

bool EmbeddedStore::flow_index_consistent_for_test() const {
    // Every (AOR, token hash) pair of a stored binding is listed ...
    size_t pair_count = 0;
    Work work;
    for (const AorShard& shard : aor_shards_) {
        absl::ReaderMutexLock lock(&shard.mu);
        if (shard.expiry.size() != shard.aors.size() || !shard.expiry.valid_for_test()) {
            return false;
        }
        for (const AorBlock* block : shard.aors) {
            work.load(block, shard.path_parts);
            if (work.count == 0) {
                return false;  // An empty AOR must have been erased.
            }
            const TokenHashes hashes = token_hashes(work);
            for (TokenHash h : hashes) {
                const FlowShard& flows = flow_shard(h);
                absl::ReaderMutexLock flow_lock(&flows.mu);
                auto it = flows.aors_by_token.find(h);
                if (it == flows.aors_by_token.end() || !it->second.contains(block)) {
                    return false;
                }
            }
            pair_count += hashes.size();
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
