#include "core/time/timer_wheel.h"

#include <bit>

#include "core/base/assert.h"

namespace fe::time {
namespace {

// Level l holds timers whose distance (in ticks, from the last processed
// tick) is below 2^(8 (l + 1)); the last level also holds everything farther,
// clamped to this distance and re-placed when its slot cascades.
constexpr uint64_t kWheelDistanceMax = (uint64_t{1} << (kWheelSlotBits * kWheelLevelCount)) - 1;
constexpr uint32_t kSlotMask = kWheelSlotCount - 1;
constexpr uint32_t kBitmapWordCount = kWheelSlotCount / 64;

void list_init(TimerLink& head) {
    head.prev = &head;
    head.next = &head;
}

bool list_empty(const TimerLink& head) { return head.next == &head; }

void list_push_back(TimerLink& head, TimerLink& node) {
    node.prev = head.prev;
    node.next = &head;
    head.prev->next = &node;
    head.prev = &node;
}

// Moves every node of `from` to the end of `to`; `from` becomes empty.
void list_splice(TimerLink& from, TimerLink& to) {
    if (list_empty(from)) {
        return;
    }
    TimerLink* first = from.next;
    TimerLink* last = from.prev;
    first->prev = to.prev;
    to.prev->next = first;
    last->next = &to;
    to.prev = last;
    list_init(from);
}

// Distance (1..256) from `from` to the first set bit at or after from + 1,
// wrapping around; 0 when no bit is set. A slot equal to `from` is at
// distance 256: its next turn comes one full rotation later.
uint32_t next_set_distance(const std::array<uint64_t, kBitmapWordCount>& bits, uint32_t from) {
    uint32_t start = (from + 1) & kSlotMask;
    for (uint32_t step = 0; step <= kBitmapWordCount; ++step) {
        uint32_t word_index = ((start >> 6) + step) % kBitmapWordCount;
        uint64_t word = bits[word_index];
        if (step == 0) {
            word &= ~uint64_t{0} << (start & 63);
        } else if (step == kBitmapWordCount) {
            // Back at the first word: only the bits below `start` are left.
            word &= (start & 63) == 0 ? 0 : ~(~uint64_t{0} << (start & 63));
        }
        if (word != 0) {
            uint32_t slot = word_index * 64 + static_cast<uint32_t>(std::countr_zero(word));
            return ((slot - start) & kSlotMask) + 1;
        }
    }
    return 0;
}

}  // namespace

Timer::~Timer() { FE_ASSERT(!armed()); }

TimerWheel::TimerWheel(Time start, Duration tick) : start_(start), tick_(tick) {
    FE_ASSERT(tick_.count() > 0);
    list_init(due_);
    list_init(firing_);
    for (Level& level : levels_) {
        for (TimerLink& slot : level.slots) {
            list_init(slot);
        }
    }
}

TimerWheel::~TimerWheel() {
    auto disarm_all = [](TimerLink& head) {
        while (!list_empty(head)) {
            auto& t = static_cast<Timer&>(*head.next);
            head.next = t.next;
            t.prev = nullptr;
            t.next = nullptr;
            t.slot_ref_ = Timer::kNotInSlot;
        }
    };
    disarm_all(due_);
    disarm_all(firing_);
    for (Level& level : levels_) {
        for (TimerLink& slot : level.slots) {
            disarm_all(slot);
        }
    }
}

uint64_t TimerWheel::tick_ceil(Time deadline) const {
    int64_t since_start = (deadline - start_).count();
    if (since_start <= 0) {
        return 0;
    }
    int64_t tick = tick_.count();
    return static_cast<uint64_t>(since_start / tick + (since_start % tick != 0 ? 1 : 0));
}

void TimerWheel::arm(Timer& t, Time deadline) {
    FE_ASSERT(t.fn != nullptr);
    if (t.armed()) {
        unlink(t);
    } else {
        ++armed_count_;
    }
    t.deadline_ = deadline;
    t.expiry_tick_ = tick_ceil(deadline);
    if (t.expiry_tick_ <= elapsed_tick_) {
        list_push_back(due_, t);
        return;
    }
    place(t);
}

void TimerWheel::cancel(Timer& t) {
    if (!t.armed()) {
        return;
    }
    unlink(t);
    FE_ASSERT(armed_count_ > 0);
    --armed_count_;
}

// Puts an armed, unlinked timer with expiry_tick_ >= elapsed_tick_ into the
// lowest level whose span covers its distance. Distance 0 only happens during
// a cascade, for timers due in the tick being processed: they land in the
// level-0 slot that advance() fires next.
void TimerWheel::place(Timer& t) {
    FE_ASSERT(t.expiry_tick_ >= elapsed_tick_);
    uint64_t distance = t.expiry_tick_ - elapsed_tick_;
    if (distance > kWheelDistanceMax) {
        distance = kWheelDistanceMax;
    }
    uint64_t wheel_tick = elapsed_tick_ + distance;
    uint32_t level_index = 0;
    while (level_index + 1 < kWheelLevelCount &&
           distance >= (uint64_t{1} << (kWheelSlotBits * (level_index + 1)))) {
        ++level_index;
    }
    auto slot_index =
        static_cast<uint32_t>((wheel_tick >> (kWheelSlotBits * level_index)) & kSlotMask);
    link_into_slot(t, level_index, slot_index);
}

void TimerWheel::link_into_slot(Timer& t, uint32_t level_index, uint32_t slot_index) {
    Level& level = levels_[level_index];
    list_push_back(level.slots[slot_index], t);
    level.occupied[slot_index >> 6] |= uint64_t{1} << (slot_index & 63);
    t.slot_ref_ = static_cast<uint16_t>(level_index * kWheelSlotCount + slot_index);
}

void TimerWheel::unlink(Timer& t) {
    t.prev->next = t.next;
    t.next->prev = t.prev;
    t.prev = nullptr;
    t.next = nullptr;
    if (t.slot_ref_ != Timer::kNotInSlot) {
        clear_if_empty(t.slot_ref_ / kWheelSlotCount, t.slot_ref_ % kWheelSlotCount);
        t.slot_ref_ = Timer::kNotInSlot;
    }
}

void TimerWheel::clear_if_empty(uint32_t level_index, uint32_t slot_index) {
    Level& level = levels_[level_index];
    if (list_empty(level.slots[slot_index])) {
        level.occupied[slot_index >> 6] &= ~(uint64_t{1} << (slot_index & 63));
    }
}

// The first tick after elapsed_tick_ at which some non-empty slot is reached:
// a level-0 slot fires at its tick, an upper-level slot cascades when the
// lower digits of the tick are all zero. UINT64_MAX when the wheel is empty.
uint64_t TimerWheel::next_event_tick() const {
    uint64_t best = UINT64_MAX;
    for (uint32_t level_index = 0; level_index < kWheelLevelCount; ++level_index) {
        uint32_t shift = kWheelSlotBits * level_index;
        uint64_t digits = elapsed_tick_ >> shift;
        uint32_t distance = next_set_distance(levels_[level_index].occupied,
                                              static_cast<uint32_t>(digits & kSlotMask));
        if (distance == 0) {
            continue;
        }
        uint64_t event_tick = (digits + distance) << shift;
        if (event_tick < best) {
            best = event_tick;
        }
    }
    return best;
}

// Re-places the timers of every upper-level slot that `tick` reaches, highest
// level first, so that timers due at `tick` end up in its level-0 slot.
void TimerWheel::cascade(uint64_t tick) {
    for (uint32_t level_index = kWheelLevelCount - 1; level_index >= 1; --level_index) {
        uint32_t shift = kWheelSlotBits * level_index;
        if ((tick & ((uint64_t{1} << shift) - 1)) != 0) {
            continue;
        }
        auto slot_index = static_cast<uint32_t>((tick >> shift) & kSlotMask);
        Level& level = levels_[level_index];
        TimerLink moving;
        list_init(moving);
        list_splice(level.slots[slot_index], moving);
        level.occupied[slot_index >> 6] &= ~(uint64_t{1} << (slot_index & 63));
        while (!list_empty(moving)) {
            auto& t = static_cast<Timer&>(*moving.next);
            moving.next = t.next;
            t.next->prev = &moving;
            place(t);
        }
    }
}

size_t TimerWheel::fire_list(TimerLink& list, Time now) {
    size_t fired = 0;
    while (!list_empty(list)) {
        auto& t = static_cast<Timer&>(*list.next);
        unlink(t);
        FE_ASSERT(armed_count_ > 0);
        --armed_count_;
        ++fired;
        // The callback may arm or cancel anything, including `t` and timers
        // still in `list`; the loop re-reads the list head each time.
        t.fn(t, now);
    }
    return fired;
}

size_t TimerWheel::advance(Time now) {
    FE_ASSERT(!advancing_);
    advancing_ = true;
    uint64_t target_tick = now <= start_ ? 0 : static_cast<uint64_t>((now - start_) / tick_);
    // Timers armed in the past fire first: their ticks are <= elapsed_tick_,
    // earlier than anything in a slot.
    list_splice(due_, firing_);
    size_t fired = fire_list(firing_, now);
    for (;;) {
        uint64_t event_tick = next_event_tick();
        if (event_tick > target_tick) {
            break;
        }
        elapsed_tick_ = event_tick;
        cascade(event_tick);
        auto slot_index = static_cast<uint32_t>(event_tick & kSlotMask);
        Level& level0 = levels_[0];
        list_splice(level0.slots[slot_index], firing_);
        level0.occupied[slot_index >> 6] &= ~(uint64_t{1} << (slot_index & 63));
        for (TimerLink* link = firing_.next; link != &firing_; link = link->next) {
            static_cast<Timer*>(link)->slot_ref_ = Timer::kNotInSlot;
        }
        fired += fire_list(firing_, now);
    }
    if (target_tick > elapsed_tick_) {
        elapsed_tick_ = target_tick;
    }
    advancing_ = false;
    return fired;
}

std::optional<Time> TimerWheel::next_deadline() const {
    if (!list_empty(due_) || !list_empty(firing_)) {
        return tick_time(elapsed_tick_);
    }
    uint64_t event_tick = next_event_tick();
    if (event_tick == UINT64_MAX) {
        return std::nullopt;
    }
    return tick_time(event_tick);
}

}  // namespace fe::time
