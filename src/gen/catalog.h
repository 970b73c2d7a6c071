// The shop's product catalog, the same for every seed. Internal to src/gen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace segmenta {

// kPerCategory products per category of traffic::kCategories, with their ids, SKUs, names,
// URL slugs, brands and prices. Immutable after construction; safe to share between
// threads.
struct TrafficCatalog {
  struct Product {
    std::string id;    // "prd-12003"
    std::string sku;   // "ELC-0004"
    std::string name;  // "Ultra Smartwatch"
    std::string slug;  // "ultra-smartwatch-4"
    const char* brand;
    int category;  // index into traffic::kCategories
    int64_t price_cents;
  };
  static constexpr int kPerCategory = 30;

  // Builds the catalog (its own fixed seed: the same products for every traffic seed).
  TrafficCatalog();

  std::vector<Product> products;  // kPerCategory per category, in category order
};

}  // namespace segmenta
