// The DuckDB peer of `segmenta-bench recompute` and `personas`: the same contacts and
// activities, exported from the profile table as CSV, loaded into an in-memory DuckDB by a
// Node.js script of this folder (npm `@duckdb/node-api`, installed here by scripts/setup),
// which runs the same conditions or scores as SQL and prints its timings as JSON lines.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "profile/profile_table.h"

namespace segmenta {

// Writes the data of `profiles` as CSV files in `dir` for the DuckDB scripts: events.csv
// (contact, kind, event, ts, path, category, revenue), contacts.csv, accounts.csv,
// members.csv. Errors: Internal when events.csv cannot be created.
absl::Status WritePeerCsv(const ProfileTable& profiles, const std::string& dir);

// Runs `node tools/bench/peers/SCRIPT args...`, with its output in `work_dir`; returns its
// stdout lines. Errors: Internal with the script's stderr when it fails (e.g. the npm
// packages are missing: run scripts/setup).
absl::StatusOr<std::vector<std::string>> RunNodePeer(const std::string& script,
                                                     std::vector<std::string> args,
                                                     const std::string& work_dir);

}  // namespace segmenta
