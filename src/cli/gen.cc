// Placeholder: being written.
#include "cli/commands.h"

namespace segmenta {
void AddGenCommand(CLI::App& app) {}
}  // namespace segmenta
