#include "tools/bench/harness/harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "collect/parser.h"
#include "core/status.h"
#include "gen/traffic.h"
#include "tools/bench/harness/child_process.h"

namespace segmenta {

// ---------------------------------------------------------------------------------------
// Formatting

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Rate(double per_second) {
  return Grouped(static_cast<uint64_t>(per_second + 0.5)) + " events/s";
}

std::string Bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string Ratio(double a, double b) {
  if (b <= 0) return "";
  return fmt::format("{:.2f}×", a / b);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string Runs(const std::vector<double>& values) {
  std::string out;
  for (double v : values) {
    if (!out.empty()) out += ", ";
    out += Grouped(static_cast<uint64_t>(v + 0.5));
  }
  return out;
}

std::string LoadAverage() {
  std::string text = ReadWholeFile("/proc/loadavg");
  // "0.15 0.16 0.08 1/87 7162": the first three fields.
  size_t end = 0;
  for (int i = 0; i < 3 && end != std::string::npos; ++i) end = text.find(' ', end + 1);
  return end == std::string::npos ? "?" : text.substr(0, end);
}

// ---------------------------------------------------------------------------------------
// Files and directories

std::string TempParent(const BenchOptions& options) { return TempParent(options.temp_parent); }

std::string TempParent(const std::string& requested) {
  if (!requested.empty()) return requested;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// Bytes of the regular files under `dir`.
uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      uintmax_t size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

// Median latency, in microseconds, of writing 8 KiB and fdatasync'ing it in `dir`: the
// floor of one durable group commit on this disk.
std::optional<double> FsyncMicros(const std::string& dir) {
  std::string path = dir + "/segmenta-bench-fsync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return std::nullopt;
  std::string block(8192, 'x');
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    absl::Time t0 = absl::Now();
    if (pwrite(fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      break;
    }
    micros.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
  }
  close(fd);
  unlink(path.c_str());
  if (micros.empty()) return std::nullopt;
  return Median(micros);
}

// ---------------------------------------------------------------------------------------
// The data

// The first `events` messages of the generated traffic (contact after contact).
GeneratedLines GenerateLines(uint64_t events, uint64_t seed) {
  TrafficOptions traffic;
  traffic.contacts = std::max<uint64_t>(events, 1);  // an upper bound; the cursor stops early
  traffic.seed = seed;
  TrafficGenerator generator(traffic);
  TrafficCursor cursor(&generator);
  GeneratedLines out;
  out.lines.reserve(events);
  std::string line;
  while (out.lines.size() < events && cursor.Next(&line)) {
    out.bytes += line.size() + 1;
    out.lines.push_back(line);
  }
  out.contacts = cursor.stats().contacts;
  return out;
}

// Writes generated traffic to `path` as JSONL: the first `events` messages when set,
// otherwise all the traffic of `contacts` contacts.
absl::StatusOr<GeneratedFile> GenerateFile(const std::string& path, std::optional<uint64_t> events,
                                           uint64_t contacts, uint64_t seed) {
  TrafficOptions traffic;
  traffic.contacts = events.has_value() ? std::max<uint64_t>(*events, 1) : contacts;
  traffic.seed = seed;
  TrafficGenerator generator(traffic);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(fmt::format("cannot create {}: {}", path, strerror(errno)));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
  static char buffer[1 << 20];
  std::setvbuf(file, buffer, _IOFBF, sizeof(buffer));
  GeneratedFile out;
  if (!events.has_value()) {
    TrafficStats stats;
    SEGMENTA_RETURN_IF_ERROR(generator.WriteTo(file, &stats));
    out.events = stats.messages;
    out.contacts = stats.contacts;
    out.bytes = stats.bytes;
  } else {
    TrafficCursor cursor(&generator);
    std::string line;
    while (out.events < *events && cursor.Next(&line)) {
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), file) != line.size()) {
        return absl::InternalError(fmt::format("cannot write {}: {}", path, strerror(errno)));
      }
      ++out.events;
      out.bytes += line.size();
    }
    out.contacts = cursor.stats().contacts;
  }
  if (std::fflush(file) != 0) {
    return absl::InternalError(fmt::format("cannot write {}: {}", path, strerror(errno)));
  }
  return out;
}

// Runs `segmenta --data-dir DIR import activities FILE` to completion; returns its wall
// time. Errors: Internal with its stderr when it fails.
absl::StatusOr<ImportRun> RunImport(const BenchOptions& options, const std::string& data_dir,
                                    const std::string& file, const std::string& log_dir) {
  SpawnOptions spawn;
  spawn.stdout_path = log_dir + "/import.out";
  spawn.stderr_path = log_dir + "/import.err";
  absl::Time start = absl::Now();
  SEGMENTA_ASSIGN_OR_RETURN(
      ChildProcess child,
      ChildProcess::Spawn({options.binary, "--data-dir", data_dir, "import", "activities", file},
                          spawn));
  int status = *child.Wait();
  absl::Duration elapsed = absl::Now() - start;
  if (!ExitedCleanly(status)) {
    return absl::InternalError(fmt::format("segmenta import failed ({}): {}",
                                           DescribeWaitStatus(status),
                                           TailOfFile(spawn.stderr_path)));
  }
  return ImportRun{elapsed, child.max_rss_bytes()};
}

absl::StatusOr<ImportedTraffic> ImportGeneratedTraffic(const BenchOptions& options,
                                                       const std::string& work_dir,
                                                       uint64_t contacts) {
  const std::string file = work_dir + "/events.jsonl";
  Note("writing the traffic of {} generated contacts to {}", Grouped(contacts), file);
  ImportedTraffic out;
  SEGMENTA_ASSIGN_OR_RETURN(out.data, GenerateFile(file, std::nullopt, contacts, options.seed));
  out.data_dir = work_dir + "/data";
  Note("importing {} events (segmenta import)", Grouped(out.data.events));
  SEGMENTA_ASSIGN_OR_RETURN(ImportRun import, RunImport(options, out.data_dir, file, work_dir));
  out.elapsed = import.elapsed;
  std::filesystem::remove(file);
  return out;
}

// ---------------------------------------------------------------------------------------
// In process

std::vector<Message> GeneratedMessages(uint64_t contacts, uint64_t seed, absl::Time now) {
  TrafficOptions traffic;
  traffic.contacts = contacts;
  traffic.seed = seed;
  MessageParser parser;
  std::vector<Message> out;
  TrafficGenerator(traffic).Generate([&](std::string_view line) {
    ParseResult parsed = parser.ParseLine(line, now);
    if (parsed.errors.empty()) out.push_back(std::move(parsed.messages[0]));
  });
  return out;
}

uint64_t PeakRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

// ---------------------------------------------------------------------------------------
// Header

std::string MachineHeader(const BenchOptions& options) {
  std::string model = "?";
  std::string cpuinfo = ReadWholeFile("/proc/cpuinfo");
  size_t at = cpuinfo.find("model name");
  if (at != std::string::npos) {
    size_t colon = cpuinfo.find(':', at);
    size_t end = cpuinfo.find('\n', at);
    if (colon != std::string::npos && end != std::string::npos && colon < end) {
      model = cpuinfo.substr(colon + 2, end - colon - 2);
    }
  }
  std::string ram = "?";
  std::string meminfo = ReadWholeFile("/proc/meminfo");
  at = meminfo.find("MemTotal:");
  if (at != std::string::npos) {
    ram = Bytes(static_cast<double>(std::strtoull(meminfo.c_str() + at + 9, nullptr, 10)) * 1024);
  }
  struct utsname uts;
  std::string kernel = uname(&uts) == 0 ? fmt::format("{} {}", uts.sysname, uts.release) : "?";
  std::optional<double> fsync = FsyncMicros(TempParent(options));
#ifdef NDEBUG
  const char* build = "release (NDEBUG)";
#else
  const char* build = "debug (assertions on)";
#endif
  std::string out;
  out += fmt::format("Date:       {}\n",
                     absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", absl::Now(), absl::UTCTimeZone()));
  out += fmt::format("CPU:        {} × {}\n", std::thread::hardware_concurrency(), model);
  out += fmt::format("RAM:        {}\n", ram);
  out += fmt::format("Kernel:     {}\n", kernel);
  out += fmt::format("Load avg:   {} (1, 5, 15 min, at start; the machine is shared)\n",
                     LoadAverage());
  out += fmt::format("Disk:       {} µs per 8 KiB write + fdatasync (median of 200) in {}\n",
                     fsync.has_value() ? fmt::format("{:.0f}", *fsync) : "?", TempParent(options));
  out += fmt::format("Build:      {}, binary {}\n", build, options.binary);
  out += fmt::format("Repeats:    {} per workload, medians reported\n", options.repeats);
  return out;
}

}  // namespace segmenta
