#include "Formatter.h"

#include <algorithm>

namespace bulwark {

std::string escapeString(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    default: out += c;
    }
  }
  return out + "\"";
}

namespace {

class Printer {
public:
  Printer(const SourceFile &src, const ast::File &file, const FormatOptions &opts) : src_(src), file_(file), opts_(opts) {}

  std::string run() {
    for (const auto &imp : file_.imports) {
      beginItem(imp.loc, false);
      line("import " + imp.module, imp.loc);
    }
    bool first = file_.imports.empty();
    bool lastWasPolicy = false;
    for (const auto &item : file_.items) {
      // Policies are always set apart by a blank line, and so are imports from what follows.
      bool isPolicy = item.kind == ast::TopItem::Kind::Policy;
      beginItem(item.loc(), !first && (isPolicy || lastWasPolicy || lastLineIsImport_));
      if (isPolicy) printPolicy(*item.policy);
      else printDecl(*item.decl);
      lastWasPolicy = isPolicy;
      first = false;
    }
    flushComments(UINT32_MAX, 0);
    while (!out_.empty() && out_.back() == '\n') out_.pop_back();
    return out_.empty() ? out_ : out_ + "\n";
  }

private:
  bool atBlankOrOpen() const {
    return out_.empty() || (out_.size() >= 2 && (out_[out_.size() - 2] == '\n' || out_[out_.size() - 2] == '{' || out_[out_.size() - 2] == '['));
  }

  // Own-line comments before `offset` go above the next item; a comment on the same
  // source line as the previous code is appended to the previous output line.
  void flushComments(uint32_t offset, int indent) {
    while (nextComment_ < file_.comments.size() && file_.comments[nextComment_].loc.offset < offset) {
      const auto &c = file_.comments[nextComment_++];
      std::string text = c.text;
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.pop_back();
      if (c.loc.line == lastCodeLine_ && !out_.empty()) {
        out_.pop_back();  // the newline
        out_ += "  " + text + "\n";
        continue;
      }
      if (pendingBlank(c.loc.line)) out_ += "\n";
      out_ += std::string(static_cast<size_t>(indent) * 2, ' ') + text + "\n";
      lastSourceLine_ = c.loc.line;
      lastCodeLine_ = 0;
    }
  }

  // A blank line in the source between the previous code and `line` is kept (one at most).
  bool pendingBlank(uint32_t line) const {
    if (lastSourceLine_ == 0 || atBlankOrOpen()) return false;
    for (uint32_t l = lastSourceLine_ + 1; l < line; ++l) {
      auto t = src_.lineText(l);
      if (t.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    }
    return false;
  }

  // Blank line (forced, or kept from the source), then the comments that lead the item.
  void beginItem(const SourceLoc &loc, bool forceBlank) {
    flushTrailingComment();
    if (forceBlank && !atBlankOrOpen()) out_ += "\n";
    flushComments(loc.offset, indent_);
    if (pendingBlank(loc.line)) out_ += "\n";
  }

  // A comment on the same source line as the code just printed stays on that line.
  void flushTrailingComment() {
    if (nextComment_ < file_.comments.size() && file_.comments[nextComment_].loc.line == lastCodeLine_ && lastCodeLine_ != 0)
      flushComments(file_.comments[nextComment_].loc.offset + 1, indent_);
  }

  void line(const std::string &text, const SourceLoc &loc, uint32_t endSourceLine = 0) {
    out_ += std::string(static_cast<size_t>(indent_) * 2, ' ') + text + "\n";
    lastSourceLine_ = endSourceLine ? endSourceLine : loc.line;
    lastCodeLine_ = lastSourceLine_;
    lastLineIsImport_ = text.rfind("import ", 0) == 0;
  }

  uint32_t endLine(const SourceLoc &loc) const { return src_.locAt(loc.offset + (loc.length ? loc.length - 1 : 0)).line; }

  void printPolicy(const ast::PolicyDecl &p) {
    line("policy " + p.name + " {", p.loc);
    ++indent_;
    bool first = true;
    for (const auto &item : p.items) {
      // Rules are always set apart by a blank line.
      beginItem(item.loc, !first && item.kind == ast::PolicyItem::Kind::Rule);
      first = false;
      switch (item.kind) {
      case ast::PolicyItem::Kind::Description: line("description " + escapeString(item.value), item.loc); break;
      case ast::PolicyItem::Kind::Mode: line("mode " + item.value, item.loc); break;
      case ast::PolicyItem::Kind::Default: line("default " + item.value, item.loc); break;
      case ast::PolicyItem::Kind::Scope: {
        std::string s = "scope " + item.scope->kind;
        for (size_t i = 0; i < item.scope->values.size(); ++i) s += (i ? ", " : " ") + escapeString(item.scope->values[i].first);
        line(s, item.loc, endLine(item.loc));
        break;
      }
      case ast::PolicyItem::Kind::Decl: printDecl(*item.decl); break;
      case ast::PolicyItem::Kind::Rule: printRule(*item.rule); break;
      }
    }
    flushTrailingComment();
    flushComments(p.endLoc.offset, indent_);
    --indent_;
    line("}", p.endLoc);
  }

  void printDecl(const ast::Decl &d) {
    switch (d.kind) {
    case ast::Decl::Kind::List: {
      const auto &l = *d.list;
      std::string head = "list " + l.name + (l.typeName ? ": " + *l.typeName : "") + " = ";
      printList(head, *l.value, l.loc);
      break;
    }
    case ast::Decl::Kind::Macro: line("macro " + d.macro->name + " = " + expr(*d.macro->value), d.macro->loc, endLine(d.macro->loc)); break;
    case ast::Decl::Kind::Const: {
      const auto &c = *d.constant;
      line("const " + c.name + (c.typeName ? ": " + *c.typeName : "") + " = " + expr(*c.value), c.loc, endLine(c.loc));
      break;
    }
    }
  }

  bool hasCommentsWithin(const SourceLoc &loc) const {
    for (size_t i = nextComment_; i < file_.comments.size(); ++i) {
      uint32_t off = file_.comments[i].loc.offset;
      if (off >= loc.offset && off < loc.offset + loc.length) return true;
    }
    return false;
  }

  void printList(const std::string &head, const ast::Expr &list, const SourceLoc &declLoc) {
    std::string oneLine = head + expr(list);
    bool wasMultiLine = endLine(list.loc) != list.loc.line;
    if (static_cast<size_t>(indent_) * 2 + oneLine.size() <= opts_.maxWidth && !hasCommentsWithin(list.loc) && !(wasMultiLine && list.kids.size() > 1)) {
      line(oneLine, declLoc, endLine(declLoc));
      return;
    }
    line(head + "[", declLoc);
    ++indent_;
    for (const auto &k : list.kids) {
      flushComments(k->loc.offset, indent_);
      line(expr(*k) + ",", k->loc, endLine(k->loc));
    }
    SourceLoc close = src_.locAt(list.loc.offset + list.loc.length - 1);
    flushComments(close.offset, indent_);
    --indent_;
    line("]", close);
  }

  void printRule(const ast::RuleDecl &r) {
    line("rule " + r.name + " {", r.loc);
    ++indent_;
    beginItem(r.hookLoc, false);
    line("on " + (r.hook == "kprobe" ? "kprobe " + escapeString(r.kprobeFunction) : r.hook), r.hookLoc);
    if (r.when) {
      flushComments(r.when->loc.offset, indent_);
      printWhen(*r.when);
    }
    // The verb and the marks, in source order (comments stay where they were).
    std::vector<std::pair<uint32_t, const ast::MarkClause *>> effects;
    if (r.hasAction) effects.push_back({r.actionLoc.offset, nullptr});
    for (const auto &m : r.marks) effects.push_back({m.loc.offset, &m});
    std::sort(effects.begin(), effects.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &[offset, mark] : effects) {
      flushComments(offset, indent_);
      if (mark) {
        line(markText(*mark), mark->loc);
        continue;
      }
      std::string action = ast::actionSpelling(r.action);
      if (r.message) action += " " + escapeString(*r.message);
      line(action, r.actionLoc, r.message ? r.messageLoc.line : 0);
    }
    SourceLoc close = src_.locAt(r.loc.offset + r.loc.length - 1);
    flushComments(close.offset, indent_);
    --indent_;
    line("}", close);
  }

  static std::string markText(const ast::MarkClause &m) {
    std::string t = "mark " + m.who + " " + escapeString(m.name);
    if (m.amount) t += " for " + *m.amount + m.unit;
    if (m.until) t += " until " + *m.until;
    return t;
  }

  // Long conditions break before each top-level `and`/`or` of the outermost chain.
  void printWhen(const ast::Expr &e) {
    std::string one = "when " + expr(e);
    if (static_cast<size_t>(indent_) * 2 + one.size() <= opts_.maxWidth || e.kind != ast::ExprKind::Binary ||
        (e.op != ast::BinaryOp::And && e.op != ast::BinaryOp::Or)) {
      line(one, e.loc, endLine(e.loc));
      return;
    }
    std::vector<const ast::Expr *> operands;
    collectChain(e, e.op, operands);
    line("when " + expr(*operands[0]), e.loc);
    ++indent_;
    for (size_t i = 1; i < operands.size(); ++i)
      line(std::string(ast::binaryOpSpelling(e.op)) + " " + expr(*operands[i]), operands[i]->loc, endLine(operands[i]->loc));
    --indent_;
  }

  static void collectChain(const ast::Expr &e, ast::BinaryOp op, std::vector<const ast::Expr *> &out) {
    if (e.kind == ast::ExprKind::Binary && e.op == op) {
      collectChain(*e.kids[0], op, out);
      collectChain(*e.kids[1], op, out);
    } else {
      out.push_back(&e);
    }
  }

  std::string expr(const ast::Expr &e) const {
    switch (e.kind) {
    case ast::ExprKind::Name: return e.text;
    case ast::ExprKind::String: return escapeString(e.text);
    case ast::ExprKind::Int: return e.text;
    case ast::ExprKind::Bool: return e.text;
    case ast::ExprKind::Addr: return e.text;
    case ast::ExprKind::Paren: return "(" + expr(*e.kids[0]) + ")";
    case ast::ExprKind::Not: return "not " + expr(*e.kids[0]);
    case ast::ExprKind::List: {
      std::string s = "[";
      for (size_t i = 0; i < e.kids.size(); ++i) s += (i ? ", " : "") + expr(*e.kids[i]);
      return s + "]";
    }
    case ast::ExprKind::Binary: return expr(*e.kids[0]) + " " + ast::binaryOpSpelling(e.op) + " " + expr(*e.kids[1]);
    }
    return {};
  }

  const SourceFile &src_;
  const ast::File &file_;
  const FormatOptions &opts_;
  std::string out_;
  int indent_ = 0;
  size_t nextComment_ = 0;
  uint32_t lastSourceLine_ = 0;
  uint32_t lastCodeLine_ = 0;
  bool lastLineIsImport_ = false;
};

} // namespace

std::string formatFile(const SourceFile &src, const ast::File &file, const FormatOptions &opts) {
  return Printer(src, file, opts).run();
}

} // namespace bulwark
