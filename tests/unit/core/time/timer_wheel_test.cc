// Checks the hierarchical timing wheel: timers fire in deadline order, never
// early and at most one tick late; cancel and re-arm work from inside
// callbacks; cascades across every level boundary (and beyond the wheel's
// range) deliver timers on their tick; a seeded random model test compares
// the wheel with a std::multimap reference; one million timers all fire.
#include "core/time/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <vector>

namespace fe::time {
namespace {

constexpr Time kStart = time_from_ns(1'000'000'000);
constexpr Duration kTick = milliseconds(1);

// A timer with a test hook: records every firing and runs `on_fire`.
struct Probe {
    explicit Probe(int id_in) : timer(&Probe::fire, this), id(id_in) {}
    static void fire(Timer& t, Time now) {
        auto* self = static_cast<Probe*>(t.context);
        self->fired_at.push_back(now);
        if (self->log != nullptr) {
            self->log->push_back(self->id);
        }
        if (self->on_fire) {
            self->on_fire(now);
        }
    }
    Timer timer;
    int id;
    std::vector<Time> fired_at;
    std::vector<int>* log = nullptr;
    std::function<void(Time)> on_fire;
};

TEST(TimerWheel, StartsEmpty) {
    TimerWheel wheel(kStart, kTick);
    EXPECT_EQ(wheel.armed_count(), 0u);
    EXPECT_FALSE(wheel.next_deadline().has_value());
    EXPECT_EQ(wheel.advance(kStart + seconds(5)), 0u);
}

TEST(TimerWheel, FiresInDeadlineOrderNeverEarlyAtMostOneTickLate) {
    TimerWheel wheel(kStart, kTick);
    std::mt19937_64 rng(7);
    std::deque<Probe> probes;
    std::vector<int> log;
    std::vector<Time> deadlines;
    for (int i = 0; i < 2000; ++i) {
        Probe& p = probes.emplace_back(i);
        p.log = &log;
        // Sub-tick deadlines, so rounding up to the tick is exercised.
        Time deadline = kStart + microseconds(rng() % 3'000'000);
        deadlines.push_back(deadline);
        wheel.arm(p.timer, deadline);
        EXPECT_EQ(p.timer.deadline(), deadline);
    }
    EXPECT_EQ(wheel.armed_count(), 2000u);
    size_t fired = 0;
    for (Time now = kStart; now <= kStart + seconds(4); now += kTick) {
        fired += wheel.advance(now);
    }
    EXPECT_EQ(fired, 2000u);
    EXPECT_EQ(wheel.armed_count(), 0u);
    ASSERT_EQ(log.size(), 2000u);
    for (size_t k = 1; k < log.size(); ++k) {
        // Order by tick: a later log entry never has an earlier rounded tick.
        EXPECT_LE(probes[static_cast<size_t>(log[k - 1])].fired_at[0],
                  probes[static_cast<size_t>(log[k])].fired_at[0]);
    }
    for (Probe& p : probes) {
        ASSERT_EQ(p.fired_at.size(), 1u);
        Time deadline = deadlines[static_cast<size_t>(p.id)];
        EXPECT_GE(p.fired_at[0], deadline) << "fired early";
        EXPECT_LT(p.fired_at[0] - deadline, kTick) << "more than one tick late";
        EXPECT_FALSE(p.timer.armed());
    }
}

TEST(TimerWheel, DeadlineOnATickBoundaryFiresAtThatTickNotBefore) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    wheel.arm(p.timer, kStart + milliseconds(10));
    EXPECT_EQ(wheel.next_deadline(), kStart + milliseconds(10));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(10) - nanoseconds(1)), 0u);
    EXPECT_EQ(wheel.advance(kStart + milliseconds(10)), 1u);
}

TEST(TimerWheel, PastDeadlineFiresAtTheNextAdvanceWhateverItsTime) {
    TimerWheel wheel(kStart, kTick);
    EXPECT_EQ(wheel.advance(kStart + seconds(1)), 0u);
    Probe past(0);
    Probe now_tick(1);
    wheel.arm(past.timer, kStart);
    wheel.arm(now_tick.timer, kStart + seconds(1));
    EXPECT_EQ(wheel.next_deadline(), kStart + seconds(1));
    // Same `now` as before: the clock did not move, the timers still fire.
    EXPECT_EQ(wheel.advance(kStart + seconds(1)), 2u);
    EXPECT_EQ(past.fired_at.size(), 1u);
    EXPECT_EQ(now_tick.fired_at.size(), 1u);
}

TEST(TimerWheel, CancelBeforeExpiryAndCancelOfUnarmedIsANoOp) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    wheel.cancel(p.timer);
    wheel.arm(p.timer, kStart + milliseconds(5));
    wheel.cancel(p.timer);
    wheel.cancel(p.timer);
    EXPECT_FALSE(p.timer.armed());
    EXPECT_EQ(wheel.armed_count(), 0u);
    EXPECT_FALSE(wheel.next_deadline().has_value());
    EXPECT_EQ(wheel.advance(kStart + seconds(1)), 0u);
    EXPECT_TRUE(p.fired_at.empty());
}

TEST(TimerWheel, CancelInTheSameTickAsExpiryFromAnotherCallback) {
    TimerWheel wheel(kStart, kTick);
    Probe a(0);
    Probe b(1);
    // Same deadline: whichever fires first cancels the other.
    a.on_fire = [&](Time) { wheel.cancel(b.timer); };
    b.on_fire = [&](Time) { wheel.cancel(a.timer); };
    wheel.arm(a.timer, kStart + milliseconds(3));
    wheel.arm(b.timer, kStart + milliseconds(3));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(3)), 1u);
    EXPECT_EQ(a.fired_at.size() + b.fired_at.size(), 1u);
    EXPECT_EQ(wheel.armed_count(), 0u);
    EXPECT_FALSE(a.timer.armed());
    EXPECT_FALSE(b.timer.armed());
}

TEST(TimerWheel, CancelDueTimerFromCallbackOfEarlierTickInSameAdvance) {
    TimerWheel wheel(kStart, kTick);
    Probe first(0);
    Probe later(1);
    first.on_fire = [&](Time) { wheel.cancel(later.timer); };
    wheel.arm(first.timer, kStart + milliseconds(1));
    wheel.arm(later.timer, kStart + milliseconds(2));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(100)), 1u);
    EXPECT_TRUE(later.fired_at.empty());
}

TEST(TimerWheel, CallbackReArmsItselfPeriodically) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    p.on_fire = [&](Time now) {
        if (p.fired_at.size() < 5) {
            wheel.arm(p.timer, now + milliseconds(10));
        }
    };
    wheel.arm(p.timer, kStart + milliseconds(10));
    // One big jump: every period inside it fires within this advance().
    EXPECT_EQ(wheel.advance(kStart + milliseconds(45)), 1u);
    EXPECT_TRUE(p.timer.armed());
    for (Time now = kStart + milliseconds(46); now <= kStart + milliseconds(200); now += kTick) {
        (void)wheel.advance(now);
    }
    ASSERT_EQ(p.fired_at.size(), 5u);
    EXPECT_EQ(p.fired_at[0], kStart + milliseconds(45));
    EXPECT_EQ(p.fired_at[1], kStart + milliseconds(55));
    EXPECT_EQ(p.fired_at[4], kStart + milliseconds(85));
    EXPECT_FALSE(p.timer.armed());
}

TEST(TimerWheel, CallbackReArmingItselfInThePastWaitsForTheNextAdvance) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    p.on_fire = [&](Time now) { wheel.arm(p.timer, now - seconds(1)); };
    wheel.arm(p.timer, kStart + milliseconds(1));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(1)), 1u);
    EXPECT_TRUE(p.timer.armed());
    EXPECT_EQ(wheel.next_deadline(), kStart + milliseconds(1));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(1)), 1u);
    EXPECT_EQ(p.fired_at.size(), 2u);
    wheel.cancel(p.timer);
}

TEST(TimerWheel, CallbackArmsAnotherTimerDueInsideTheSameAdvance) {
    TimerWheel wheel(kStart, kTick);
    Probe a(0);
    Probe b(1);
    Probe moved(2);
    a.on_fire = [&](Time) {
        wheel.arm(b.timer, kStart + milliseconds(7));        // inside this advance
        wheel.arm(moved.timer, kStart + milliseconds(500));  // moved out of it
    };
    wheel.arm(moved.timer, kStart + milliseconds(8));
    wheel.arm(a.timer, kStart + milliseconds(5));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(10)), 2u);
    EXPECT_EQ(b.fired_at.size(), 1u);
    EXPECT_TRUE(moved.fired_at.empty());
    EXPECT_EQ(wheel.armed_count(), 1u);
    EXPECT_EQ(wheel.advance(kStart + milliseconds(500)), 1u);
    EXPECT_EQ(moved.fired_at.size(), 1u);
}

TEST(TimerWheel, ReArmMovesAnArmedTimer) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    wheel.arm(p.timer, kStart + seconds(100));
    wheel.arm(p.timer, kStart + milliseconds(2));
    EXPECT_EQ(wheel.armed_count(), 1u);
    EXPECT_EQ(wheel.advance(kStart + milliseconds(2)), 1u);
    EXPECT_EQ(wheel.advance(kStart + seconds(200)), 0u);
}

// Arms timers at tick distances around each level boundary (2^8, 2^16,
// 2^24, 2^32) from several starting offsets, then checks that each fires at
// exactly its tick: not at the tick before, and at its tick.
TEST(TimerWheel, CascadesAcrossEveryLevelBoundary) {
    const std::vector<uint64_t> boundaries = {1ull << 8, 1ull << 16, 1ull << 24, 1ull << 32};
    const std::vector<uint64_t> offsets = {0, 1, 255, 256, 65535, 65536 + 17, (1ull << 24) - 1};
    for (uint64_t offset : offsets) {
        for (uint64_t boundary : boundaries) {
            for (int64_t delta : {-1, 0, 1, 255, 256}) {
                TimerWheel wheel(kStart, kTick);
                Time origin = kStart + kTick * static_cast<int64_t>(offset);
                (void)wheel.advance(origin);
                uint64_t distance = boundary + static_cast<uint64_t>(delta);
                Time deadline = origin + kTick * static_cast<int64_t>(distance);
                Probe p(0);
                wheel.arm(p.timer, deadline);
                std::optional<Time> wake = wheel.next_deadline();
                ASSERT_TRUE(wake.has_value());
                EXPECT_LE(*wake, deadline);
                // Walk the wake-ups as net/ would; none may fire early.
                int wakeups = 0;
                while (p.fired_at.empty() && wakeups < 64) {
                    wake = wheel.next_deadline();
                    ASSERT_TRUE(wake.has_value());
                    ASSERT_LE(*wake, deadline) << "offset " << offset << " distance " << distance;
                    (void)wheel.advance(*wake);
                    ++wakeups;
                }
                ASSERT_EQ(p.fired_at.size(), 1u) << "offset " << offset << " distance " << distance;
                EXPECT_EQ(p.fired_at[0], deadline) << "offset " << offset << " distance " << distance;
                // One wake-up per level at most, plus the firing tick.
                EXPECT_LE(wakeups, 6);
            }
        }
    }
}

TEST(TimerWheel, CascadeWhenAdvancedOneTickAtATimeAcrossLevelOneAndTwo) {
    TimerWheel wheel(kStart, kTick);
    std::deque<Probe> probes;
    for (uint64_t d : {255ull, 256ull, 257ull, 511ull, 512ull, 65535ull, 65536ull, 65537ull,
                       70000ull}) {
        Probe& p = probes.emplace_back(static_cast<int>(d));
        wheel.arm(p.timer, kStart + kTick * static_cast<int64_t>(d));
    }
    for (uint64_t tick = 1; tick <= 70000; ++tick) {
        (void)wheel.advance(kStart + kTick * static_cast<int64_t>(tick));
    }
    for (Probe& p : probes) {
        ASSERT_EQ(p.fired_at.size(), 1u) << p.id;
        EXPECT_EQ(p.fired_at[0], kStart + kTick * static_cast<int64_t>(p.id));
    }
}

TEST(TimerWheel, DeadlineBeyondTheWheelRangeFiresOnTime) {
    TimerWheel wheel(kStart, kTick);
    Probe p(0);
    Time deadline = kStart + hours(24 * 120);  // 120 days; the range is 49.7 days
    wheel.arm(p.timer, deadline);
    for (int i = 0; i < 64 && p.fired_at.empty(); ++i) {
        std::optional<Time> wake = wheel.next_deadline();
        ASSERT_TRUE(wake.has_value());
        ASSERT_LE(*wake, deadline);
        (void)wheel.advance(*wake);
    }
    ASSERT_EQ(p.fired_at.size(), 1u);
    EXPECT_EQ(p.fired_at[0], deadline);
}

TEST(TimerWheel, NonMillisecondTickRoundsUp) {
    TimerWheel wheel(kStart, milliseconds(10));
    Probe p(0);
    wheel.arm(p.timer, kStart + milliseconds(11));
    EXPECT_EQ(wheel.next_deadline(), kStart + milliseconds(20));
    EXPECT_EQ(wheel.advance(kStart + milliseconds(19)), 0u);
    EXPECT_EQ(wheel.advance(kStart + milliseconds(20)), 1u);
}

TEST(TimerWheel, DestructorDisarmsTimersThatOutliveIt) {
    Probe p(0);
    {
        TimerWheel wheel(kStart, kTick);
        wheel.arm(p.timer, kStart + seconds(1));
    }
    EXPECT_FALSE(p.timer.armed());
}

// A seeded random sequence of arm / re-arm / cancel / advance, checked after
// each advance against a std::multimap of (deadline tick -> id).
TEST(TimerWheel, RandomisedModelAgainstMultimap) {
    for (uint64_t seed : {1ull, 2ull, 3ull, 42ull}) {
        std::mt19937_64 rng(seed);
        TimerWheel wheel(kStart, kTick);
        constexpr int kTimerCount = 512;
        std::deque<Probe> probes;
        std::vector<int> log;
        for (int i = 0; i < kTimerCount; ++i) {
            probes.emplace_back(i).log = &log;
        }
        std::multimap<uint64_t, int> reference;  // deadline tick -> id
        std::vector<std::multimap<uint64_t, int>::iterator> where(kTimerCount, reference.end());
        Time now = kStart;
        auto tick_of = [&](Time t) {
            auto ns = (t - kStart).count();
            return ns <= 0 ? 0 : static_cast<uint64_t>((ns + kTick.count() - 1) / kTick.count());
        };
        auto now_tick = [&] { return static_cast<uint64_t>((now - kStart) / kTick); };
        for (int op = 0; op < 40000; ++op) {
            int id = static_cast<int>(rng() % kTimerCount);
            Probe& p = probes[static_cast<size_t>(id)];
            switch (rng() % 8) {
                case 0:
                case 1:
                case 2: {
                    // Spread over every level: up to 2^(8..34) ticks ahead,
                    // sometimes in the past.
                    uint64_t span = 1ull << (8 * (1 + rng() % 4) + (rng() % 3));
                    Time deadline = now + nanoseconds(static_cast<int64_t>(rng() % (span * 1'000'000))) -
                                    milliseconds(rng() % 4 == 0 ? 5 : 0);
                    if (where[static_cast<size_t>(id)] != reference.end()) {
                        reference.erase(where[static_cast<size_t>(id)]);
                    }
                    // Past deadlines fire at the next advance: model them as
                    // due at the current tick.
                    uint64_t tick = std::max(tick_of(deadline), now_tick());
                    where[static_cast<size_t>(id)] = reference.emplace(tick, id);
                    wheel.arm(p.timer, deadline);
                    break;
                }
                case 3: {
                    if (where[static_cast<size_t>(id)] != reference.end()) {
                        reference.erase(where[static_cast<size_t>(id)]);
                        where[static_cast<size_t>(id)] = reference.end();
                    }
                    wheel.cancel(p.timer);
                    break;
                }
                default: {
                    // Mostly small steps, sometimes a jump over many levels.
                    int64_t step_ns = rng() % 16 == 0
                                          ? static_cast<int64_t>(rng() % (1ull << 40))
                                          : static_cast<int64_t>(rng() % 5'000'000);
                    std::optional<Time> wake = wheel.next_deadline();
                    if (!reference.empty()) {
                        ASSERT_TRUE(wake.has_value());
                        Time earliest = kStart + kTick * static_cast<int64_t>(reference.begin()->first);
                        ASSERT_LE(*wake, std::max(earliest, now)) << "seed " << seed << " op " << op;
                    }
                    now += nanoseconds(step_ns);
                    log.clear();
                    size_t fired = wheel.advance(now);
                    std::vector<int> expected;
                    uint64_t target = now_tick();
                    while (!reference.empty() && reference.begin()->first <= target) {
                        expected.push_back(reference.begin()->second);
                        where[static_cast<size_t>(reference.begin()->second)] = reference.end();
                        reference.erase(reference.begin());
                    }
                    ASSERT_EQ(fired, expected.size()) << "seed " << seed << " op " << op;
                    ASSERT_EQ(log.size(), expected.size());
                    // Same set; order by tick (ties in any order).
                    std::vector<int> got_sorted = log;
                    std::vector<int> expected_sorted = expected;
                    std::sort(got_sorted.begin(), got_sorted.end());
                    std::sort(expected_sorted.begin(), expected_sorted.end());
                    ASSERT_EQ(got_sorted, expected_sorted) << "seed " << seed << " op " << op;
                    for (size_t k = 1; k < log.size(); ++k) {
                        ASSERT_LE(tick_of(probes[static_cast<size_t>(log[k - 1])].timer.deadline()),
                                  std::max(tick_of(probes[static_cast<size_t>(log[k])].timer.deadline()),
                                           tick_of(probes[static_cast<size_t>(log[k - 1])].timer.deadline())));
                    }
                    for (int fired_id : log) {
                        EXPECT_GE(now, probes[static_cast<size_t>(fired_id)].timer.deadline());
                    }
                    break;
                }
            }
            ASSERT_EQ(wheel.armed_count(), reference.size()) << "seed " << seed << " op " << op;
        }
        for (Probe& p : probes) {
            wheel.cancel(p.timer);
        }
    }
}

TEST(TimerWheel, OneMillionTimersAllFireOnTime) {
    TimerWheel wheel(kStart, kTick);
    constexpr size_t kCount = 1'000'000;
    struct Counter {
        size_t fired = 0;
        size_t early = 0;
        size_t late = 0;
    } counter;
    struct Entry {
        Entry() : timer(&Entry::fire, nullptr) {}
        static void fire(Timer& t, Time now) {
            auto* c = static_cast<Counter*>(t.context);
            ++c->fired;
            c->early += now < t.deadline() ? 1 : 0;
            c->late += now - t.deadline() >= kTick ? 1 : 0;
        }
        Timer timer;
    };
    std::vector<Entry> entries(kCount);
    std::mt19937_64 rng(99);
    for (Entry& e : entries) {
        e.timer.context = &counter;
        wheel.arm(e.timer, kStart + nanoseconds(static_cast<int64_t>(rng() % 600'000'000'000ull)));
    }
    EXPECT_EQ(wheel.armed_count(), kCount);
    // Cancel every tenth, so cancellation at scale is counted too.
    for (size_t i = 0; i < kCount; i += 10) {
        wheel.cancel(entries[i].timer);
    }
    size_t fired = 0;
    for (Time now = kStart; now <= kStart + seconds(601); now += kTick) {
        fired += wheel.advance(now);
    }
    EXPECT_EQ(fired, kCount - kCount / 10);
    EXPECT_EQ(counter.fired, fired);
    EXPECT_EQ(counter.early, 0u);
    EXPECT_EQ(counter.late, 0u);
    EXPECT_EQ(wheel.armed_count(), 0u);
}

}  // namespace
}  // namespace fe::time
