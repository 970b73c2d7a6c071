// Kevin Hillstrom's MineThatData e-mail experiment (../shared/data/hillstrom.csv), read
// here on its own for the tests that check reports against it.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/shared_data.h"

namespace segmenta {

struct HillstromRow {
  std::string segment;  // "Mens E-Mail", "Womens E-Mail", "No E-Mail"
  double history = 0;   // spend in the past year (pre-period)
  bool visit = false;
  bool conversion = false;
  double spend = 0;
};

// Every row; empty when the file is missing.
inline std::vector<HillstromRow> ReadHillstrom() {
  std::vector<HillstromRow> rows;
  std::ifstream in(SharedDataPath("hillstrom.csv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Comma-separated; history_segment is quoted where it holds a comma ("$1,000 +").
    std::vector<std::string> f(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        f.emplace_back();
      } else {
        f.back() += c;
      }
    }
    if (f.size() != 12) continue;
    rows.push_back({f[8], std::stod(f[2]), f[9] == "1", f[10] == "1", std::stod(f[11])});
  }
  return rows;
}

}  // namespace segmenta
