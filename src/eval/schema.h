// What the data holds, as the condition compiler sees it.
#pragma once

#include "lang/compiler.h"
#include "profile/profile_table.h"

namespace segmenta {

// The traits, account traits, events and properties seen in `profiles`, with the types of
// their values (groups are left for the caller to add).
// REQUIRES: the caller holds the profile table for reading.
Schema SchemaOf(const ProfileTable& profiles);

}  // namespace segmenta
