// Runs the real `segmenta` binary as a child process, for end-to-end and crash tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace segmenta::testing {

// Path of the built `segmenta` binary.
std::string SegmentaBinary();

// How a finished `segmenta` run ended.
struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs `segmenta args...` to completion, whatever its exit code.
RunResult RunSegmentaFull(const std::vector<std::string>& args);

// Runs `segmenta args...` to completion; returns its stdout. Errors: Internal with the
// exit code and stderr when it fails.
absl::StatusOr<std::string> RunSegmenta(const std::vector<std::string>& args);

// A `segmenta serve` child on an ephemeral loopback port. Not thread-safe.
class ServerProcess {
 public:
  // Starts `segmenta --data-dir DIR serve --port 0 extra_args...` and waits (up to 30 s) for
  // its "listening on" line. Errors: Internal with the server's stderr when it fails.
  static absl::StatusOr<ServerProcess> Start(const std::string& data_dir,
                                             const std::vector<std::string>& extra_args = {});
  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&& other) noexcept;
  ~ServerProcess();  // SIGKILL if still running

  int port() const { return port_; }
  std::string url() const;
  pid_t pid() const { return pid_; }

  // Sends SIGKILL and reaps the child.
  void Kill();
  // Sends SIGTERM and waits for a clean exit; returns its exit status (-1 on a signal).
  int Terminate();

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string stderr_path_;
};

}  // namespace segmenta::testing
