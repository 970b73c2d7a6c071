// Placeholder: being written.
#include "cli/commands.h"

namespace segmenta {
void AddImportCommand(CLI::App& app, CommonOptions& common) {}
}  // namespace segmenta
