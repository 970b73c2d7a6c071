#include "tools/bench/harness/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

// Child side of Spawn: only async-signal-safe calls from here to exec.
[[noreturn]] void ExecChild(const std::vector<char*>& argv, const char* out_path,
                            const char* err_path, bool drop, uid_t uid, gid_t gid, int death_signal,
                            pid_t parent) {
  int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out >= 0) dup2(out, STDOUT_FILENO);
  if (err >= 0) dup2(err, STDERR_FILENO);
  int in = open("/dev/null", O_RDONLY);
  if (in >= 0) dup2(in, STDIN_FILENO);
  // Own process group: a Ctrl-C on the terminal reaches the bench, which stops its children
  // in order, instead of reaching every child at once.
  setpgid(0, 0);
  if (drop) {
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
      const char msg[] = "segmenta-bench: cannot switch user\n";
      (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
      _exit(126);
    }
  }
  // After the user switch, which clears the parent-death signal.
  if (death_signal != 0) {
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(125);
  }
  execv(argv[0], argv.data());
  const char msg[] = "segmenta-bench: exec failed: ";
  (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
  const char* reason = strerror(errno);
  (void)!write(STDERR_FILENO, reason, strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& args,
                                                 const SpawnOptions& options) {
  if (args.empty()) return absl::InvalidArgumentError("empty command line");
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  if (!options.run_as_user.empty() && geteuid() == 0) {
    struct passwd* pw = getpwnam(options.run_as_user.c_str());
    if (pw == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("no system user '{}' to run {} as", options.run_as_user, args[0]));
    }
    drop = true;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string out = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  std::string err = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(fmt::format("fork: {}", strerror(errno)));
  if (pid == 0) {
    ExecChild(argv, out.c_str(), err.c_str(), drop, uid, gid, options.parent_death_signal, parent);
  }
  ChildProcess child;
  child.pid_ = pid;
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(status_, other.status_);
  std::swap(max_rss_bytes_, other.max_rss_bytes_);
  return *this;
}

bool ChildProcess::Reap(bool block) {
  int status = 0;
  struct rusage usage {};
  pid_t r;
  while ((r = wait4(pid_, &status, block ? 0 : WNOHANG, &usage)) < 0 && errno == EINTR) {
  }
  if (r != pid_) return false;
  status_ = status;
  max_rss_bytes_ = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux counts KiB
  pid_ = -1;
  return true;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  return !Reap(/*block=*/false);
}

std::optional<int> ChildProcess::Wait(std::optional<absl::Duration> timeout) {
  if (pid_ <= 0) return status_;
  if (!timeout.has_value()) {
    Reap(/*block=*/true);
    return status_;
  }
  absl::Time deadline = absl::Now() + *timeout;
  while (Running()) {
    if (absl::Now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

int ChildProcess::Stop(int signal, absl::Duration grace) {
  if (pid_ <= 0) return status_;
  kill(pid_, signal);
  std::optional<int> status = Wait(grace);
  if (status.has_value()) return *status;
  kill(pid_, SIGKILL);
  return *Wait();
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("wait status {}", status);
}

bool ExitedCleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

absl::StatusOr<uint64_t> ReadProcStatusBytes(pid_t pid, std::string_view field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  if (!in) return absl::NotFoundError(fmt::format("no process {}", pid));
  std::string line;
  std::string prefix = fmt::format("{}:", field);
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    // "VmRSS:	  123456 kB"
    uint64_t kib = std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
    return kib * 1024;
  }
  return absl::NotFoundError(fmt::format("no {} in /proc/{}/status", field, pid));
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TailOfFile(const std::string& path, size_t max_bytes) {
  std::string all = ReadWholeFile(path);
  if (all.size() <= max_bytes) return all;
  return "…" + all.substr(all.size() - max_bytes);
}

}  // namespace segmenta
