#include "testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "fmt/format.h"

namespace segmenta::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string TempPath(const std::string& what) {
  static int counter = 0;
  return fmt::format("/tmp/segmenta-test-{}-{}-{}", getpid(), ++counter, what);
}

}  // namespace

std::string SegmentaBinary() { return SEGMENTA_BINARY_DIR "/src/cli/segmenta"; }

RunResult RunSegmentaFull(const std::vector<std::string>& args) {
  std::string out_path = TempPath("out"), err_path = TempPath("err");
  std::vector<std::string> full = {SegmentaBinary()};
  full.insert(full.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    auto argv = Argv(full);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

absl::StatusOr<std::string> RunSegmenta(const std::vector<std::string>& args) {
  RunResult r = RunSegmentaFull(args);
  if (r.exit_code != 0) {
    return absl::InternalError(fmt::format("segmenta {} failed ({}): {}",
                                           args.empty() ? "" : args[0], r.exit_code, r.err));
  }
  return r.out;
}

absl::StatusOr<ServerProcess> ServerProcess::Start(const std::string& data_dir,
                                                   const std::vector<std::string>& extra_args) {
  ServerProcess server;
  std::string out_path = TempPath("serve-out");
  server.stderr_path_ = TempPath("serve-err");
  std::vector<std::string> args = {SegmentaBinary(), "--data-dir", data_dir,
                                   "serve",          "--port",     "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server.pid_ = fork();
  if (server.pid_ == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(server.stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    auto argv = Argv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    std::string out = ReadFile(out_path);
    size_t at = out.find("listening on http://");
    if (at != std::string::npos) {
      size_t colon = out.find(':', at + 20);
      size_t end = out.find('\n', at);
      if (colon != std::string::npos && end != std::string::npos) {
        server.port_ = std::stoi(out.substr(colon + 1, end - colon - 1));
        unlink(out_path.c_str());
        return server;
      }
    }
    int status = 0;
    if (waitpid(server.pid_, &status, WNOHANG) == server.pid_) {
      server.pid_ = -1;
      return absl::InternalError(
          fmt::format("segmenta serve exited ({}): {}", status, ReadFile(server.stderr_path_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::InternalError("segmenta serve did not report listening within 30 s: " +
                             ReadFile(server.stderr_path_));
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept { *this = std::move(other); }

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(port_, other.port_);
  std::swap(stderr_path_, other.stderr_path_);
  return *this;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
}

std::string ServerProcess::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace segmenta::testing
