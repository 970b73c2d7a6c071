// What the data holds, as the condition compiler sees it.
#pragma once

#include "lang/compiler.h"
#include "profile/profile_table.h"

namespace segmenta {

// The traits, account traits, events and properties seen in `profiles`, with the types of
// their values (Schema::definitions is left for the caller to fill: segments' SchemaFor).
// REQUIRES: the caller holds the profile table for reading.
Schema SchemaOf(const ProfileTable& profiles);

}  // namespace segmenta
