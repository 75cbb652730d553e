// File: core/base/time.h
//
// Time as core/ sees it: a value passed in, never read from a clock here.
// net/ reads CLOCK_MONOTONIC once per loop turn and hands it down.
//
//   fe::Time deadline = now + fe::Seconds(32);   // Timer B
//   if (now >= deadline) { ... }
#pragma once

#include <chrono>
#include <cstdint>

namespace fe {

using Duration = std::chrono::nanoseconds;
// A point on the monotonic clock. Epoch is unspecified; only differences mean
// anything, so tests may start at Time{} and add.
using Time = std::chrono::time_point<std::chrono::steady_clock, Duration>;

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr int64_t to_ns(Duration d) { return d.count(); }
constexpr Time time_from_ns(int64_t ns) { return Time(Duration(ns)); }

}  // namespace fe
