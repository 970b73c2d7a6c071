#include "segments/audience.h"

namespace segmenta {

std::string_view AudienceKindName(AudienceKind kind) {
  switch (kind) {
    case AudienceKind::kGroup:
      return "group";
    case AudienceKind::kPersona:
      return "persona";
    case AudienceKind::kStage:
      return "stage";
  }
  return "group";
}

}  // namespace segmenta
