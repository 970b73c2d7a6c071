// The PostgreSQL peer of a segmenta-bench configured where libpq was not found
// (tools/bench/peers/CMakeLists.txt): Start() says so, so no peer exists to call the rest.
#include "tools/bench/peers/postgres.h"

namespace segmenta {
namespace {

absl::Status NotBuilt() {
  return absl::FailedPreconditionError(
      "this segmenta-bench was built without its PostgreSQL peer: libpq was not found when "
      "it was configured (install Debian's libpq-dev and configure again), or run with "
      "--no-peer");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresPeer>> PostgresPeer::Start(const PostgresPeerOptions&) {
  return NotBuilt();
}
PostgresPeer::~PostgresPeer() = default;
absl::Status PostgresPeer::Stop() { return NotBuilt(); }
absl::Status PostgresPeer::Exec(std::string_view) { return NotBuilt(); }
absl::StatusOr<std::string> PostgresPeer::Setting(std::string_view) { return NotBuilt(); }
absl::StatusOr<std::string> PostgresPeer::QueryValue(std::string_view) { return NotBuilt(); }
absl::Status PostgresPeer::ResetEventsTable() { return NotBuilt(); }
absl::StatusOr<PeerLoadReport> PostgresPeer::InsertBatched(const std::vector<std::string>&, int,
                                                           int) {
  return NotBuilt();
}
absl::StatusOr<PeerLoadReport> PostgresPeer::CopyFile(const std::string&) { return NotBuilt(); }
absl::StatusOr<uint64_t> PostgresPeer::CountEvents() { return NotBuilt(); }
absl::StatusOr<uint64_t> PostgresPeer::EventsTableBytes() { return NotBuilt(); }

}  // namespace segmenta
