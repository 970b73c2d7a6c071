// http_rate: POSTs request bodies to an HTTP/1.1 server at a constant rate and reports the
// latency percentiles, as wrk2 does (wrk2 is not packaged in Debian; wrk has no constant-rate
// mode: its connections wait for an answer before sending again, so a slow server is offered
// less load and its tail goes unmeasured — "coordinated omission").
//
// Request i is due at start + i / rate. It goes out on an idle keep-alive connection as soon
// as it is due; when every connection is busy it waits, and its latency counts from when it
// was due, not from when it could be sent. One thread, epoll and a timerfd: the generator
// shares the machine's cores with the server under test, so it spends as little as it can.
//
//   http_rate --url http://127.0.0.1:8080/v1/decide --bodies bodies.jsonl --rate 10000
//             --seconds 20 --connections 32 --header "Authorization: Basic ..."
//
// Each line of --bodies is one request body (cycled). Prints the achieved rate, the errors
// (non-2xx answers, broken connections) and the latency percentiles. --trace FILE also writes
// one line per measured request, in the order answered: when it was due (ms from the end of
// the warm-up), its latency from when due and from when sent (ms), and its body's line number
// (1-based): to find when in a run the slow ones come, and which requests they are. The
// summary gives the wall-clock time (UTC) at which the measured part began, to line the
// trace up with a server's log.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/chrono.h"
#include "fmt/format.h"

namespace {

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

[[noreturn]] void Die(std::string_view message) {
  fmt::print(stderr, "http_rate: {}\n", message);
  std::exit(2);
}

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/";
  std::string bodies_file;
  std::string trace_file;
  std::vector<std::string> headers;
  double rate = 1000;
  double seconds = 10;
  double warmup_seconds = 2;
  int connections = 16;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--url") {
      std::string url = value();
      if (url.rfind("http://", 0) != 0) Die(fmt::format("--url: only http:// URLs, not {}", url));
      url = url.substr(7);
      size_t slash = url.find('/');
      if (slash != std::string::npos) o.path = url.substr(slash);
      url = url.substr(0, slash);
      size_t colon = url.rfind(':');
      if (colon == std::string::npos) Die("--url: give the port (http://host:port/path)");
      o.host = url.substr(0, colon);
      o.port = url.substr(colon + 1);
    } else if (arg == "--bodies") {
      o.bodies_file = value();
    } else if (arg == "--trace") {
      o.trace_file = value();
    } else if (arg == "--header") {
      o.headers.push_back(value());
    } else if (arg == "--rate") {
      o.rate = std::atof(value().c_str());
    } else if (arg == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (arg == "--warmup") {
      o.warmup_seconds = std::atof(value().c_str());
    } else if (arg == "--connections") {
      o.connections = std::atoi(value().c_str());
    } else {
      Die(fmt::format(
          "unknown argument {} (see the comment at the top of tools/bench/load/http_rate.cc)",
          arg));
    }
  }
  if (o.port.empty() || o.bodies_file.empty()) Die("--url and --bodies are required");
  if (o.rate <= 0 || o.seconds <= 0 || o.warmup_seconds < 0 || o.connections < 1) {
    Die("--rate, --seconds and --connections must be positive, --warmup not negative");
  }
  return o;
}

struct Connection {
  int fd = -1;
  bool busy = false;
  const std::string* out = nullptr;  // the request being sent (one of the prepared ones)
  size_t sent = 0;
  std::string in;  // the answer read so far
  int64_t due_ns = 0;
  int64_t sent_ns = 0;
  size_t body = 0;  // index of the body sent
};

int Connect(const addrinfo* address) {
  int fd = socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(fmt::format("socket: {}", std::strerror(errno)));
  if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
    Die(fmt::format("connect: {}", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// The length of a whole response at the start of `in` (header and Content-Length body), 0
// while incomplete; sets `status`. Our servers always send Content-Length or no body.
size_t ResponseLength(const std::string& in, int* status) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  *status = in.size() > 12 ? std::atoi(in.c_str() + 9) : 0;
  size_t body = 0;
  for (size_t line = in.find("\r\n"); line < end; line = in.find("\r\n", line + 2)) {
    constexpr std::string_view kLength = "content-length:";
    if (line + 2 + kLength.size() > end) break;
    bool match = true;
    for (size_t k = 0; k < kLength.size() && match; ++k) {
      match = std::tolower(static_cast<unsigned char>(in[line + 2 + k])) == kLength[k];
    }
    if (match) body = std::strtoull(in.c_str() + line + 2 + kLength.size(), nullptr, 10);
  }
  return in.size() >= end + 4 + body ? end + 4 + body : 0;
}

double Percentile(std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p / 100.0 * sorted.size()));
  return sorted[i] / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::vector<std::string> requests;
  {
    std::ifstream in(o.bodies_file);
    if (!in) Die(fmt::format("cannot read {}", o.bodies_file));
    std::string head = fmt::format("POST {} HTTP/1.1\r\nHost: {}:{}\r\n", o.path, o.host, o.port);
    for (const std::string& h : o.headers) head += h + "\r\n";
    head += "Content-Type: application/json\r\n";
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      requests.push_back(fmt::format("{}Content-Length: {}\r\n\r\n{}", head, line.size(), line));
    }
    if (requests.empty()) Die(fmt::format("{}: no request body", o.bodies_file));
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* address = nullptr;
  if (int rc = getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &address); rc != 0) {
    Die(fmt::format("{}: {}", o.host, gai_strerror(rc)));
  }
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event timer_event{};
  timer_event.events = EPOLLIN;
  timer_event.data.u64 = UINT64_MAX;
  epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &timer_event);
  std::vector<Connection> connections(o.connections);
  std::vector<size_t> idle;
  auto open = [&](size_t c) {
    connections[c] = Connection{};
    connections[c].fd = Connect(address);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = c;
    epoll_ctl(epoll, EPOLL_CTL_ADD, connections[c].fd, &e);
    idle.push_back(c);
  };
  for (int c = 0; c < o.connections; ++c) open(c);

  const double interval_ns = 1e9 / o.rate;
  const auto total = static_cast<uint64_t>((o.seconds + o.warmup_seconds) * o.rate);
  const int64_t start = NowNs() + 1'000'000;
  const int64_t measure_from = start + static_cast<int64_t>(o.warmup_seconds * 1e9);
  const int64_t measured_wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count() +
                                   (measure_from - NowNs()) / 1'000'000;
  auto due = [&](uint64_t i) { return start + static_cast<int64_t>(i * interval_ns); };
  uint64_t next = 0, done = 0, measured = 0, errors = 0;
  std::vector<int64_t> from_due, from_send;
  std::FILE* trace = nullptr;
  if (!o.trace_file.empty()) {
    trace = std::fopen(o.trace_file.c_str(), "w");
    if (trace == nullptr) Die(fmt::format("--trace {}: {}", o.trace_file, std::strerror(errno)));
  }
  from_due.reserve(static_cast<size_t>(o.seconds * o.rate) + 16);
  from_send.reserve(from_due.capacity());
  int64_t measured_end = 0;
  std::vector<char> chunk(1 << 16);
  std::vector<epoll_event> events(o.connections + 1);

  auto send_some = [&](size_t c) {
    Connection& k = connections[c];
    while (k.sent < k.out->size()) {
      ssize_t n = send(k.fd, k.out->data() + k.sent, k.out->size() - k.sent, MSG_NOSIGNAL);
      if (n > 0) {
        k.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        epoll_event e{};
        e.events = EPOLLIN | EPOLLOUT;
        e.data.u64 = c;
        epoll_ctl(epoll, EPOLL_CTL_MOD, k.fd, &e);
      }
      return;  // an error shows when reading
    }
  };
  auto broken = [&](size_t c) {
    Connection& k = connections[c];
    if (k.busy) {
      ++errors;
      ++done;
    }
    epoll_ctl(epoll, EPOLL_CTL_DEL, k.fd, nullptr);
    close(k.fd);
    open(c);
  };

  // A server that stops answering does not hang the run: it ends 10 s after the last due time.
  const int64_t give_up = due(total) + 10'000'000'000;
  while (done < total) {
    const int64_t now = NowNs();
    if (now > give_up) {
      for (const Connection& k : connections) errors += k.busy ? 1 : 0;
      break;
    }
    while (next < total && due(next) <= now && !idle.empty()) {
      size_t c = idle.back();
      idle.pop_back();
      Connection& k = connections[c];
      k.busy = true;
      k.out = &requests[next % requests.size()];
      k.sent = 0;
      k.in.clear();
      k.due_ns = due(next);
      k.sent_ns = NowNs();
      k.body = next % requests.size();
      ++next;
      send_some(c);
    }
    if (next < total && !idle.empty()) {
      itimerspec at{};
      const int64_t when = due(next);
      at.it_value.tv_sec = when / 1'000'000'000;
      at.it_value.tv_nsec = when % 1'000'000'000;
      timerfd_settime(timer, TFD_TIMER_ABSTIME, &at, nullptr);
    }
    const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 1000);
    for (int e = 0; e < n; ++e) {
      if (events[e].data.u64 == UINT64_MAX) {
        uint64_t expirations;
        [[maybe_unused]] ssize_t r = read(timer, &expirations, sizeof(expirations));
        continue;
      }
      const size_t c = events[e].data.u64;
      Connection& k = connections[c];
      if (events[e].events & EPOLLOUT) {
        send_some(c);
        if (k.sent == k.out->size()) {
          epoll_event mod{};
          mod.events = EPOLLIN;
          mod.data.u64 = c;
          epoll_ctl(epoll, EPOLL_CTL_MOD, k.fd, &mod);
        }
      }
      if (!(events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      ssize_t got = recv(k.fd, chunk.data(), chunk.size(), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        broken(c);
        continue;
      }
      k.in.append(chunk.data(), static_cast<size_t>(got));
      int status = 0;
      const size_t length = ResponseLength(k.in, &status);
      if (length == 0) continue;
      if (!k.busy || length != k.in.size()) {  // an answer nobody asked for
        broken(c);
        continue;
      }
      const int64_t at = NowNs();
      ++done;
      if (status < 200 || status >= 300) ++errors;
      if (k.due_ns >= measure_from) {
        ++measured;
        from_due.push_back(at - k.due_ns);
        from_send.push_back(at - k.sent_ns);
        if (trace != nullptr) {
          fmt::print(trace, "{:.3f} {:.3f} {:.3f} {}\n", (k.due_ns - measure_from) / 1e6,
                     (at - k.due_ns) / 1e6, (at - k.sent_ns) / 1e6, k.body + 1);
        }
        measured_end = at;
      }
      k.busy = false;
      idle.push_back(c);
    }
  }
  freeaddrinfo(address);
  if (trace != nullptr) std::fclose(trace);

  std::sort(from_due.begin(), from_due.end());
  std::sort(from_send.begin(), from_send.end());
  const double measured_s = std::max(1e-9, (measured_end - measure_from) / 1e9);
  fmt::print(
      "{} requests in {:.2f} s after {:.0f} s of warm-up (from {:%H:%M:%S}.{:03d} UTC): {:.0f} "
      "requests/s (target {:.0f}), {} errors\n",
      measured, measured_s, o.warmup_seconds,
      fmt::gmtime(static_cast<std::time_t>(measured_wall_ms / 1000)),
      static_cast<int>(measured_wall_ms % 1000), measured / measured_s, o.rate, errors);
  auto line = [](std::string_view what, std::vector<int64_t>& v) {
    fmt::print("{}: p50 {:.3f} ms, p90 {:.3f} ms, p99 {:.3f} ms, p99.9 {:.3f} ms, max {:.3f} ms\n",
               what, Percentile(v, 50), Percentile(v, 90), Percentile(v, 99), Percentile(v, 99.9),
               v.empty() ? 0.0 : v.back() / 1e6);
  };
  line("latency from when due", from_due);
  line("latency from when sent", from_send);
  return errors == 0 ? 0 : 1;
}
