// A strict RFC 8259 JSON reader for tests: bulwarkc's JSON and SARIF output must be
// valid JSON, not merely something a lenient parser accepts.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::test {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<JsonValue> object;  // members in document order, each with its `key`
  std::string key;                // set on object members

  bool isObject() const { return kind == Kind::Object; }
  bool isArray() const { return kind == Kind::Array; }
  bool isString() const { return kind == Kind::String; }
  bool isNumber() const { return kind == Kind::Number; }
  // Member lookup; nullptr when absent or not an object.
  const JsonValue *get(std::string_view key) const;
  // Dotted path through objects, with [N] for array elements: "runs[0].tool.driver.name".
  const JsonValue *at(std::string_view path) const;
};

// nullopt with *error ("offset N: why") when `text` is not exactly one JSON value
// (surrounding whitespace allowed). Duplicate object keys are an error.
std::optional<JsonValue> parseJson(std::string_view text, std::string *error);

} // namespace bulwark::test
