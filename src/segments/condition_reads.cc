#include "segments/condition_reads.h"

#include "core/string_view.h"
#include "eval/schema.h"
#include "segments/audience_node.h"
#include "segments/definition_graph.h"

namespace segmenta {

std::string ScoreNodeKey(std::string_view score_name) { return ComputedKey("score", score_name); }

Schema SchemaFor(const DefinitionGraph& graph, const ProfileTable& profiles) {
  Schema schema = SchemaOf(profiles);
  for (size_t i = 0; i < graph.size(); ++i) {
    const AudienceNode& node = graph.node(i);
    schema.definitions[node.names().key] = node.uses();
    // The kinds of computed values nodes publish (the built-in ones are there already).
    const ComputedKind* kind = node.PublishedKind();
    if (kind != nullptr && schema.computed.Find(kind->word) == nullptr) {
      schema.computed.Register(*kind);
    }
  }
  return schema;
}

const AudienceNode* ComputedValueSource(const DefinitionGraph& graph, const Node& reference) {
  if (reference.kind != NodeKind::kComputed) return nullptr;
  return graph.Find(ComputedKey(reference.computed_kind, reference.name));
}

Scalar ComputedValueOf(const DefinitionGraph& graph, const Node& reference, ContactId contact) {
  const AudienceNode* source = ComputedValueSource(graph, reference);
  return source == nullptr ? Scalar() : source->ComputedValue(contact);
}

void BindReads(const DefinitionGraph& graph, const Plan& plan, EvalEnv* env) {
  if (plan.definitions().empty()) return;
  env->group_members = [&graph](std::string_view key) -> const Roaring* {
    const AudienceNode* node = graph.Find(key);
    return node == nullptr ? nullptr : node->Members();
  };
  // The same reference is asked for every contact: remember the node it last named.
  env->derived = [&graph, last = static_cast<const Node*>(nullptr),
                  source = static_cast<const AudienceNode*>(nullptr)](
                     const Node& reference, ContactId contact) mutable -> Scalar {
    if (&reference != last) {
      last = &reference;
      source = ComputedValueSource(graph, reference);
    }
    return source == nullptr ? Scalar() : source->ComputedValue(contact);
  };
}

}  // namespace segmenta
