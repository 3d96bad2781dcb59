// A minimal JSON writer: enough for diagnostics, SARIF and `inspect`. Keys keep the
// order they are written in, so output is stable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

std::string jsonEscape(std::string_view s);
void jsonEscapeTo(std::string &out, std::string_view s);  // appends s escaped

class JsonWriter {
public:
  explicit JsonWriter(bool pretty = true) : pretty_(pretty), out_(own_) {}
  // Appends to `into` instead (compact): a reader writes many events into one buffer.
  explicit JsonWriter(std::string &into) : pretty_(false), out_(into) {}
  JsonWriter(const JsonWriter &) = delete;
  JsonWriter &operator=(const JsonWriter &) = delete;
  JsonWriter &beginObject();
  JsonWriter &endObject();
  JsonWriter &beginArray();
  JsonWriter &endArray();
  JsonWriter &key(std::string_view k);
  JsonWriter &value(std::string_view v);
  JsonWriter &value(const char *v) { return value(std::string_view(v)); }
  JsonWriter &value(int64_t v);
  JsonWriter &value(uint64_t v);
  JsonWriter &value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter &value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  JsonWriter &value(bool v);
  JsonWriter &null();
  JsonWriter &strings(const std::vector<std::string> &v);  // an array of strings
  const std::string &str() const { return out_; }

private:
  void separate();
  void newline();
  bool pretty_;
  std::string own_;
  std::string &out_;
  int depth_ = 0;
  bool first_ = true;
  bool afterKey_ = false;
};

} // namespace bulwark
