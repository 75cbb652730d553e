// File: bench/loadgen/text.h
//
// String concatenation for the load generator's control-plane text (errors,
// reports). Debian's abseil 20220623 has an absl::string_view distinct from
// std::string_view, so absl::StrCat does not take ours; this does.
//
//   std::string s = fe::loadgen::cat("--uas ", text, ": expected ", 5);
//   fe::loadgen::append(s, " more");
#pragma once

#include <concepts>
#include <string>
#include <string_view>

namespace fe::loadgen {

inline void append_one(std::string& out, std::string_view s) { out.append(s); }
inline void append_one(std::string& out, const char* s) { out.append(s); }
inline void append_one(std::string& out, const std::string& s) { out.append(s); }
inline void append_one(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
void append_one(std::string& out, T value) {
    out.append(std::to_string(value));
}
inline void append_one(std::string& out, double value) { out.append(std::to_string(value)); }

template <typename... Args>
void append(std::string& out, const Args&... args) {
    (append_one(out, args), ...);
}

template <typename... Args>
std::string cat(const Args&... args) {
    std::string out;
    append(out, args...);
    return out;
}

}  // namespace fe::loadgen
