// Timing wheel costs: arm + cancel of one timer (with 1M other timers armed,
// so slots are populated as in a busy worker), re-arm of an armed timer (the
// idle-timer refresh pattern), and advance() through 10 minutes in 1 ms
// ticks with 1M timers spread over that span (cost per fired timer,
// including the empty ticks and every cascade).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "core/time/timer_wheel.h"

namespace {

using fe::Time;
using fe::time::Timer;
using fe::time::TimerWheel;

constexpr Time kStart = fe::time_from_ns(1'000'000'000);
constexpr fe::Duration kTick = fe::milliseconds(1);
constexpr int64_t kTenMinutesNs = 600'000'000'000;

void count_fire(Timer& t, Time) { ++*static_cast<size_t*>(t.context); }

struct Background {
    explicit Background(size_t count) {
        timers.reserve(count);
        std::mt19937_64 rng(5);
        for (size_t i = 0; i < count; ++i) {
            timers.push_back(std::make_unique<Timer>(&count_fire, &fired));
            wheel.arm(*timers.back(), kStart + fe::nanoseconds(static_cast<int64_t>(
                                                   rng() % static_cast<uint64_t>(kTenMinutesNs))));
        }
    }
    ~Background() {
        for (auto& t : timers) {
            wheel.cancel(*t);
        }
    }
    size_t fired = 0;
    TimerWheel wheel{kStart, kTick};
    std::vector<std::unique_ptr<Timer>> timers;
};

std::vector<Time> random_deadlines(size_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Time> out(count);
    for (Time& t : out) {
        t = kStart + fe::nanoseconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(kTenMinutesNs)));
    }
    return out;
}

void BM_TimerWheelArmCancel(benchmark::State& state) {
    Background bg(static_cast<size_t>(state.range(0)));
    std::vector<Time> deadlines = random_deadlines(4096, 6);
    size_t fired = 0;
    Timer timer(&count_fire, &fired);
    size_t i = 0;
    for (auto _ : state) {
        bg.wheel.arm(timer, deadlines[i++ & 4095]);
        bg.wheel.cancel(timer);
    }
    benchmark::DoNotOptimize(fired);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerWheelArmCancel)->Arg(0)->Arg(1'000'000);

void BM_TimerWheelRearm(benchmark::State& state) {
    Background bg(static_cast<size_t>(state.range(0)));
    std::vector<Time> deadlines = random_deadlines(4096, 7);
    size_t fired = 0;
    Timer timer(&count_fire, &fired);
    size_t i = 0;
    for (auto _ : state) {
        bg.wheel.arm(timer, deadlines[i++ & 4095]);
    }
    bg.wheel.cancel(timer);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerWheelRearm)->Arg(1'000'000);

// A default-constructible holder, so a std::vector can own a million timers.
struct TimerSlot {
    TimerSlot() : timer(&count_fire, nullptr) {}
    Timer timer;
};

// One iteration arms N timers over 10 minutes (untimed), then advances the
// wheel in 1 ms steps to the end (timed). Items = timers fired.
void BM_TimerWheelAdvance(benchmark::State& state) {
    const auto count = static_cast<size_t>(state.range(0));
    std::vector<Time> deadlines = random_deadlines(count, 8);
    size_t fired_total = 0;
    for (auto _ : state) {
        state.PauseTiming();
        size_t fired = 0;
        auto wheel = std::make_unique<TimerWheel>(kStart, kTick);
        std::vector<TimerSlot> timers(count);
        for (size_t i = 0; i < count; ++i) {
            timers[i].timer.context = &fired;
            wheel->arm(timers[i].timer, deadlines[i]);
        }
        state.ResumeTiming();
        for (Time now = kStart; now <= kStart + fe::nanoseconds(kTenMinutesNs); now += kTick) {
            fired_total += wheel->advance(now);
        }
        state.PauseTiming();
        if (fired != count) {
            state.SkipWithError("not every timer fired");
        }
        wheel.reset();
        timers.clear();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(fired_total));
    state.counters["ticks"] = 600'000;
}
BENCHMARK(BM_TimerWheelAdvance)->Arg(1'000'000)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
