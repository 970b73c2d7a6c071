// Jobs over HTTP: listing, polling, cancelling, and reading them after a restart.
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/server/api_fixture.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

class JobsApiTest : public ApiTest {
 protected:
  // Occupies the job runner until `release_` is notified, so that jobs queue behind it.
  void BlockTheRunner() {
    auto job = jobs_->Submit("test", "test", [this](JobProgress&) -> absl::StatusOr<std::string> {
      started_.Notify();
      release_.WaitForNotification();
      return std::string("{}");
    });
    ASSERT_TRUE(job.ok()) << job.status();
    started_.WaitForNotification();
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    ApiTest::TearDown();
  }

  static std::string Field(const std::string& json, const char* name) {
    simdjson::dom::parser parser;
    std::string_view value;
    if (parser.parse(json)[name].get(value) != simdjson::SUCCESS) return "";
    return std::string(value);
  }
  // Polls the job until it has ended; returns its last description.
  std::string WaitForEnd(const std::string& id) {
    std::string job;
    for (int i = 0; i < 500; ++i) {
      job = Admin("GET", "/api/jobs/" + id).body;
      std::string state = Field(job, "state");
      if (state != "queued" && state != "running") break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return job;
  }

  absl::Notification started_, release_;
};

TEST_F(JobsApiTest, AQueuedDefinitionChangeIsCancelledAndChangesNothing) {
  BlockTheRunner();
  HttpClientResponse queued =
      Admin("POST", "/api/groups", "", R"({"name":"Adults","condition":"age >= 18","async":true})");
  ASSERT_EQ(queued.status, 202) << queued.body;
  const std::string id = Field(queued.body, "id");
  EXPECT_EQ(queued.headers["location"], "/api/jobs/" + id);
  EXPECT_EQ(Field(queued.body, "state"), "queued");
  EXPECT_EQ(Admin("DELETE", "/api/jobs/" + id, read_token_).status, 403);
  HttpClientResponse cancelled = Admin("DELETE", "/api/jobs/" + id);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Field(cancelled.body, "state"), "cancelled");
  EXPECT_EQ(Admin("DELETE", "/api/jobs/" + id).status, 409);  // it has ended
  release_.Notify();
  EXPECT_EQ(Admin("GET", "/api/groups/Adults").status, 404);
  EXPECT_EQ(Field(Admin("GET", "/api/jobs/" + id).body, "state"), "cancelled");
}

TEST_F(JobsApiTest, ARequestWaitingForItsJobHearsThatItWasCancelled) {
  BlockTheRunner();
  HttpClientResponse answer;
  std::thread waiting([&] {
    HttpClient client(server_->port());
    auto res = client.Request("PUT", "/api/stages", R"({"stages":[{"name":"Visitor"}]})",
                              {{"Authorization", "Bearer " + admin_token_}});
    if (res.ok()) answer = *res;
  });
  // The request's job is the newest one once it is queued.
  std::string id;
  for (int i = 0; i < 500 && id.empty(); ++i) {
    simdjson::dom::parser parser;
    HttpClientResponse list = Admin("GET", "/api/jobs?limit=1");
    simdjson::dom::element newest;
    if (parser.parse(list.body)["jobs"].at(0).get(newest) == simdjson::SUCCESS &&
        std::string_view(newest["kind"]) == "stages") {
      id = std::string(std::string_view(newest["id"]));
    } else {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Admin("DELETE", "/api/jobs/" + id).status, 200);
  waiting.join();
  EXPECT_EQ(answer.status, 409) << answer.body;
  EXPECT_THAT(answer.body, HasSubstr(R"("error":"cancelled")"));
  EXPECT_THAT(Admin("GET", "/api/stages").body, HasSubstr(R"("defined":false)"));
}

TEST_F(JobsApiTest, ARunningJobIsAskedToStop) {
  auto job = jobs_->Submit("analysis", "analysis", [](JobProgress& progress) {
    progress.fraction = 0.5;
    while (!progress.cancelled) absl::SleepFor(absl::Milliseconds(1));
    return absl::StatusOr<std::string>(absl::CancelledError("stopped halfway"));
  });
  ASSERT_TRUE(job.ok());
  const std::string id = "job-" + std::to_string(job->id);
  for (int i = 0; i < 500 && Field(Admin("GET", "/api/jobs/" + id).body, "state") != "running";
       ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  HttpClientResponse cancelling = Admin("DELETE", "/api/jobs/" + id);
  ASSERT_EQ(cancelling.status, 200) << cancelling.body;
  EXPECT_THAT(cancelling.body, HasSubstr(R"("cancelRequested":true)"));
  std::string ended = WaitForEnd(id);
  EXPECT_EQ(Field(ended, "state"), "cancelled");
  EXPECT_EQ(Field(ended, "error"), "stopped halfway");
  EXPECT_THAT(ended, HasSubstr(R"("progress":0.5)"));
}

TEST_F(JobsApiTest, JobsAreListedNewestFirstAndReadAfterARestart) {
  std::vector<std::string> ids;
  for (const char* name : {"A", "B", "C"}) {
    HttpClientResponse started = Admin(
        "POST", "/api/groups", "",
        fmt::format(R"({{"name":"{}","condition":"trait(\"age\") > 1","async":true}})", name));
    ASSERT_EQ(started.status, 202);
    ids.push_back(Field(started.body, "id"));
    EXPECT_EQ(Field(WaitForEnd(ids.back()), "state"), "done");
  }
  HttpClientResponse page = Admin("GET", "/api/jobs?limit=2", read_token_);
  ASSERT_EQ(page.status, 200) << page.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(page.body);
  simdjson::dom::array jobs = doc["jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(std::string_view(jobs.at(0)["id"]), ids[2]);
  EXPECT_EQ(std::string_view(jobs.at(1)["id"]), ids[1]);
  EXPECT_EQ(jobs.at(0)["group"].error(), simdjson::NO_SUCH_FIELD);  // lists leave results out
  const std::string next{std::string_view(doc["nextCursor"])};
  HttpClientResponse rest = Admin("GET", "/api/jobs?limit=2&cursor=" + next);
  EXPECT_THAT(rest.body, HasSubstr(R"("id":")" + ids[0] + "\""));
  EXPECT_THAT(rest.body, HasSubstr(R"("nextCursor":null)"));
  EXPECT_EQ(Admin("GET", "/api/jobs?cursor=nope").status, 400);

  Stop();
  Start();
  HttpClientResponse after = Admin("GET", "/api/jobs/" + ids[1]);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Field(after.body, "state"), "done");
  EXPECT_EQ(Field(after.body, "kind"), "create");
  EXPECT_THAT(after.body, HasSubstr(R"("group":{"name":"B")"));
  EXPECT_THAT(after.body, HasSubstr(R"("finishedAt":")"));
  EXPECT_EQ(Admin("GET", "/api/jobs/job-999").status, 404);
  EXPECT_EQ(Admin("GET", "/api/jobs/nope").status, 404);
  EXPECT_EQ(Admin("DELETE", "/api/jobs/job-999").status, 404);
}

}  // namespace
}  // namespace segmenta
