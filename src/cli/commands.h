// The subcommands of the `segmenta` binary. Each Add*Command registers one subcommand on
// `app`; its callback runs the command and ends the process with its exit code by throwing
// CLI::RuntimeError(code), which main() turns into the exit status (CLI11's convention;
// no exception leaves the cli module).
#pragma once

#include <string>

#include "CLI/CLI.hpp"

namespace segmenta {

// Options every subcommand that touches a data directory shares.
struct CommonOptions {
  // Where the store lives. Default: $SEGMENTA_DATA_DIR, else ./segmenta-data.
  std::string data_dir;
};

void AddServeCommand(CLI::App& app, CommonOptions& common);
void AddKeysCommand(CLI::App& app, CommonOptions& common);
void AddImportCommand(CLI::App& app, CommonOptions& common);
void AddGenCommand(CLI::App& app);
void AddGroupsCommand(CLI::App& app);  // also `export group`
void AddCheckCommand(CLI::App& app, CommonOptions& common);
void AddDecideCommand(CLI::App& app);  // `segmenta decide SLOT...` against a server

}  // namespace segmenta
