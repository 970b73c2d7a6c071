#include "profile/profile_table.h"

#include <algorithm>

#include "core/status.h"
#include "core/string_view.h"
#include "core/time_format.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

constexpr int64_t kUnparsed = INT64_MIN;
constexpr int64_t kNotATime = INT64_MIN + 1;

// Parts of an activity's context kept as columns ("context.campaign.source"): what
// segments are built on. The user agent, IP and library are left out (high cardinality,
// little use in conditions; personalization reads them from the request).
constexpr std::string_view kContextKept[] = {"campaign", "page",     "referrer", "locale",
                                             "timezone", "location", "device",   "os"};

// Sets `id` to the key of the event table of `type` and `event` in table_ids_.
void SetTableId(MessageType type, std::string_view event, std::string* id) {
  id->assign(MessageTypeName(type));
  if (type == MessageType::kTrack) id->append(":").append(event);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Column

int64_t Column::FindString(std::string_view s) const {
  auto it = string_ids_.find(AbslView(s));
  return it == string_ids_.end() ? -1 : it->second;
}

bool Column::dictionary_time(uint32_t id, Millis* out) const {
  int64_t& cached = string_times_[id];
  if (cached == kUnparsed) {
    absl::StatusOr<absl::Time> t = ParseTimestamp(strings_[id]);
    cached = t.ok() ? ToMillis(*t) : kNotATime;
  }
  if (cached == kNotATime) return false;
  *out = cached;
  return true;
}

bool Column::time(size_t row, Millis* out) const {
  switch (type(row)) {
    case ValueType::kTime:
      *out = static_cast<Millis>(bits_[row]);
      return true;
    case ValueType::kString:
      return dictionary_time(string_id(row), out);
    default:
      return false;
  }
}

Value Column::Get(size_t row) const {
  switch (type(row)) {
    case ValueType::kNull:
      return Value::Null();
    case ValueType::kBool:
      return Value::Bool(boolean(row));
    case ValueType::kNumber:
      return Value::Number(number(row));
    case ValueType::kString:
      return Value::String(std::string(string(row)));
    case ValueType::kTime:
      return Value::Time(static_cast<Millis>(bits_[row]));
    case ValueType::kDuration:
      return Value::Duration(static_cast<Millis>(bits_[row]));
  }
  return Value::Null();
}

uint32_t Column::Intern(std::string_view s) {
  auto it = string_ids_.find(AbslView(s));
  if (it != string_ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(strings_.size());
  const std::string& kept = strings_.emplace_back(s);
  string_ids_.emplace(AbslView(kept), id);
  string_times_.push_back(kUnparsed);
  if (all_strings_are_times_) all_strings_are_times_ = ParseTimestamp(s).ok();
  return id;
}

void Column::Resize(size_t rows) {
  if (rows <= types_.size()) return;
  types_.resize(rows, ValueType::kNull);
  bits_.resize(rows, 0);
  if (narrow_) narrow_ids_.resize(rows, 0);
}

void Column::PrepareGrowth(size_t more, VectorGrowth* growth) {
  growth->Prepare(&types_, more);
  growth->Prepare(&bits_, more);
  if (narrow_) growth->Prepare(&narrow_ids_, more);
}

void Column::KeepNarrowIds() {
  if (narrow_ || strings_.size() > 65536) return;
  narrow_ = true;
  narrow_ids_.assign(types_.size(), 0);
  for (size_t row = 0; row < types_.size(); ++row) {
    if (types_[row] == ValueType::kString) narrow_ids_[row] = static_cast<uint16_t>(bits_[row]);
  }
}

void Column::SetNull(size_t row) {
  if (row < types_.size()) types_[row] = ValueType::kNull;
}

void Column::Set(size_t row, const Value& value) {
  if (value.type() == ValueType::kString) return SetString(row, value.as_string());
  Resize(row + 1);
  types_[row] = value.type();
  types_seen_ |= static_cast<uint8_t>(1u << static_cast<int>(value.type()));
  switch (value.type()) {
    case ValueType::kNull:
    case ValueType::kString:
      bits_[row] = 0;
      break;
    case ValueType::kBool:
      bits_[row] = value.as_bool();
      break;
    case ValueType::kNumber:
      bits_[row] = std::bit_cast<uint64_t>(value.as_number());
      break;
    case ValueType::kTime:
    case ValueType::kDuration:
      bits_[row] = static_cast<uint64_t>(value.as_millis());
      break;
  }
}

void Column::SetString(size_t row, std::string_view s) {
  Resize(row + 1);
  types_[row] = ValueType::kString;
  types_seen_ |= static_cast<uint8_t>(1u << static_cast<int>(ValueType::kString));
  const uint32_t id = Intern(s);
  bits_[row] = id;
  if (!narrow_) return;
  if (id > 0xFFFF) {
    narrow_ = false;  // too many distinct strings: ids need more than 16 bits
    std::vector<uint16_t>().swap(narrow_ids_);
  } else {
    narrow_ids_[row] = static_cast<uint16_t>(id);
  }
}

uint8_t Column::types_seen() const {
  uint8_t seen = types_seen_;
  if ((seen & (1u << static_cast<int>(ValueType::kString))) && all_strings_are_times_) {
    seen |= 1u << static_cast<int>(ValueType::kTime);
  }
  return seen;
}

size_t Column::MemoryBytes() const {
  size_t bytes = types_.capacity() + bits_.capacity() * 8 + narrow_ids_.capacity() * 2 +
                 string_times_.capacity() * 8;
  for (const std::string& s : strings_)
    bytes += sizeof(std::string) + (s.size() > 15 ? s.capacity() : 0);
  bytes += string_ids_.capacity() * (sizeof(absl::string_view) + sizeof(uint32_t) + 1);
  return bytes;
}

const Column* EventTable::column(std::string_view path) const {
  auto it = columns.find(std::string(path));
  return it == columns.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------
// ProfileTable

void ProfileTable::SetAlive(ContactId id, bool alive) {
  if (id / 64 >= alive_words_.size()) alive_words_.resize(id / 64 + 1, 0);
  if (alive) {
    alive_words_[id / 64] |= uint64_t{1} << (id % 64);
  } else {
    alive_words_[id / 64] &= ~(uint64_t{1} << (id % 64));
  }
}

ContactState& ProfileTable::Row(ContactId id) {
  if (id >= contacts_.size()) contacts_.resize(id + 1);
  ContactState& state = contacts_[id];
  if (!state.alive) {
    state.alive = true;
    ++alive_;
    SetAlive(id, true);
  }
  return state;
}

int ProfileTable::table_index(MessageType type, std::string_view event) const {
  std::string id;
  SetTableId(type, event, &id);
  auto it = table_ids_.find(id);
  return it == table_ids_.end() ? -1 : it->second;
}

uint16_t ProfileTable::TableFor(MessageType type, std::string_view event) {
  SetTableId(type, event, &table_id_);
  auto it = table_ids_.find(table_id_);
  if (it != table_ids_.end()) return it->second;
  auto table = std::make_unique<EventTable>();
  table->type = type;
  table->key =
      type == MessageType::kTrack ? std::string(event) : std::string(MessageTypeName(type));
  uint16_t index = static_cast<uint16_t>(tables_.size());
  tables_.push_back(std::move(table));
  table_ids_.emplace(table_id_, index);
  return index;
}

uint32_t ProfileTable::AccountRow(std::string_view group_id) {
  auto it = account_ids_.find(std::string(group_id));
  if (it != account_ids_.end()) return it->second;
  uint32_t row = static_cast<uint32_t>(accounts_.size());
  accounts_.push_back(AccountState{std::string(group_id), {}});
  account_ids_.emplace(std::string(group_id), row);
  return row;
}

const AccountState* ProfileTable::FindAccount(std::string_view group_id) const {
  auto it = account_ids_.find(AbslView(group_id));
  return it == account_ids_.end() ? nullptr : &accounts_[it->second];
}

const Column* ProfileTable::trait(std::string_view name) const {
  auto it = traits_.find(std::string(name));
  return it == traits_.end() ? nullptr : &it->second;
}

const Column* ProfileTable::account_trait(std::string_view name) const {
  auto it = account_traits_.find(std::string(name));
  return it == account_traits_.end() ? nullptr : &it->second;
}

void ProfileTable::SetFlattened(absl::node_hash_map<std::string, Column>& columns, size_t row,
                                std::string& path, simdjson::dom::element value, bool narrow_ids,
                                EventTable* table, size_t* position) {
  if (value.is_object()) {
    const size_t length = path.size();
    for (simdjson::dom::key_value_pair field : simdjson::dom::object(value)) {
      path.append(".").append(field.key);
      SetFlattened(columns, row, path, field.value, narrow_ids, table, position);
      path.resize(length);
    }
    return;
  }
  Column* column = nullptr;
  std::vector<std::pair<std::string, Column*>>* recent =
      table != nullptr ? &table->recent_columns : nullptr;
  if (recent != nullptr && *position < recent->size() && (*recent)[*position].first == path) {
    column = (*recent)[*position].second;
  }
  if (column == nullptr) {
    auto it = columns.find(path);
    if (it == columns.end()) {
      it = columns.try_emplace(path).first;
      if (narrow_ids) it->second.KeepNarrowIds();
    }
    column = &it->second;  // stays put: a node map, and columns are never removed
    if (recent != nullptr) {
      if (*position < recent->size()) {
        (*recent)[*position] = {path, column};
      } else {
        recent->emplace_back(path, column);
      }
    }
  }
  if (position != nullptr) ++*position;
  std::string_view s;
  if (value.get_string().get(s) == simdjson::SUCCESS) {
    column->SetString(row, s);
  } else {
    column->Set(row, Value::FromJson(value));
  }
}

bool ProfileTable::EventBefore(const EventRef& a, const EventRef& b) const {
  Millis ta = event_time(a), tb = event_time(b);
  if (ta != tb) return ta < tb;
  if (a.table != b.table) return a.table < b.table;
  return a.row < b.row;
}

void ProfileTable::Link(ContactState& state, EventRef ref) {
  // Activities arrive nearly in time order: search backwards from the end.
  auto pos = state.events.end();
  while (pos != state.events.begin() && EventBefore(ref, *(pos - 1))) --pos;
  state.events.insert(pos, ref);
}

uint16_t ProfileTable::AddActivity(ContactId contact, const Message& m) {
  simdjson::dom::element properties, context;
  bool has_properties =
      !m.properties.empty() && m.type != MessageType::kIdentify && m.type != MessageType::kGroup;
  // Two parsers: the first document must stay valid while the second is parsed.
  if (has_properties && parser_.parse(m.properties.data(), m.properties.size()).get(properties) !=
                            simdjson::SUCCESS) {
    has_properties = false;
  }
  bool has_context =
      !m.context.empty() &&
      context_parser_.parse(m.context.data(), m.context.size()).get(context) == simdjson::SUCCESS;
  return AddActivity(contact, m.type, m.event, ToMillis(m.timestamp),
                     has_properties ? &properties : nullptr, has_context ? &context : nullptr);
}

uint16_t ProfileTable::AddActivity(ContactId contact, MessageType type, std::string_view event,
                                   Millis time, const simdjson::dom::element* properties,
                                   const simdjson::dom::element* context) {
  uint16_t t = TableFor(type, event);
  EventTable& table = *tables_[t];
  const uint32_t row = static_cast<uint32_t>(table.rows());
  table.contact.push_back(static_cast<uint32_t>(contact));
  table.time.push_back(time);
  // identify and group carry traits, which live on the profile: their rows keep none.
  size_t position = 0;  // in table.recent_columns
  if (properties != nullptr && properties->is_object() && type != MessageType::kIdentify &&
      type != MessageType::kGroup) {
    for (simdjson::dom::key_value_pair field : simdjson::dom::object(*properties)) {
      path_.assign(field.key);
      SetFlattened(table.columns, row, path_, field.value, false, &table, &position);
    }
  }
  if (context != nullptr && context->is_object()) {
    for (simdjson::dom::key_value_pair field : simdjson::dom::object(*context)) {
      if (std::find(std::begin(kContextKept), std::end(kContextKept), field.key) ==
          std::end(kContextKept)) {
        continue;
      }
      path_.assign("context.").append(field.key);
      SetFlattened(table.columns, row, path_, field.value, false, &table, &position);
    }
  }
  Link(Row(contact), EventRef{row, t});
  return t;
}

void ProfileTable::SetTraits(ContactId contact, const Traits& traits,
                             const std::vector<std::string>& names) {
  Row(contact);
  auto set = [&](const std::string& name, const TraitValue& value) {
    simdjson::dom::element element;
    if (parser_.parse(value.json.data(), value.json.size()).get(element) != simdjson::SUCCESS) {
      return;
    }
    path_.assign(name);
    SetFlattened(traits_, contact, path_, element, /*narrow_ids=*/true);
  };
  if (names.empty()) {
    for (const auto& [name, value] : traits) set(name, value);
    return;
  }
  for (const std::string& name : names) {
    auto it = traits.find(name);
    if (it != traits.end()) set(name, it->second);
  }
}

void ProfileTable::Merge(ContactId survivor, ContactId absorbed, const Contact& merged) {
  ContactState& to = Row(survivor);
  if (absorbed < contacts_.size() && contacts_[absorbed].alive) {
    ContactState& from = contacts_[absorbed];
    for (const EventRef& ref : from.events) {
      tables_[ref.table]->contact[ref.row] = static_cast<uint32_t>(survivor);
    }
    std::vector<EventRef> events;
    events.reserve(to.events.size() + from.events.size());
    std::merge(to.events.begin(), to.events.end(), from.events.begin(), from.events.end(),
               std::back_inserter(events),
               [&](const EventRef& a, const EventRef& b) { return EventBefore(a, b); });
    to.events = std::move(events);
    for (uint32_t account : from.accounts) {
      std::vector<uint32_t>& members = accounts_[account].contacts;
      members.erase(std::remove(members.begin(), members.end(), absorbed), members.end());
      auto pos = std::lower_bound(members.begin(), members.end(), survivor);
      if (pos == members.end() || *pos != survivor) members.insert(pos, survivor);
      auto mine = std::lower_bound(to.accounts.begin(), to.accounts.end(), account);
      if (mine == to.accounts.end() || *mine != account) to.accounts.insert(mine, account);
    }
    from = ContactState();
    --alive_;
    SetAlive(absorbed, false);
    for (auto& [name, column] : traits_) column.SetNull(absorbed);
  }
  SetTraits(survivor, merged.traits, {});
}

void ProfileTable::Join(ContactId contact, std::string_view group_id) {
  ContactState& state = Row(contact);
  uint32_t account = AccountRow(group_id);
  auto pos = std::lower_bound(state.accounts.begin(), state.accounts.end(), account);
  if (pos != state.accounts.end() && *pos == account) return;
  state.accounts.insert(pos, account);
  std::vector<uint32_t>& members = accounts_[account].contacts;
  members.insert(std::lower_bound(members.begin(), members.end(), contact),
                 static_cast<uint32_t>(contact));
}

void ProfileTable::SetAccountTraits(std::string_view group_id, const Traits& traits) {
  uint32_t row = AccountRow(group_id);
  for (const auto& [name, value] : traits) {
    simdjson::dom::element element;
    if (parser_.parse(value.json.data(), value.json.size()).get(element) != simdjson::SUCCESS) {
      continue;
    }
    path_.assign(name);
    SetFlattened(account_traits_, row, path_, element, /*narrow_ids=*/true);
  }
}

void ProfileTable::Erase(ContactId contact) {
  if (contact >= contacts_.size() || !contacts_[contact].alive) return;
  ContactState& state = contacts_[contact];
  for (const EventRef& ref : state.events) tables_[ref.table]->contact[ref.row] = 0;
  for (uint32_t account : state.accounts) {
    std::vector<uint32_t>& members = accounts_[account].contacts;
    members.erase(std::remove(members.begin(), members.end(), contact), members.end());
  }
  state = ContactState();
  --alive_;
  SetAlive(contact, false);
  for (auto& [name, column] : traits_) column.SetNull(contact);
}

void ProfileTable::PrepareGrowth(size_t rows, VectorGrowth* growth) {
  for (auto& table : tables_) {
    growth->Prepare(&table->contact, rows);
    growth->Prepare(&table->time, rows);
    for (auto& [path, column] : table->columns) column.PrepareGrowth(rows, growth);
  }
  for (auto& [name, column] : traits_) column.PrepareGrowth(rows, growth);
}

size_t ProfileTable::MemoryBytes() const {
  size_t bytes = contacts_.capacity() * sizeof(ContactState);
  for (const ContactState& c : contacts_) {
    bytes += c.events.capacity() * sizeof(EventRef) + c.accounts.capacity() * 4;
  }
  for (const auto& [name, column] : traits_) bytes += column.MemoryBytes();
  for (const auto& table : tables_) {
    bytes += table->contact.capacity() * 4 + table->time.capacity() * 8;
    for (const auto& [name, column] : table->columns) bytes += column.MemoryBytes();
  }
  for (const AccountState& a : accounts_) bytes += a.contacts.capacity() * 4 + a.group_id.size();
  for (const auto& [name, column] : account_traits_) bytes += column.MemoryBytes();
  return bytes;
}

absl::Status ProfileTable::Load(const Store& store) {
  // Contacts: traits and accounts.
  {
    auto it = store.NewIterator(Family::kContacts);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      SEGMENTA_ASSIGN_OR_RETURN(
          Contact c, Contact::Decode(std::string_view(it->value().data(), it->value().size())));
      Row(c.id);
      SetTraits(c.id, c.traits, {});
      for (const std::string& group_id : c.accounts) Join(c.id, group_id);
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading contacts"));
  }
  {
    auto it = store.NewIterator(Family::kAccounts);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      SEGMENTA_ASSIGN_OR_RETURN(
          Account a, Account::Decode(std::string_view(it->value().data(), it->value().size())));
      SetAccountTraits(a.group_id, a.traits);
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading accounts"));
  }
  // Which contact each activity belongs to (the per-contact index), then the activities
  // themselves in arrival order.
  std::vector<uint32_t> owner;
  {
    auto it = store.NewIterator(Family::kContactActivities);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 24) return absl::DataLossError("malformed activity index key");
      ActivityKeyParts parts = DecodeActivityKey(std::string_view(it->key().data(), 24));
      if (parts.seq >= owner.size())
        owner.resize(std::max<size_t>(parts.seq + 1, owner.size() * 2));
      owner[parts.seq] = static_cast<uint32_t>(parts.contact);
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading the activity index"));
  }
  {
    simdjson::dom::parser parser;
    auto it = store.NewIterator(Family::kActivities);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t seq = ReadBigEndian64(std::string_view(it->key().data(), it->key().size()));
      if (seq >= owner.size() || owner[seq] == 0) continue;  // erased
      simdjson::dom::element root;
      if (parser.parse(it->value().data(), it->value().size()).get(root) != simdjson::SUCCESS) {
        return absl::DataLossError(fmt::format("malformed activity {}", seq));
      }
      Message m;
      std::string_view type, text;
      if (root["type"].get(type) != simdjson::SUCCESS || !ParseMessageType(type, &m.type) ||
          root["timestamp"].get(text) != simdjson::SUCCESS) {
        return absl::DataLossError(fmt::format("malformed activity {}", seq));
      }
      absl::StatusOr<absl::Time> t = ParseTimestamp(text);
      if (!t.ok()) return absl::DataLossError(fmt::format("bad time in activity {}", seq));
      std::string_view event;
      if (root["event"].get(event) != simdjson::SUCCESS) event = {};
      simdjson::dom::element properties, context;
      bool has_properties = root["properties"].get(properties) == simdjson::SUCCESS;
      bool has_context = root["context"].get(context) == simdjson::SUCCESS;
      AddActivity(owner[seq], m.type, event, ToMillis(*t), has_properties ? &properties : nullptr,
                  has_context ? &context : nullptr);
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading activities"));
  }
  return absl::OkStatus();
}

}  // namespace segmenta
