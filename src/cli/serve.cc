// Placeholder: being written.
#include "cli/commands.h"

namespace segmenta {
void AddServeCommand(CLI::App& app, CommonOptions& common) {}
}  // namespace segmenta
