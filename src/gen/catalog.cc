#include "gen/catalog.h"

#include <algorithm>
#include <utility>

#include "gen/json_text.h"
#include "gen/random.h"
#include "gen/vocabulary.h"

namespace segmenta {

using traffic::AppendPadded;
using traffic::AppendSlug;
using traffic::AppendUint;
using traffic::kAdjectives;
using traffic::kCategories;

TrafficCatalog::TrafficCatalog() {
  traffic::Rng rng(0xC0FFEE);
  products.reserve(kCategories.size() * kPerCategory);
  for (size_t c = 0; c < kCategories.size(); ++c) {
    const traffic::Category& cat = kCategories[c];
    for (int i = 0; i < kPerCategory; ++i) {
      Product p;
      p.category = static_cast<int>(c);
      p.id = "prd-";
      AppendPadded(10000 + c * 1000 + i, 5, &p.id);
      p.sku = cat.sku_prefix;
      p.sku.push_back('-');
      AppendPadded(static_cast<uint64_t>(i + 1), 4, &p.sku);
      p.brand = cat.brands[rng.Below(cat.brands.size())];
      // The noun is drawn first, as GCC evaluated the one expression this was (the order of
      // evaluation inside an expression is unspecified: another compiler could differ).
      const char* noun = cat.nouns[rng.Below(cat.nouns.size())];
      const char* adjective = kAdjectives[rng.Below(kAdjectives.size())];
      p.name = std::string(adjective) + " " + noun;
      AppendSlug(p.name, &p.slug);
      p.slug.push_back('-');
      AppendUint(static_cast<uint64_t>(i + 1), &p.slug);
      // Log-ish spread: most products at the cheap end of the range.
      int64_t span = cat.max_cents - cat.min_cents;
      int64_t a = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
      int64_t b = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
      int64_t cents = cat.min_cents + std::min(a, b) * std::min(a, b) / std::max<int64_t>(span, 1);
      p.price_cents = (cents / 100) * 100 + 99;
      products.push_back(std::move(p));
    }
  }
}

}  // namespace segmenta
