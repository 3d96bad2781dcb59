#include "GlobPattern.h"

namespace bulwark::ir {

namespace {
std::bitset<256> allBut(std::initializer_list<unsigned char> except) {
  std::bitset<256> s;
  s.set();
  s.reset(0);
  for (auto c : except)
    s.reset(c);
  return s;
}
} // namespace

std::optional<std::vector<GlobToken>> parseGlob(std::string_view p, std::string *error) {
  std::vector<GlobToken> out;
  auto fail = [&](const char *msg) -> std::optional<std::vector<GlobToken>> {
    if (error)
      *error = msg;
    return std::nullopt;
  };
  for (size_t i = 0; i < p.size();) {
    unsigned char c = p[i];
    GlobToken t;
    if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        if (i + 2 < p.size() && p[i + 2] == '/') {
          t.kind = GlobToken::Kind::DirStar;
          t.set = allBut({});
          i += 3;
        } else {
          t.kind = GlobToken::Kind::Star;
          t.set = allBut({});
          i += 2;
        }
        while (i < p.size() && p[i] == '*' && t.kind == GlobToken::Kind::Star)
          ++i; // "***" is "**"
      } else {
        t.kind = GlobToken::Kind::Star;
        t.set = allBut({'/'});
        ++i;
      }
    } else if (c == '?') {
      t.set = allBut({'/'});
      ++i;
    } else if (c == '[') {
      size_t j = i + 1;
      bool neg = false;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
        neg = true;
        ++j;
      }
      std::bitset<256> set;
      bool first = true;
      while (j < p.size() && (p[j] != ']' || first)) {
        unsigned char lo = p[j];
        if (lo == '\\' && j + 1 < p.size())
          lo = p[++j];
        unsigned char hi = lo;
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          hi = p[j + 2];
          if (hi == '\\' && j + 3 < p.size()) {
            hi = p[j + 3];
            ++j;
          }
          j += 2;
        }
        for (unsigned v = lo; v <= hi; ++v)
          set.set(v);
        ++j;
        first = false;
      }
      if (j >= p.size())
        return fail("unterminated '[' in glob");
      if (neg)
        set.flip();
      set.reset(0);
      set.reset('/');
      t.set = set;
      i = j + 1;
    } else if (c == '\\') {
      if (i + 1 >= p.size())
        return fail("trailing '\\' in glob");
      t.set.set(static_cast<unsigned char>(p[i + 1]));
      i += 2;
    } else {
      t.set.set(c);
      ++i;
    }
    out.push_back(t);
  }
  return out;
}

bool globMatch(const std::vector<GlobToken> &toks, std::string_view s) {
  // reach[j] = token prefix matched up to s[0..j) ... iterate tokens, keep a set of
  // reachable string positions.
  std::vector<char> cur(s.size() + 1, 0), next(s.size() + 1, 0);
  cur[0] = 1;
  for (const auto &t : toks) {
    std::fill(next.begin(), next.end(), 0);
    switch (t.kind) {
    case GlobToken::Kind::One:
      for (size_t j = 0; j < s.size(); ++j)
        if (cur[j] && t.set.test(static_cast<unsigned char>(s[j])))
          next[j + 1] = 1;
      break;
    case GlobToken::Kind::Star:
      for (size_t j = 0; j <= s.size(); ++j) {
        if (cur[j] || (j > 0 && next[j - 1] && t.set.test(static_cast<unsigned char>(s[j - 1]))))
          next[j] = 1;
      }
      break;
    case GlobToken::Kind::DirStar: {
      // zero dirs, or from a reachable j, any end k > j with s[k-1] == '/'
      bool seen = false;
      for (size_t k = 0; k <= s.size(); ++k) {
        if (cur[k])
          next[k] = 1;
        if (k > 0 && seen && s[k - 1] == '/')
          next[k] = 1;
        if (cur[k])
          seen = true;
        if (k < s.size() && s[k] == '\0')
          seen = false;
      }
      break;
    }
    }
    std::swap(cur, next);
  }
  return cur[s.size()] != 0;
}

bool globMatch(std::string_view pattern, std::string_view s) {
  auto t = parseGlob(pattern);
  return t && globMatch(*t, s);
}

} // namespace bulwark::ir
