// File: core/base/fd_poller.h
//
// Readiness polling of a plain file descriptor by the event loop of the
// calling thread. net::Worker implements it on its io_uring (IORING_OP_POLL_ADD);
// state/ uses it to drive a hiredis connection without knowing about net/,
// and tests implement it with poll(2). It is an interface only: nothing here
// touches a descriptor or reads a clock (core/ stays pure).
//
//   fe::PollId id = poller.poll_fd(fd, fe::kPollIn, [this](int32_t result, fe::Time now) {
//       if (result < 0) { ... -errno ... }
//       if (result & fe::kPollIn) { ... read until EAGAIN or re-arm ... }
//   });
//   if (!id.valid()) { ... the loop refused (full or stopping) ... }
//   poller.cancel_poll(id);   // `ready` never runs after this returns
//
// A poll is one-shot: `ready` runs at most once, on the loop's thread, and the
// caller arms again if it still cares. One-shot polls check readiness when they
// are armed, so they behave level-triggered: a reader that leaves bytes in the
// socket (hiredis reads at most 16 KiB per call) is woken again at once. A
// multishot poll is edge-triggered and would strand those bytes.
#pragma once

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "core/base/time.h"

namespace fe {

// Event bits, equal to Linux's POLLIN/POLLOUT/POLLERR/POLLHUP (net/ asserts
// this) so an io_uring poll result passes through unchanged.
inline constexpr uint32_t kPollIn = 0x001;
inline constexpr uint32_t kPollOut = 0x004;
inline constexpr uint32_t kPollErr = 0x008;
inline constexpr uint32_t kPollHup = 0x010;

// Names one armed poll. The generation makes an id kept past its poll's end
// (it ran or was cancelled) match nothing.
struct PollId {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
    bool valid() const { return index != UINT32_MAX; }
    friend bool operator==(PollId, PollId) = default;
};

class FdPoller {
public:
    // `result`: the ready events (kPollIn, kPollOut, kPollErr, kPollHup bits),
    // or a negative errno when the poll itself failed. `now` is the loop's
    // time, the clock its timer wheel runs on.
    using Ready = absl::AnyInvocable<void(int32_t result, Time now)>;

    virtual ~FdPoller() = default;

    // Arms a one-shot poll of `fd` (a plain descriptor, not an io_uring direct
    // one) for `events`; errors and hang-ups are always reported. Returns an
    // invalid id when the loop cannot take it (all poll slots in use, or the
    // loop is stopping); `ready` is then dropped without being called.
    [[nodiscard]] virtual PollId poll_fd(int fd, uint32_t events, Ready ready) = 0;

    // Disarms: `ready` will not run after this returns. False when `id` is
    // stale (its poll already ran or was cancelled).
    virtual bool cancel_poll(PollId id) = 0;

    // The loop's current time (the clock `Ready` and its timer wheel see), so
    // a component can arm timers on the loop's clock even when its callers
    // pass another notion of `now`.
    virtual Time loop_now() const = 0;
};

}  // namespace fe
