#include "tests/golden/golden_system.h"

#include "core/status.h"
#include "profile/contact_reader.h"
#include "rocksdb/utilities/checkpoint.h"

namespace segmenta::golden {

absl::StatusOr<std::unique_ptr<GoldenSystem>> GoldenSystem::Start(const std::string& dir,
                                                                  absl::Time now) {
  std::unique_ptr<GoldenSystem> system(new GoldenSystem(now));
  SEGMENTA_RETURN_IF_ERROR(system->Open(dir));
  return system;
}

absl::Status GoldenSystem::Open(const std::string& dir) {
  SEGMENTA_ASSIGN_OR_RETURN(store_, Store::Open(dir));
  SEGMENTA_ASSIGN_OR_RETURN(worker_, Worker::Start(store_.get(), {}, &clock_));
  SEGMENTA_ASSIGN_OR_RETURN(engine_, AudienceEngine::Start(store_.get(), worker_.get(), &clock_));
  return absl::OkStatus();
}

GoldenSystem::~GoldenSystem() {
  decider_.reset();  // hands its held exposures to the worker, which still runs
  engine_.reset();
  worker_.reset();
  store_.reset();
}

absl::StatusOr<std::unique_ptr<GoldenSystem>> GoldenSystem::Recomputed(
    const std::string& dir) const {
  // Everything submitted so far is in the store before the checkpoint.
  worker_->Drain();
  rocksdb::Checkpoint* checkpoint = nullptr;
  SEGMENTA_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(store_->db(), &checkpoint), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> owned(checkpoint);
  SEGMENTA_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint"));
  std::unique_ptr<GoldenSystem> copy(new GoldenSystem(clock_.Now()));
  SEGMENTA_RETURN_IF_ERROR(copy->Open(dir));
  SEGMENTA_RETURN_IF_ERROR(copy->worker_->RunDueTimers());
  return copy;
}

absl::StatusOr<Decider*> GoldenSystem::decider() {
  if (decider_ == nullptr) {
    SEGMENTA_ASSIGN_OR_RETURN(decider_,
                              Decider::Start(store_.get(), worker_.get(), engine_.get(), &clock_));
  }
  return decider_.get();
}

std::optional<ContactId> GoldenSystem::Find(std::string_view name) const {
  return worker_->ReadProfiles([&](const ProfileTable&) {
    std::optional<ContactId> id = worker_->FindIdentity(IdentityKind::kUser, name);
    return id ? id : worker_->FindIdentity(IdentityKind::kAnonymous, name);
  });
}

std::string GoldenSystem::NameOf(ContactId id) const {
  auto contact = ContactReader(store_.get()).FindById(id);
  if (contact.ok()) {
    for (IdentityKind kind : {IdentityKind::kUser, IdentityKind::kAnonymous}) {
      for (const Identity& identity : contact->identities) {
        if (identity.kind == kind) return identity.value;
      }
    }
  }
  return "#" + std::to_string(id);
}

}  // namespace segmenta::golden
