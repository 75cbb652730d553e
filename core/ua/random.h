// File: core/ua/random.h
//
// A small, fast, caller-seeded pseudo-random generator (xoshiro256**, seeded
// through splitmix64) for the UA logic. Nothing in core/ua/ touches global
// randomness: every draw comes from an Rng the caller owns, so a load run or
// a failing test reproduces exactly from its seed.
//
//   fe::ua::Rng rng(run_seed, ua_index);           // one stream per UA
//   uint64_t x = rng.next_u64();
//   fe::Duration d = rng.uniform_duration(fe::seconds(24), fe::seconds(29));
//
// Not for cryptography: branch ids and tags only need to be unique, not secret.
#pragma once

#include <array>
#include <cstdint>

#include "core/base/assert.h"
#include "core/base/time.h"

namespace fe::ua {

// splitmix64 step: a bijective mixer, used for seeding and for deriving
// stable identifiers (instance ids) from (seed, index).
constexpr uint64_t splitmix64(uint64_t& state) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class Rng {
public:
    // `stream` separates generators that share a seed (one per UA index), so
    // UA 7 draws the same numbers whatever the other UAs do.
    explicit Rng(uint64_t seed, uint64_t stream = 0) {
        uint64_t mix = seed ^ (stream * 0xD1B54A32D192ED03ull);
        for (uint64_t& word : state_) {
            word = splitmix64(mix);
        }
    }

    uint64_t next_u64() {
        const uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [0, bound), without modulo bias (Lemire's method).
    uint64_t uniform_below(uint64_t bound) {
        FE_ASSERT(bound > 0);
        unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * bound;
        auto low = static_cast<uint64_t>(m);
        if (low < bound) {
            const uint64_t threshold = (0 - bound) % bound;
            while (low < threshold) {
                m = static_cast<unsigned __int128>(next_u64()) * bound;
                low = static_cast<uint64_t>(m);
            }
        }
        return static_cast<uint64_t>(m >> 64);
    }

    // Uniform in the closed range [low, high], nanosecond resolution.
    Duration uniform_duration(Duration low, Duration high) {
        FE_ASSERT(low.count() >= 0);
        FE_ASSERT(high >= low);
        const auto span = static_cast<uint64_t>(high.count() - low.count());
        if (span == UINT64_MAX) {
            return low + Duration(static_cast<int64_t>(next_u64() >> 1));
        }
        return low + Duration(static_cast<int64_t>(uniform_below(span + 1)));
    }

    template <size_t N>
    void fill(std::array<uint8_t, N>& bytes) {
        for (size_t i = 0; i < N; i += 8) {
            uint64_t word = next_u64();
            for (size_t j = i; j < N && j < i + 8; ++j) {
                bytes[j] = static_cast<uint8_t>(word);
                word >>= 8;
            }
        }
    }

private:
    static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    // Never all zero: splitmix64 output of four consecutive states cannot be.
    std::array<uint64_t, 4> state_{};
};

}  // namespace fe::ua
