// How a session reaches the shop: direct, a search engine, social media, the newsletter, a
// referring site or a paid ad, with the referrer and the campaign (UTM parameters) each
// brings. Internal to src/gen.
#pragma once

#include <string>

#include "gen/random.h"
#include "gen/vocabulary.h"

namespace segmenta::traffic {

// The source of one session's landing page.
struct Acquisition {
  std::string referrer;  // "" when there is none (direct traffic, the newsletter)
  // The campaign; `source` is null when the channel brings none (and the rest are unset).
  const char* source = nullptr;   // utm_source, e.g. "facebook"
  const char* medium = nullptr;   // utm_medium, e.g. "social"
  const char* name = nullptr;     // utm_campaign, from kCampaigns
  const char* term = nullptr;     // utm_term (paid search), or null
  const char* content = nullptr;  // utm_content, or null
};

// Draws the channel of a session of a contact whose favorite category is `favorite` (its
// searches are about it), weighting the newsletter in when `subscribed`.
Acquisition DrawAcquisition(Rng& rng, const Category& favorite, bool subscribed);

}  // namespace segmenta::traffic
