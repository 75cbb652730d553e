#include "state/flow_table.h"

#include <algorithm>
#include <cstdlib>

namespace fe::state {
namespace {

// absl's table rehashes in place (no allocation) only while size <= 25/32 of
// its capacity; reserving this much more than flow_count_max keeps a full
// table with tombstones from ever growing.
size_t index_reserve_for(uint32_t flow_count_max) {
    return size_t{flow_count_max} + flow_count_max / 8 + 16;
}

}  // namespace

size_t FlowTable::UdpIndexHash::operator()(uint32_t slot) const {
    const FlowEntry& e = (*entries)[slot];
    return absl::Hash<UdpKey>{}(UdpKey{e.remote, e.local_socket});
}

bool FlowTable::UdpIndexEq::operator()(uint32_t a, uint32_t b) const {
    if (a == b) {
        return true;
    }
    const FlowEntry& ea = (*entries)[a];
    const FlowEntry& eb = (*entries)[b];
    return ea.local_socket == eb.local_socket && ea.remote == eb.remote;
}

bool FlowTable::UdpIndexEq::operator()(uint32_t slot, const UdpKey& key) const {
    const FlowEntry& e = (*entries)[slot];
    return e.local_socket == key.local_socket && e.remote == key.remote;
}

void FlowTable::FreeDeleter::operator()(uint32_t* p) const { std::free(p); }

FlowTable::FlowTable(const FlowTableConfig& config)
    : config_(config),
      udp_index_(0, UdpIndexHash{&entries_}, UdpIndexEq{&entries_}) {
    FE_ASSERT(config_.flow_count_max > 0);
    FE_ASSERT(config_.flow_count_max <= kFlowCountMaxCeiling);
    FE_ASSERT(config_.stream_flow_count_max > 0);
    FE_ASSERT(config_.connection_id_limit > 0);
    FE_ASSERT(config_.connection_id_limit <= kConnectionIdLimitCeiling);
    FE_ASSERT(config_.generation_start >= 1);
    FE_ASSERT(config_.udp_idle_limit > Duration::zero());
    FE_ASSERT(config_.stream_idle_limit > Duration::zero());
    FE_ASSERT(config_.flow_timer_grace > Duration::zero());  // OB-FT-02: strictly longer
    FE_ASSERT(config_.sweep_period > Duration::zero());
    entries_.reserve(config_.flow_count_max);
    udp_index_.reserve(index_reserve_for(config_.flow_count_max));
    // calloc: a large block comes straight from mmap, so its pages stay
    // uncommitted until an id in them is used.
    connection_index_.reset(
        static_cast<uint32_t*>(std::calloc(config_.connection_id_limit, sizeof(uint32_t))));
    FE_ASSERT(connection_index_ != nullptr);  // OOM at start is fatal.
}

uint32_t FlowTable::to_limit_ms(Duration idle_limit) {
    FE_ASSERT(idle_limit >= Duration::zero());
    Duration clamped = std::min(idle_limit, kFlowIdleLimitMax);
    return static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(clamped).count());
}

uint32_t FlowTable::allocate(Transport transport, Time now, Duration idle_limit) {
    FE_ASSERT(count_ < config_.flow_count_max);
    uint32_t slot = free_head_;
    if (slot != kNoSlot) {
        free_head_ = entries_[slot].connection_id;
    } else {
        FE_ASSERT(entries_.size() < kNoSlot);
        slot = static_cast<uint32_t>(entries_.size());
        entries_.emplace_back().generation = config_.generation_start;
    }
    FlowEntry& e = entries_[slot];
    FE_ASSERT(!e.live());
    FE_ASSERT(e.generation != 0);
    e.last_activity_ns = to_ns(now.time_since_epoch());
    e.remote = Endpoint{};
    e.connection_id = kNoSlot;
    e.cookie = 0;
    e.idle_limit_ms = to_limit_ms(idle_limit);
    e.local_socket = 0;
    e.transport = transport;
    e.flags = kFlowLive;
    ++count_;
    return slot;
}

FlowCreated FlowTable::create_stream(uint32_t connection_id, Transport transport, Time now,
                                     const Endpoint& remote) {
    FE_ASSERT(transport_is_stream(transport));
    if (count_ >= config_.flow_count_max || stream_count_ >= config_.stream_flow_count_max ||
        connection_id >= config_.connection_id_limit) {
        return {FlowResult::kTableFull, {}};
    }
    if (connection_index_[connection_id] != 0) {
        return {FlowResult::kConnectionTaken, {}};
    }
    uint32_t slot = allocate(transport, now, config_.stream_idle_limit);
    FlowEntry& e = entries_[slot];
    e.connection_id = connection_id;
    e.remote = remote;
    FE_ASSERT(slot < kNoSlot - 1);
    connection_index_[connection_id] = slot + 1;
    ++stream_count_;
    return {FlowResult::kOk, FlowHandle{slot, e.generation}};
}

FlowCreated FlowTable::create_udp(const Endpoint& remote, uint16_t local_socket, Time now) {
    FE_ASSERT(!remote.empty());
    if (count_ >= config_.flow_count_max) {
        return {FlowResult::kTableFull, {}};
    }
    if (udp_index_.contains(UdpKey{remote, local_socket})) {
        return {FlowResult::kUdpFlowTaken, {}};
    }
    uint32_t slot = allocate(Transport::kUdp, now, config_.udp_idle_limit);
    FlowEntry& e = entries_[slot];
    e.remote = remote;
    e.local_socket = local_socket;
    bool inserted = udp_index_.insert(slot).second;
    FE_ASSERT(inserted);
    return {FlowResult::kOk, FlowHandle{slot, e.generation}};
}

const FlowEntry* FlowTable::find(FlowHandle handle) const {
    if (handle.slot >= entries_.size()) {
        return nullptr;
    }
    const FlowEntry& e = entries_[handle.slot];
    if (!e.live() || e.generation != handle.generation) {
        return nullptr;
    }
    return &e;
}

FlowEntry* FlowTable::live_entry(FlowHandle handle) {
    return const_cast<FlowEntry*>(static_cast<const FlowTable&>(*this).find(handle));
}

std::optional<FlowHandle> FlowTable::find_by_connection(uint32_t connection_id) const {
    if (connection_id >= config_.connection_id_limit || connection_index_[connection_id] == 0) {
        return std::nullopt;
    }
    const uint32_t slot = connection_index_[connection_id] - 1;
    FE_DASSERT(entries_[slot].live());
    FE_DASSERT(entries_[slot].connection_id == connection_id);
    return FlowHandle{slot, entries_[slot].generation};
}

std::optional<FlowHandle> FlowTable::find_udp(const Endpoint& remote,
                                              uint16_t local_socket) const {
    auto it = udp_index_.find(UdpKey{remote, local_socket});
    if (it == udp_index_.end()) {
        return std::nullopt;
    }
    return FlowHandle{*it, entries_[*it].generation};
}

FlowResult FlowTable::touch(FlowHandle handle, Time now) {
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    e->last_activity_ns = to_ns(now.time_since_epoch());
    return FlowResult::kOk;
}

FlowResult FlowTable::set_flow_timer(FlowHandle handle, Duration flow_timer) {
    return set_idle_limit(handle, flow_timer + config_.flow_timer_grace);
}

FlowResult FlowTable::set_idle_limit(FlowHandle handle, Duration idle_limit) {
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    e->idle_limit_ms = to_limit_ms(idle_limit);
    return FlowResult::kOk;
}

FlowResult FlowTable::set_cookie(FlowHandle handle, uint32_t cookie) {
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    e->cookie = cookie;
    return FlowResult::kOk;
}

FlowResult FlowTable::set_flags(FlowHandle handle, uint8_t flags) {
    FE_ASSERT((flags & ~kFlowFlagsUserMask) == 0);
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    e->flags = static_cast<uint8_t>(e->flags | flags);
    return FlowResult::kOk;
}

FlowResult FlowTable::clear_flags(FlowHandle handle, uint8_t flags) {
    FE_ASSERT((flags & ~kFlowFlagsUserMask) == 0);
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    e->flags = static_cast<uint8_t>(e->flags & ~flags);
    return FlowResult::kOk;
}

FlowResult FlowTable::erase(FlowHandle handle) {
    FlowEntry* e = live_entry(handle);
    if (e == nullptr) {
        return FlowResult::kStale;
    }
    // Out of the index first: its hasher reads the key from the entry.
    if (e->is_udp()) {
        const size_t removed = udp_index_.erase(handle.slot);
        FE_ASSERT(removed == 1);
    } else {
        FE_ASSERT(e->connection_id < config_.connection_id_limit);
        FE_ASSERT(connection_index_[e->connection_id] == handle.slot + 1);
        connection_index_[e->connection_id] = 0;
        FE_ASSERT(stream_count_ > 0);
        --stream_count_;
    }
    FE_ASSERT(count_ > 0);
    --count_;
    e->flags = 0;
    e->cookie = 0;
    if (e->generation == UINT32_MAX) {
        // Advancing would wrap to a value an old token may still carry.
        ++retired_slot_count_;
        e->connection_id = kNoSlot;
        return FlowResult::kOk;
    }
    ++e->generation;
    e->connection_id = free_head_;
    free_head_ = handle.slot;
    return FlowResult::kOk;
}

size_t FlowTable::sweep_budget(Duration call_interval) const {
    FE_ASSERT(call_interval > Duration::zero());
    if (call_interval >= config_.sweep_period) {
        return entries_.size();
    }
    // ceil(slab * interval / period), in doubles: the slab is < 2^32 and the
    // ratio is at most 1, so precision is no issue.
    double share = static_cast<double>(call_interval.count()) /
                   static_cast<double>(config_.sweep_period.count());
    return static_cast<size_t>(static_cast<double>(entries_.size()) * share) + 1;
}

void FlowTable::set_generation_for_test(uint32_t slot, uint32_t generation) {
    FE_ASSERT(slot < entries_.size());
    FE_ASSERT(!entries_[slot].live());
    FE_ASSERT(generation != 0);
    entries_[slot].generation = generation;
}

}  // namespace fe::state
