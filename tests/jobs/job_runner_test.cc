#include "jobs/job_runner.h"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "store/keys.h"

namespace segmenta {
namespace {

// The job as it ends, once it has.
class Ended {
 public:
  JobRunner::EndCallback Callback() {
    return [promise = promise_](const JobRecord& job) { promise->set_value(job); };
  }
  JobRecord Wait() { return future_.get(); }
  bool Ready() { return future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }

 private:
  std::shared_ptr<std::promise<JobRecord>> promise_ = std::make_shared<std::promise<JobRecord>>();
  std::shared_future<JobRecord> future_ = promise_->get_future().share();
};

JobRunner::Computation Returns(std::string result) {
  return [result](JobProgress&) -> absl::StatusOr<std::string> { return result; };
}

// Runs until `release` is notified, with its progress at one half meanwhile.
JobRunner::Computation BlocksUntil(absl::Notification* started, absl::Notification* release) {
  return [started, release](JobProgress& progress) -> absl::StatusOr<std::string> {
    progress.fraction = 0.5;
    started->Notify();
    release->WaitForNotification();
    return std::string("{}");
  };
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fmt::format("{}/job_runner_test_{}_{}", ::testing::TempDir(), getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  void Open(JobRunnerOptions options = {}) {
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    options.clock = &clock_;
    auto runner = JobRunner::Start(store_.get(), options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
  }
  void Close() {
    runner_.reset();
    store_.reset();
  }

  // Submits a job and waits until it is kept, as JobsApi does before it gives out the id.
  uint64_t Submit(JobRunner::Computation computation, Ended* ended = nullptr,
                  std::string kind = "create") {
    std::promise<absl::Status> kept;
    auto job =
        runner_->Submit(std::move(kind), "group", std::move(computation),
                        ended == nullptr ? nullptr : ended->Callback(),
                        [&kept](absl::StatusOr<JobRecord> job) { kept.set_value(job.status()); });
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return 0;
    absl::Status status = kept.get_future().get();
    EXPECT_TRUE(status.ok()) << status;
    return job->id;
  }
  JobRecord Get(uint64_t id) {
    auto job = runner_->Get(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : JobRecord{};
  }

  std::string dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<Store> store_;
  std::unique_ptr<JobRunner> runner_;
};

TEST_F(JobRunnerTest, AJobReportsItsProgressThenItsResult) {
  absl::Notification started, release;
  Ended ended;
  const uint64_t id = Submit(BlocksUntil(&started, &release), &ended);
  EXPECT_EQ(id, 1u);
  started.WaitForNotification();
  JobRecord running = Get(id);
  EXPECT_EQ(running.state, JobState::kRunning);
  EXPECT_EQ(running.progress, 0.5);
  EXPECT_EQ(running.kind, "create");
  EXPECT_EQ(running.started_ms, ToMillis(clock_.Now()));
  clock_.Advance(absl::Seconds(3));
  release.Notify();
  JobRecord done = ended.Wait();
  EXPECT_EQ(done.state, JobState::kDone);
  EXPECT_EQ(done.result, "{}");
  EXPECT_EQ(done.progress, 1.0);
  EXPECT_EQ(done.finished_ms - done.started_ms, 3000);
  EXPECT_EQ(Get(id).state, JobState::kDone);
}

TEST_F(JobRunnerTest, JobsRunOneAtATimeInTheOrderSubmitted) {
  absl::Notification started, release;
  Ended first, second;
  const uint64_t a = Submit(BlocksUntil(&started, &release), &first);
  const uint64_t b = Submit(Returns("2"), &second);
  started.WaitForNotification();
  EXPECT_EQ(Get(b).state, JobState::kQueued);
  EXPECT_EQ(Get(b).progress, 0.0);
  release.Notify();
  EXPECT_EQ(second.Wait().result, "2");
  EXPECT_EQ(Get(a).state, JobState::kDone);
}

TEST_F(JobRunnerTest, ACancelledQueuedJobNeverRuns) {
  absl::Notification started, release;
  const uint64_t a = Submit(BlocksUntil(&started, &release));
  bool ran = false;
  Ended ended;
  const uint64_t b = Submit(
      [&ran](JobProgress&) -> absl::StatusOr<std::string> {
        ran = true;
        return std::string("{}");
      },
      &ended);
  started.WaitForNotification();
  auto cancelled = runner_->Cancel(b);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(Get(b).state, JobState::kCancelled);  // at once for every reader
  EXPECT_EQ(ended.Wait().state, JobState::kCancelled);
  EXPECT_TRUE(absl::IsCancelled(ended.Wait().error));
  EXPECT_EQ(absl::IsFailedPrecondition(runner_->Cancel(b).status()), true);
  release.Notify();
  Ended after;
  Submit(Returns("{}"), &after);
  after.Wait();  // jobs run in order: b would have run by now
  EXPECT_FALSE(ran);
  EXPECT_EQ(Get(a).state, JobState::kDone);
  EXPECT_EQ(Get(b).state, JobState::kCancelled);
}

// Submit() and Cancel() are called from HTTP io threads: the store's writes (and their
// fsyncs) happen on the runner's threads, which then tell the submitter.
TEST_F(JobRunnerTest, SubmitAndCancelLeaveTheStoreToTheRunnersThreads) {
  absl::Notification started, release;
  Ended first;
  Submit(BlocksUntil(&started, &release), &first);
  started.WaitForNotification();
  // Queued behind the first: kept by the runner, which says so from its own thread.
  std::promise<std::thread::id> recorded_on;
  std::thread::id ended_on;
  Ended cancelled;
  auto queued = runner_->Submit(
      "create", "group", Returns("{}"),
      [&ended_on, callback = cancelled.Callback()](const JobRecord& job) {
        ended_on = std::this_thread::get_id();
        callback(job);
      },
      [&recorded_on](absl::StatusOr<JobRecord> job) {
        EXPECT_TRUE(job.ok()) << job.status();
        recorded_on.set_value(std::this_thread::get_id());
      });
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_NE(recorded_on.get_future().get(), std::this_thread::get_id());
  // Cancelled while queued: the runner keeps its end, then tells.
  ASSERT_TRUE(runner_->Cancel(queued->id).ok());
  EXPECT_EQ(cancelled.Wait().state, JobState::kCancelled);
  EXPECT_NE(ended_on, std::this_thread::get_id());
  release.Notify();
  first.Wait();
  Close();
  Open();
  EXPECT_EQ(Get(queued->id).state, JobState::kCancelled);
}

// A submission the store refuses is not an error of Submit(), which does not write: the
// submitter hears of it through its callbacks, and the job never runs.
TEST_F(JobRunnerTest, ASubmissionTheStoreRefusesFailsThroughTheCallbacks) {
  Close();
  {
    auto store = Store::Open(dir_, {.read_only = true});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto runner = JobRunner::Start(store_.get(), {.clock = &clock_});
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
  }
  bool ran = false;
  Ended ended;
  std::promise<absl::Status> recorded;
  auto job = runner_->Submit(
      "create", "group",
      [&ran](JobProgress&) -> absl::StatusOr<std::string> {
        ran = true;
        return std::string("{}");
      },
      ended.Callback(),
      [&recorded](absl::StatusOr<JobRecord> job) { recorded.set_value(job.status()); });
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_FALSE(recorded.get_future().get().ok());
  EXPECT_EQ(ended.Wait().state, JobState::kFailed);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(absl::IsNotFound(runner_->Get(job->id).status()));
}

TEST_F(JobRunnerTest, ARunningJobEndsCancelledWhenItsComputationHonoursTheRequest) {
  absl::Notification started;
  Ended ended;
  const uint64_t id = Submit(
      [&started](JobProgress& progress) -> absl::StatusOr<std::string> {
        progress.fraction = 0.25;
        started.Notify();
        while (!progress.cancelled) absl::SleepFor(absl::Milliseconds(1));
        return absl::CancelledError("stopped at a safe point");
      },
      &ended);
  started.WaitForNotification();
  auto cancelling = runner_->Cancel(id);
  ASSERT_TRUE(cancelling.ok()) << cancelling.status();
  EXPECT_TRUE(cancelling->cancel_requested);
  JobRecord cancelled = ended.Wait();
  EXPECT_EQ(cancelled.state, JobState::kCancelled);
  EXPECT_EQ(cancelled.error.message(), "stopped at a safe point");
  EXPECT_EQ(cancelled.progress, 0.25);
  EXPECT_TRUE(absl::IsFailedPrecondition(runner_->Cancel(id).status()));
  EXPECT_TRUE(absl::IsNotFound(runner_->Cancel(99).status()));
}

TEST_F(JobRunnerTest, ARunningJobThatIgnoresTheRequestEndsAsItWould) {
  absl::Notification started, release;
  Ended ended;
  const uint64_t id = Submit(BlocksUntil(&started, &release), &ended);
  started.WaitForNotification();
  ASSERT_TRUE(runner_->Cancel(id).ok());
  release.Notify();
  JobRecord done = ended.Wait();
  EXPECT_EQ(done.state, JobState::kDone);
  EXPECT_TRUE(done.cancel_requested);
}

TEST_F(JobRunnerTest, EndedJobsAndTheirResultsSurviveARestart) {
  Ended done, failed;
  const std::string result = R"({"name":"VIP","members":0.30000000000000004})";
  const uint64_t a = Submit(Returns(result), &done);
  const uint64_t b = Submit(
      [](JobProgress&) -> absl::StatusOr<std::string> {
        return absl::InvalidArgumentError("1:5: unknown trait 'agee'");
      },
      &failed, "update");
  done.Wait();
  failed.Wait();
  Close();
  Open();
  JobRecord a_again = Get(a);
  EXPECT_EQ(a_again.state, JobState::kDone);
  EXPECT_EQ(a_again.result, result);  // byte for byte
  EXPECT_EQ(a_again.result_name, "group");
  EXPECT_EQ(a_again.created_ms, ToMillis(clock_.Now()));
  JobRecord b_again = Get(b);
  EXPECT_EQ(b_again.state, JobState::kFailed);
  EXPECT_EQ(b_again.kind, "update");
  EXPECT_EQ(b_again.error, absl::InvalidArgumentError("1:5: unknown trait 'agee'"));
  EXPECT_EQ(Submit(Returns("{}")), 3u);  // ids are never reused
}

// What a process killed with jobs queued and running leaves in the store.
TEST_F(JobRunnerTest, JobsQueuedOrRunningWhenTheProcessStoppedReadInterrupted) {
  Close();
  {
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch batch;
    JobRecord running{.id = 7, .kind = "create", .result_name = "group"};
    running.state = JobState::kRunning;
    running.progress = 0.4;
    JobRecord queued{.id = 8, .kind = "stages", .result_name = "stages"};
    for (const JobRecord* r : {&running, &queued}) {
      batch.Put((*store)->handle(Family::kMeta), JobKey(r->id), r->Encode());
    }
    ASSERT_TRUE((*store)->Write(&batch, true).ok());
  }
  Open();
  for (uint64_t id : {7, 8}) {
    JobRecord job = Get(id);
    EXPECT_EQ(job.state, JobState::kFailed) << id;
    EXPECT_EQ(job.error.message(), "interrupted by a restart") << id;
  }
  EXPECT_EQ(Submit(Returns("{}")), 9u);
}

TEST_F(JobRunnerTest, StoppingDropsQueuedJobsWhichThenReadInterrupted) {
  absl::Notification started, release;
  Ended running, queued;
  const uint64_t a = Submit(BlocksUntil(&started, &release), &running);
  const uint64_t b = Submit(Returns("{}"), &queued);
  started.WaitForNotification();
  // The runner stops while `a` runs and `b` waits: the destructor drops `b` at once, then
  // waits for `a`. (Should the stopping thread not get there within the pause, `b` runs
  // after `a`, and the test checks less.)
  std::thread stop([&] { runner_.reset(); });
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  stop.join();
  EXPECT_EQ(running.Wait().state, JobState::kDone);
  JobRecord dropped = queued.Wait();
  Close();
  Open();
  EXPECT_EQ(Get(a).state, JobState::kDone);
  if (dropped.state == JobState::kDone) return;
  EXPECT_EQ(dropped.state, JobState::kFailed);
  EXPECT_TRUE(absl::IsUnavailable(dropped.error)) << dropped.error;
  EXPECT_EQ(Get(b).state, JobState::kFailed);
  EXPECT_EQ(Get(b).error.message(), "interrupted by a restart");
}

TEST_F(JobRunnerTest, OnlyTheNewestEndedJobsAreKept) {
  Close();
  Open({.max_ended_jobs = 3});
  for (int i = 1; i <= 5; ++i) {
    Ended ended;
    Submit(Returns(std::to_string(i)), &ended);
    ended.Wait();
  }
  EXPECT_TRUE(absl::IsNotFound(runner_->Get(1).status()));
  EXPECT_TRUE(absl::IsNotFound(runner_->Get(2).status()));
  EXPECT_EQ(Get(3).result, "3");
  // Fewer kept from the next start on: pruned when loaded.
  Close();
  Open({.max_ended_jobs = 2});
  EXPECT_TRUE(absl::IsNotFound(runner_->Get(3).status()));
  EXPECT_EQ(Get(5).result, "5");
  auto page = runner_->List(0, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 2u);
}

TEST_F(JobRunnerTest, ListsJobsNewestFirstInPagesWithTheLiveOnesAsTheyStand) {
  for (int i = 1; i <= 4; ++i) {
    Ended ended;
    Submit(Returns(std::to_string(i)), &ended);
    ended.Wait();
  }
  absl::Notification started, release;
  Ended running;
  Submit(BlocksUntil(&started, &release), &running);
  started.WaitForNotification();
  auto first = runner_->List(0, 2);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->jobs.size(), 2u);
  EXPECT_EQ(first->jobs[0].id, 5u);
  EXPECT_EQ(first->jobs[0].state, JobState::kRunning);
  EXPECT_EQ(first->jobs[0].progress, 0.5);
  EXPECT_EQ(first->jobs[1].id, 4u);
  EXPECT_EQ(first->jobs[1].result, "4");
  EXPECT_EQ(first->next, 3u);
  auto second = runner_->List(first->next, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->jobs.size(), 2u);
  EXPECT_EQ(second->next, 1u);
  auto last = runner_->List(second->next, 2);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->jobs.size(), 1u);
  EXPECT_EQ(last->jobs[0].id, 1u);
  EXPECT_EQ(last->next, 0u);
  release.Notify();
  running.Wait();  // the computation reads `started` and `release` until it returns
}

}  // namespace
}  // namespace segmenta
