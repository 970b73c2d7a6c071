#include "decide/decider.h"

#include <pthread.h>

#include "absl/container/inlined_vector.h"
#include "core/json_writer.h"
#include "core/status.h"
#include "core/time_format.h"
#include "decide/user_agent.h"
#include "eval/evaluator.h"
#include "eval/scalar.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "xxhash.h"

namespace segmenta {
namespace {

// A visitor whose first activity is older than this is returning.
constexpr Millis kVisitLength = 30 * 60 * 1000;

std::string Hex64(uint64_t v) { return fmt::format("{:016x}", v); }

// The first `event` of `contact` whose string properties are those of `match` (name, value
// pairs): the string value of its property `wanted`, or nullopt when there is none.
std::optional<std::string_view> FindEvent(
    const ProfileTable& profiles, ContactId contact, std::string_view event,
    std::initializer_list<std::pair<std::string_view, std::string_view>> match,
    std::string_view wanted) {
  const ContactState* state = profiles.contact(contact);
  if (state == nullptr) return std::nullopt;
  const int t = profiles.table_index(MessageType::kTrack, event);
  if (t < 0) return std::nullopt;
  const EventTable& table = profiles.table(static_cast<uint16_t>(t));
  absl::InlinedVector<std::pair<const Column*, std::string_view>, 2> columns;
  for (const auto& [name, value] : match) {
    const Column* column = table.column(name);
    if (column == nullptr) return std::nullopt;
    columns.emplace_back(column, value);
  }
  const Column* result = table.column(wanted);
  if (result == nullptr) return std::nullopt;
  for (const EventRef& ref : state->events) {
    if (ref.table != t || result->type(ref.row) != ValueType::kString) continue;
    bool matches = true;
    for (const auto& [column, value] : columns) {
      matches = matches && column->type(ref.row) == ValueType::kString &&
                column->string(ref.row) == value;
    }
    if (matches) return result->string(ref.row);
  }
  return std::nullopt;
}

// The variation of `contact`'s first exposure to `experiment`, or "".
std::string ExistingArm(const ProfileTable& profiles, ContactId contact,
                        std::string_view experiment) {
  return std::string(FindEvent(profiles, contact, "Experiment Viewed",
                               {{"experiment_id", experiment}}, "variation_id")
                         .value_or(""));
}

}  // namespace

double ExperimentBucket(std::string_view visitor, std::string_view experiment) {
  std::string key = std::string(experiment) + "\x1f" + std::string(visitor);
  const uint64_t h = XXH64(key.data(), key.size(), 0);
  return static_cast<double>(h % 1'000'000) / 10'000.0;
}

absl::StatusOr<std::unique_ptr<Decider>> Decider::Start(Store* store, Worker* worker,
                                                        AudienceEngine* engine, Clock* clock) {
  // The User-Agent rules load now (half a second) rather than in the first request.
  SEGMENTA_RETURN_IF_ERROR(UserAgentParser::Shared().status());
  std::unique_ptr<Decider> d(new Decider(store, worker, engine, clock));
  d->exposure_submitter_ = std::thread([decider = d.get()] { decider->SubmitExposuresLoop(); });
  auto it = store->NewIterator(Family::kMeta);
  const rocksdb::Slice prefix(kExperienceKeyPrefix.data(), kExperienceKeyPrefix.size());
  absl::MutexLock lock(&d->mu_);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        ExperienceDefinition def,
        ExperienceDefinition::Decode(std::string_view(it->value().data(), it->value().size())));
    d->next_id_ = std::max(d->next_id_, def.id + 1);
    auto compiled = d->Compile(def);
    if (!compiled.ok()) {
      spdlog::error("experience \"{}\" no longer compiles ({}); it shows its default", def.slot,
                    std::string(compiled.status().message()));
      auto fallback = std::make_shared<Compiled>();
      fallback->def = def;
      fallback->def.variations.clear();
      fallback->def.experiment.clear();
      d->by_slot_[def.slot] = fallback;
      continue;
    }
    d->by_slot_[def.slot] = *std::move(compiled);
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading experiences"));
  auto templates = store->NewIterator(Family::kMeta);
  const rocksdb::Slice email_prefix(kEmailKeyPrefix.data(), kEmailKeyPrefix.size());
  for (templates->Seek(email_prefix);
       templates->Valid() && templates->key().starts_with(email_prefix); templates->Next()) {
    SEGMENTA_ASSIGN_OR_RETURN(EmailTemplate t,
                              EmailTemplate::Decode(std::string_view(templates->value().data(),
                                                                     templates->value().size())));
    d->templates_[t.name] = std::move(t);
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(templates->status(), "loading e-mail templates"));
  return d;
}

absl::StatusOr<std::shared_ptr<const Decider::Compiled>> Decider::Compile(
    ExperienceDefinition def) const {
  auto out = std::make_shared<Compiled>();
  absl::Status status = worker_->ReadProfiles([&](const ProfileTable& profiles) -> absl::Status {
    Schema schema = engine_->conditions().ConditionSchema(profiles);
    schema.visit = true;
    const Millis now = ToMillis(clock_->Now());
    for (size_t i = 0; i < def.variations.size(); ++i) {
      const std::string& condition = def.variations[i].condition;
      if (condition.empty() || def.is_experiment()) {
        out->plans.push_back(nullptr);
        out->overall.emplace_back();
        continue;
      }
      auto plan = Plan::CompileText(condition, schema);
      if (!plan.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("variations[{}].condition: {}", i, std::string(plan.status().message())));
      }
      out->overall.push_back(OverallValues(**plan, profiles, now));
      out->plans.push_back(*std::move(plan));
    }
    if (!def.audience.empty()) {
      auto plan = Plan::CompileText(def.audience, schema);
      if (!plan.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("audience: {}", std::string(plan.status().message())));
      }
      out->audience_overall = OverallValues(**plan, profiles, now);
      out->audience = *std::move(plan);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  for (size_t i = 0; i < def.variations.size(); ++i) {
    const std::string& name = def.variations[i].name;
    out->reasons.push_back(out->plans[i] == nullptr
                               ? fmt::format("variation \"{}\" is for everyone", name)
                               : fmt::format("the condition of variation \"{}\" holds: {}", name,
                                             out->plans[i]->text()));
  }
  out->def = std::move(def);
  return std::shared_ptr<const Compiled>(std::move(out));
}

absl::StatusOr<ExperienceInfo> Decider::Put(ExperienceDefinition def) {
  SEGMENTA_RETURN_IF_ERROR(CheckExperience(def));
  const Millis now = ToMillis(clock_->Now());
  {
    absl::MutexLock lock(&mu_);
    auto it = by_slot_.find(def.slot);
    if (it != by_slot_.end()) {
      def.id = it->second->def.id;
      def.created_ms = it->second->def.created_ms;
      if (it->second->def.experiment != def.experiment && !it->second->def.experiment.empty()) {
        spdlog::info("experience \"{}\": experiment \"{}\" replaced by \"{}\"", def.slot,
                     it->second->def.experiment, def.experiment);
      }
    } else {
      def.created_ms = now;
      def.id = next_id_++;
    }
  }
  def.updated_ms = now;
  SEGMENTA_ASSIGN_OR_RETURN(std::shared_ptr<const Compiled> compiled, Compile(def));
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(Family::kMeta), ExperienceKey(compiled->def.id), compiled->def.Encode());
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  by_slot_[compiled->def.slot] = compiled;
  ExperienceInfo info;
  info.definition = compiled->def;
  for (const auto& plan : compiled->plans) {
    if (plan != nullptr)
      info.warnings.insert(info.warnings.end(), plan->warnings().begin(), plan->warnings().end());
  }
  return info;
}

absl::Status Decider::Delete(std::string_view slot) {
  absl::MutexLock lock(&mu_);
  auto it = by_slot_.find(std::string(slot));
  if (it == by_slot_.end()) {
    return absl::NotFoundError(fmt::format("no experience for slot \"{}\"", slot));
  }
  rocksdb::WriteBatch batch;
  batch.Delete(store_->handle(Family::kMeta), ExperienceKey(it->second->def.id));
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  by_slot_.erase(it);
  return absl::OkStatus();
}

std::vector<ExperienceInfo> Decider::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ExperienceInfo> out;
  for (const auto& [slot, c] : by_slot_) out.push_back({c->def, {}});
  std::sort(out.begin(), out.end(), [](const ExperienceInfo& a, const ExperienceInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<ExperienceInfo> Decider::Get(std::string_view slot) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_slot_.find(std::string(slot));
  if (it == by_slot_.end()) {
    return absl::NotFoundError(fmt::format("no experience for slot \"{}\"", slot));
  }
  return ExperienceInfo{it->second->def, {}};
}

Decider::~Decider() {
  {
    absl::MutexLock lock(&exposures_mu_);
    stopping_ = true;
  }
  if (exposure_submitter_.joinable()) exposure_submitter_.join();
  FlushExposures();
  // The submissions' callbacks use this decider: wait for them (the worker keeps order).
  worker_->SubmitAndWait({}).IgnoreError();
}

void Decider::SubmitExposuresLoop() {
  pthread_setname_np(pthread_self(), "exposures");
  auto held_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(exposures_mu_) {
    return stopping_ || !held_exposures_.empty();
  };
  while (true) {
    {
      absl::MutexLock lock(&exposures_mu_);
      // Asleep while there is nothing to submit; then gathers for kExposureDelay.
      exposures_mu_.Await(absl::Condition(&held_or_stopping));
      exposures_mu_.AwaitWithTimeout(absl::Condition(&stopping_), kExposureDelay);
      if (stopping_) return;
    }
    FlushExposures();
  }
}

void Decider::FlushExposures() {
  absl::MutexLock submitting(&submit_mu_);
  std::vector<Message> exposures;
  std::vector<uint64_t> hashes;
  {
    absl::MutexLock lock(&exposures_mu_);
    exposures.swap(held_exposures_);
    hashes.swap(held_hashes_);
  }
  if (exposures.empty()) return;
  worker_->Submit(
      std::move(exposures),
      [this, hashes = std::move(hashes)](absl::StatusOr<IngestResult> result) {
        if (!result.ok()) {
          spdlog::warn("exposures not recorded: {}", result.status().ToString());
        }
        // Applied to the profile now, or failed: a later decision may record them again.
        absl::MutexLock lock(&exposures_mu_);
        for (uint64_t h : hashes) exposures_in_flight_.erase(h);
      },
      // Nobody waits for them: an fsync each would cost more than the decisions.
      Acknowledge::kWhenWritten);
}

absl::StatusOr<std::vector<Decision>> Decider::Decide(DecideRequest request) {
  if (request.user_id.empty() && request.anonymous_id.empty()) {
    return absl::InvalidArgumentError("userId or anonymousId: one is required");
  }
  if (request.slots.empty()) return absl::InvalidArgumentError("slots: at least one slot");
  std::vector<std::shared_ptr<const Compiled>> experiences;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (size_t i = 0; i < request.slots.size(); ++i) {
      auto it = by_slot_.find(request.slots[i]);
      if (it == by_slot_.end()) {
        return absl::InvalidArgumentError(
            fmt::format("slots[{}]: no experience for slot \"{}\"", i, request.slots[i]));
      }
      experiences.push_back(it->second);
    }
  }
  const std::string visitor =
      !request.user_id.empty() ? "u:" + request.user_id : "a:" + request.anonymous_id;
  const absl::Time at = clock_->Now();
  const Millis now = ToMillis(at);
  std::vector<Decision> out;
  std::vector<Message> exposures;
  std::vector<uint64_t> exposure_hashes;
  // Records an exposure, called only for one the profile does not have, unless the same one
  // is on its way to the worker (`dedup` names it: visitor, slot or experiment, variation);
  // `properties` builds its JSON.
  auto expose = [&](std::string event, const std::string& dedup, auto properties) {
    const uint64_t h = XXH64(dedup.data(), dedup.size(), 0);
    {
      absl::MutexLock lock(&exposures_mu_);
      if (!exposures_in_flight_.insert(h).second) return;
    }
    exposure_hashes.push_back(h);
    Message m;
    m.type = MessageType::kTrack;
    m.user_id = request.user_id;
    m.anonymous_id = request.anonymous_id;
    m.event = std::move(event);
    m.properties = properties();
    m.message_id = "exposure-" + Hex64(h);
    // Deduplicated here, against the profile and what is in flight: the worker need not
    // look the id up in the store.
    m.check_message_id = false;
    m.timestamp = m.received_at = at;
    exposures.push_back(std::move(m));
  };
  worker_->ReadProfiles([&](const ProfileTable& profiles) {
    // The visitor's contact, from the in-memory identity graph (0: unknown, a new visitor).
    ContactId contact = 0;
    if (!request.user_id.empty()) {
      contact = worker_->FindIdentity(IdentityKind::kUser, request.user_id).value_or(0);
    }
    if (contact == 0 && !request.anonymous_id.empty()) {
      contact = worker_->FindIdentity(IdentityKind::kAnonymous, request.anonymous_id).value_or(0);
    }
    bool is_new = true;
    if (const ContactState* s = profiles.contact(contact); s != nullptr && !s->events.empty()) {
      is_new = profiles.event_time(s->events.front()) > now - kVisitLength;
    }
    request.visit.Set("new", Value::Bool(is_new));
    auto visit = [&](const Node& n) -> Scalar {
      const Value* v = request.visit.Find(n.name);
      return v != nullptr ? ScalarOf(*v) : Scalar();
    };
    for (const auto& c : experiences) {
      const ExperienceDefinition& def = c->def;
      Decision d;
      d.slot = def.slot;
      d.variation = "default";
      d.payload = def.default_payload;
      if (def.is_experiment()) {
        d.experiment = def.experiment;
        if (c->audience != nullptr &&
            !engine_->conditions().MatchesNow(*c->audience, profiles, contact, now,
                                              c->audience_overall, visit)) {
          d.reason = "not in the experiment's audience: the default, no exposure";
          out.push_back(std::move(d));
          continue;
        }
        std::string arm = ExistingArm(profiles, contact, def.experiment);
        const bool exposed_before = !arm.empty();
        if (exposed_before) {
          d.reason = fmt::format("assigned to \"{}\" at its first exposure", arm);
        } else {
          const double bucket = ExperimentBucket(visitor, def.experiment);
          double edge = def.control;
          arm = "control";
          if (bucket >= edge) {
            for (const auto& [name, percent] : def.allocation) {
              arm = name;
              edge += percent;
              if (bucket < edge) break;
            }
          }
          d.reason = fmt::format("bucket {:.2f} of 100 falls in \"{}\"", bucket, arm);
        }
        d.variation = arm;
        for (const Variation& v : def.variations) {
          if (v.name == arm) d.payload = v.payload;
        }
        if (arm == "control") d.payload = def.default_payload;
        if (!exposed_before) {
          expose("Experiment Viewed", visitor + "|" + def.experiment + "|" + arm, [&] {
            JsonWriter w;
            w.BeginObject().Field("experiment_id", def.experiment).Field("variation_id", arm);
            return w.Field("slot", def.slot).EndObject().Take();
          });
        }
        d.exposed = true;
        out.push_back(std::move(d));
        continue;
      }
      d.reason = "no variation's condition holds: the default";
      for (size_t i = 0; i < def.variations.size(); ++i) {
        const auto& plan = c->plans[i];
        if (plan != nullptr && !engine_->conditions().MatchesNow(*plan, profiles, contact, now,
                                                                 c->overall[i], visit)) {
          continue;
        }
        d.variation = def.variations[i].name;
        d.payload = def.variations[i].payload;
        d.reason = c->reasons[i];
        break;
      }
      if (!FindEvent(profiles, contact, "Experience Viewed",
                     {{"slot", def.slot}, {"variation", d.variation}}, "slot")) {
        expose("Experience Viewed", visitor + "|" + def.slot + "|" + d.variation, [&] {
          JsonWriter w;
          w.BeginObject().Field("slot", def.slot).Field("variation", d.variation).EndObject();
          return w.Take();
        });
      }
      d.exposed = true;
      out.push_back(std::move(d));
    }
  });
  if (!exposures.empty()) {
    absl::MutexLock lock(&exposures_mu_);
    for (Message& m : exposures) held_exposures_.push_back(std::move(m));
    held_hashes_.insert(held_hashes_.end(), exposure_hashes.begin(), exposure_hashes.end());
  }
  return out;
}

}  // namespace segmenta

namespace segmenta {

absl::Status Decider::PutTemplate(EmailTemplate t) {
  SEGMENTA_RETURN_IF_ERROR(CheckEmailTemplate(t));
  t.updated_ms = ToMillis(clock_->Now());
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(Family::kMeta), std::string(kEmailKeyPrefix) + t.name, t.Encode());
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  templates_[t.name] = std::move(t);
  return absl::OkStatus();
}

absl::StatusOr<EmailTemplate> Decider::GetTemplate(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = templates_.find(std::string(name));
  if (it == templates_.end()) {
    return absl::NotFoundError(fmt::format("no e-mail template \"{}\"", name));
  }
  return it->second;
}

absl::Status Decider::DeleteTemplate(std::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = templates_.find(std::string(name));
  if (it == templates_.end()) {
    return absl::NotFoundError(fmt::format("no e-mail template \"{}\"", name));
  }
  rocksdb::WriteBatch batch;
  batch.Delete(store_->handle(Family::kMeta), std::string(kEmailKeyPrefix) + it->first);
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  templates_.erase(it);
  return absl::OkStatus();
}

std::vector<EmailTemplate> Decider::ListTemplates() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<EmailTemplate> out;
  for (const auto& [name, t] : templates_) out.push_back(t);
  std::sort(out.begin(), out.end(),
            [](const EmailTemplate& a, const EmailTemplate& b) { return a.name < b.name; });
  return out;
}

absl::StatusOr<Decider::RenderedFor> Decider::Render(const EmailTemplate& t,
                                                     const Contact& contact) const {
  if (Unsubscribed(contact)) {
    return absl::FailedPreconditionError(
        fmt::format("contact {} unsubscribed from e-mail", contact.id));
  }
  RenderedFor out;
  out.contact = contact.id;
  if (auto it = contact.traits.find("email"); it != contact.traits.end()) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(it->second.json);
    std::string_view email;
    if (parser.parse(padded).get(email) == simdjson::SUCCESS) out.email = std::string(email);
  }
  EmailContext context;
  context.contact = &contact;
  std::optional<Account> account;
  if (!contact.accounts.empty()) {
    if (auto a = reader_.FindAccount(contact.accounts.front()); a.ok()) account = *std::move(a);
  }
  if (account) context.account = &account->traits;
  ContactScores scores = engine_->scores().Of(contact.id);
  context.persona = scores.persona;
  context.stage = scores.stage;
  context.audiences = engine_->groups().Of(contact.id);
  if (!scores.persona.empty()) context.audiences.push_back(scores.persona);
  if (!scores.stage.empty()) context.audiences.push_back(scores.stage);
  SEGMENTA_ASSIGN_OR_RETURN(out.email_content, RenderEmail(t, context));
  return out;
}

absl::StatusOr<Decider::RenderedFor> Decider::RenderFor(std::string_view name,
                                                        std::string_view contact) const {
  SEGMENTA_ASSIGN_OR_RETURN(EmailTemplate t, GetTemplate(name));
  SEGMENTA_ASSIGN_OR_RETURN(Contact c, reader_.Find(contact));
  return Render(t, c);
}

absl::Status Decider::RenderAudience(std::string_view name, AudienceKind kind,
                                     std::string_view audience,
                                     const std::function<void(const RenderedFor&)>& rendered,
                                     std::vector<Skipped>* skipped) const {
  SEGMENTA_ASSIGN_OR_RETURN(EmailTemplate t, GetTemplate(name));
  SEGMENTA_ASSIGN_OR_RETURN(Roaring members, engine_->audiences().Bitmap(kind, audience));
  for (uint32_t id : members) {
    absl::StatusOr<Contact> c = reader_.FindById(id);
    if (!c.ok()) continue;  // erased since
    absl::StatusOr<RenderedFor> r = Render(t, *c);
    if (!r.ok()) {
      skipped->push_back({id, std::string(r.status().message())});
      continue;
    }
    if (r->email.empty()) {
      skipped->push_back({id, "no e-mail address"});
      continue;
    }
    rendered(*r);
  }
  return absl::OkStatus();
}

}  // namespace segmenta
