// Placeholder: being written.
#include "cli/commands.h"

namespace segmenta {
void AddBenchCommand(CLI::App& app, CommonOptions& common) {}
}  // namespace segmenta
