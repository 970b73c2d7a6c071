// `segmenta serve`: the collection and admin HTTP server on an embedded data directory.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "fmt/format.h"
#include "ingest/worker.h"
#include "jobs/job_runner.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/key_ring.h"
#include "server/webhook_sender.h"
#include "spdlog/cfg/env.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "store/store.h"

namespace segmenta {
namespace {

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 2;
  bool merge_on_email = true;
  uint32_t max_anonymous_ids = 100;
  size_t max_body_bytes = 512 * 1024;
};

[[noreturn]] void Fail(const std::string& message) {
  fmt::print(stderr, "segmenta serve: {}\n", message);
  throw CLI::RuntimeError(1);
}

// Logs go to stderr: stdout carries the one "listening on" line scripts read.
void LogToStderr() {
  if (spdlog::get("segmenta") == nullptr) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("segmenta"));
  }
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug logs every request
}

void Serve(const CommonOptions& common, const ServeFlags& flags) {
  LogToStderr();
  if (flags.port < 0 || flags.port > 65535) Fail(fmt::format("bad --port {}", flags.port));
  if (flags.io_threads < 1 || flags.io_threads > 256) {
    Fail(fmt::format("--io-threads must be from 1 to 256, not {}", flags.io_threads));
  }

  // Catch SIGTERM/SIGINT from the start, so that an early signal still shuts down cleanly.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) received = signal;
  });

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(common.data_dir);
  if (absl::IsFailedPrecondition(store.status())) {
    Fail(
        fmt::format("data directory {} is in use by another process (a running segmenta "
                    "serve?): {}",
                    common.data_dir, std::string(store.status().message())));
  }
  if (!store.ok()) {
    Fail(fmt::format("cannot open {}: {}", common.data_dir, std::string(store.status().message())));
  }
  absl::StatusOr<std::unique_ptr<KeyRing>> keys = KeyRing::Load(store->get());
  if (!keys.ok()) Fail(fmt::format("cannot load keys: {}", std::string(keys.status().message())));

  WorkerOptions worker_options;
  worker_options.identity.merge_on_email = flags.merge_on_email;
  worker_options.identity.max_anonymous_ids = flags.max_anonymous_ids;
  absl::StatusOr<std::unique_ptr<Worker>> worker = Worker::Start(store->get(), worker_options);
  if (!worker.ok()) {
    Fail(fmt::format("cannot start the worker: {}", std::string(worker.status().message())));
  }

  absl::StatusOr<std::unique_ptr<AudienceEngine>> engine =
      AudienceEngine::Start(store->get(), worker->get());
  if (!engine.ok()) {
    Fail(fmt::format("cannot load contact groups, personas and stages: {}",
                     std::string(engine.status().message())));
  }

  auto webhooks = std::make_unique<WebhookSender>(store->get(), engine->get());
  absl::StatusOr<std::unique_ptr<Decider>> decider =
      Decider::Start(store->get(), worker->get(), engine->get());
  if (!decider.ok()) {
    Fail(fmt::format("cannot load experiences: {}", std::string(decider.status().message())));
  }

  absl::StatusOr<std::unique_ptr<JobRunner>> jobs = JobRunner::Start(store->get());
  if (!jobs.ok()) {
    Fail(fmt::format("cannot load jobs: {}", std::string(jobs.status().message())));
  }

  Limits limits;
  auto api = std::make_unique<Api>(store->get(), worker->get(), keys->get(), engine->get(),
                                   jobs->get(), limits, Clock::Real(), decider->get());
  HttpServerOptions http;
  http.host = flags.host;
  http.port = static_cast<uint16_t>(flags.port);
  http.io_threads = flags.io_threads;
  http.max_body_bytes = flags.max_body_bytes;
  http.max_decoded_body_bytes = limits.max_batch_bytes;
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(http, api->AsHandler());
  if (!server.ok()) Fail(std::string(server.status().message()));

  bool has_write_key = false;
  for (const KeyRecord& record : (*keys)->List()) {
    has_write_key = has_write_key || record.kind == KeyKind::kWrite;
  }
  if (!has_write_key) {
    spdlog::warn(
        "no write key yet: every /v1 request will get 401. Create one with: segmenta "
        "--data-dir {} keys create --kind write --name NAME (or POST /api/keys)",
        common.data_dir);
  }
  const WorkerStats stats = (*worker)->stats();
  spdlog::info("data directory {}: {} contacts, {} activities, {} accounts", common.data_dir,
               stats.contacts, stats.activities, stats.accounts);
  std::string host =
      flags.host.find(':') != std::string::npos ? "[" + flags.host + "]" : flags.host;
  fmt::print("segmenta: listening on http://{}:{}\n", host, (*server)->port());
  std::fflush(stdout);

  signals_io.run();  // until SIGTERM or SIGINT
  spdlog::info("received signal {}: stopping", received);
  (*server)->Shutdown();
  (*decider)->FlushExposures();
  (*worker)->Drain();
  WorkerStats final_stats = (*worker)->stats();
  uint64_t served = (*server)->requests_served();
  server->reset();
  api.reset();
  jobs->reset();  // finishes the job in progress (it calls the engine, not the API)
  decider->reset();
  webhooks.reset();
  engine->reset();
  worker->reset();
  keys->reset();
  store->reset();
  spdlog::info("stopped after {} requests; {} contacts, {} activities stored", served,
               final_stats.contacts, final_stats.activities);
}

}  // namespace

void AddServeCommand(CLI::App& app, CommonOptions& common) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve =
      app.add_subcommand("serve", "Serve the Segment-compatible collection API and the admin API");
  serve->add_option("--host", flags->host, "Address to bind")->capture_default_str();
  serve->add_option("--port", flags->port, "Port to bind (0: any free port)")
      ->capture_default_str();
  serve->add_option("--io-threads", flags->io_threads, "Network threads")->capture_default_str();
  serve->add_flag("--merge-on-email,!--no-merge-on-email", flags->merge_on_email,
                  "Whether the email trait of identify links contacts (default: on)");
  serve
      ->add_option("--max-anonymous-ids", flags->max_anonymous_ids,
                   "Most anonymous ids one contact may hold")
      ->capture_default_str();
  serve
      ->add_option("--max-body-bytes", flags->max_body_bytes,
                   "Largest request body as received (compressed or not)")
      ->capture_default_str();
  serve->callback([&common, flags] { Serve(common, *flags); });
}

}  // namespace segmenta
