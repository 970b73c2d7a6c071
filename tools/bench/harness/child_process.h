// Child processes for `segmenta-bench`: the server under test, the offline import, and the
// PostgreSQL peer's programs. The bench runs each program as a child so that it can time it,
// read its memory from /proc, and always stop it, also when the bench fails.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace segmenta {

struct SpawnOptions {
  // Files that receive the child's stdout and stderr (truncated). Default: /dev/null.
  std::string stdout_path;
  std::string stderr_path;
  // When the bench runs as root, run the child as this system user instead (PostgreSQL
  // refuses to run as root). Ignored when not root. Default: "" (same user).
  std::string run_as_user;
  // Signal the kernel sends the child when the bench process dies, so that no server is
  // left behind by a crashed or killed bench. Default: SIGTERM.
  int parent_death_signal = SIGTERM;
};

// A running child process. Move-only; not thread-safe. The destructor kills (SIGKILL) and
// reaps a child that is still running.
class ChildProcess {
 public:
  // Forks and executes `argv` (argv[0] is a path, not searched in PATH).
  // Errors: InvalidArgument for an empty argv or an unknown run_as_user; Internal when fork
  // fails. A failing exec shows up as exit status 127 with the reason on its stderr.
  static absl::StatusOr<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                            const SpawnOptions& options = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }

  // True while the child has not exited (reaps it when it has).
  bool Running();

  // Waits for the child to exit, up to `timeout` (forever when nullopt); returns its wait
  // status (as waitpid), or nullopt on timeout.
  std::optional<int> Wait(std::optional<absl::Duration> timeout = std::nullopt);

  // Sends `signal`, waits up to `grace`, then SIGKILLs; returns the wait status.
  int Stop(int signal, absl::Duration grace);

  // The child's peak resident memory once Wait() or Running() has seen it exit; 0 before.
  uint64_t max_rss_bytes() const { return max_rss_bytes_; }

 private:
  ChildProcess() = default;
  // Reaps the child if it has exited (blocking when `block`): true then.
  bool Reap(bool block);
  pid_t pid_ = -1;
  int status_ = 0;
  uint64_t max_rss_bytes_ = 0;
};

// "exit 3", "signal 9 (Killed)" for a wait status.
std::string DescribeWaitStatus(int status);

// True when a wait status is a normal exit with code 0.
bool ExitedCleanly(int status);

// A field of /proc/PID/status in bytes ("VmRSS", "VmHWM").
// Errors: NotFound when the process or the field does not exist.
absl::StatusOr<uint64_t> ReadProcStatusBytes(pid_t pid, std::string_view field);

// The whole file (empty when it cannot be read); for error messages and logs.
std::string ReadWholeFile(const std::string& path);

// The last `max_bytes` of a file, for quoting a child's stderr in an error.
std::string TailOfFile(const std::string& path, size_t max_bytes = 2000);

}  // namespace segmenta
