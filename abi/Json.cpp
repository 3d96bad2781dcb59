#include "Json.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace bulwark {

namespace {
// True if one of the 8 bytes of w is a control character, '"' or '\\' (the bytes JSON escapes),
// or has its top bit set (then the byte-wise check decides): eight bytes per test.
inline __attribute__((always_inline)) bool mayNeedEscape(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  auto hasZero = [&](uint64_t x) { return ((x - ones) & ~x & high) != 0; };
  return ((w - ones * 0x20) & high) || hasZero(w ^ (ones * '"')) || hasZero(w ^ (ones * '\\'));
}

// Where the first word of s from i on (8 bytes; the last one padded with spaces) that may need
// an escape starts, or s.size(): most values need none, and are then copied in one piece.
size_t plainUpTo(std::string_view s, size_t i) {
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (mayNeedEscape(w))
      return i;
  }
  if (i == s.size())
    return i;
  uint64_t w = 0x2020202020202020ull;
  std::memcpy(&w, s.data() + i, s.size() - i);
  return mayNeedEscape(w) ? i : s.size();
}
} // namespace

// Appends in place, without a temporary string per value: events are written at ring-buffer
// rates.
void jsonEscapeTo(std::string &out, std::string_view s) {
  size_t i = 0, plain = 0;
  while ((i = plainUpTo(s, i)) < s.size()) {
    for (size_t end = std::min(i + 8, s.size()); i < end;) {  // the flagged word, byte by byte
      unsigned char c = static_cast<unsigned char>(s[i++]);
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      out.append(s.data() + plain, i - 1 - plain);
      plain = i;
      switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(u, sizeof u);
      }
      }
    }
  }
  out.append(s.data() + plain, s.size() - plain);
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  jsonEscapeTo(out, s);
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
  out_ += '"';
  jsonEscapeTo(out_, k);
  out_ += pretty_ ? "\": " : "\":";
  afterKey_ = true;
  return *this;
}
JsonWriter &JsonWriter::value(std::string_view v) {
  separate();
  out_ += '"';
  jsonEscapeTo(out_, v);
  out_ += '"';
  return *this;
}
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
