// The product binary carries no benchmark harness (segmenta-bench does, tools/bench): it
// links no PostgreSQL client library and holds no path of the source tree, so that it runs
// with the tree deleted.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "tools/bench/harness/child_process.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The shared libraries `ldd` lists for `binary`.
std::string Ldd(const std::string& binary) {
  const std::string out = fmt::format("{}/binary_test_ldd_{}.out", ::testing::TempDir(), getpid());
  SpawnOptions spawn;
  spawn.stdout_path = out;
  absl::StatusOr<ChildProcess> ldd = ChildProcess::Spawn({"/usr/bin/ldd", binary}, spawn);
  EXPECT_TRUE(ldd.ok()) << ldd.status();
  if (!ldd.ok()) return "";
  EXPECT_TRUE(ExitedCleanly(*ldd->Wait()));
  std::string libraries = ReadWholeFile(out);
  std::filesystem::remove(out);
  return libraries;
}

TEST(SegmentaBinaryTest, LinksNoPostgresLibrary) {
  const std::string libraries = Ldd(testing::SegmentaBinary());
  EXPECT_THAT(libraries, HasSubstr("libc.so"));  // ldd did list the binary's libraries
  EXPECT_THAT(libraries, Not(HasSubstr("libpq")));
}

TEST(SegmentaBinaryTest, HoldsNoPathOfTheSourceTree) {
  std::ifstream in(testing::SegmentaBinary(), std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream bytes;
  bytes << in.rdbuf();
  ASSERT_GT(bytes.str().size(), 1000u);
  EXPECT_EQ(bytes.str().find(SEGMENTA_SOURCE_DIR), std::string::npos)
      << "the segmenta binary holds the path " << SEGMENTA_SOURCE_DIR;
}

}  // namespace
}  // namespace segmenta
