#include "gen/traffic.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace segmenta {
namespace {

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64 to seed, xoshiro256** to draw, integer-only distributions.

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// splitmix64's finalizer: a bijection on 64-bit values with good avalanche.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& v : s_) {
      seed += kGolden;
      v = Mix64(seed);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0 (Lemire's multiply; the bias is below 2^-32).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // True with probability per_mille / 1000.
  bool Chance(uint32_t per_mille) { return Below(1000) < per_mille; }

  // An index drawn with the given integer weights.
  template <size_t N>
  size_t Pick(const std::array<uint32_t, N>& weights) {
    uint64_t total = 0;
    for (uint32_t w : weights) total += w;
    uint64_t r = Below(total);
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return N - 1;
  }

  // Index into a table of structs with a `weight` member.
  template <typename T, size_t N>
  size_t PickWeighted(const std::array<T, N>& table) {
    uint64_t total = 0;
    for (const T& t : table) total += t.weight;
    uint64_t r = Below(total);
    for (size_t i = 0; i < N; ++i) {
      if (r < table[i].weight) return i;
      r -= table[i].weight;
    }
    return N - 1;
  }

  // Exponentially distributed duration with mean `mean_ms` (quantile table, capped at
  // about 6.2 means), in milliseconds.
  int64_t ExpMs(int64_t mean_ms);

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// -ln(1 - (i + 0.5) / 256) * 1000: quantiles of the unit exponential, precomputed so that
// no libm call (whose last bit varies between platforms) touches the output.
constexpr uint16_t kExpQuantiles[256] = {
    2,    6,    10,   14,   18,   22,   26,   30,   34,   38,   42,   46,   50,   54,   58,   62,
    67,   71,   75,   79,   83,   88,   92,   96,   101,  105,  109,  114,  118,  122,  127,  131,
    136,  140,  145,  149,  154,  158,  163,  168,  172,  177,  182,  186,  191,  196,  200,  205,
    210,  215,  220,  225,  230,  234,  239,  244,  249,  254,  259,  265,  270,  275,  280,  285,
    290,  296,  301,  306,  311,  317,  322,  328,  333,  338,  344,  349,  355,  361,  366,  372,
    378,  383,  389,  395,  401,  406,  412,  418,  424,  430,  436,  442,  448,  454,  461,  467,
    473,  479,  486,  492,  499,  505,  511,  518,  525,  531,  538,  545,  551,  558,  565,  572,
    579,  586,  593,  600,  607,  614,  622,  629,  636,  644,  651,  659,  666,  674,  681,  689,
    697,  705,  713,  721,  729,  737,  745,  754,  762,  770,  779,  787,  796,  805,  813,  822,
    831,  840,  849,  858,  868,  877,  886,  896,  906,  915,  925,  935,  945,  955,  965,  976,
    986,  997,  1007, 1018, 1029, 1040, 1051, 1062, 1074, 1085, 1097, 1108, 1120, 1132, 1145, 1157,
    1169, 1182, 1195, 1208, 1221, 1234, 1248, 1262, 1275, 1290, 1304, 1318, 1333, 1348, 1363, 1379,
    1394, 1410, 1426, 1443, 1459, 1476, 1493, 1511, 1529, 1547, 1565, 1584, 1604, 1623, 1643, 1664,
    1684, 1706, 1727, 1750, 1772, 1796, 1819, 1844, 1869, 1895, 1921, 1948, 1976, 2004, 2034, 2064,
    2095, 2127, 2161, 2195, 2231, 2268, 2306, 2347, 2388, 2432, 2477, 2525, 2575, 2627, 2683, 2742,
    2804, 2871, 2942, 3019, 3103, 3194, 3294, 3405, 3530, 3673, 3840, 4041, 4292, 4629, 5140, 6238};

int64_t Rng::ExpMs(int64_t mean_ms) {
  int64_t q = kExpQuantiles[Below(256)];
  return mean_ms * q / 1000 + static_cast<int64_t>(Below(static_cast<uint64_t>(mean_ms / 16 + 1)));
}

// ---------------------------------------------------------------------------------------
// Reference tables. Every string here is JSON-safe (no quote, backslash or control
// character), so lines are assembled without escaping.

struct FirstName {
  const char* name;
  const char* ascii;  // for e-mail addresses
  bool female;
};
constexpr std::array<FirstName, 48> kFirstNames = {{
    {"Anna", "anna", true},
    {"Emma", "emma", true},
    {"Sophie", "sophie", true},
    {"Marie", "marie", true},
    {"Laura", "laura", true},
    {"Julia", "julia", true},
    {"Lea", "lea", true},
    {"Chloé", "chloe", true},
    {"Camille", "camille", true},
    {"Inès", "ines", true},
    {"Lucía", "lucia", true},
    {"Martina", "martina", true},
    {"Giulia", "giulia", true},
    {"Sofia", "sofia", true},
    {"Olivia", "olivia", true},
    {"Amelia", "amelia", true},
    {"Zoë", "zoe", true},
    {"Freya", "freya", true},
    {"Maja", "maja", true},
    {"Agnieszka", "agnieszka", true},
    {"Ingrid", "ingrid", true},
    {"Emily", "emily", true},
    {"Madison", "madison", true},
    {"Ana", "ana", true},
    {"Lukas", "lukas", false},
    {"Leon", "leon", false},
    {"Felix", "felix", false},
    {"Jonas", "jonas", false},
    {"Paul", "paul", false},
    {"Louis", "louis", false},
    {"Hugo", "hugo", false},
    {"Gabriel", "gabriel", false},
    {"François", "francois", false},
    {"Mateo", "mateo", false},
    {"José", "jose", false},
    {"Lorenzo", "lorenzo", false},
    {"Matteo", "matteo", false},
    {"Oliver", "oliver", false},
    {"Jack", "jack", false},
    {"Noah", "noah", false},
    {"Liam", "liam", false},
    {"Søren", "soren", false},
    {"Łukasz", "lukasz", false},
    {"Jakub", "jakub", false},
    {"Erik", "erik", false},
    {"James", "james", false},
    {"Ethan", "ethan", false},
    {"Thiago", "thiago", false},
}};

struct LastName {
  const char* name;
  const char* ascii;
};
constexpr std::array<LastName, 40> kLastNames = {{
    {"Müller", "mueller"},      {"Schmidt", "schmidt"},   {"Schneider", "schneider"},
    {"Fischer", "fischer"},     {"Weber", "weber"},       {"Becker", "becker"},
    {"Martin", "martin"},       {"Bernard", "bernard"},   {"Dubois", "dubois"},
    {"Lefèvre", "lefevre"},     {"Moreau", "moreau"},     {"García", "garcia"},
    {"Fernández", "fernandez"}, {"López", "lopez"},       {"Rossi", "rossi"},
    {"Russo", "russo"},         {"Bianchi", "bianchi"},   {"Smith", "smith"},
    {"Jones", "jones"},         {"Taylor", "taylor"},     {"Brown", "brown"},
    {"Wilson", "wilson"},       {"de Vries", "devries"},  {"Jansen", "jansen"},
    {"Peeters", "peeters"},     {"Nowak", "nowak"},       {"Kowalski", "kowalski"},
    {"Andersson", "andersson"}, {"Nielsen", "nielsen"},   {"Hansen", "hansen"},
    {"Silva", "silva"},         {"Santos", "santos"},     {"Murphy", "murphy"},
    {"Gruber", "gruber"},       {"Huber", "huber"},       {"Keller", "keller"},
    {"Johnson", "johnson"},     {"Williams", "williams"}, {"Novák", "novak"},
    {"Virtanen", "virtanen"},
}};

struct Country {
  const char* code;
  uint32_t weight;
  const char* locale;
  const char* timezone;
  bool euro;           // orders in EUR, else USD
  uint8_t ip_a, ip_b;  // a plausible first two octets for the country
  std::array<const char*, 3> cities;
};
constexpr std::array<Country, 20> kCountries = {{
    {"DE", 190, "de-DE", "Europe/Berlin", true, 91, 64, {"Berlin", "Hamburg", "Munich"}},
    {"FR", 120, "fr-FR", "Europe/Paris", true, 90, 12, {"Paris", "Lyon", "Marseille"}},
    {"GB", 110, "en-GB", "Europe/London", true, 81, 98, {"London", "Manchester", "Bristol"}},
    {"NL", 60, "nl-NL", "Europe/Amsterdam", true, 145, 53, {"Amsterdam", "Rotterdam", "Utrecht"}},
    {"ES", 65, "es-ES", "Europe/Madrid", true, 83, 32, {"Madrid", "Barcelona", "Valencia"}},
    {"IT", 65, "it-IT", "Europe/Rome", true, 79, 20, {"Milan", "Rome", "Turin"}},
    {"BE", 30, "nl-BE", "Europe/Brussels", true, 81, 82, {"Brussels", "Antwerp", "Ghent"}},
    {"AT", 30, "de-AT", "Europe/Vienna", true, 62, 178, {"Vienna", "Graz", "Linz"}},
    {"CH", 30, "de-CH", "Europe/Zurich", true, 85, 1, {"Zurich", "Geneva", "Basel"}},
    {"SE", 25, "sv-SE", "Europe/Stockholm", true, 78, 69, {"Stockholm", "Gothenburg", "Malmo"}},
    {"DK", 20, "da-DK", "Europe/Copenhagen", true, 87, 48, {"Copenhagen", "Aarhus", "Odense"}},
    {"PL", 40, "pl-PL", "Europe/Warsaw", true, 83, 4, {"Warsaw", "Krakow", "Wroclaw"}},
    {"PT", 20, "pt-PT", "Europe/Lisbon", true, 89, 152, {"Lisbon", "Porto", "Braga"}},
    {"IE", 15, "en-IE", "Europe/Dublin", true, 86, 40, {"Dublin", "Cork", "Galway"}},
    {"FI", 12, "fi-FI", "Europe/Helsinki", true, 84, 248, {"Helsinki", "Espoo", "Tampere"}},
    {"CZ", 13, "cs-CZ", "Europe/Prague", true, 88, 100, {"Prague", "Brno", "Ostrava"}},
    {"US", 110, "en-US", "America/New_York", false, 73, 15, {"New York", "Chicago", "Austin"}},
    {"CA", 20, "en-CA", "America/Toronto", false, 99, 224, {"Toronto", "Vancouver", "Montreal"}},
    {"BR",
     15,
     "pt-BR",
     "America/Sao_Paulo",
     false,
     177,
     30,
     {"Sao Paulo", "Rio de Janeiro", "Curitiba"}},
    {"AU", 10, "en-AU", "Australia/Sydney", false, 101, 160, {"Sydney", "Melbourne", "Brisbane"}},
}};

struct Weighted {
  const char* value;
  uint32_t weight;
};
constexpr std::array<Weighted, 20> kJobTitles = {{
    {"engineer", 90},
    {"Software Engineer", 70},
    {"manager", 80},
    {"director", 25},
    {"student", 110},
    {"teacher", 50},
    {"nurse", 40},
    {"designer", 35},
    {"VP Engineering", 6},
    {"Marketing Manager", 30},
    {"Sales Representative", 35},
    {"accountant", 30},
    {"consultant", 35},
    {"Product Manager", 25},
    {"Data Scientist", 15},
    {"CEO", 8},
    {"retired", 45},
    {"doctor", 15},
    {"shop assistant", 40},
    {"Head of Marketing", 8},
}};

constexpr std::array<Weighted, 9> kUserAgents = {{
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.0.0 Safari/537.36",
     30},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
     25},
    {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.6668.70 Mobile Safari/537.36",
     20},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Safari/605.1.15",
     10},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0", 6},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
     5},
    {"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Mobile/15E148 Safari/604.1",
     2},
    {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.6668.70 Mobile Safari/537.36",
     1},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 "
     "Safari/537.36",
     1},
}};

constexpr std::array<Weighted, 8> kEmailDomains = {{
    {"gmail.com", 40},
    {"outlook.com", 15},
    {"yahoo.com", 8},
    {"web.de", 10},
    {"gmx.de", 8},
    {"orange.fr", 7},
    {"icloud.com", 8},
    {"proton.me", 4},
}};

constexpr std::array<Weighted, 4> kPlans = {
    {{"free", 60}, {"plus", 25}, {"premium", 12}, {"business", 3}}};

struct Category {
  const char* slug;
  const char* title;
  const char* sku_prefix;
  uint32_t weight;
  int64_t min_cents, max_cents;
  std::array<const char*, 4> brands;
  std::array<const char*, 8> nouns;
  std::array<const char*, 5> queries;  // search queries, '+' for spaces in URLs is derived
};
constexpr std::array<Category, 8> kCategories = {{
    {"fashion",
     "Fashion",
     "FSH",
     20,
     1500,
     24000,
     {"Nordlys", "Maison Vert", "Urbanik", "Lino & Co"},
     {"Linen Shirt", "Wool Coat", "Denim Jacket", "Sneakers", "Summer Dress", "Chinos", "Hoodie",
      "Leather Belt"},
     {"linen shirt", "winter coat", "white sneakers", "summer dress", "merino hoodie"}},
    {"electronics",
     "Electronics",
     "ELC",
     18,
     1200,
     129900,
     {"Voltis", "Auralink", "Pixelon", "Kern"},
     {"Wireless Earbuds", "USB-C Charger", "Smartwatch", "Bluetooth Speaker", "Laptop Stand",
      "Noise Cancelling Headphones", "4K Monitor", "Power Bank"},
     {"usb-c charger", "wireless earbuds", "4k monitor", "smartwatch", "power bank"}},
    {"running",
     "Running",
     "RUN",
     14,
     900,
     22000,
     {"Stride", "Kinetik", "Trailhawk", "Pace Lab"},
     {"Trail Running Shoes", "Road Running Shoes", "Running Vest", "Running Tights",
      "GPS Running Watch", "Compression Socks", "Rain Jacket", "Headlamp"},
     {"trail running shoes", "running watch", "marathon shoes", "hydration vest",
      "running tights"}},
    {"cycling",
     "Cycling",
     "CYC",
     12,
     1500,
     349900,
     {"Velora", "Cadenza", "Nordpeak", "Ruota"},
     {"Gravel Bike", "Road Bike", "Helmet", "Bike Lights", "Cycling Jersey", "Saddle", "Floor Pump",
      "Bib Shorts"},
     {"gravel bike", "road bike", "bike helmet", "bike lights", "cycling jersey"}},
    {"food",
     "Food & Drinks",
     "FOD",
     12,
     250,
     6500,
     {"Grano", "Bergkaffee", "Olivia Oro", "Fieldfare"},
     {"Espresso Beans", "Olive Oil", "Protein Bars", "Green Tea", "Dark Chocolate", "Granola",
      "Hot Sauce", "Pasta Set"},
     {"espresso beans", "protein bar", "olive oil", "green tea", "dark chocolate"}},
    {"books",
     "Books",
     "BOK",
     10,
     800,
     6000,
     {"Penfold Press", "Atlas Books", "Lumen", "Quarto House"},
     {"Cookbook", "Thriller", "Sci-Fi Novel", "Travel Guide", "Biography", "Children Book",
      "Business Book", "Poetry Collection"},
     {"sci-fi novels", "cookbook", "travel guide italy", "business books", "thriller"}},
    {"home",
     "Home & Living",
     "HOM",
     8,
     1500,
     89900,
     {"Hygge Haus", "Casa Sol", "Nido", "Birch & Oak"},
     {"Ceramic Vase", "Desk Lamp", "Throw Blanket", "Coffee Table", "Cast Iron Pan",
      "Scented Candle", "Bed Linen", "Espresso Machine"},
     {"desk lamp", "espresso machine", "bed linen", "cast iron pan", "scented candle"}},
    {"outdoor",
     "Outdoor",
     "OUT",
     6,
     1200,
     59900,
     {"Fjellvind", "Summit Co", "Wildroot", "Alpenglow"},
     {"Hiking Boots", "Tent", "Sleeping Bag", "Backpack", "Trekking Poles", "Camping Stove",
      "Softshell Jacket", "Water Filter"},
     {"hiking boots", "2 person tent", "sleeping bag", "daypack", "camping stove"}},
}};

constexpr std::array<const char*, 10> kAdjectives = {
    "Pro", "Classic", "Ultra", "Essential", "Aero", "Urban", "Eco", "Premium", "Lite", "Signature"};

struct Post {
  const char* slug;
  const char* title;
};
constexpr std::array<Post, 8> kBlogPosts = {{
    {"how-to-choose-trail-running-shoes", "How to choose trail running shoes"},
    {"gravel-bike-buying-guide", "Gravel bike buying guide"},
    {"capsule-wardrobe-autumn", "A capsule wardrobe for autumn"},
    {"best-espresso-at-home", "The best espresso at home"},
    {"usb-c-charging-explained", "USB-C charging explained"},
    {"reading-list-winter", "Our winter reading list"},
    {"first-marathon-training-plan", "Your first marathon training plan"},
    {"b2b-gifting-guide", "Corporate gifting guide"},
}};

struct Webinar {
  const char* id;
  const char* slug;
  const char* title;
};
constexpr std::array<Webinar, 5> kWebinars = {{
    {"wb-101", "retail-personalization-2026", "Retail personalization in 2026"},
    {"wb-102", "b2b-bulk-ordering", "Bulk ordering for teams"},
    {"wb-103", "sustainable-sourcing", "Sustainable sourcing at scale"},
    {"wb-104", "loyalty-programs-that-work", "Loyalty programs that work"},
    {"wb-105", "employee-wellness-kits", "Employee wellness kits"},
}};

constexpr std::array<const char*, 6> kCampaigns = {"autumn-sale",  "black-friday-early",
                                                   "new-arrivals", "free-shipping",
                                                   "running-week", "b2b-gifting"};

// Accounts (B2B).
constexpr std::array<const char*, 16> kCompanyPrefixes = {
    "Nordwind",   "Bluepeak", "Alpina",     "Helios",    "Vantage",    "Brightwater",
    "Ironbridge", "Lumen",    "Greenfield", "Northstar", "Silverline", "Oakridge",
    "Polaris",    "Rivera",   "Atlas",      "Kestrel"};
constexpr std::array<const char*, 10> kCompanySuffixes = {
    "Logistics",  "Software", "Capital", "Health", "Academy",
    "Industries", "Retail",   "Systems", "Foods",  "Labs"};
constexpr std::array<Weighted, 6> kIndustries = {{{"Retail", 25},
                                                  {"Software", 25},
                                                  {"Finance", 12},
                                                  {"Healthcare", 12},
                                                  {"Education", 10},
                                                  {"Manufacturing", 16}}};

// Hours (UTC) when sessions start: a European audience, busiest in the evening.
constexpr std::array<uint32_t, 24> kHourWeights = {3, 2, 1, 1, 1,  2,  4,  6,  8,  9,  9, 9,
                                                   9, 9, 9, 9, 10, 11, 13, 14, 14, 12, 8, 5};

// Sessions per contact: most come once or twice, a few many times.
constexpr std::array<uint32_t, 12> kSessionCounts = {0,  480, 210, 100, 60, 40,
                                                     30, 20,  15,  15,  10, 20};  // 11 = "many"

// Pages after the landing page, in sessions that do not bounce.
constexpr std::array<uint32_t, 13> kStepCounts = {0, 20, 18, 15, 12, 9, 7, 5, 4, 3, 2, 2, 3};

struct AgeBand {
  int lo, hi;
  uint32_t weight;
};
constexpr std::array<AgeBand, 6> kAgeBands = {
    {{18, 24, 14}, {25, 34, 24}, {35, 44, 22}, {45, 54, 18}, {55, 64, 13}, {65, 80, 9}}};

// ---------------------------------------------------------------------------------------
// Text helpers.

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(uint64_t v, int digits, std::string* out) {
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHex[(v >> (i * 4)) & 0xF]);
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendPadded(uint64_t v, int width, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  for (int i = static_cast<int>(r.ptr - buf); i < width; ++i) out->push_back('0');
  out->append(buf, r.ptr);
}

// Cents as a JSON number with two decimals ("49.99").
void AppendMoney(int64_t cents, std::string* out) {
  AppendUint(static_cast<uint64_t>(cents / 100), out);
  out->push_back('.');
  AppendPadded(static_cast<uint64_t>(cents % 100), 2, out);
}

// A version-4-shaped UUID from 128 bits.
void AppendUuid(uint64_t hi, uint64_t lo, std::string* out) {
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  AppendHex(hi >> 32, 8, out);
  out->push_back('-');
  AppendHex((hi >> 16) & 0xFFFF, 4, out);
  out->push_back('-');
  AppendHex(hi & 0xFFFF, 4, out);
  out->push_back('-');
  AppendHex(lo >> 48, 4, out);
  out->push_back('-');
  AppendHex(lo & 0xFFFFFFFFFFFFULL, 12, out);
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// "2026-09-14T18:03:12.345Z".
void AppendTimestamp(int64_t ms, std::string* out) {
  int64_t days = FloorDiv(ms, 86400000);
  int64_t rem = ms - days * 86400000;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  AppendPadded(static_cast<uint64_t>(y), 4, out);
  out->push_back('-');
  AppendPadded(m, 2, out);
  out->push_back('-');
  AppendPadded(d, 2, out);
  out->push_back('T');
  AppendPadded(static_cast<uint64_t>(rem / 3600000), 2, out);
  out->push_back(':');
  AppendPadded(static_cast<uint64_t>(rem / 60000 % 60), 2, out);
  out->push_back(':');
  AppendPadded(static_cast<uint64_t>(rem / 1000 % 60), 2, out);
  out->push_back('.');
  AppendPadded(static_cast<uint64_t>(rem % 1000), 3, out);
  out->push_back('Z');
}

// Lowercase, spaces and '&' to '-', other non-alphanumerics dropped (ASCII names only).
void AppendSlug(std::string_view s, std::string* out) {
  bool dash = false;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (dash && !out->empty() && out->back() != '/') out->push_back('-');
      dash = false;
      out->push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      if (dash && !out->empty() && out->back() != '/') out->push_back('-');
      dash = false;
      out->push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      dash = true;
    }
  }
}

// `s` with spaces as '+', as a query string value.
void AppendQueryValue(std::string_view s, std::string* out) {
  for (char c : s) out->push_back(c == ' ' ? '+' : c);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The product catalog, the same for every seed.

struct TrafficCatalog {
  struct Product {
    std::string id;
    std::string sku;
    std::string name;
    std::string slug;
    const char* brand;
    int category;
    int64_t price_cents;
  };
  static constexpr int kPerCategory = 30;
  std::vector<Product> products;  // kPerCategory per category, in category order

  TrafficCatalog() {
    Rng rng(0xC0FFEE);
    products.reserve(kCategories.size() * kPerCategory);
    for (size_t c = 0; c < kCategories.size(); ++c) {
      const Category& cat = kCategories[c];
      for (int i = 0; i < kPerCategory; ++i) {
        Product p;
        p.category = static_cast<int>(c);
        p.id = "prd-";
        AppendPadded(10000 + c * 1000 + i, 5, &p.id);
        p.sku = cat.sku_prefix;
        p.sku.push_back('-');
        AppendPadded(static_cast<uint64_t>(i + 1), 4, &p.sku);
        p.brand = cat.brands[rng.Below(cat.brands.size())];
        p.name = std::string(kAdjectives[rng.Below(kAdjectives.size())]) + " " +
                 cat.nouns[rng.Below(cat.nouns.size())];
        AppendSlug(p.name, &p.slug);
        p.slug.push_back('-');
        AppendUint(static_cast<uint64_t>(i + 1), &p.slug);
        // Log-ish spread: most products at the cheap end of the range.
        int64_t span = cat.max_cents - cat.min_cents;
        int64_t a = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
        int64_t b = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
        int64_t cents =
            cat.min_cents + std::min(a, b) * std::min(a, b) / std::max<int64_t>(span, 1);
        p.price_cents = (cents / 100) * 100 + 99;
        products.push_back(std::move(p));
      }
    }
  }
};

namespace {

constexpr const char* kSite = "https://shop.example.com";

enum class EventName : int {
  kProductsSearched,
  kProductViewed,
  kProductAdded,
  kCheckoutStarted,
  kOrderCompleted,
  kNewsletterSubscribed,
  kFormSubmitted,
  kWebinarDownloaded,
  kEmailOpened,
  kEmailClicked,
};

// One contact's whole history, simulated in time order.
class ContactSim {
 public:
  ContactSim(const TrafficOptions& options, const TrafficCatalog& catalog, uint64_t index,
             const TrafficSink& sink, TrafficStats* stats)
      : options_(options),
        catalog_(catalog),
        index_(index),
        sink_(sink),
        stats_(stats),
        seed_key_(Mix64(options.seed * kGolden + 0x5E6D3A7AULL)),
        contact_key_(Mix64(seed_key_ ^ Mix64(index + 1))),
        rng_(contact_key_) {
    end_ms_ = absl::ToUnixMillis(options.end);
    start_ms_ = end_ms_ - static_cast<int64_t>(std::max(options.days, 1)) * 86400000;
  }

  void Run();

 private:
  struct Device {
    const char* user_agent;
    std::string anonymous_id;
    std::string old_anonymous_id;  // before the last cookie reset
    std::string ip;
    bool logged_in = false;         // sends userId
    bool used_anonymously = false;  // sent messages without userId since its last reset
  };
  struct CartItem {
    int product;
    int quantity;
  };

  // Profile.
  void DrawProfile();
  std::string NewAnonymousId();
  void NewDevice();

  // Sessions.
  void PlanSessions();
  void RunSession(size_t s);
  void EmailsUntil(int64_t until_ms);
  void Advance(int64_t gap_ms) { now_ms_ += gap_ms; }

  // Pages and events.
  void SetPage(const char* name, std::string_view path, std::string_view search,
               std::string_view title, bool landing);
  void EmitPage();
  void ViewProduct(int product, bool from_search);
  void AddToCart(int product);
  void Search();
  void ContentPage();
  void Checkout(bool complete);
  void Identify(const char* trigger);
  void LoginIdentify();
  void UpgradePlan();
  void Group(size_t account);
  void Alias(const std::string& previous_id);
  int PickProduct();

  // Message assembly.
  bool Begin(const char* type);
  void BeginTrack(EventName event);
  void AppendContext(bool with_page);
  void End();

  const TrafficOptions& options_;
  const TrafficCatalog& catalog_;
  uint64_t index_;
  const TrafficSink& sink_;
  TrafficStats* stats_;
  uint64_t seed_key_;
  uint64_t contact_key_;
  Rng rng_;
  int64_t start_ms_ = 0;
  int64_t end_ms_ = 0;

  // Profile.
  const FirstName* first_ = nullptr;
  const LastName* last_ = nullptr;
  const Country* country_ = nullptr;
  const char* city_ = nullptr;
  const char* gender_ = nullptr;
  const char* job_title_ = nullptr;
  const char* plan_ = nullptr;
  int age_ = 0;
  int favorite_category_ = 0;
  bool researcher_ = false;
  bool will_identify_ = false;
  bool newsletter_ = false;
  bool has_card_ = false;
  int card_months_ahead_ = 0;
  bool b2b_ = false;
  bool plans_alias_ = false;
  bool plans_upgrade_ = false;
  std::vector<size_t> accounts_;
  std::string user_id_;
  std::string email_;
  std::vector<Device> devices_;

  // Plan.
  std::vector<int64_t> session_starts_;
  size_t identify_session_ = SIZE_MAX;
  std::vector<bool> order_sessions_;

  // State.
  int64_t now_ms_ = 0;
  bool stopped_ = false;  // the window ended: nothing more is written
  bool identified_ = false;
  bool ordered_ = false;
  size_t groups_sent_ = 0;  // accounts joined so far
  int64_t subscribed_at_ms_ = -1;
  int64_t next_campaign_ = 0;
  Device* device_ = nullptr;
  bool with_user_id_ = false;  // messages of this session carry userId
  uint64_t message_seq_ = 0;
  std::vector<CartItem> cart_;
  std::string cart_id_;
  std::string campaign_json_;  // context.campaign of the landing page, "" elsewhere

  // Current page and its cached JSON.
  const char* page_name_ = "";
  std::string page_url_;
  std::string page_json_;
  std::string line_;
};

void ContactSim::DrawProfile() {
  first_ = &kFirstNames[rng_.Below(kFirstNames.size())];
  last_ = &kLastNames[rng_.Below(kLastNames.size())];
  country_ = &kCountries[rng_.PickWeighted(kCountries)];
  city_ = country_->cities[rng_.Pick(std::array<uint32_t, 3>{50, 30, 20})];
  gender_ = rng_.Chance(15) ? "non-binary" : (first_->female ? "female" : "male");
  const AgeBand& band = kAgeBands[rng_.PickWeighted(kAgeBands)];
  age_ = static_cast<int>(rng_.Between(band.lo, band.hi));
  job_title_ = age_ < 25 && rng_.Chance(600)    ? "student"
               : age_ >= 66 && rng_.Chance(700) ? "retired"
                                                : kJobTitles[rng_.PickWeighted(kJobTitles)].value;
  plan_ = kPlans[rng_.PickWeighted(kPlans)].value;
  std::array<uint32_t, kCategories.size()> category_weights{};
  for (size_t i = 0; i < kCategories.size(); ++i) category_weights[i] = kCategories[i].weight;
  favorite_category_ = static_cast<int>(rng_.Pick(category_weights));
  researcher_ = rng_.Chance(200);
  will_identify_ = rng_.Chance(455);
  newsletter_ = will_identify_ && rng_.Chance(350);
  has_card_ = rng_.Chance(700);
  // Card expiry month relative to the month of `end`: a few expire within 30 days.
  size_t horizon = rng_.Pick(std::array<uint32_t, 4>{40, 40, 600, 320});
  card_months_ahead_ = horizon == 0   ? 0
                       : horizon == 1 ? 1
                       : horizon == 2 ? static_cast<int>(rng_.Between(2, 24))
                                      : static_cast<int>(rng_.Between(25, 60));
  b2b_ = will_identify_ && rng_.Chance(researcher_ ? 600 : 80);
  plans_alias_ = rng_.Chance(300);
  plans_upgrade_ = rng_.Chance(150);

  // Unique within a run (Mix64 is a bijection), different between seeds.
  user_id_ = "usr_";
  AppendHex(Mix64(seed_key_ ^ (index_ * kGolden)), 16, &user_id_);

  if (b2b_) {
    // Accounts are shared: a pool of about one per 40 contacts, the first ones busiest.
    uint64_t pool = std::max<uint64_t>(1, options_.contacts / 40);
    accounts_.push_back(std::min(rng_.Below(pool), rng_.Below(pool)));
    if (rng_.Chance(100)) {
      size_t second = rng_.Below(pool);
      if (second != accounts_[0]) accounts_.push_back(second);
    }
  }

  email_.clear();
  email_ += first_->ascii;
  email_.push_back('.');
  email_ += last_->ascii;
  AppendUint(index_ + 1, &email_);
  email_.push_back('@');
  if (b2b_) {
    size_t a = accounts_[0];
    Rng account_rng(Mix64(seed_key_ ^ 0xACC0000000000000ULL ^ (a * kGolden)));
    AppendSlug(kCompanyPrefixes[account_rng.Below(kCompanyPrefixes.size())], &email_);
    email_.push_back('-');
    AppendSlug(kCompanySuffixes[account_rng.Below(kCompanySuffixes.size())], &email_);
    email_ += ".example";
  } else {
    email_ += kEmailDomains[rng_.PickWeighted(kEmailDomains)].value;
  }

  size_t device_count = rng_.Pick(std::array<uint32_t, 3>{650, 270, 80}) + 1;
  for (size_t i = 0; i < device_count; ++i) NewDevice();
}

std::string ContactSim::NewAnonymousId() {
  std::string id;
  id.reserve(36);
  uint64_t hi = rng_.Next();
  AppendUuid(hi, rng_.Next(), &id);
  return id;
}

void ContactSim::NewDevice() {
  Device d;
  d.user_agent = kUserAgents[rng_.PickWeighted(kUserAgents)].value;
  d.anonymous_id = NewAnonymousId();
  AppendUint(country_->ip_a, &d.ip);
  d.ip.push_back('.');
  AppendUint(country_->ip_b, &d.ip);
  d.ip.push_back('.');
  AppendUint(rng_.Below(256), &d.ip);
  d.ip.push_back('.');
  AppendUint(rng_.Between(1, 254), &d.ip);
  devices_.push_back(std::move(d));
}

void ContactSim::PlanSessions() {
  size_t n = rng_.Pick(kSessionCounts);
  if (n == 11) n = static_cast<size_t>(rng_.Between(11, 40));
  int64_t window = end_ms_ - start_ms_;
  int64_t first = start_ms_ + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(window)));
  session_starts_.clear();
  for (size_t i = 0; i < n; ++i) {
    int64_t t =
        i == 0 ? first
               : first + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(end_ms_ - first)));
    // Keep the day, redraw the hour from the daily traffic curve.
    int64_t day = FloorDiv(t, 86400000) * 86400000;
    t = day + static_cast<int64_t>(rng_.Pick(kHourWeights)) * 3600000 +
        static_cast<int64_t>(rng_.Below(3600000));
    t = std::clamp(t, start_ms_, end_ms_ - 1);
    session_starts_.push_back(t);
  }
  std::sort(session_starts_.begin(), session_starts_.end());

  order_sessions_.assign(n, false);
  size_t first_order = SIZE_MAX;
  // About 8% of the contacts that identify order (3-4% of all), some repeatedly.
  if (will_identify_ && rng_.Chance(80)) {
    size_t orders = rng_.Pick(std::array<uint32_t, 4>{0, 700, 180, 120});
    if (orders == 3) orders = static_cast<size_t>(rng_.Between(3, 5));
    for (size_t i = 0; i < orders; ++i) {
      size_t s = n - 1 - std::min(rng_.Below(n), rng_.Below(n));  // later sessions likelier
      order_sessions_[s] = true;
      first_order = std::min(first_order, s);
    }
  }
  if (will_identify_) {
    size_t s = std::min(rng_.Below(n), rng_.Below(n));  // earlier sessions likelier
    identify_session_ = std::min(s, first_order);
  }
}

bool ContactSim::Begin(const char* type) {
  if (stopped_ || now_ms_ >= end_ms_) {
    stopped_ = true;
    return false;
  }
  line_.clear();
  line_ += "{\"type\":\"";
  line_ += type;
  line_ += "\",\"messageId\":\"";
  uint64_t seq = message_seq_++;
  uint64_t hi = Mix64(contact_key_ + seq * kGolden);
  AppendUuid(hi, Mix64(hi ^ seed_key_ ^ (seq << 1 | 1)), &line_);
  line_ += "\",\"timestamp\":\"";
  AppendTimestamp(now_ms_, &line_);
  line_.push_back('"');
  return true;
}

void ContactSim::AppendContext(bool with_page) {
  line_ += ",\"context\":{";
  if (with_page) {
    line_ += "\"page\":";
    line_ += page_json_;
    line_.push_back(',');
  }
  line_ += "\"userAgent\":\"";
  line_ += device_->user_agent;
  line_ += "\",\"ip\":\"";
  line_ += device_->ip;
  line_ += "\",\"locale\":\"";
  line_ += country_->locale;
  line_ += "\",\"timezone\":\"";
  line_ += country_->timezone;
  line_.push_back('"');
  if (with_page && !campaign_json_.empty()) {
    line_ += ",\"campaign\":";
    line_ += campaign_json_;
  }
  line_ += ",\"library\":{\"name\":\"analytics.js\",\"version\":\"next-1.72.0\"}}";
}

void ContactSim::End() {
  line_.push_back('}');
  sink_(line_);
  ++stats_->messages;
  stats_->bytes += line_.size() + 1;
}

// Identity fields of a web message in the current session.
#define SEGMENTA_APPEND_IDS()           \
  do {                                  \
    line_ += ",\"anonymousId\":\"";     \
    line_ += device_->anonymous_id;     \
    line_.push_back('"');               \
    if (with_user_id_) {                \
      line_ += ",\"userId\":\"";        \
      line_ += user_id_;                \
      line_.push_back('"');             \
    } else {                            \
      device_->used_anonymously = true; \
    }                                   \
  } while (0)

void ContactSim::BeginTrack(EventName event) {
  if (!Begin("track")) return;
  SEGMENTA_APPEND_IDS();
  line_ += ",\"event\":\"";
  line_ += kTrafficEventNames[static_cast<int>(event)];
  line_ += "\",\"properties\":{";
  ++stats_->track;
  ++stats_->events[static_cast<int>(event)];
}

// Finishes a track begun by BeginTrack (properties already written, object open).
#define SEGMENTA_END_TRACK() \
  do {                       \
    line_.push_back('}');    \
    AppendContext(true);     \
    End();                   \
  } while (0)

void ContactSim::SetPage(const char* name, std::string_view path, std::string_view search,
                         std::string_view title, bool landing) {
  std::string referrer = page_url_;  // the previous page, inside a session
  if (landing) {
    referrer.clear();
    campaign_json_.clear();
    // Acquisition channel of the session.
    enum { kDirect, kGoogle, kBing, kFacebook, kInstagram, kNewsletter, kReferral, kPaid };
    std::array<uint32_t, 8> weights = {340, 300, 40, 90, 30, 0, 60, 60};
    if (subscribed_at_ms_ >= 0) weights[kNewsletter] = 120;
    int channel = static_cast<int>(rng_.Pick(weights));
    const Category& cat = kCategories[favorite_category_];
    const char* query = cat.queries[rng_.Below(cat.queries.size())];
    const char* campaign = kCampaigns[rng_.Below(kCampaigns.size())];
    std::string utm;
    auto set_campaign = [&](const char* source, const char* medium, const char* term,
                            const char* content) {
      campaign_json_ = "{\"source\":\"";
      campaign_json_ += source;
      campaign_json_ += "\",\"medium\":\"";
      campaign_json_ += medium;
      campaign_json_ += "\",\"name\":\"";
      campaign_json_ += campaign;
      campaign_json_.push_back('"');
      utm = "utm_source=";
      utm += source;
      utm += "&utm_medium=";
      utm += medium;
      utm += "&utm_campaign=";
      utm += campaign;
      if (term != nullptr) {
        campaign_json_ += ",\"term\":\"";
        campaign_json_ += term;
        campaign_json_.push_back('"');
        utm += "&utm_term=";
        AppendQueryValue(term, &utm);
      }
      if (content != nullptr) {
        campaign_json_ += ",\"content\":\"";
        campaign_json_ += content;
        campaign_json_.push_back('"');
        utm += "&utm_content=";
        utm += content;
      }
      campaign_json_.push_back('}');
    };
    switch (channel) {
      case kGoogle:
      case kBing:
        referrer = channel == kGoogle ? "https://www.google.com/search?q="
                                      : "https://www.bing.com/search?q=";
        AppendQueryValue(query, &referrer);
        break;
      case kFacebook:
        referrer = "https://www.facebook.com/";
        if (rng_.Chance(600)) set_campaign("facebook", "social", nullptr, "carousel");
        break;
      case kInstagram:
        referrer = "https://l.instagram.com/";
        set_campaign("instagram", "social", nullptr, "story");
        break;
      case kNewsletter:
        set_campaign("newsletter", "email", nullptr, rng_.Chance(500) ? "hero" : "footer");
        break;
      case kReferral:
        referrer = rng_.Chance(500) ? "https://www.reddit.com/r/running/"
                                    : "https://blog.outdoorgear.example/best-of-2026";
        break;
      case kPaid:
        referrer = "https://www.google.com/";
        set_campaign("google", "cpc", query, rng_.Chance(500) ? "ad-a" : "ad-b");
        break;
      default:
        break;
    }
    if (!utm.empty()) {
      std::string with_utm(search);
      with_utm.push_back(with_utm.empty() ? '?' : '&');
      with_utm += utm;
      page_url_ = kSite;
      page_url_ += path;
      page_url_ += with_utm;
      page_name_ = name;
      page_json_ = "{\"path\":\"";
      page_json_ += path;
      page_json_ += "\",\"referrer\":\"";
      page_json_ += referrer;
      page_json_ += "\",\"search\":\"";
      page_json_ += with_utm;
      page_json_ += "\",\"title\":\"";
      page_json_ += title;
      page_json_ += "\",\"url\":\"";
      page_json_ += page_url_;
      page_json_ += "\"}";
      return;
    }
  } else {
    campaign_json_.clear();
  }
  page_name_ = name;
  page_url_ = kSite;
  page_url_ += path;
  page_url_ += search;
  page_json_ = "{\"path\":\"";
  page_json_ += path;
  page_json_ += "\",\"referrer\":\"";
  page_json_ += referrer;
  page_json_ += "\",\"search\":\"";
  page_json_ += search;
  page_json_ += "\",\"title\":\"";
  page_json_ += title;
  page_json_ += "\",\"url\":\"";
  page_json_ += page_url_;
  page_json_ += "\"}";
}

void ContactSim::EmitPage() {
  Advance(rng_.ExpMs(35000));
  if (!Begin("page")) return;
  SEGMENTA_APPEND_IDS();
  line_ += ",\"name\":\"";
  line_ += page_name_;
  line_ += "\",\"properties\":";
  line_ += page_json_;
  AppendContext(true);
  End();
  ++stats_->page;
}

int ContactSim::PickProduct() {
  int category = favorite_category_;
  if (!rng_.Chance(650)) {
    std::array<uint32_t, kCategories.size()> weights{};
    for (size_t i = 0; i < kCategories.size(); ++i) weights[i] = kCategories[i].weight;
    category = static_cast<int>(rng_.Pick(weights));
  }
  constexpr uint64_t k = TrafficCatalog::kPerCategory;
  // Popular products first (triangular).
  return category * static_cast<int>(k) + static_cast<int>(std::min(rng_.Below(k), rng_.Below(k)));
}

void ContactSim::ViewProduct(int product, bool from_search) {
  const auto& p = catalog_.products[product];
  std::string path = "/products/";
  path += p.slug;
  SetPage("Product", path, "", p.name, false);
  EmitPage();
  Advance(rng_.ExpMs(3000));
  BeginTrack(EventName::kProductViewed);
  if (stopped_) return;
  const Category& cat = kCategories[p.category];
  line_ += "\"product_id\":\"";
  line_ += p.id;
  line_ += "\",\"sku\":\"";
  line_ += p.sku;
  line_ += "\",\"category\":\"";
  line_ += cat.slug;
  line_ += "\",\"name\":\"";
  line_ += p.name;
  line_ += "\",\"brand\":\"";
  line_ += p.brand;
  line_ += "\",\"price\":";
  AppendMoney(p.price_cents, &line_);
  line_ += ",\"currency\":\"";
  line_ += country_->euro ? "EUR" : "USD";
  line_.push_back('"');
  if (from_search) line_ += ",\"position\":" + std::to_string(rng_.Between(1, 12));
  SEGMENTA_END_TRACK();
}

void ContactSim::AddToCart(int product) {
  const auto& p = catalog_.products[product];
  if (cart_id_.empty()) {
    cart_id_ = "cart_";
    AppendHex(rng_.Next(), 16, &cart_id_);
  }
  int quantity = static_cast<int>(rng_.Pick(std::array<uint32_t, 4>{0, 80, 15, 5}));
  cart_.push_back({product, quantity});
  Advance(rng_.ExpMs(12000));
  BeginTrack(EventName::kProductAdded);
  if (stopped_) return;
  line_ += "\"cart_id\":\"";
  line_ += cart_id_;
  line_ += "\",\"product_id\":\"";
  line_ += p.id;
  line_ += "\",\"sku\":\"";
  line_ += p.sku;
  line_ += "\",\"category\":\"";
  line_ += kCategories[p.category].slug;
  line_ += "\",\"name\":\"";
  line_ += p.name;
  line_ += "\",\"price\":";
  AppendMoney(p.price_cents, &line_);
  line_ += ",\"quantity\":";
  AppendUint(static_cast<uint64_t>(quantity), &line_);
  SEGMENTA_END_TRACK();
}

void ContactSim::Search() {
  int category =
      rng_.Chance(700) ? favorite_category_ : static_cast<int>(rng_.Below(kCategories.size()));
  const char* query = kCategories[category].queries[rng_.Below(5)];
  std::string search = "?q=";
  AppendQueryValue(query, &search);
  std::string title = "Search: ";
  title += query;
  SetPage("Search", "/search", search, title, false);
  EmitPage();
  Advance(rng_.ExpMs(1500));
  BeginTrack(EventName::kProductsSearched);
  if (stopped_) return;
  line_ += "\"query\":\"";
  line_ += query;
  line_.push_back('"');
  SEGMENTA_END_TRACK();
}

void ContactSim::ContentPage() {
  std::array<uint32_t, 6> weights = {40, 15, 12, 12, 8, 13};
  if (researcher_) weights = {15, 20, 25, 20, 10, 10};
  switch (rng_.Pick(weights)) {
    case 0: {  // blog
      const Post& post = kBlogPosts[rng_.Below(kBlogPosts.size())];
      std::string path = "/blog/";
      path += post.slug;
      SetPage("Blog", path, "", post.title, false);
      EmitPage();
      break;
    }
    case 1:
      SetPage("Pricing", "/pricing", "", "Membership plans", false);
      EmitPage();
      break;
    case 2:
      SetPage("Partners", "/partners", "", "Partners", false);
      EmitPage();
      if (rng_.Chance(450)) {
        SetPage("Partner Program", "/partners/program", "", "Partner program", false);
        EmitPage();
        if (rng_.Chance(researcher_ ? 250 : 60)) {
          Advance(rng_.ExpMs(90000));
          BeginTrack(EventName::kFormSubmitted);
          if (stopped_) return;
          line_ += "\"form_id\":\"partner-application\"";
          SEGMENTA_END_TRACK();
        }
      }
      break;
    case 3: {
      const Webinar& w = kWebinars[rng_.Below(kWebinars.size())];
      std::string path = "/webinars/";
      path += w.slug;
      SetPage("Webinar", path, "", w.title, false);
      EmitPage();
      if (rng_.Chance(researcher_ ? 350 : 120)) {
        Advance(rng_.ExpMs(40000));
        BeginTrack(EventName::kWebinarDownloaded);
        if (stopped_) return;
        line_ += "\"webinar_id\":\"";
        line_ += w.id;
        line_ += "\",\"title\":\"";
        line_ += w.title;
        line_.push_back('"');
        SEGMENTA_END_TRACK();
      }
      break;
    }
    case 4:
      SetPage("Contact", "/contact", "", "Contact us", false);
      EmitPage();
      if (rng_.Chance(200)) {
        Advance(rng_.ExpMs(120000));
        BeginTrack(EventName::kFormSubmitted);
        if (stopped_) return;
        line_ += rng_.Chance(researcher_ ? 600 : 100) ? "\"form_id\":\"quote-request\""
                                                      : "\"form_id\":\"contact\"";
        SEGMENTA_END_TRACK();
      }
      break;
    default: {
      const Category& cat =
          kCategories[rng_.Chance(600) ? favorite_category_ : rng_.Below(kCategories.size())];
      std::string path = "/category/";
      path += cat.slug;
      SetPage("Category", path, "", cat.title, false);
      EmitPage();
      break;
    }
  }
}

void ContactSim::Checkout(bool complete) {
  if (cart_.empty()) return;
  int64_t subtotal = 0;
  for (const CartItem& item : cart_) {
    subtotal += catalog_.products[item.product].price_cents * item.quantity;
  }
  const char* currency = country_->euro ? "EUR" : "USD";
  int64_t shipping = subtotal >= 5000 ? 0 : 495;
  std::string order_id = "ord_";
  AppendHex(rng_.Next(), 12, &order_id);

  SetPage("Checkout", "/checkout", "", "Checkout", false);
  EmitPage();
  if (!with_user_id_ && complete) LoginIdentify();  // sign in to pay
  Advance(rng_.ExpMs(5000));
  BeginTrack(EventName::kCheckoutStarted);
  if (stopped_) return;
  line_ += "\"order_id\":\"";
  line_ += order_id;
  line_ += "\",\"value\":";
  AppendMoney(subtotal + shipping, &line_);
  line_ += ",\"revenue\":";
  AppendMoney(subtotal, &line_);
  line_ += ",\"currency\":\"";
  line_ += currency;
  line_.push_back('"');
  SEGMENTA_END_TRACK();
  if (!complete) return;

  Advance(rng_.ExpMs(120000));
  SetPage("Order Confirmation", "/checkout/confirmation", "", "Thank you for your order", false);
  EmitPage();
  Advance(rng_.ExpMs(800));
  BeginTrack(EventName::kOrderCompleted);
  if (stopped_) return;
  line_ += "\"order_id\":\"";
  line_ += order_id;
  line_ += "\",\"total\":";
  AppendMoney(subtotal + shipping, &line_);
  line_ += ",\"revenue\":";
  AppendMoney(subtotal, &line_);
  line_ += ",\"shipping\":";
  AppendMoney(shipping, &line_);
  line_ += ",\"currency\":\"";
  line_ += currency;
  line_ += "\",\"products\":[";
  for (size_t i = 0; i < cart_.size(); ++i) {
    const auto& p = catalog_.products[cart_[i].product];
    if (i > 0) line_.push_back(',');
    line_ += "{\"product_id\":\"";
    line_ += p.id;
    line_ += "\",\"sku\":\"";
    line_ += p.sku;
    line_ += "\",\"name\":\"";
    line_ += p.name;
    line_ += "\",\"category\":\"";
    line_ += kCategories[p.category].slug;
    line_ += "\",\"brand\":\"";
    line_ += p.brand;
    line_ += "\",\"price\":";
    AppendMoney(p.price_cents, &line_);
    line_ += ",\"quantity\":";
    AppendUint(static_cast<uint64_t>(cart_[i].quantity), &line_);
    line_.push_back('}');
  }
  line_.push_back(']');
  SEGMENTA_END_TRACK();
  if (!ordered_) {
    ordered_ = true;
    ++stats_->ordering_contacts;
  }
  cart_.clear();
  cart_id_.clear();
}

void ContactSim::Identify(const char* trigger) {
  // The page that makes a visitor known: sign-up, newsletter form, contact form.
  if (std::strcmp(trigger, "newsletter") == 0) {
    SetPage("Newsletter", "/newsletter", "", "Newsletter", false);
  } else if (std::strcmp(trigger, "form") == 0) {
    SetPage("Contact", "/contact", "", "Contact us", false);
  } else {
    SetPage("Sign Up", "/account/signup", "", "Create your account", false);
  }
  EmitPage();
  Advance(rng_.ExpMs(40000));
  with_user_id_ = true;
  device_->logged_in = true;
  if (!Begin("identify")) return;
  SEGMENTA_APPEND_IDS();
  int64_t y;
  unsigned m, d;
  CivilFromDays(FloorDiv(end_ms_, 86400000), &y, &m, &d);
  int64_t months = y * 12 + (m - 1) + card_months_ahead_;
  line_ += ",\"traits\":{\"email\":\"";
  line_ += email_;
  line_ += "\",\"first_name\":\"";
  line_ += first_->name;
  line_ += "\",\"last_name\":\"";
  line_ += last_->name;
  line_ += "\",\"age\":";
  AppendUint(static_cast<uint64_t>(age_), &line_);
  line_ += ",\"gender\":\"";
  line_ += gender_;
  line_ += "\",\"country\":\"";
  line_ += country_->code;
  line_ += "\",\"city\":\"";
  line_ += city_;
  line_ += "\",\"job_title\":\"";
  line_ += job_title_;
  line_.push_back('"');
  if (has_card_) {
    line_ += ",\"card_expiry\":\"";
    AppendPadded(static_cast<uint64_t>(months / 12), 4, &line_);
    line_.push_back('-');
    AppendPadded(static_cast<uint64_t>(months % 12 + 1), 2, &line_);
    line_.push_back('"');
  }
  line_ += ",\"created_at\":\"";
  AppendTimestamp(now_ms_, &line_);
  line_ += "\",\"plan\":\"";
  line_ += plan_;
  line_ += "\",\"newsletter\":";
  line_ += newsletter_ ? "true" : "false";
  line_.push_back('}');
  AppendContext(true);
  End();
  ++stats_->identify;
  if (!identified_) {
    identified_ = true;
    ++stats_->identified_contacts;
  }
  if (newsletter_ && subscribed_at_ms_ < 0) {
    Advance(rng_.ExpMs(2000));
    BeginTrack(EventName::kNewsletterSubscribed);
    if (stopped_) return;
    line_ += "\"list_id\":\"weekly\",\"source\":\"";
    line_ += trigger;
    line_.push_back('"');
    SEGMENTA_END_TRACK();
    subscribed_at_ms_ = now_ms_;
    // First campaign sent after subscribing.
    next_campaign_ = std::max<int64_t>(next_campaign_, 0);
  }
}

// A known contact signing in on this device: identify with the userId and the device's
// anonymousId, which links the device to the contact.
void ContactSim::LoginIdentify() {
  SetPage("Login", "/account/login", "", "Sign in", false);
  EmitPage();
  Advance(rng_.ExpMs(15000));
  with_user_id_ = true;
  device_->logged_in = true;
  if (!Begin("identify")) return;
  SEGMENTA_APPEND_IDS();
  line_ += ",\"traits\":{\"email\":\"";
  line_ += email_;
  line_ += "\"}";
  AppendContext(true);
  End();
  ++stats_->identify;
}

void ContactSim::UpgradePlan() {
  Advance(rng_.ExpMs(60000));
  SetPage("Pricing", "/pricing", "", "Membership plans", false);
  EmitPage();
  plan_ = std::strcmp(plan_, "free") == 0 ? "plus" : "premium";
  Advance(rng_.ExpMs(30000));
  if (!Begin("identify")) return;
  SEGMENTA_APPEND_IDS();
  line_ += ",\"traits\":{\"plan\":\"";
  line_ += plan_;
  line_ += "\"}";
  AppendContext(true);
  End();
  ++stats_->identify;
}

void ContactSim::Group(size_t account) {
  Rng account_rng(Mix64(seed_key_ ^ 0xACC0000000000000ULL ^ (account * kGolden)));
  const char* prefix = kCompanyPrefixes[account_rng.Below(kCompanyPrefixes.size())];
  const char* suffix = kCompanySuffixes[account_rng.Below(kCompanySuffixes.size())];
  const Country& country = kCountries[account_rng.PickWeighted(kCountries)];
  const char* industry = kIndustries[account_rng.PickWeighted(kIndustries)].value;
  // Employees, Zipf-ish over 1..10,000: most accounts are small.
  size_t decade = account_rng.Pick(std::array<uint32_t, 4>{45, 30, 17, 8});
  static constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000};
  int64_t employees = account_rng.Between(kPow10[decade], kPow10[decade + 1] - (decade < 3));
  const char* plan = employees >= 1000  ? "enterprise"
                     : employees >= 100 ? "business"
                     : employees >= 10  ? "team"
                                        : "starter";

  Advance(rng_.ExpMs(20000));
  if (!Begin("group")) return;
  SEGMENTA_APPEND_IDS();
  line_ += ",\"groupId\":\"acc_";
  AppendHex(Mix64(seed_key_ ^ (account + 1) * 0xD1B54A32D192ED03ULL), 16, &line_);
  line_ += "\",\"traits\":{\"name\":\"";
  line_ += prefix;
  line_.push_back(' ');
  line_ += suffix;
  line_ += "\",\"industry\":\"";
  line_ += industry;
  line_ += "\",\"employees\":";
  AppendUint(static_cast<uint64_t>(employees), &line_);
  line_ += ",\"plan\":\"";
  line_ += plan;
  line_ += "\",\"country\":\"";
  line_ += country.code;
  line_ += "\",\"website\":\"https://";
  AppendSlug(prefix, &line_);
  line_.push_back('-');
  AppendSlug(suffix, &line_);
  line_ += ".example\"}";
  AppendContext(true);
  End();
  ++stats_->group;
  if (groups_sent_++ == 0) ++stats_->b2b_contacts;
}

void ContactSim::Alias(const std::string& previous_id) {
  Advance(rng_.ExpMs(5000));
  if (!Begin("alias")) return;
  line_ += ",\"previousId\":\"";
  line_ += previous_id;
  line_ += "\",\"userId\":\"";
  line_ += user_id_;
  line_.push_back('"');
  AppendContext(false);
  End();
  ++stats_->alias;
}

// E-mail campaigns (weekly newsletter) sent before `until_ms`: opens and clicks.
void ContactSim::EmailsUntil(int64_t until_ms) {
  if (subscribed_at_ms_ < 0) return;
  constexpr int64_t kWeek = 7 * 86400000LL;
  // Campaigns go out on a fixed weekly schedule at 08:00 UTC, the same for every contact.
  int64_t first_send = (FloorDiv(start_ms_, kWeek) + 1) * kWeek + 8 * 3600000LL;
  for (;; ++next_campaign_) {
    int64_t send = first_send + next_campaign_ * kWeek;
    if (send >= until_ms || send >= end_ms_) break;
    if (send < subscribed_at_ms_) continue;
    if (!rng_.Chance(260)) continue;  // not opened
    int64_t week = FloorDiv(send, kWeek);
    std::string campaign_id = "nl-";
    AppendUint(static_cast<uint64_t>(week), &campaign_id);
    bool variant_b = rng_.Chance(500);
    now_ms_ = std::max(now_ms_ + 1000, send + rng_.ExpMs(5 * 3600000LL));
    for (int click = 0; click < 2; ++click) {
      if (click == 1) {
        if (!rng_.Chance(280)) break;
        Advance(rng_.ExpMs(40000));
      }
      if (!Begin("track")) return;
      line_ += ",\"userId\":\"";
      line_ += user_id_;
      line_ += "\",\"event\":\"";
      EventName event = click == 0 ? EventName::kEmailOpened : EventName::kEmailClicked;
      line_ += kTrafficEventNames[static_cast<int>(event)];
      line_ += "\",\"properties\":{\"campaign_id\":\"";
      line_ += campaign_id;
      line_ += "\",\"email_id\":\"";
      line_ += campaign_id;
      line_ += variant_b ? "-b" : "-a";
      line_ += "\",\"subject\":\"";
      line_ += variant_b ? "New this week, picked for you" : "This week at Example Shop";
      line_.push_back('"');
      if (click == 1) {
        line_ += ",\"link_url\":\"";
        line_ += kSite;
        line_ += "/?utm_source=newsletter&utm_medium=email\"";
      }
      line_ += "},\"context\":{\"ip\":\"";
      line_ += devices_[0].ip;
      line_ += "\",\"campaign\":{\"source\":\"newsletter\",\"medium\":\"email\",\"name\":\"";
      line_ += campaign_id;
      line_ += "\"}}";
      End();
      ++stats_->track;
      ++stats_->events[static_cast<int>(event)];
    }
  }
}

void ContactSim::RunSession(size_t s) {
  EmailsUntil(session_starts_[s]);
  now_ms_ = std::max(session_starts_[s], now_ms_ + 60000);
  if (now_ms_ >= end_ms_) {
    stopped_ = true;
    return;
  }
  // Device: mostly the main one; now and then a new one or cleared cookies.
  if (devices_.size() > 1 && rng_.Chance(300)) {
    device_ = &devices_[1 + rng_.Below(devices_.size() - 1)];
  } else {
    device_ = &devices_[0];
  }
  if (s > 0 && rng_.Chance(80)) {
    device_->old_anonymous_id = device_->used_anonymously ? device_->anonymous_id : "";
    device_->anonymous_id = NewAnonymousId();
    device_->logged_in = false;
    device_->used_anonymously = false;
  }
  with_user_id_ = identified_ && device_->logged_in;
  cart_.clear();
  cart_id_.clear();

  bool must_identify = !identified_ && s == identify_session_;
  bool order = order_sessions_[s] && (identified_ || must_identify);

  // Landing page.
  size_t landing = rng_.Pick(std::array<uint32_t, 4>{45, 30, 15, 10});
  if (landing == 1) {
    const auto& p = catalog_.products[PickProduct()];
    std::string path = "/products/";
    path += p.slug;
    SetPage("Product", path, "", p.name, true);
  } else if (landing == 2) {
    const Category& cat = kCategories[favorite_category_];
    std::string path = "/category/";
    path += cat.slug;
    SetPage("Category", path, "", cat.title, true);
  } else if (landing == 3) {
    const Post& post = kBlogPosts[rng_.Below(kBlogPosts.size())];
    std::string path = "/blog/";
    path += post.slug;
    SetPage("Blog", path, "", post.title, true);
  } else {
    SetPage("Home", "/", "", "Example Shop", true);
  }
  EmitPage();
  if (stopped_) return;

  // A returning known visitor on a device that is not signed in: signs in, or not.
  if (identified_ && !device_->logged_in && rng_.Chance(450)) LoginIdentify();

  bool bounce = !must_identify && !order && rng_.Chance(380);
  size_t steps = bounce ? 0 : rng_.Pick(kStepCounts);
  if (order) steps = std::max<size_t>(steps, 2);
  size_t identify_at = must_identify ? rng_.Below(steps + 1) : SIZE_MAX;
  bool wants_product = order;
  uint32_t add_chance = order ? 350 : (researcher_ ? 40 : 90);

  for (size_t step = 0; step <= steps && !stopped_; ++step) {
    if (step == identify_at) {
      const char* trigger = newsletter_ && rng_.Chance(600) ? "newsletter"
                            : rng_.Chance(200)              ? "form"
                                                            : "signup";
      Identify(trigger);
      if (std::strcmp(trigger, "form") == 0 && !stopped_) {
        Advance(rng_.ExpMs(3000));
        BeginTrack(EventName::kFormSubmitted);
        if (stopped_) return;
        line_ += "\"form_id\":\"contact\"";
        SEGMENTA_END_TRACK();
      }
      if (b2b_ && groups_sent_ == 0) Group(accounts_[0]);
    }
    if (step == steps) break;
    uint32_t kind = static_cast<uint32_t>(rng_.Pick(
        researcher_ ? std::array<uint32_t, 3>{40, 12, 48} : std::array<uint32_t, 3>{62, 16, 22}));
    if (wants_product) kind = 0;
    if (kind == 0) {
      int product = PickProduct();
      ViewProduct(product, false);
      if (rng_.Chance(add_chance) || wants_product) {
        AddToCart(product);
        wants_product = false;
      }
    } else if (kind == 1) {
      Search();
      if (rng_.Chance(700)) {
        int product = PickProduct();
        ViewProduct(product, true);
        if (rng_.Chance(add_chance)) AddToCart(product);
      }
    } else {
      ContentPage();
    }
  }
  if (stopped_) return;

  if (!cart_.empty()) {
    if (order) {
      SetPage("Cart", "/cart", "", "Your cart", false);
      EmitPage();
      Checkout(true);
    } else if (rng_.Chance(300)) {
      SetPage("Cart", "/cart", "", "Your cart", false);
      EmitPage();
      if (rng_.Chance(400)) Checkout(false);  // abandoned checkout
    }
  }
  if (stopped_) return;

  if (identified_ && with_user_id_) {
    // A contact in a second account joins it later.
    if (groups_sent_ > 0 && groups_sent_ < accounts_.size() && rng_.Chance(500)) {
      Group(accounts_[groups_sent_]);
    }
    if (plans_upgrade_ && s > identify_session_ && rng_.Chance(300)) {
      UpgradePlan();
      plans_upgrade_ = false;
    }
  }
  // An app linking an earlier anonymous visitor to the known user.
  if (identified_ && plans_alias_ && !stopped_) {
    const std::string* previous = nullptr;
    if (!device_->logged_in && device_->used_anonymously) {
      previous = &device_->anonymous_id;
    } else if (!device_->old_anonymous_id.empty()) {
      previous = &device_->old_anonymous_id;
    }
    if (previous != nullptr) {
      Alias(*previous);
      plans_alias_ = false;
      if (previous == &device_->anonymous_id) device_->logged_in = true;
      device_->old_anonymous_id.clear();
    }
  }
}

#undef SEGMENTA_APPEND_IDS
#undef SEGMENTA_END_TRACK

void ContactSim::Run() {
  line_.reserve(2048);
  DrawProfile();
  PlanSessions();
  for (size_t s = 0; s < session_starts_.size() && !stopped_; ++s) RunSession(s);
  if (!stopped_) EmailsUntil(end_ms_);
  ++stats_->contacts;
}

}  // namespace

// ---------------------------------------------------------------------------------------

void TrafficStats::Add(const TrafficStats& o) {
  contacts += o.contacts;
  messages += o.messages;
  bytes += o.bytes;
  identify += o.identify;
  track += o.track;
  page += o.page;
  group += o.group;
  alias += o.alias;
  for (size_t i = 0; i < events.size(); ++i) events[i] += o.events[i];
  identified_contacts += o.identified_contacts;
  ordering_contacts += o.ordering_contacts;
  b2b_contacts += o.b2b_contacts;
}

TrafficGenerator::TrafficGenerator(TrafficOptions options)
    : options_(options), catalog_(std::make_unique<const TrafficCatalog>()) {}

TrafficGenerator::~TrafficGenerator() = default;

void TrafficGenerator::GenerateContact(uint64_t index, const TrafficSink& sink,
                                       TrafficStats* stats) const {
  TrafficStats local;
  ContactSim sim(options_, *catalog_, index, sink, stats != nullptr ? stats : &local);
  sim.Run();
}

TrafficStats TrafficGenerator::Generate(const TrafficSink& sink) const {
  TrafficStats stats;
  for (uint64_t i = 0; i < options_.contacts; ++i) GenerateContact(i, sink, &stats);
  return stats;
}

absl::Status TrafficGenerator::WriteTo(std::FILE* out, TrafficStats* stats) const {
  std::string buffer;
  constexpr size_t kBlock = 1 << 20;
  buffer.reserve(kBlock + 64 * 1024);
  bool failed = false;
  auto flush = [&] {
    if (!failed && !buffer.empty() &&
        std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
      failed = true;
    }
    buffer.clear();
  };
  TrafficStats result = Generate([&](std::string_view line) {
    buffer.append(line);
    buffer.push_back('\n');
    if (buffer.size() >= kBlock) flush();
  });
  flush();
  if (!failed && std::fflush(out) != 0) failed = true;
  if (stats != nullptr) *stats = result;
  if (failed) return absl::InternalError("writing the generated traffic failed");
  return absl::OkStatus();
}

absl::Status TrafficGenerator::WriteTo(std::ostream& out, TrafficStats* stats) const {
  std::string buffer;
  constexpr size_t kBlock = 1 << 20;
  buffer.reserve(kBlock + 64 * 1024);
  TrafficStats result = Generate([&](std::string_view line) {
    buffer.append(line);
    buffer.push_back('\n');
    if (buffer.size() >= kBlock) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  });
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.flush();
  if (stats != nullptr) *stats = result;
  if (!out) return absl::InternalError("writing the generated traffic failed");
  return absl::OkStatus();
}

TrafficCursor::TrafficCursor(const TrafficGenerator* generator) : generator_(generator) {}

bool TrafficCursor::Next(std::string* line) {
  while (pending_pos_ >= pending_.size()) {
    if (next_contact_ >= generator_->options().contacts) return false;
    pending_.clear();
    pending_pos_ = 0;
    generator_->GenerateContact(
        next_contact_++, [this](std::string_view l) { pending_.emplace_back(l); }, &stats_);
  }
  *line = std::move(pending_[pending_pos_++]);
  return true;
}

}  // namespace segmenta
