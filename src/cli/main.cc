// segmenta: one binary, subcommands like git or duckdb.
#include <cstdlib>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
#ifdef NDEBUG
  // Debian's Abseil checks every Mutex acquisition against a graph of lock orders (its
  // debug-mode deadlock detector); release builds do not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  CLI::App app{"Segmenta: real-time customer segmentation and personalization engine"};
  app.require_subcommand(1);
  segmenta::CommonOptions common;
  const char* env_dir = std::getenv("SEGMENTA_DATA_DIR");
  common.data_dir = env_dir != nullptr ? env_dir : "segmenta-data";
  app.add_option("--data-dir", common.data_dir, "Data directory (env SEGMENTA_DATA_DIR)")
      ->capture_default_str();

  segmenta::AddServeCommand(app, common);
  segmenta::AddKeysCommand(app, common);
  segmenta::AddImportCommand(app, common);
  segmenta::AddGenCommand(app);
  segmenta::AddGroupsCommand(app);
  segmenta::AddCheckCommand(app, common);
  segmenta::AddDecideCommand(app);

  CLI11_PARSE(app, argc, argv);
  return 0;
}
