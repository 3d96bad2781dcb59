// A policy test's event field as written in YAML → ir::Value, by the field's type. Used by
// `bulwarkc test` (PolicyTests.cpp) and by the back end's kernel-case planner (tests/backend).
//   ints: 42   strings/paths: /etc/shadow   ip: 10.0.0.1   bool: true
//   enums/flags: O_WRONLY, O_WRONLY|O_CREAT, [O_WRONLY, O_CREAT], or a number
#pragma once

#include "Catalogue.h"
#include "PolicyIr.h"

#include <yaml-cpp/yaml.h>

#include <stdexcept>

namespace bulwark {

// A value that does not fit its field; line and column (1-based) of the YAML node.
struct EventValueError : std::runtime_error {
  EventValueError(const YAML::Node &n, const std::string &msg)
      : std::runtime_error(msg), line(n.Mark().line + 1), column(n.Mark().column + 1) {}
  int line, column;
};

ir::Value eventFieldValue(const FieldInfo &field, const YAML::Node &value);

} // namespace bulwark
