// The traffic generator's reference tables: people's names, countries, job titles, user
// agents, e-mail domains, plans, the shop's categories and content, campaigns, companies,
// and the daily and per-contact activity curves. The same for every seed. Every string
// here is JSON-safe (no quote, backslash or control character), so lines are assembled
// without escaping. Internal to src/gen.
#pragma once

#include <array>
#include <cstdint>

#include "gen/traffic.h"

namespace segmenta::traffic {

// The shop every message is about.
inline constexpr const char* kSite = "https://shop.example.com";

// The track events, indexed like kTrafficEventNames.
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

// First names, half female, from the countries the shop sells to.
struct FirstName {
  const char* name;
  const char* ascii;  // for e-mail addresses
  bool female;
};
inline constexpr std::array<FirstName, 48> kFirstNames = {{
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

// Last names.
struct LastName {
  const char* name;
  const char* ascii;
};
inline constexpr std::array<LastName, 40> kLastNames = {{
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

// Countries, weighted by their share of the shop's visitors.
struct Country {
  const char* code;
  uint32_t weight;
  const char* locale;
  const char* timezone;
  bool euro;           // orders in EUR, else USD
  uint8_t ip_a, ip_b;  // a plausible first two octets for the country
  std::array<const char*, 3> cities;
};
inline constexpr std::array<Country, 20> kCountries = {{
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

// A value and its weight in a draw (Rng::PickWeighted).
struct Weighted {
  const char* value;
  uint32_t weight;
};
// Job titles, user agents, e-mail domains and plans, weighted.
inline constexpr std::array<Weighted, 20> kJobTitles = {{
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

inline constexpr std::array<Weighted, 9> kUserAgents = {{
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

inline constexpr std::array<Weighted, 8> kEmailDomains = {{
    {"gmail.com", 40},
    {"outlook.com", 15},
    {"yahoo.com", 8},
    {"web.de", 10},
    {"gmx.de", 8},
    {"orange.fr", 7},
    {"icloud.com", 8},
    {"proton.me", 4},
}};

inline constexpr std::array<Weighted, 4> kPlans = {
    {{"free", 60}, {"plus", 25}, {"premium", 12}, {"business", 3}}};

// The shop's categories, weighted by how many visitors prefer them, with the brands and
// nouns their products are named from and what their visitors search for.
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
inline constexpr std::array<Category, 8> kCategories = {{
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

// The first word of product names.
inline constexpr std::array<const char*, 10> kAdjectives = {
    "Pro", "Classic", "Ultra", "Essential", "Aero", "Urban", "Eco", "Premium", "Lite", "Signature"};

// Blog posts, webinars and e-mail campaigns.
struct Post {
  const char* slug;
  const char* title;
};
inline constexpr std::array<Post, 8> kBlogPosts = {{
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
inline constexpr std::array<Webinar, 5> kWebinars = {{
    {"wb-101", "retail-personalization-2026", "Retail personalization in 2026"},
    {"wb-102", "b2b-bulk-ordering", "Bulk ordering for teams"},
    {"wb-103", "sustainable-sourcing", "Sustainable sourcing at scale"},
    {"wb-104", "loyalty-programs-that-work", "Loyalty programs that work"},
    {"wb-105", "employee-wellness-kits", "Employee wellness kits"},
}};

inline constexpr std::array<const char*, 6> kCampaigns = {"autumn-sale",  "black-friday-early",
                                                          "new-arrivals", "free-shipping",
                                                          "running-week", "b2b-gifting"};

// Accounts (B2B).
inline constexpr std::array<const char*, 16> kCompanyPrefixes = {
    "Nordwind",   "Bluepeak", "Alpina",     "Helios",    "Vantage",    "Brightwater",
    "Ironbridge", "Lumen",    "Greenfield", "Northstar", "Silverline", "Oakridge",
    "Polaris",    "Rivera",   "Atlas",      "Kestrel"};
inline constexpr std::array<const char*, 10> kCompanySuffixes = {
    "Logistics",  "Software", "Capital", "Health", "Academy",
    "Industries", "Retail",   "Systems", "Foods",  "Labs"};
inline constexpr std::array<Weighted, 6> kIndustries = {{{"Retail", 25},
                                                         {"Software", 25},
                                                         {"Finance", 12},
                                                         {"Healthcare", 12},
                                                         {"Education", 10},
                                                         {"Manufacturing", 16}}};

// Hours (UTC) when sessions start: a European audience, busiest in the evening.
inline constexpr std::array<uint32_t, 24> kHourWeights = {3, 2, 1, 1, 1,  2,  4,  6,  8,  9,  9, 9,
                                                          9, 9, 9, 9, 10, 11, 13, 14, 14, 12, 8, 5};

// Sessions per contact: most come once or twice, a few many times.
inline constexpr std::array<uint32_t, 12> kSessionCounts = {0,  480, 210, 100, 60, 40, 30,
                                                            20, 15,  15,  10,  20};  // 11 = "many"

// Pages after the landing page, in sessions that do not bounce.
inline constexpr std::array<uint32_t, 13> kStepCounts = {0, 20, 18, 15, 12, 9, 7, 5, 4, 3, 2, 2, 3};

// Ages of the contacts, weighted by band.
struct AgeBand {
  int lo, hi;
  uint32_t weight;
};
inline constexpr std::array<AgeBand, 6> kAgeBands = {
    {{18, 24, 14}, {25, 34, 24}, {35, 44, 22}, {45, 54, 18}, {55, 64, 13}, {65, 80, 9}}};

}  // namespace segmenta::traffic
