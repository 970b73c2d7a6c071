// Where the project's public data sets are (../shared/data next to the source tree; see
// its SOURCES.md): $SEGMENTA_SHARED_DATA, else SOURCE/../shared/data, else
// /work/shared/data. Tests read them as they are.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace segmenta {

// The path of data set `name`, or "" when none of the places has it.
inline std::string SharedDataPath(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("SEGMENTA_SHARED_DATA")) dirs.emplace_back(env);
  dirs.push_back(std::string(SEGMENTA_SOURCE_DIR) + "/../shared/data");
  dirs.emplace_back("/work/shared/data");
  for (const std::string& dir : dirs) {
    std::string path = dir + "/" + name;
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

}  // namespace segmenta
