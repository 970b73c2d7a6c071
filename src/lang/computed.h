// Values that the audience engine computes for each contact and conditions read, such as
// score("Lead score"), persona and stage: one syntax for all of them, and a registry of
// their kinds, so that a new kind is a registration, not a change to the language.
// See docs/conditions.md, "Computed values".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace segmenta {

// A kind of computed value. Conditions write a use of it `word("name")` (score("Lead
// score"), later model("churn")), or, for the kinds without names, the bare `word`
// (persona, stage). Whatever its kind, a use reads the value of the definition keyed
// ComputedKey(word, name) in Schema::definitions, which lists the names defined now.
struct ComputedKind {
  // How conditions write it: an identifier in lower case ("score"), not a word of the
  // language. Written in any case in the text form, as here in the JSON form.
  std::string word;
  // True: written word("name"). False: the bare word, which then becomes a word of the
  // language (a trait of that name is written trait("…")); only built-in kinds are bare.
  bool named = true;
  // The type of its values; a contact without one reads as missing (null).
  ValueType type = ValueType::kNumber;
  // What it reads, in errors: "score or persona" gives `unknown score or persona "x"; did
  // you mean "y"?`. Default: the word.
  std::string noun;
  // The error for a use when none is defined (kinds without names): "no personas are
  // defined yet". Default: "no WORD is defined yet".
  std::string undefined;
  // What the text form expects after `word(`, in the error when it is not a string:
  // "the score's or persona's name in double quotes: score(\"Lead score\")". Built-in kinds
  // only (other words are a computed value only when a string follows).
  std::string usage;
};

// The kinds a Schema knows, by word. A value type: copied into each Schema.
class ComputedKinds {
 public:
  // No kinds.
  ComputedKinds() = default;

  // The kinds every Schema starts with: score (a number, named: the points of a score or a
  // persona), persona and stage (strings, bare). The parser knows these too, to read
  // their bare words and to word its errors. Thread-safe.
  static const ComputedKinds& BuiltIn();

  // Adds `kind`, replacing a kind with the same word.
  // REQUIRES: kind.word is a lower-case identifier, not a word of the language.
  void Register(ComputedKind kind);

  // The kind written `word` (lower case), or null.
  const ComputedKind* Find(std::string_view word) const;

  const std::vector<ComputedKind>& kinds() const { return kinds_; }

 private:
  std::vector<ComputedKind> kinds_;
};

// The key of a use of a computed value in Schema::definitions and Plan::definitions():
// "score:Lead score", "persona:" (a kind without names). A contact group's key is its name,
// with no colon. Thread-safe.
std::string ComputedKey(std::string_view word, std::string_view name);

// A key of Schema::definitions as conditions write what it names: a group's name as is,
// score("Lead score"), persona. Thread-safe.
std::string DependencyText(std::string_view key);

// The text that names a cycle of definitions in errors, each part of `path` (keys, the
// first and the last the same) as DependencyText writes it, the way conditions name it:
// "cycle between groups: A → B → A" when every part is a contact group, else "cycle of
// definitions: Hot leads → score("Lead score") → Hot leads". The compiler and the audience
// engine's graph name cycles only through it, so that a cycle reads the same whichever
// finds it. Thread-safe.
std::string CycleText(const std::vector<std::string>& path);

}  // namespace segmenta
