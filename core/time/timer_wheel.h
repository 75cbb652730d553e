// File: core/time/timer_wheel.h
//
// A hierarchical timing wheel (Varghese & Lauck; the layout of Linux's classic
// timer wheel): O(1) arm and cancel, intrusive timers, no allocation after
// construction. Pure: time is passed in, nothing here reads a clock. Each
// worker owns one wheel and drives it from a single io_uring timeout set to
// next_deadline().
//
//   struct Flow {
//       fe::time::Timer idle_timer{&Flow::on_idle, this};
//       static void on_idle(fe::time::Timer& t, fe::Time now) {
//           auto* flow = static_cast<Flow*>(t.context);
//           ...
//       }
//   };
//   fe::time::TimerWheel wheel(now, fe::milliseconds(1));
//   wheel.arm(flow.idle_timer, now + fe::seconds(30));
//   ...
//   size_t fired = wheel.advance(now);            // once per loop turn
//   std::optional<fe::Time> wake = wheel.next_deadline();
//
// Semantics:
// - A timer's deadline is rounded UP to a whole tick of the wheel: it never
//   fires early, and when advance() is called on time it fires less than one
//   tick late.
// - Arming with a deadline at or before the last tick advance() processed
//   (a past deadline) fires at the next advance() call, whatever its `now`.
//   Callbacks that arm such a timer do not see it fire in the same advance(),
//   so a callback that keeps re-arming itself "now" cannot loop forever.
// - Deadlines beyond the wheel's range (2^32 ticks: 49.7 days at 1 ms) are
//   parked in the last level and re-placed on cascade; they still fire on time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/base/time.h"

namespace fe::time {

// The wheel's shape. 4 levels x 256 slots = 2^32 ticks of range; with 1 ms
// ticks that is 49.7 days, longer than any SIP timer or registration.
inline constexpr uint32_t kWheelSlotBits = 8;
inline constexpr uint32_t kWheelSlotCount = 1u << kWheelSlotBits;
inline constexpr uint32_t kWheelLevelCount = 4;
static_assert(kWheelSlotBits * kWheelLevelCount <= 32, "tick distances are kept in 32 bits");

// Doubly linked list node; a slot is a circular list with a sentinel, so a
// timer can unlink itself without knowing which list holds it.
struct TimerLink {
    TimerLink* prev = nullptr;
    TimerLink* next = nullptr;
};

// An intrusive timer. The owner embeds it (e.g. as a member of a flow or a
// transaction) and recovers itself in the callback (offsetof / context).
// A Timer must not be destroyed or moved while armed (asserted); it is not
// copyable because the wheel links to its address.
struct Timer : private TimerLink {
    using Fn = void (*)(Timer& timer, Time now);

    explicit Timer(Fn fn_in, void* context_in = nullptr) : fn(fn_in), context(context_in) {}
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    Fn fn;
    void* context;

    bool armed() const { return next != nullptr; }
    // The deadline given to the last arm(); meaningful while armed and inside
    // the callback.
    Time deadline() const { return deadline_; }

private:
    friend class TimerWheel;

    // The TimerLink base is non-null exactly while the timer is in one of the
    // wheel's lists (a slot, the due list, or the list advance() is firing).
    Time deadline_{};
    // deadline_ rounded up to a tick index of the wheel that armed it.
    uint64_t expiry_tick_ = 0;
    // level * kWheelSlotCount + slot while in a wheel slot; kNotInSlot while
    // in due_/firing_ or not armed. Lets cancel() keep the occupancy bits exact.
    static constexpr uint16_t kNotInSlot = UINT16_MAX;
    uint16_t slot_ref_ = kNotInSlot;
};

class TimerWheel {
public:
    // `tick` is the resolution: 1 ms in net/, 10 ms is fine for coarse timers.
    TimerWheel(Time start, Duration tick);
    // Disarms every timer still armed, so none keeps pointers into a dead wheel.
    ~TimerWheel();
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // O(1). Re-arming an armed timer moves it. A past deadline fires at the
    // next advance().
    void arm(Timer& t, Time deadline);
    // O(1). No-op when not armed. Safe from inside a callback, for any timer,
    // including one that was due in the same advance() (it then does not fire).
    void cancel(Timer& t);
    // Fires every timer whose deadline, rounded up to a tick, is <= now, in
    // deadline-tick order (timers of one tick in no promised order). Returns
    // how many fired. Callbacks may arm and cancel any timer, including
    // re-arming themselves. Must not be called from a callback (asserted).
    size_t advance(Time now);
    // The earliest time at which advance() could fire something: never later
    // than the first deadline, possibly earlier (a cascade of an upper level
    // is reported as a wake-up). nullopt when nothing is armed.
    std::optional<Time> next_deadline() const;
    size_t armed_count() const { return armed_count_; }

    Duration tick() const { return tick_; }
    // The time up to which every tick has been processed.
    Time processed_until() const { return tick_time(elapsed_tick_); }

private:
    struct Level {
        std::array<TimerLink, kWheelSlotCount> slots;
        // Bit s is set exactly when slots[s] is non-empty.
        std::array<uint64_t, kWheelSlotCount / 64> occupied{};
    };

    uint64_t tick_ceil(Time deadline) const;
    Time tick_time(uint64_t tick) const { return start_ + tick_ * static_cast<int64_t>(tick); }
    void place(Timer& t);
    void link_into_slot(Timer& t, uint32_t level_index, uint32_t slot_index);
    void unlink(Timer& t);
    void clear_if_empty(uint32_t level_index, uint32_t slot_index);
    uint64_t next_event_tick() const;
    void cascade(uint64_t tick);
    size_t fire_list(TimerLink& list, Time now);

    const Time start_;
    const Duration tick_;
    // Every tick <= elapsed_tick_ has been processed: no timer in a slot has
    // expiry_tick_ <= elapsed_tick_ (such timers go to due_).
    uint64_t elapsed_tick_ = 0;
    size_t armed_count_ = 0;
    // True while advance() runs callbacks; advance() is not reentrant.
    bool advancing_ = false;
    // Timers armed with a deadline already processed; fired by the next advance().
    TimerLink due_;
    // Timers taken out of a slot (or due_) by advance() and not fired yet.
    TimerLink firing_;
    std::array<Level, kWheelLevelCount> levels_;
};

}  // namespace fe::time
