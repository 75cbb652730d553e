// File: state/internal/redis_events.h
//
// Binds one hiredis async context to an fe::FdPoller (the worker's io_uring
// loop): hiredis's addRead/delRead/addWrite/delWrite/cleanup hooks become
// one-shot polls, and a ready poll calls redisAsyncHandleRead/Write (h2o's
// redis.c does the same with its own loop).
//
//   RedisEvents events(poller, [](void* owner) { ...the loop refused a poll... }, this);
//   events.attach(context);       // before redisAsyncSetConnectCallback
//   ...                          // hiredis calls the hooks from here on
//   // cleanup (hiredis frees the context) detaches by itself.
//
// One poll per direction, re-armed after each wake-up while hiredis still
// wants that direction: a one-shot poll checks readiness when armed, so bytes
// hiredis left unread (it reads 16 KiB per call) wake us again at once.
// delRead/delWrite do not cancel: the poll in flight fires soon (a socket with
// an empty send buffer is writable) and is ignored. cleanup cancels both, as
// the descriptor is about to be closed.
#pragma once

#include "core/base/fd_poller.h"

struct redisAsyncContext;

namespace fe::state::internal {

class RedisEvents {
public:
    // `on_poll_refused(owner)` runs when the loop refuses a poll, or a poll
    // fails with an errno: the connection can no longer make progress. It is
    // called from inside a hiredis hook, so it must not free the context; the
    // owner closes it later (e.g. from a timer).
    using PollRefused = void (*)(void* owner);

    RedisEvents(FdPoller& poller, PollRefused on_poll_refused, void* owner);
    ~RedisEvents();
    RedisEvents(const RedisEvents&) = delete;
    RedisEvents& operator=(const RedisEvents&) = delete;

    // Installs the hooks on `context` (which must not have others).
    void attach(redisAsyncContext* context);
    bool attached() const { return context_ != nullptr; }

private:
    static void add_read(void* self);
    static void del_read(void* self);
    static void add_write(void* self);
    static void del_write(void* self);
    static void cleanup(void* self);

    void arm_read();
    void arm_write();
    void on_read_ready(int32_t result);
    void on_write_ready(int32_t result);

    FdPoller& poller_;
    const PollRefused on_poll_refused_;
    void* const owner_;
    // Non-null from attach() until hiredis calls cleanup.
    redisAsyncContext* context_ = nullptr;
    int fd_ = -1;
    // What hiredis asked for last (add* sets, del* clears).
    bool read_wanted_ = false;
    bool write_wanted_ = false;
    // Valid while a poll of that direction is in the loop.
    PollId read_poll_;
    PollId write_poll_;
};

}  // namespace fe::state::internal
