// The HTTP API in process, for tests: a real RocksDB store, the worker, the audience
// engine, the decider, the job runner, the HTTP server on an ephemeral loopback port, and a
// real HTTP client; a write key, an admin token and a read-only token.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "jobs/job_runner.h"
#include "server/api.h"
#include "server/http_client.h"
#include "simdjson.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace segmenta {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The process id too: other checkouts may run the same tests at the same time.
    dir_ = fmt::format("{}/api_test_{}_{}", ::testing::TempDir(), getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    log_ = std::make_shared<std::ostringstream>();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    spdlog::set_level(spdlog::level::debug);  // every request line, to check for secrets
    Start();
    auto write = keys_->Create(KeyKind::kWrite, "site", 0);
    auto admin = keys_->Create(KeyKind::kAdmin, "ops", 0);
    auto read = keys_->Create(KeyKind::kRead, "analyst", 0);
    ASSERT_TRUE(write.ok() && admin.ok() && read.ok());
    write_key_ = write->second;
    admin_token_ = admin->second;
    read_token_ = read->second;
  }
  void TearDown() override {
    Stop();
    spdlog::drop("segmenta-test");
    spdlog::set_default_logger(spdlog::stderr_color_mt("segmenta-test"));
    spdlog::set_level(spdlog::level::info);
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto keys = KeyRing::Load(store_.get());
    ASSERT_TRUE(keys.ok());
    keys_ = std::move(*keys);
    auto worker = Worker::Start(store_.get(), {});
    ASSERT_TRUE(worker.ok());
    worker_ = std::move(*worker);
    auto groups = AudienceEngine::Start(store_.get(), worker_.get());
    ASSERT_TRUE(groups.ok()) << groups.status();
    groups_ = std::move(*groups);
    auto decider = Decider::Start(store_.get(), worker_.get(), groups_.get());
    ASSERT_TRUE(decider.ok()) << decider.status();
    decider_ = std::move(*decider);
    auto jobs = JobRunner::Start(store_.get());
    ASSERT_TRUE(jobs.ok()) << jobs.status();
    jobs_ = std::move(*jobs);
    api_ = std::make_unique<Api>(store_.get(), worker_.get(), keys_.get(), groups_.get(),
                                 jobs_.get(), Limits{}, Clock::Real(), decider_.get());
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::Start(options, api_->AsHandler());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>(server_->port());
  }
  void Stop() {
    client_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    api_.reset();
    jobs_.reset();
    decider_.reset();
    groups_.reset();
    worker_.reset();
    keys_.reset();
    store_.reset();
  }

  HttpClientResponse Post(const std::string& path, const std::string& body,
                          std::map<std::string, std::string> headers = {}) {
    if (!headers.contains("Authorization")) headers["Authorization"] = BasicAuth(write_key_);
    auto res = client_->Request("POST", path, body, headers);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : HttpClientResponse{};
  }
  HttpClientResponse Admin(const std::string& method, const std::string& target,
                           const std::string& token = "", const std::string& body = {}) {
    auto res =
        client_->Request(method, target, body,
                         {{"Authorization", "Bearer " + (token.empty() ? admin_token_ : token)}});
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : HttpClientResponse{};
  }
  uint64_t Stat(const std::string& name) {
    HttpClientResponse res = Admin("GET", "/api/stats");
    simdjson::dom::parser parser;
    uint64_t value = 0;
    EXPECT_EQ(parser.parse(res.body)[name].get_uint64().get(value), simdjson::SUCCESS) << res.body;
    return value;
  }

  std::string dir_;
  std::shared_ptr<std::ostringstream> log_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<AudienceEngine> groups_;
  std::unique_ptr<Decider> decider_;
  std::unique_ptr<JobRunner> jobs_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string write_key_, admin_token_, read_token_;
};

}  // namespace segmenta
