// One contact's whole history in the simulated window: its profile, its sessions (when,
// from which device and channel, which pages, what it searches, adds to cart and buys),
// when it identifies, joins accounts, upgrades, and opens the newsletter. Internal to
// src/gen.
#pragma once

#include <cstdint>

#include "gen/catalog.h"
#include "gen/traffic.h"

namespace segmenta::traffic {

// Writes the messages of contact `index` (< options.contacts) to `sink`, in time order,
// and adds them to `*stats`. A pure function of its arguments; thread-safe.
void SimulateContact(const TrafficOptions& options, const TrafficCatalog& catalog, uint64_t index,
                     const TrafficSink& sink, TrafficStats* stats);

}  // namespace segmenta::traffic
