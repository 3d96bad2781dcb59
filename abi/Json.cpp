#include "Json.h"

#include <cstdio>

namespace bulwark {

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out;
}

void JsonWriter::newline() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(static_cast<size_t>(depth_) * 2, ' ');
}

void JsonWriter::separate() {
  if (afterKey_) { afterKey_ = false; return; }
  if (!first_) out_ += ',';
  if (depth_ > 0) newline();
  first_ = false;
}

JsonWriter &JsonWriter::beginObject() { separate(); out_ += '{'; ++depth_; first_ = true; return *this; }
JsonWriter &JsonWriter::beginArray() { separate(); out_ += '['; ++depth_; first_ = true; return *this; }
JsonWriter &JsonWriter::endObject() {
  --depth_;
  if (!first_) newline();
  out_ += '}';
  first_ = false;
  return *this;
}
JsonWriter &JsonWriter::endArray() {
  --depth_;
  if (!first_) newline();
  out_ += ']';
  first_ = false;
  return *this;
}
JsonWriter &JsonWriter::key(std::string_view k) {
  separate();
  out_ += '"' + jsonEscape(k) + (pretty_ ? "\": " : "\":");
  afterKey_ = true;
  return *this;
}
JsonWriter &JsonWriter::value(std::string_view v) { separate(); out_ += '"' + jsonEscape(v) + '"'; return *this; }
JsonWriter &JsonWriter::value(int64_t v) { separate(); out_ += std::to_string(v); return *this; }
JsonWriter &JsonWriter::value(uint64_t v) { separate(); out_ += std::to_string(v); return *this; }
JsonWriter &JsonWriter::value(bool v) { separate(); out_ += v ? "true" : "false"; return *this; }
JsonWriter &JsonWriter::null() { separate(); out_ += "null"; return *this; }
JsonWriter &JsonWriter::strings(const std::vector<std::string> &v) {
  beginArray();
  for (const auto &s : v)
    value(s);
  return endArray();
}

} // namespace bulwark
