// The PostgreSQL peer of `segmenta-bench`: the same Segment JSONL events stored in Debian's
// PostgreSQL server, for a side-by-side figure.
//
// The peer runs a private, throwaway cluster (initdb in a fresh temp dir, listening on
// 127.0.0.1 on a free port and on a unix socket in that dir) with PostgreSQL's default
// durability: fsync=on, synchronous_commit=on, full_page_writes=on. Only sizes are tuned
// (shared_buffers, max_wal_size) so that checkpoints do not dominate a short run. Events go
// into
//   CREATE TABLE events (id bigserial primary key, message_id text not null unique,
//                        body jsonb not null)
// where the unique messageId is the deduplication Segmenta does too (a retried message is
// stored once: INSERT ... ON CONFLICT (message_id) DO NOTHING).
//
// PostgreSQL refuses to run as root: when the bench runs as root, initdb and postgres run as
// the `postgres` system user that Debian's package creates, and the cluster dir is chowned
// to it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/harness/child_process.h"

namespace segmenta {

struct PostgresPeerOptions {
  // Where initdb, postgres and friends are. Default: Debian's PostgreSQL 15.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  // Parent of the cluster's temp dir. Default: $TMPDIR, else /tmp.
  std::string temp_parent;
  // Default: 256MB (Debian's default is 128MB).
  std::string shared_buffers = "256MB";
  // Default: 8GB, so that a bench run does not trigger checkpoints by WAL volume.
  std::string max_wal_size = "8GB";
};

// One timed load into the peer.
struct PeerLoadReport {
  uint64_t events = 0;  // rows in the table after the load
  uint64_t batches = 0;
  absl::Duration elapsed;
  double events_per_second = 0;
  // Latency of one batch (one INSERT statement, one transaction); zero for COPY.
  double p50_ms = 0;
  double p99_ms = 0;
};

// A running throwaway PostgreSQL cluster. Not thread-safe (its load methods use their own
// connections internally). The destructor stops the server and deletes the cluster.
class PostgresPeer {
 public:
  // initdb + start + wait until it accepts connections (up to 60 s).
  // Errors: FailedPrecondition when the PostgreSQL binaries are missing (naming the
  // package to install); Internal with the server's log when initdb or start fails.
  static absl::StatusOr<std::unique_ptr<PostgresPeer>> Start(
      const PostgresPeerOptions& options = {});
  ~PostgresPeer();

  // Stops the server (fast shutdown) and deletes the cluster dir. Idempotent.
  absl::Status Stop();

  // "PostgreSQL 15.x (Debian ...)".
  const std::string& version() const { return version_; }
  // libpq connection string (TCP on 127.0.0.1).
  const std::string& conninfo() const { return conninfo_; }
  // The value of a server setting (SHOW name).
  absl::StatusOr<std::string> Setting(std::string_view name);
  // The first column of the first row of `sql`, as text.
  // Errors: Internal with PostgreSQL's message, or when there is no row.
  absl::StatusOr<std::string> QueryValue(std::string_view sql);
  // The cluster's temp dir; "" once stopped.
  const std::string& dir() const { return dir_; }

  // Drops and re-creates the events table (empty).
  absl::Status ResetEventsTable();

  // Inserts the JSONL `lines` (one Segment message each), `batch_size` rows per INSERT
  // statement, each statement its own transaction (like one /v1/batch request), from
  // `connections` concurrent connections, one thread each. The messageIds are extracted
  // before the clock starts. Lines that are not JSON objects with a messageId get a
  // generated id. Errors: Internal with PostgreSQL's message.
  absl::StatusOr<PeerLoadReport> InsertBatched(const std::vector<std::string>& lines,
                                               int connections, int batch_size);

  // Loads a JSONL file with one COPY ... FROM STDIN on one connection, in one transaction
  // (the bulk-load path); timed including reading the file and extracting messageIds.
  absl::StatusOr<PeerLoadReport> CopyFile(const std::string& path);

  // Rows in the events table.
  absl::StatusOr<uint64_t> CountEvents();

  // Bytes of the events table with its indexes and TOAST.
  absl::StatusOr<uint64_t> EventsTableBytes();

 private:
  PostgresPeer() = default;
  absl::Status Exec(std::string_view sql);

  PostgresPeerOptions options_;
  std::string dir_;       // the temp dir: cluster in dir_/data, socket in dir_
  std::string log_path_;  // server log
  std::string conninfo_;
  std::string version_;
  std::optional<ChildProcess> server_;
};

}  // namespace segmenta
