// The workloads of `segmenta-bench`, like LevelDB's db_bench: each runs the real binary as
// a child process (the server under test, the offline import) or the engine in process,
// repeats the measurement on fresh data, and reports the median next to the peer's figure.
// Each prints its runs to stdout as it goes. Not thread-safe: one workload at a time.
#pragma once

#include "absl/status/statusor.h"
#include "tools/bench/harness/harness.h"

namespace segmenta {

// Durable ingest through /v1/batch on loopback, and the same events INSERTed into
// PostgreSQL; also the ceilings (workloads/ceiling.h).
// Errors: the first failure (server start, load errors, peer), with the child's stderr.
absl::StatusOr<WorkloadResult> RunIngestBench(const BenchOptions& options);

// Offline `segmenta import activities FILE` of a generated JSONL file, and PostgreSQL COPY
// of the same file.
absl::StatusOr<WorkloadResult> RunImportBench(const BenchOptions& options);

// RSS of `segmenta serve` per contact after loading N contacts, and on-disk bytes per
// contact.
absl::StatusOr<WorkloadResult> RunMemoryBench(const BenchOptions& options);

// The cost of keeping 100 dynamic groups current, per ingested event (in process).
absl::StatusOr<WorkloadResult> RunKeepCurrentBench(const BenchOptions& options);

// The brief's twelve groups evaluated over every contact, new and with their aggregates
// cached, side by side with DuckDB running the same conditions as SQL on the same data; and
// the memory of 100 groups' memberships.
absl::StatusOr<WorkloadResult> RunRecomputeBench(const BenchOptions& options);

// 20 buyer personas of 10 rules each: the time to compute them over every contact
// (side by side with DuckDB computing the same scores and assignment in SQL), and the cost
// of keeping them current per ingested event.
absl::StatusOr<WorkloadResult> RunPersonasBench(const BenchOptions& options);

}  // namespace segmenta
