// What conditions read of the audience engine's nodes: the schema they compile against
// (every node's key with the keys it uses, so that cycles are refused), the members that
// `in group "…"` tests, and the computed values (score("…"), persona, stage; lang/computed.h)
// that conditions read: a use of one reads the node keyed ComputedKey(word, name).
#pragma once

#include <string>
#include <string_view>

#include "eval/evaluator.h"
#include "lang/compiler.h"
#include "lang/computed.h"
#include "profile/profile_table.h"

namespace segmenta {

class AudienceNode;
class DefinitionGraph;

// The keys of the nodes that publish the built-in computed values: a score's
// (ComputedKey("score", NAME)), the persona assignment's and the lifecycle stages'.
std::string ScoreNodeKey(std::string_view score_name);
inline constexpr std::string_view kPersonaNodeKey = "persona:";
inline constexpr std::string_view kStageNodeKey = "stage:";

// The data's names (eval/schema.h), every node's key with what it uses, and the kinds of
// computed values the nodes publish.
// REQUIRES: the caller holds the profile table for reading.
Schema SchemaFor(const DefinitionGraph& graph, const ProfileTable& profiles);

// The node whose value `reference` (a computed value of a plan) reads; null when it does
// not exist or `reference` is not a computed value.
const AudienceNode* ComputedValueSource(const DefinitionGraph& graph, const Node& reference);
// The value `reference` reads for `contact`: null when there is none.
Scalar ComputedValueOf(const DefinitionGraph& graph, const Node& reference, ContactId contact);

// Points env->group_members and env->derived at `graph` when `plan` reads other nodes (the
// graph must outlive the evaluation).
void BindReads(const DefinitionGraph& graph, const Plan& plan, EvalEnv* env);

}  // namespace segmenta
