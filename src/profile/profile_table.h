// The in-memory state of every contact, column by column: what conditions are evaluated
// on, one contact at a time (on each event) or all contacts at once (batch).
//
// Contacts are rows indexed by their ContactId (ids are allocated densely). Traits are
// columns over contacts. Activities live in one table per event key ("Order Completed",
// "page", ...), each with a contact column, a time column and a column per property path;
// each contact also lists its activities in time order. Accounts are rows with trait
// columns. Everything is rebuilt from the store at start.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "collect/message.h"
#include "core/string_view.h"
#include "core/value.h"
#include "profile/contact.h"
#include "store/store.h"

namespace segmenta {

// Larger copies of a table's vectors, made by the writer while readers may read them (making
// a copy only reads), then put in place while it holds the readers off: growing a vector of
// millions of rows in place would hold them off for the whole copy and its page faults.
// Not thread-safe.
class VectorGrowth {
 public:
  // Vectors shorter than this grow in place: their copy is too short to matter.
  static constexpr size_t kMinRows = 4096;

  // Adds a copy of *v with room for `more` elements past its size (at least twice its
  // room), unless it has that room or is short. `v` must not change until Apply().
  template <typename T>
  void Prepare(std::vector<T>* v, size_t more) {
    if (v->size() < kMinRows || v->size() + more <= v->capacity()) return;
    std::vector<T> copy;
    copy.reserve(std::max(2 * v->capacity(), v->size() + more));
    copy.assign(v->begin(), v->end());
    std::get<Swaps<T>>(swaps_).emplace_back(v, std::move(copy));
  }
  // Puts every copy in place of its vector; the old buffers stay here until this is
  // destroyed (free them after letting readers in again).
  void Apply() {
    std::apply([](auto&... swaps) { (SwapAll(swaps), ...); }, swaps_);
  }
  // Vectors prepared.
  size_t size() const {
    return std::apply([](const auto&... swaps) { return (swaps.size() + ...); }, swaps_);
  }

 private:
  template <typename T>
  using Swaps = std::vector<std::pair<std::vector<T>*, std::vector<T>>>;
  template <typename T>
  static void SwapAll(Swaps<T>& swaps) {
    for (auto& [v, copy] : swaps) v->swap(copy);
  }
  std::tuple<Swaps<uint32_t>, Swaps<int64_t>, Swaps<ValueType>, Swaps<uint64_t>, Swaps<uint16_t>>
      swaps_;
};

// One value per row, typed per row (rows never set are null). Strings are interned in the
// column's dictionary. Not thread-safe.
//
// 23 public methods, more than 15 because a column's layout is its own: each way the
// evaluators read it (a row's typed value for the incremental evaluator, whole arrays for
// the batch evaluator's 64-row loops, the string dictionary) and the writer sets it is a
// method here, most of them one line, rather than a layout other classes depend on.
class Column {
 public:
  size_t size() const { return types_.size(); }
  ValueType type(size_t row) const { return row < types_.size() ? types_[row] : ValueType::kNull; }
  double number(size_t row) const { return std::bit_cast<double>(bits_[row]); }
  bool boolean(size_t row) const { return bits_[row] != 0; }
  std::string_view string(size_t row) const { return strings_[bits_[row]]; }
  // The dictionary id of a string row (equal strings, equal ids).
  uint32_t string_id(size_t row) const { return static_cast<uint32_t>(bits_[row]); }
  // The id of `s` in the dictionary, or -1 when no row holds it.
  int64_t FindString(std::string_view s) const;
  // The dictionary: distinct strings by id (evaluators test a predicate once per string).
  size_t dictionary_size() const { return strings_.size(); }
  std::string_view dictionary_string(uint32_t id) const { return strings_[id]; }
  // Dictionary string `id` read as a time (parsed once). False when it is not one.
  bool dictionary_time(uint32_t id, Millis* out) const;
  // The row read as a time (a time, or an ISO-8601 string: parsed once per distinct
  // string). False when it is neither.
  bool time(size_t row, Millis* out) const;
  Value Get(size_t row) const;
  // Rows 0 .. size()-1 as arrays, for loops over every row: each row's type, and its
  // payload (a double's bits, a bool, a dictionary id, or milliseconds, by type).
  const ValueType* type_data() const { return types_.data(); }
  const uint64_t* bits_data() const { return bits_.data(); }
  // Also keeps each string row's dictionary id in 16 bits, while the dictionary holds at
  // most 65,536 strings: a quarter of the memory to read when every row is tested (trait
  // columns, tested over every contact).
  void KeepNarrowIds();
  // Rows 0 .. size()-1 as 16-bit dictionary ids (valid for string rows), or null when they
  // are not kept.
  const uint16_t* narrow_id_data() const { return narrow_ ? narrow_ids_.data() : nullptr; }

  void Set(size_t row, const Value& value);
  // Set(row, Value::String(s)), without copying `s`.
  void SetString(size_t row, std::string_view s);
  void SetNull(size_t row);
  void Resize(size_t rows);
  // Prepares the growth of the row vectors for `more` rows past size() (VectorGrowth).
  void PrepareGrowth(size_t more, VectorGrowth* growth);
  // The types of the values seen (a bit per ValueType, as lang's TypeSet), strings that all
  // read as times counted as times too.
  uint8_t types_seen() const;
  size_t MemoryBytes() const;

 private:
  uint32_t Intern(std::string_view s);
  std::vector<ValueType> types_;
  std::vector<uint64_t> bits_;
  bool narrow_ = false;
  std::vector<uint16_t> narrow_ids_;  // when narrow_
  std::deque<std::string> strings_;   // stable addresses: the map's keys point into it
  // Keyed by absl::string_view, for Abseil's string hash (core/string_view.h).
  absl::flat_hash_map<absl::string_view, uint32_t> string_ids_;
  mutable std::vector<int64_t> string_times_;  // per string id; kUnparsed / kNotATime
  uint8_t types_seen_ = 0;
  bool all_strings_are_times_ = true;
};

// All activities with one event key.
struct EventTable {
  std::string key;  // "Order Completed", "page", "screen", "identify", "group", "alias"
  MessageType type = MessageType::kTrack;
  std::vector<uint32_t> contact;  // ContactId of each row (0 once erased)
  std::vector<Millis> time;
  absl::node_hash_map<std::string, Column> columns;  // flattened property path -> column
  // The columns the last activity set, in the order it set them. The next one, which
  // nearly always has the same fields in the same order, finds its columns here by
  // comparing paths, without hashing them (ProfileTable::AddActivity).
  std::vector<std::pair<std::string, Column*>> recent_columns;

  size_t rows() const { return time.size(); }
  // The column of `path`, or null when no row has it.
  const Column* column(std::string_view path) const;
};

// An activity of a contact: which table, which row.
struct EventRef {
  uint32_t row;
  uint16_t table;
};

struct ContactState {
  bool alive = false;
  // In the order of (time, table, row): time order; activities at the same instant in a
  // fixed order that every evaluator follows.
  std::vector<EventRef> events;
  std::vector<uint32_t> accounts;  // account rows, sorted
};

struct AccountState {
  std::string group_id;
  std::vector<uint32_t> contacts;  // ContactIds, sorted
};

// Written by one thread (the worker's writer) and read by others under the caller's
// locking (see Worker::ReadProfiles in ingest/worker.h).
//
// 26 public methods, more than 15 because it is the one structure every reader of contacts
// scans: Load and 8 updates for the writer, and 17 plain accessors of its rows, event tables
// and columns for the evaluators, the decider and the analyses, which call them in loops
// over millions of rows.
class ProfileTable {
 public:
  ProfileTable() = default;
  ProfileTable(const ProfileTable&) = delete;
  ProfileTable& operator=(const ProfileTable&) = delete;

  // Rebuilds everything from the store: contacts with their traits and accounts, accounts'
  // traits, and activities.
  // Errors: DataLoss for malformed records, Internal for store errors.
  absl::Status Load(const Store& store);

  // --- Updates (the writer) -----------------------------------------------------------
  // An activity of `contact` at `message.timestamp`: a row in its event table, with its
  // properties (and the useful parts of its context) as columns. Returns the index of its
  // event table (as table_index).
  uint16_t AddActivity(ContactId contact, const Message& message);
  // The same from parsed parts (null when absent).
  uint16_t AddActivity(ContactId contact, MessageType type, std::string_view event, Millis time,
                       const simdjson::dom::element* properties,
                       const simdjson::dom::element* context);
  // Sets the trait columns of `contact` from its record's `traits` for the given names
  // (all of them when `names` is empty).
  void SetTraits(ContactId contact, const Traits& traits, const std::vector<std::string>& names);
  // `absorbed` is merged into `survivor`, whose record is now `merged`.
  void Merge(ContactId survivor, ContactId absorbed, const Contact& merged);
  // The contact joins the account (created when new).
  void Join(ContactId contact, std::string_view group_id);
  void SetAccountTraits(std::string_view group_id, const Traits& traits);
  // Forgets the contact and its activities.
  void Erase(ContactId contact);
  // Prepares, without changing anything readers see, the growth of every event table's and
  // trait column's vectors that `rows` more rows would make reallocate; growth->Apply()
  // puts it in place. Between the two, the table must not change. For the writer, before
  // it holds readers off to apply `rows` messages (VectorGrowth).
  void PrepareGrowth(size_t rows, VectorGrowth* growth);

  // --- Reads ---------------------------------------------------------------------------
  // Contact rows: ids 0 .. contact_rows()-1, some not alive.
  size_t contact_rows() const { return contacts_.size(); }
  const ContactState* contact(ContactId id) const {
    return id < contacts_.size() && contacts_[id].alive ? &contacts_[id] : nullptr;
  }
  size_t alive_contacts() const { return alive_; }
  // A bit per contact row, set for the live ones (64 rows a word).
  const std::vector<uint64_t>& alive_words() const { return alive_words_; }
  // Trait column by name, or null when no contact has it.
  const Column* trait(std::string_view name) const;
  const std::vector<std::unique_ptr<EventTable>>& tables() const { return tables_; }
  // The table of track event `event` (type kTrack), or of the type (page, screen,
  // identify, group, alias; `event` ignored); -1 when there is none yet.
  int table_index(MessageType type, std::string_view event = {}) const;
  const EventTable& table(uint16_t index) const { return *tables_[index]; }
  Millis event_time(const EventRef& ref) const { return tables_[ref.table]->time[ref.row]; }
  // The order of a contact's activities: by time, then table, then row.
  bool EventBefore(const EventRef& a, const EventRef& b) const;

  size_t account_rows() const { return accounts_.size(); }
  const AccountState& account(uint32_t row) const { return accounts_[row]; }
  // The account `group_id`, or null when no contact joined it and it has no traits.
  const AccountState* FindAccount(std::string_view group_id) const;
  const Column* account_trait(std::string_view name) const;

  const absl::node_hash_map<std::string, Column>& trait_columns() const { return traits_; }
  const absl::node_hash_map<std::string, Column>& account_columns() const {
    return account_traits_;
  }

  // Approximate heap bytes held.
  size_t MemoryBytes() const;

 private:
  ContactState& Row(ContactId id);
  uint16_t TableFor(MessageType type, std::string_view event);
  uint32_t AccountRow(std::string_view group_id);
  // Sets `value` at `row` of the column named `path`, an object's fields at `path.field`
  // (recursively). `path` is a scratch buffer, restored on return. `narrow_ids`: new
  // columns keep 16-bit ids (Column::KeepNarrowIds). With `table`, the columns set are
  // looked up first in table->recent_columns from `*position` on, and left there.
  void SetFlattened(absl::node_hash_map<std::string, Column>& columns, size_t row,
                    std::string& path, simdjson::dom::element value, bool narrow_ids = false,
                    EventTable* table = nullptr, size_t* position = nullptr);
  // Appends the activity `ref` to `state`'s list, keeping it in time order.
  void Link(ContactState& state, EventRef ref);

  void SetAlive(ContactId id, bool alive);

  std::vector<ContactState> contacts_;
  size_t alive_ = 0;
  std::vector<uint64_t> alive_words_;
  absl::node_hash_map<std::string, Column> traits_;
  std::vector<std::unique_ptr<EventTable>> tables_;
  absl::flat_hash_map<std::string, uint16_t> table_ids_;  // SetTableId(type, event) -> index
  std::string table_id_;                                  // TableFor's scratch buffer
  std::vector<AccountState> accounts_;
  absl::flat_hash_map<std::string, uint32_t> account_ids_;
  absl::node_hash_map<std::string, Column> account_traits_;
  simdjson::dom::parser parser_;
  simdjson::dom::parser context_parser_;
  std::string path_;  // SetFlattened's scratch buffer
};

}  // namespace segmenta
