#include "eval/schema.h"

namespace segmenta {

Schema SchemaOf(const ProfileTable& profiles) {
  Schema s;
  for (const auto& [name, column] : profiles.trait_columns()) s.traits[name] = column.types_seen();
  for (const auto& [name, column] : profiles.account_columns()) {
    s.account_traits[name] = column.types_seen();
  }
  for (const auto& table : profiles.tables()) {
    if (table->type == MessageType::kTrack) s.events.insert(table->key);
    auto& properties = s.properties[table->key];
    for (const auto& [path, column] : table->columns) properties[path] |= column.types_seen();
  }
  return s;
}

}  // namespace segmenta
