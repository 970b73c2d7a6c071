// "Did you mean …?" suggestions for misspelled names and keywords.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace segmenta {

// True when `a` and `b` are equal but for the case of ASCII letters. Thread-safe.
bool EqualsIgnoringCase(std::string_view a, std::string_view b);

// Edit distance between `a` and `b` (bytes), counting a swap of two adjacent characters
// as one edit. Thread-safe.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo (distance at
// most 1 for words of up to 4 bytes, else at most 2, and not equal), else "". Ties go to
// the earliest candidate. Thread-safe.
std::string ClosestWord(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace segmenta
