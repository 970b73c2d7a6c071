// Placeholder: being written.
#include "cli/commands.h"

namespace segmenta {
void AddKeysCommand(CLI::App& app, CommonOptions& common) {}
}  // namespace segmenta
