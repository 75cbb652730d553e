// Edit lists over a received message, and their output as ranges or bytes.
#include "core/sip/edit.h"

#include <charconv>
#include <cstring>

#include "core/base/assert.h"

namespace fe::sip {

std::string_view EditArena::copy(std::string_view text) {
    char* p = allocate(text.size());
    if (p == nullptr) {
        return {};
    }
    std::memcpy(p, text.data(), text.size());
    return std::string_view(p, text.size());
}

char* EditArena::allocate(size_t size) {
    if (size > kEditArenaSizeMax - used_size_) {
        return nullptr;
    }
    char* p = bytes_ + used_size_;
    used_size_ += static_cast<uint32_t>(size);
    return p;
}

EditError EditList::add(uint32_t begin, uint32_t end, std::string_view text) {
    FE_ASSERT(begin <= end);
    FE_ASSERT(end <= message_.size());
    if (edit_count_ == kEditCountMax) {
        return EditError::kTooManyEdits;
    }
    // Copied so callers may build the text on their stack.
    const char* stored = nullptr;
    if (!text.empty()) {
        stored = arena_.copy(text).data();
        if (stored == nullptr) {
            return EditError::kArenaFull;
        }
    }
    edits_[edit_count_] = Edit{begin, end, stored, static_cast<uint32_t>(text.size()), edit_count_};
    ++edit_count_;
    sorted_ = false;
    return EditError::kOk;
}

EditError EditList::insert(uint32_t offset, std::string_view text) { return add(offset, offset, text); }
EditError EditList::remove(uint32_t begin, uint32_t end) { return add(begin, end, {}); }
EditError EditList::replace(uint32_t begin, uint32_t end, std::string_view text) {
    return add(begin, end, text);
}

EditError EditList::replace(std::string_view in_message, std::string_view text) {
    const uint32_t begin = message_.offset_of(in_message.data());
    return add(begin, begin + static_cast<uint32_t>(in_message.size()), text);
}

EditError EditList::remove(std::string_view in_message) { return replace(in_message, {}); }

EditError EditList::insert_before(std::string_view in_message, std::string_view text) {
    return insert(message_.offset_of(in_message.data()), text);
}

EditError EditList::insert_after(std::string_view in_message, std::string_view text) {
    return insert(message_.offset_of(in_message.data()) + static_cast<uint32_t>(in_message.size()),
                  text);
}

EditError EditList::add_header_line(uint32_t offset, std::string_view name, std::string_view value) {
    if (edit_count_ == kEditCountMax) {
        return EditError::kTooManyEdits;
    }
    // Built straight in the arena: "name: value\r\n".
    const size_t size = name.size() + 2 + value.size() + 2;
    char* p = arena_.allocate(size);
    if (p == nullptr) {
        return EditError::kArenaFull;
    }
    char* w = p;
    std::memcpy(w, name.data(), name.size());
    w += name.size();
    std::memcpy(w, ": ", 2);
    w += 2;
    std::memcpy(w, value.data(), value.size());
    w += value.size();
    std::memcpy(w, "\r\n", 2);
    edits_[edit_count_] = Edit{offset, offset, p, static_cast<uint32_t>(size), edit_count_};
    ++edit_count_;
    sorted_ = false;
    return EditError::kOk;
}

EditError EditList::insert_header_before(HeaderId id, std::string_view name, std::string_view value) {
    const uint8_t index = message_.first_index(id);
    const uint32_t offset =
        index == Message::kNoIndex ? message_.headers_end() : message_.field(index).line_begin;
    return add_header_line(offset, name, value);
}

EditError EditList::insert_header_at_end(std::string_view name, std::string_view value) {
    return add_header_line(message_.headers_end(), name, value);
}

EditError EditList::remove_field(const HeaderField& field) {
    return remove(field.line_begin, field.line_end);
}

EditError EditList::remove_first_value(HeaderId id) { return remove_first_values(id, 1); }

EditError EditList::remove_first_values(HeaderId id, uint32_t count) {
    const ListRange values = message_.list(id);
    ListIterator it = values.begin();
    uint32_t removed = 0;
    while (removed < count) {
        if (it == values.end()) {
            return EditError::kNoSuchHeader;
        }
        // `it` is the first value of its line: each line is taken whole, or
        // from its start up to the first value that stays.
        const std::string_view first = *it;
        const uint8_t line_index = it.header_index();
        while (it != values.end() && it.header_index() == line_index && removed < count) {
            ++it;
            ++removed;
        }
        EditError e;
        if (it == values.end() || it.header_index() != line_index) {
            e = remove_field(message_.field(line_index));
        } else {
            // Up to where the next value starts: the comma and LWS go too.
            e = remove(message_.offset_of(first.data()), message_.offset_of(it->data()));
        }
        if (e != EditError::kOk) {
            return e;
        }
    }
    return EditError::kOk;
}

EditError EditList::replace_value(const HeaderField& field, std::string_view text) {
    return replace(field.value_begin, field.value_end, text);
}

EditError EditList::replace_value(const HeaderField& field, uint32_t number) {
    char digits[10];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), number);
    FE_ASSERT(ec == std::errc());
    return replace_value(field, std::string_view(digits, static_cast<size_t>(end - digits)));
}

void EditList::sort_and_check() {
    if (sorted_) {
        return;
    }
    // Insertion sort: a handful of edits, mostly added in order already.
    for (uint32_t i = 1; i < edit_count_; ++i) {
        const Edit e = edits_[i];
        uint32_t j = i;
        while (j > 0) {
            const Edit& p = edits_[j - 1];
            const bool after = p.begin > e.begin || (p.begin == e.begin && p.end > e.end) ||
                               (p.begin == e.begin && p.end == e.end && p.sequence > e.sequence);
            if (!after) {
                break;
            }
            edits_[j] = edits_[j - 1];
            --j;
        }
        edits_[j] = e;
    }
    for (uint32_t i = 1; i < edit_count_; ++i) {
        // Overlapping edits have no single meaning: a caller bug.
        FE_ASSERT(edits_[i - 1].end <= edits_[i].begin);
    }
    sorted_ = true;
}

size_t EditList::output_size() const {
    size_t size = message_.size();
    for (uint32_t i = 0; i < edit_count_; ++i) {
        size = size - (edits_[i].end - edits_[i].begin) + edits_[i].text_size;
    }
    return size;
}

size_t EditList::gather(ConstBuffer* out, size_t capacity) {
    FE_ASSERT(capacity >= range_count_max());
    sort_and_check();
    const char* data = message_.data();
    size_t count = 0;
    uint32_t pos = 0;
    for (uint32_t i = 0; i < edit_count_; ++i) {
        const Edit& e = edits_[i];
        if (e.begin > pos) {
            out[count++] = ConstBuffer{data + pos, e.begin - pos};
        }
        if (e.text_size != 0) {
            out[count++] = ConstBuffer{e.text, e.text_size};
        }
        pos = e.end;
    }
    if (message_.size() > pos) {
        out[count++] = ConstBuffer{data + pos, message_.size() - pos};
    }
    return count;
}

size_t EditList::serialize_into(char* out, size_t capacity) {
    if (output_size() > capacity) {
        return 0;
    }
    ConstBuffer ranges[kEditRangeCountMax];
    const size_t count = gather(ranges, kEditRangeCountMax);
    size_t size = 0;
    for (size_t i = 0; i < count; ++i) {
        std::memcpy(out + size, ranges[i].data, ranges[i].size);
        size += ranges[i].size;
    }
    return size;
}

}  // namespace fe::sip
