// The Redis binding store: one hiredis connection per worker, one script per change.
#include "state/redis_store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "core/base/assert.h"
#include "state/internal/redis_codec.h"
#include "state/internal/redis_scripts.h"

namespace fe::state {

using internal::append_aor_key;
using internal::append_binding_field;
using internal::append_binding_record;
using internal::append_decimal;
using internal::append_token_key;
using internal::wall_ms;

// One call in flight: what to send, and whom to answer.
struct RedisStore::Pending {
    RedisStore* store = nullptr;
    Kind kind = Kind::kApply;
    Done done;
    // When the command times out, on the loop's clock.
    Time deadline{};
    // The caller's `now`: lookups filter bindings expired by then.
    Time now{};
    std::string aor_key;
    // Arguments after the command name (and script), back to back; kept until
    // the answer so that a NOSCRIPT answer can be resent as EVAL.
    std::string args;
    std::vector<size_t> arg_sizes;
    // Built by send() from the above.
    std::vector<const char*> argv;
    std::vector<size_t> argv_sizes;
    bool use_eval = false;
    // kForget: scripts it may still send after this one. Set from the first
    // answer; bounds a forget that REGISTERs over the dying flow keep feeding.
    uint32_t forget_batches_left = 0;
    bool forget_answered = false;

    void clear() {
        args.clear();
        arg_sizes.clear();
        use_eval = false;
    }
    // Appends one argument built by `build(args)`.
    template <typename Build>
    void arg_with(Build&& build) {
        const size_t start = args.size();
        build(args);
        arg_sizes.push_back(args.size() - start);
    }
    void arg(std::string_view value) {
        arg_with([&](std::string& out) { out.append(value); });
    }
};

RedisStore::RedisStore(RedisStoreConfig config, FdPoller& poller, time::TimerWheel& wheel)
    : config_(std::move(config)),
      poller_(poller),
      wheel_(wheel),
      events_(poller, &RedisStore::on_poll_refused, this),
      reconnect_delay_(config_.reconnect_delay_min) {
    FE_ASSERT(config_.pending_count_max >= 1);
    FE_ASSERT(config_.forget_aor_count_per_script_max >= 1);
    FE_ASSERT(config_.binding_count_per_aor_max >= 1);
    FE_ASSERT(config_.reconnect_delay_min > Duration::zero());
    FE_ASSERT(config_.reconnect_delay_max >= config_.reconnect_delay_min);
    FE_ASSERT(!config_.key_prefix.empty());
    pending_.reserve(config_.pending_count_max);
    pending_free_.reserve(config_.pending_count_max);
    for (uint32_t i = 0; i < config_.pending_count_max; ++i) {
        pending_.push_back(std::make_unique<Pending>());
        pending_.back()->store = this;
        pending_free_.push_back(pending_.back().get());
    }
    fifo_.resize(config_.pending_count_max);
    connect();
}

RedisStore::~RedisStore() {
    wheel_.cancel(reconnect_timer_);
    if (context_ != nullptr) {
        redisAsyncContext* context = context_;
        // kDown first, so the answers hiredis gives below (kUnavailable to
        // every pending call) do not schedule a reconnect.
        context_ = nullptr;
        state_ = State::kDown;
        redisAsyncFree(context);
    }
    FE_ASSERT(fifo_count_ == 0);
    wheel_.cancel(reconnect_timer_);
    wheel_.cancel(connect_timer_);
    wheel_.cancel(command_timer_);
    wheel_.cancel(close_timer_);
}

// ---- Connection ---------------------------------------------------------------

void RedisStore::connect() {
    FE_ASSERT(state_ == State::kDown);
    FE_ASSERT(context_ == nullptr);
    redisAsyncContext* context = redisAsyncConnect(config_.host.c_str(), config_.port);
    FE_ASSERT(context != nullptr);  // Out of memory.
    if (context->err != 0) {
        // Failed before any I/O (bad address, no socket): try again later.
        stats_.connect_failures.add();
        redisAsyncFree(context);
        wheel_.arm(reconnect_timer_, poller_.loop_now() + reconnect_delay_);
        reconnect_delay_ = std::min(reconnect_delay_ * 2, config_.reconnect_delay_max);
        return;
    }
    context->data = this;
    events_.attach(context);
    context_ = context;
    state_ = State::kConnecting;
    // Setting the connect callback arms the first write poll: a non-blocking
    // connect completes as "writable".
    (void)redisAsyncSetConnectCallback(context, &RedisStore::on_connect);
    (void)redisAsyncSetDisconnectCallback(context, &RedisStore::on_disconnect);
    // Ahead of any EVALSHA on this connection, so the scripts are there.
    for (const internal::RedisScript* script :
         {&internal::apply_script(), &internal::forget_script()}) {
        (void)redisAsyncCommand(context, &RedisStore::on_script_loaded, nullptr, "SCRIPT LOAD %b",
                                script->source.data(), script->source.size());
    }
    wheel_.arm(connect_timer_, poller_.loop_now() + config_.connect_timeout);
}

// The connection is gone or going: refuse new calls and schedule a reconnect.
// hiredis answers the pending calls (a null reply each) as it frees the context.
void RedisStore::go_down() {
    if (state_ == State::kDown) {
        return;
    }
    if (state_ == State::kConnected) {
        stats_.disconnects.add();
    } else {
        stats_.connect_failures.add();
    }
    state_ = State::kDown;
    context_ = nullptr;
    wheel_.cancel(connect_timer_);
    wheel_.cancel(command_timer_);
    wheel_.cancel(close_timer_);
    wheel_.arm(reconnect_timer_, poller_.loop_now() + reconnect_delay_);
    reconnect_delay_ = std::min(reconnect_delay_ * 2, config_.reconnect_delay_max);
}

// Drops the connection now. Never from inside a hiredis call.
void RedisStore::close_now() {
    redisAsyncContext* context = context_;
    if (context == nullptr) {
        return;
    }
    go_down();
    redisAsyncFree(context);
}

void RedisStore::on_connect(const redisAsyncContext* context, int status) {
    auto* store = static_cast<RedisStore*>(context->data);
    if (status != REDIS_OK) {
        store->go_down();  // hiredis frees the context after this returns.
        return;
    }
    FE_ASSERT(store->state_ == State::kConnecting);
    store->state_ = State::kConnected;
    store->stats_.connects.add();
    store->wheel_.cancel(store->connect_timer_);
    store->reconnect_delay_ = store->config_.reconnect_delay_min;
}

void RedisStore::on_disconnect(const redisAsyncContext* context, int) {
    static_cast<RedisStore*>(context->data)->go_down();
}

void RedisStore::on_script_loaded(redisAsyncContext* context, void* reply, void*) {
    auto* store = static_cast<RedisStore*>(context->data);
    const auto* r = static_cast<const redisReply*>(reply);
    if (store != nullptr && r != nullptr && r->type == REDIS_REPLY_ERROR) {
        // EVALSHA then meets NOSCRIPT and falls back to EVAL.
        store->stats_.error_replies.add();
    }
}

// From inside a hiredis hook: close from the next timer turn instead.
void RedisStore::on_poll_refused(void* self) {
    auto* store = static_cast<RedisStore*>(self);
    store->wheel_.arm(store->close_timer_, store->poller_.loop_now());
}

void RedisStore::on_reconnect_timer(time::Timer& timer, Time) {
    static_cast<RedisStore*>(timer.context)->connect();
}

void RedisStore::on_connect_timer(time::Timer& timer, Time) {
    static_cast<RedisStore*>(timer.context)->close_now();  // Counted as a connect failure.
}

void RedisStore::on_command_timer(time::Timer& timer, Time) {
    auto* store = static_cast<RedisStore*>(timer.context);
    store->stats_.command_timeouts.add();
    store->close_now();
}

void RedisStore::on_close_timer(time::Timer& timer, Time) {
    static_cast<RedisStore*>(timer.context)->close_now();
}

// ---- Commands -----------------------------------------------------------------

RedisStore::Pending* RedisStore::take_pending(Kind kind) {
    if (state_ == State::kDown || pending_free_.empty()) {
        return nullptr;
    }
    Pending* pending = pending_free_.back();
    pending_free_.pop_back();
    pending->kind = kind;
    pending->clear();
    return pending;
}

void RedisStore::refuse(Done& done, std::string_view aor_key, RedisCounter& cause) {
    cause.add();
    stats_.unavailable.add();
    done(StoreStatus::kUnavailable, AorView{aor_key, {}});
}

void RedisStore::release(Pending& pending) {
    pending.done = nullptr;
    pending_free_.push_back(&pending);
}

// Writes the command into hiredis's buffer (sent when the socket is writable)
// and queues the slot for its answer.
bool RedisStore::send(Pending& pending) {
    FE_ASSERT(context_ != nullptr);
    pending.argv.clear();
    pending.argv_sizes.clear();
    if (pending.kind == Kind::kLookup) {
        pending.argv.push_back("HVALS");
        pending.argv_sizes.push_back(5);
    } else {
        const internal::RedisScript& script =
            pending.kind == Kind::kApply ? internal::apply_script() : internal::forget_script();
        const std::string_view command = pending.use_eval ? "EVAL" : "EVALSHA";
        const std::string_view body = pending.use_eval ? script.source : script.sha1_hex;
        pending.argv.push_back(command.data());
        pending.argv_sizes.push_back(command.size());
        pending.argv.push_back(body.data());
        pending.argv_sizes.push_back(body.size());
    }
    size_t offset = 0;
    for (size_t size : pending.arg_sizes) {
        pending.argv.push_back(pending.args.data() + offset);
        pending.argv_sizes.push_back(size);
        offset += size;
    }
    FE_ASSERT(offset == pending.args.size());
    const int result = redisAsyncCommandArgv(context_, &RedisStore::on_reply, &pending,
                                             static_cast<int>(pending.argv.size()),
                                             pending.argv.data(), pending.argv_sizes.data());
    if (result != REDIS_OK) {
        return false;  // The context is disconnecting.
    }
    stats_.commands_sent.add();
    pending.deadline = poller_.loop_now() + config_.command_timeout;
    FE_ASSERT(fifo_count_ < fifo_.size());
    fifo_[(fifo_head_ + fifo_count_) % fifo_.size()] = &pending;
    ++fifo_count_;
    if (fifo_count_ == 1) {
        arm_command_timer();
    }
    return true;
}

void RedisStore::arm_command_timer() {
    if (fifo_count_ == 0) {
        wheel_.cancel(command_timer_);
        return;
    }
    wheel_.arm(command_timer_, fifo_[fifo_head_]->deadline);
}

void RedisStore::on_reply(redisAsyncContext*, void* reply, void* privdata) {
    auto& pending = *static_cast<Pending*>(privdata);
    RedisStore& store = *pending.store;
    // Redis answers in order: this is the oldest command.
    FE_ASSERT(store.fifo_count_ > 0);
    FE_ASSERT(store.fifo_[store.fifo_head_] == &pending);
    store.fifo_head_ = static_cast<uint32_t>((store.fifo_head_ + 1) % store.fifo_.size());
    --store.fifo_count_;
    if (store.state_ != State::kDown) {
        store.arm_command_timer();
    }
    if (reply == nullptr) {
        store.go_down();  // The context is being freed.
    }
    store.finish(pending, static_cast<const redisReply*>(reply));
}

// Answers the caller from Redis's reply (null: the connection died).
void RedisStore::finish(Pending& pending, const redisReply* reply) {
    StoreStatus status = StoreStatus::kUnavailable;
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
        const std::string_view error(reply->str, reply->len);
        if (pending.kind != Kind::kLookup && !pending.use_eval && error.starts_with("NOSCRIPT") &&
            context_ != nullptr) {
            // The server lost our scripts (restart, failover, SCRIPT FLUSH).
            // EVAL loads the script again for the next EVALSHA.
            stats_.noscript_fallbacks.add();
            pending.use_eval = true;
            if (send(pending)) {
                return;
            }
        } else {
            stats_.error_replies.add();
        }
        reply = nullptr;
    }
    if (pending.kind == Kind::kForget) {
        if (continue_forget(pending, reply)) {
            return;
        }
        release(pending);
        return;
    }
    const redisReply* const* records = nullptr;
    size_t record_count = 0;
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && pending.kind == Kind::kLookup) {
        status = StoreStatus::kOk;
        records = reply->element;
        record_count = reply->elements;
    } else if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
               reply->element[0]->type == REDIS_REPLY_STRING) {
        const std::string_view verdict(reply->element[0]->str, reply->element[0]->len);
        if (verdict == "ok") {
            status = StoreStatus::kOk;
            records = reply->element + 1;
            record_count = reply->elements - 1;
        } else if (verdict == "order") {
            status = StoreStatus::kOutOfOrder;
        } else if (verdict == "limit") {
            status = StoreStatus::kTooManyBindings;
        } else {
            stats_.error_replies.add();
        }
    } else if (reply != nullptr) {
        stats_.error_replies.add();  // A reply of the wrong shape.
    }
    if (status == StoreStatus::kOk) {
        deliver_bindings(pending, records, record_count);
    } else {
        if (status == StoreStatus::kUnavailable) {
            stats_.unavailable.add();
        }
        pending.done(status, AorView{pending.aor_key, {}});
    }
    release(pending);
}

// After a forget script's answer: sends the next batch while the token's set
// has AORs left (and the batch budget allows). True when it sent one.
bool RedisStore::continue_forget(Pending& pending, const redisReply* reply) {
    if (reply == nullptr) {
        if (pending.forget_answered) {
            stats_.forgets_incomplete.add();  // Lost between two batches.
        }
        return false;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        stats_.error_replies.add();  // A reply of the wrong shape.
        return false;
    }
    const long long left = reply->element[1]->integer;
    if (left <= 0) {
        return false;
    }
    if (!pending.forget_answered) {
        // Twice the batches the set needs now, plus one: REGISTERs racing
        // over the dying flow may add AORs, but cannot keep us going forever.
        const uint64_t batch = config_.forget_aor_count_per_script_max;
        const uint64_t needed = (static_cast<uint64_t>(left) + batch - 1) / batch;
        pending.forget_batches_left =
            static_cast<uint32_t>(std::min<uint64_t>(2 * needed + 1, UINT32_MAX));
        pending.forget_answered = true;
    }
    if (pending.forget_batches_left == 0 || context_ == nullptr || !send(pending)) {
        stats_.forgets_incomplete.add();
        return false;
    }
    --pending.forget_batches_left;
    stats_.forget_batches.add();
    return true;
}

// Decodes the records into scratch_, drops expired ones, orders them by
// insertion (seq) as the embedded store keeps them, and calls `done`.
void RedisStore::deliver_bindings(Pending& pending, const redisReply* const* records,
                                  size_t count) {
    FE_ASSERT(!delivering_);
    const Time now = pending.now;
    if (scratch_.size() < count) {
        scratch_.resize(count);
        scratch_seq_.resize(count);
    }
    size_t kept = 0;
    for (size_t i = 0; i < count; ++i) {
        const redisReply* r = records[i];
        if (r->type != REDIS_REPLY_STRING) {
            stats_.bad_records.add();
            continue;
        }
        Binding& b = scratch_[kept];
        const internal::RecordError e = internal::decode_binding_record(
            std::string_view(r->str, r->len), config_.wall_clock_offset, b, scratch_seq_[kept]);
        if (e != internal::RecordError::kOk) {
            stats_.bad_records.add();
            continue;
        }
        if (b.expires_at <= now) {
            continue;  // Never hand out an expired binding.
        }
        b.aor_key.assign(pending.aor_key);
        ++kept;
    }
    // Insertion sort: at most binding_count_per_aor_max elements, and swaps
    // of Bindings move string buffers, not bytes.
    for (size_t i = 1; i < kept; ++i) {
        for (size_t j = i; j > 0 && scratch_seq_[j - 1] > scratch_seq_[j]; --j) {
            std::swap(scratch_[j - 1], scratch_[j]);
            std::swap(scratch_seq_[j - 1], scratch_seq_[j]);
        }
    }
    delivering_ = true;
    pending.done(StoreStatus::kOk,
                 AorView{pending.aor_key, std::span<const Binding>(scratch_.data(), kept)});
    delivering_ = false;
}

// ---- BindingStore -------------------------------------------------------------

void RedisStore::apply(const RegisterUpdate& update, Time now, Done done) {
    FE_ASSERT(!update.aor_key.empty());
    FE_ASSERT(!update.remove_all || update.bindings.empty());
    Pending* pending = take_pending(Kind::kApply);
    if (pending == nullptr) {
        refuse(done, update.aor_key,
               state_ == State::kDown ? stats_.refused_down : stats_.pending_full);
        return;
    }
    Pending& p = *pending;
    p.done = std::move(done);
    p.now = now;
    p.aor_key.assign(update.aor_key);
    const int64_t now_ms = wall_ms(now, config_.wall_clock_offset);
    p.arg("1");
    p.arg_with([&](std::string& out) { append_aor_key(out, config_.key_prefix, update.aor_key); });
    p.arg(config_.key_prefix);
    p.arg(update.aor_key);
    p.arg_with([&](std::string& out) { append_decimal(out, static_cast<uint64_t>(now_ms)); });
    p.arg(update.call_id);
    p.arg_with([&](std::string& out) { append_decimal(out, update.cseq); });
    p.arg(update.remove_all ? "1" : "0");
    p.arg(update.flow_token);
    p.arg_with([&](std::string& out) { append_decimal(out, config_.binding_count_per_aor_max); });
    for (const BindingUpdate& u : update.bindings) {
        const bool upsert = u.action == BindingAction::kUpsert;
        p.arg(upsert ? "u" : "r");
        p.arg_with([&](std::string& out) { append_binding_field(out, u); });
        p.arg_with([&](std::string& out) {
            if (upsert) {
                const internal::RecordTimes times{
                    .expires_ms = wall_ms(now + u.expires_in, config_.wall_clock_offset),
                    .now_ms = now_ms};
                append_binding_record(out, update, u, times);
            }
        });
    }
    if (!send(p)) {
        Done refused = std::move(p.done);
        release(p);
        refuse(refused, update.aor_key, stats_.refused_down);
    }
}

void RedisStore::lookup(std::string_view aor_key, Time now, Done done) {
    FE_ASSERT(!aor_key.empty());
    Pending* pending = take_pending(Kind::kLookup);
    if (pending == nullptr) {
        refuse(done, aor_key, state_ == State::kDown ? stats_.refused_down : stats_.pending_full);
        return;
    }
    Pending& p = *pending;
    p.done = std::move(done);
    p.now = now;
    p.aor_key.assign(aor_key);
    p.arg_with([&](std::string& out) { append_aor_key(out, config_.key_prefix, aor_key); });
    if (!send(p)) {
        Done refused = std::move(p.done);
        release(p);
        refuse(refused, aor_key, stats_.refused_down);
    }
}

void RedisStore::forget_flow(std::string_view flow_token, Time now) {
    if (flow_token.empty()) {
        return;
    }
    Pending* pending = take_pending(Kind::kForget);
    if (pending == nullptr) {
        stats_.forgets_dropped.add();
        return;
    }
    Pending& p = *pending;
    p.now = now;
    p.aor_key.clear();
    p.forget_batches_left = 0;
    p.forget_answered = false;
    p.arg("1");
    p.arg_with([&](std::string& out) { append_token_key(out, config_.key_prefix, flow_token); });
    p.arg(config_.key_prefix);
    p.arg(flow_token);
    p.arg_with(
        [&](std::string& out) { append_decimal(out, config_.forget_aor_count_per_script_max); });
    if (!send(p)) {
        release(p);
        stats_.forgets_dropped.add();
    }
}

size_t RedisStore::expire(Time) {
    return 0;  // Redis expires AOR keys itself (PEXPIREAT); answers filter the rest.
}

}  // namespace fe::state
