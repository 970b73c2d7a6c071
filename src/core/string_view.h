// Debian's Abseil is built with its own absl::string_view, a different type from
// std::string_view, which the rest of the project uses.
//
// Two consequences, both silent:
//  - Abseil's functions and the heterogeneous lookup of its containers take only
//    absl::string_view (a std::string_view does not convert);
//  - absl::Hash (absl::HashOf, absl::flat_hash_map<std::string_view, …>) has no string
//    overload for std::string_view and hashes std::hash's value instead: slower, and not
//    independent of std::hash (a 128-bit fingerprint of both was one 64-bit hash).
// Hand Abseil an AbslView of the text, and key its containers by absl::string_view.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace segmenta {

// The same characters as an absl::string_view (no copy). Thread-safe.
inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace segmenta
