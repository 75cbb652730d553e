// hiredis event hooks on an fe::FdPoller.
#include "state/internal/redis_events.h"

#include <hiredis/async.h>

#include "core/base/assert.h"

namespace fe::state::internal {

RedisEvents::RedisEvents(FdPoller& poller, PollRefused on_poll_refused, void* owner)
    : poller_(poller), on_poll_refused_(on_poll_refused), owner_(owner) {
    FE_ASSERT(on_poll_refused_ != nullptr);
}

RedisEvents::~RedisEvents() {
    // The owner frees its context (which calls cleanup) before this dies.
    FE_ASSERT(context_ == nullptr);
}

void RedisEvents::attach(redisAsyncContext* context) {
    FE_ASSERT(context != nullptr);
    FE_ASSERT(context_ == nullptr);
    FE_ASSERT(context->ev.data == nullptr);
    FE_ASSERT(!read_poll_.valid());
    FE_ASSERT(!write_poll_.valid());
    context_ = context;
    fd_ = context->c.fd;
    FE_ASSERT(fd_ >= 0);
    read_wanted_ = false;
    write_wanted_ = false;
    context->ev.data = this;
    context->ev.addRead = &RedisEvents::add_read;
    context->ev.delRead = &RedisEvents::del_read;
    context->ev.addWrite = &RedisEvents::add_write;
    context->ev.delWrite = &RedisEvents::del_write;
    context->ev.cleanup = &RedisEvents::cleanup;
}

void RedisEvents::add_read(void* self) {
    auto* events = static_cast<RedisEvents*>(self);
    events->read_wanted_ = true;
    events->arm_read();
}

void RedisEvents::del_read(void* self) { static_cast<RedisEvents*>(self)->read_wanted_ = false; }

void RedisEvents::add_write(void* self) {
    auto* events = static_cast<RedisEvents*>(self);
    events->write_wanted_ = true;
    events->arm_write();
}

void RedisEvents::del_write(void* self) { static_cast<RedisEvents*>(self)->write_wanted_ = false; }

// hiredis calls this when it frees the context (and may call it twice).
void RedisEvents::cleanup(void* self) {
    auto* events = static_cast<RedisEvents*>(self);
    if (events->read_poll_.valid()) {
        (void)events->poller_.cancel_poll(events->read_poll_);
        events->read_poll_ = PollId{};
    }
    if (events->write_poll_.valid()) {
        (void)events->poller_.cancel_poll(events->write_poll_);
        events->write_poll_ = PollId{};
    }
    events->read_wanted_ = false;
    events->write_wanted_ = false;
    if (events->context_ != nullptr) {
        events->context_->ev.data = nullptr;
        events->context_ = nullptr;
    }
    events->fd_ = -1;
}

void RedisEvents::arm_read() {
    if (read_poll_.valid() || context_ == nullptr) {
        return;  // One poll per direction; the one in flight will do.
    }
    read_poll_ = poller_.poll_fd(fd_, kPollIn, [this](int32_t result, Time) {
        on_read_ready(result);
    });
    if (!read_poll_.valid()) {
        on_poll_refused_(owner_);
    }
}

void RedisEvents::arm_write() {
    if (write_poll_.valid() || context_ == nullptr) {
        return;
    }
    write_poll_ = poller_.poll_fd(fd_, kPollOut, [this](int32_t result, Time) {
        on_write_ready(result);
    });
    if (!write_poll_.valid()) {
        on_poll_refused_(owner_);
    }
}

void RedisEvents::on_read_ready(int32_t result) {
    read_poll_ = PollId{};
    if (context_ == nullptr || !read_wanted_) {
        return;  // hiredis stopped wanting reads while the poll was in flight.
    }
    if (result < 0) {
        on_poll_refused_(owner_);
        return;
    }
    // Errors and hang-ups are read too: hiredis then sees EOF or the error
    // and disconnects, which calls cleanup.
    redisAsyncHandleRead(context_);
    if (context_ != nullptr && read_wanted_) {
        arm_read();
    }
}

void RedisEvents::on_write_ready(int32_t result) {
    write_poll_ = PollId{};
    if (context_ == nullptr || !write_wanted_) {
        return;
    }
    if (result < 0) {
        on_poll_refused_(owner_);
        return;
    }
    // Also completes a non-blocking connect (hiredis checks SO_ERROR) and
    // reports its failure through the connect callback.
    redisAsyncHandleWrite(context_);
    if (context_ != nullptr && write_wanted_) {
        arm_write();
    }
}

}  // namespace fe::state::internal
