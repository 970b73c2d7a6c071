#include "gen/acquisition.h"

#include <array>
#include <cstdint>

#include "gen/json_text.h"

namespace segmenta::traffic {

Acquisition DrawAcquisition(Rng& rng, const Category& favorite, bool subscribed) {
  enum { kDirect, kGoogle, kBing, kFacebook, kInstagram, kNewsletter, kReferral, kPaid };
  std::array<uint32_t, 8> weights = {340, 300, 40, 90, 30, 0, 60, 60};
  if (subscribed) weights[kNewsletter] = 120;
  const int channel = static_cast<int>(rng.Pick(weights));
  const char* query = favorite.queries[rng.Below(favorite.queries.size())];
  const char* campaign = kCampaigns[rng.Below(kCampaigns.size())];
  Acquisition a;
  auto set_campaign = [&](const char* source, const char* medium, const char* term,
                          const char* content) {
    a.source = source;
    a.medium = medium;
    a.name = campaign;
    a.term = term;
    a.content = content;
  };
  switch (channel) {
    case kGoogle:
    case kBing:
      a.referrer = channel == kGoogle ? "https://www.google.com/search?q="
                                      : "https://www.bing.com/search?q=";
      AppendQueryValue(query, &a.referrer);
      break;
    case kFacebook:
      a.referrer = "https://www.facebook.com/";
      if (rng.Chance(600)) set_campaign("facebook", "social", nullptr, "carousel");
      break;
    case kInstagram:
      a.referrer = "https://l.instagram.com/";
      set_campaign("instagram", "social", nullptr, "story");
      break;
    case kNewsletter:
      set_campaign("newsletter", "email", nullptr, rng.Chance(500) ? "hero" : "footer");
      break;
    case kReferral:
      a.referrer = rng.Chance(500) ? "https://www.reddit.com/r/running/"
                                   : "https://blog.outdoorgear.example/best-of-2026";
      break;
    case kPaid:
      a.referrer = "https://www.google.com/";
      set_campaign("google", "cpc", query, rng.Chance(500) ? "ad-a" : "ad-b");
      break;
    default:
      break;
  }
  return a;
}

}  // namespace segmenta::traffic
