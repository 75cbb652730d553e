// File: core/sip/edit.h
//
// Forwarding edits without re-serialising (Kamailio's "lumps"): the outgoing
// message is the received bytes plus a list of inserts, removals and
// replacements, emitted as a list of byte ranges for sendmsg() or copied once
// into a contiguous buffer. Inserted text is copied into an EditArena that the
// caller owns (one per message in flight, reset wholesale when the send
// completes).
//
//   fe::sip::EditArena arena;
//   fe::sip::EditList edits(message, arena);
//   FE_ASSERT(edits.remove_first_value(HeaderId::kRoute) == EditError::kOk);  // loose routing
//   (void)edits.insert_header_before(HeaderId::kVia, "Via", "SIP/2.0/TCP edge;branch=z9hG4bK1");
//   (void)edits.replace_value(*mf_field, 69);                                  // Max-Forwards
//   (void)edits.insert_after(top_via_value, ";received=192.0.2.1;rport=5060");
//   fe::sip::ConstBuffer ranges[fe::sip::kEditRangeCountMax];
//   size_t n = edits.gather(ranges, std::size(ranges));   // -> struct iovec[n]
//
// Offsets and views passed in refer to the Message's buffer. Two edits may
// not overlap (an insert may sit at the boundary of a removal); overlapping
// edits are a programmer error and assert. Inserts at the same offset come
// out in the order they were added. Running out of edit slots or arena bytes
// is an error value: inserted text can be sized by the peer (a Request-URI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/sip/header_names.h"
#include "core/sip/limits.h"
#include "core/sip/message.h"

namespace fe::sip {

// Same layout as struct iovec (pointer, length), without the system header:
// net/ may reinterpret an array of these as iovecs (it checks with a
// static_assert on size and offsets).
struct ConstBuffer {
    const void* data;
    size_t size;
};

// Fixed-capacity bump allocator for inserted text.
class EditArena {
public:
    // Copies `text`; the view is valid until reset(). Empty view with
    // data() == nullptr when full.
    std::string_view copy(std::string_view text);
    // `size` writable bytes, or nullptr when full.
    char* allocate(size_t size);
    void reset() { used_size_ = 0; }
    size_t used_size() const { return used_size_; }

private:
    uint32_t used_size_ = 0;  // <= kEditArenaSizeMax.
    char bytes_[kEditArenaSizeMax];
};

enum class [[nodiscard]] EditError : uint8_t {
    kOk = 0,
    kTooManyEdits,  // kEditCountMax reached.
    kArenaFull,     // Inserted text does not fit the arena.
    kNoSuchHeader,  // The header (or list value) to edit is absent.
};

class EditList {
public:
    EditList(const Message& message, EditArena& arena) : message_(message), arena_(arena) {}
    EditList(const EditList&) = delete;
    EditList& operator=(const EditList&) = delete;

    // Primitives, on offsets into message.bytes() (end exclusive).
    EditError insert(uint32_t offset, std::string_view text);
    EditError remove(uint32_t begin, uint32_t end);
    EditError replace(uint32_t begin, uint32_t end, std::string_view text);
    // Same, on views into the message's bytes.
    EditError replace(std::string_view in_message, std::string_view text);
    EditError remove(std::string_view in_message);
    EditError insert_before(std::string_view in_message, std::string_view text);
    EditError insert_after(std::string_view in_message, std::string_view text);

    // Adds the line "name: value\r\n" before the first line of `id`, or at the
    // end of the headers when there is none (RFC 3261 §16.6: a proxy's Via
    // goes on top; RFC 3327 §5: Path likewise).
    EditError insert_header_before(HeaderId id, std::string_view name, std::string_view value);
    // Adds "name: value\r\n" after the last header.
    EditError insert_header_at_end(std::string_view name, std::string_view value);
    // Removes a whole header line, folds and CRLF included.
    EditError remove_field(const HeaderField& field);
    // Removes the first value of a list header (the top Route, RFC 3261
    // §16.4): the whole line when it is the line's only value, else the value
    // and its separating comma and whitespace.
    EditError remove_first_value(HeaderId id);
    // Removes the first `count` values of a list header, across lines (our
    // own Route values at the top of a route set, RFC 3261 §16.4). Fails with
    // kNoSuchHeader, having removed some, when there are fewer.
    EditError remove_first_values(HeaderId id, uint32_t count);
    // Replaces a header's value, keeping its name and line structure.
    EditError replace_value(const HeaderField& field, std::string_view text);
    EditError replace_value(const HeaderField& field, uint32_t number);

    size_t edit_count() const { return edit_count_; }
    // Bytes of the edited message.
    size_t output_size() const;
    // Fills `out` with the output ranges in order (empty ranges skipped) and
    // returns how many. `capacity` must be at least range_count_max().
    size_t gather(ConstBuffer* out, size_t capacity);
    size_t range_count_max() const { return 2 * edit_count_ + 1; }
    // Copies the edited message into `out`; returns its size, or 0 when it
    // does not fit in `capacity` (nothing useful is written then).
    [[nodiscard]] size_t serialize_into(char* out, size_t capacity);

private:
    struct Edit {
        uint32_t begin;
        uint32_t end;  // == begin for an insert.
        const char* text;
        uint32_t text_size;
        uint32_t sequence;  // Insertion order, to keep same-offset inserts stable.
    };
    EditError add(uint32_t begin, uint32_t end, std::string_view text);
    EditError add_header_line(uint32_t offset, std::string_view name, std::string_view value);
    void sort_and_check();

    const Message& message_;
    EditArena& arena_;
    uint32_t edit_count_ = 0;
    bool sorted_ = true;  // edits_ sorted by (begin, end, sequence) and checked.
    Edit edits_[kEditCountMax];
};

}  // namespace fe::sip
