#include "server/api.h"

#include "fmt/format.h"

namespace segmenta {

Api::Api(Store* store, Worker* worker, KeyRing* keys, GroupEngine* groups, Limits limits,
         Clock* clock, Decider* decider)
    : tracking_(worker, keys, limits, clock),
      admin_(store, worker, keys, clock),
      groups_(store, groups, keys, &jobs_),
      personas_(store, worker, groups, keys, &jobs_),
      experiments_(worker, keys, clock),
      decide_(decider, keys, clock) {}

void Api::Handle(const HttpRequest& request, Responder respond) {
  std::string_view path = request.path;
  if (DecideApi::Serves(path)) return decide_.Handle(request, std::move(respond));
  if (path.substr(0, 4) == "/v1/") return tracking_.Handle(request, std::move(respond));
  if (ExperimentsApi::Serves(path)) return experiments_.Handle(request, std::move(respond));
  if (PersonasApi::Serves(path)) return personas_.Handle(request, std::move(respond));
  if (GroupsApi::Serves(path)) return groups_.Handle(request, std::move(respond));
  if (path.substr(0, 5) == "/api/" || path == "/api" || path == "/health") {
    return admin_.Handle(request, std::move(respond));
  }
  respond(ErrorResponse(404, "not_found", fmt::format("no route {}", path)));
}

}  // namespace segmenta
