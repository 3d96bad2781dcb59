#include "Parser.h"

#include "BulwarkLexer.h"
#include "BulwarkParser.h"

#include <antlr4-runtime.h>

#include <charconv>
#include <cstdio>

namespace bulwark {

using grammar::BulwarkLexer;
using grammar::BulwarkParser;

bool unescapeString(std::string_view body, std::string *out, size_t *badOffset) {
  out->clear();
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    char n = i + 1 < body.size() ? body[i + 1] : '\0';
    switch (n) {
    case '\\': out->push_back('\\'); break;
    case '"': out->push_back('"'); break;
    case 'n': out->push_back('\n'); break;
    case 't': out->push_back('\t'); break;
    default:
      *badOffset = i;
      return false;
    }
    ++i;
  }
  return true;
}

namespace {

// ANTLR counts code points; diagnostics count bytes. Maps one to the other.
class OffsetMap {
public:
  explicit OffsetMap(const std::string &text) {
    bool ascii = true;
    for (unsigned char c : text)
      if (c >= 0x80) { ascii = false; break; }
    if (ascii) return;
    for (size_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
        cpToByte_.push_back(static_cast<uint32_t>(i));
    cpToByte_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byteOffset(size_t cp) const {
    if (cpToByte_.empty()) return static_cast<uint32_t>(cp);
    return cp < cpToByte_.size() ? cpToByte_[cp] : cpToByte_.back();
  }

private:
  std::vector<uint32_t> cpToByte_;
};

// ANTLR's input: the text as code points, decoded here in one pass into a buffer of the exact
// size (ANTLR's own decoder grows its buffer several times over, about five times the text's
// size at its peak). The text is valid UTF-8 (checkUtf8 replaced every bad byte).
class CodePointStream : public antlr4::ANTLRInputStream {
public:
  explicit CodePointStream(const std::string &text) {
    size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    _data.resize(n);
    size_t at = 0;
    for (size_t i = 0; i < text.size();) {
      auto c = static_cast<unsigned char>(text[i]);
      size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      char32_t cp = len == 1 ? c : c & (0x7F >> len);
      for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = cp << 6 | (text[i + k] & 0x3F);
      _data[at++] = cp;
      i += len;
    }
  }
};

// The message TopLevelErrorStrategy hands to the listener for skipped top-level input.
const std::string kStrayTopLevel = "stray input at top level";

std::string describeToken(const antlr4::dfa::Vocabulary &vocab, size_t type) {
  switch (type) {
  case antlr4::Token::EOF: return "end of file";
  case BulwarkLexer::IDENT: return "a name";
  case BulwarkLexer::STRING: return "a string";
  case BulwarkLexer::INT: return "a number";
  case BulwarkLexer::CIDR: return "a CIDR";
  case BulwarkLexer::IPV4:
  case BulwarkLexer::IPV6: return "an address";
  default: return std::string(vocab.getDisplayName(type));
  }
}

class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  SyntaxErrorListener(const SourceFile &src, FileId id, const OffsetMap &map, DiagnosticEngine &diags)
      : src_(src), id_(id), map_(map), diags_(diags) {}

  void syntaxError(antlr4::Recognizer *recognizer, antlr4::Token *offending, size_t line, size_t col,
                   const std::string &antlrMsg, std::exception_ptr) override {
    ++count;
    SourceLoc loc;
    std::string found;
    if (offending) {
      uint32_t begin = map_.byteOffset(offending->getStartIndex());
      uint32_t end = offending->getType() == antlr4::Token::EOF ? begin : map_.byteOffset(offending->getStopIndex() + 1);
      loc = src_.locAt(begin, end > begin ? end - begin : 1);
      found = offending->getType() == antlr4::Token::EOF ? "end of file" : "'" + offending->getText() + "'";
    } else {
      // Lexer error: the position comes as line/col (code points; good enough for ASCII).
      loc.line = static_cast<uint32_t>(line);
      loc.column = static_cast<uint32_t>(col) + 1;
      loc.length = 1;
    }
    loc.file = id_;
    std::string msg;
    auto *parser = dynamic_cast<antlr4::Parser *>(recognizer);
    if (offending && offending->getType() == BulwarkLexer::ERROR_CHAR) {
      msg = "unexpected character " + found;
    } else if (antlrMsg == kStrayTopLevel) {
      msg = "unexpected " + found + "; expected 'policy', 'list', 'macro', 'const' or 'import'";
    } else if (parser) {
      msg = "unexpected " + found;
      auto expected = parser->getExpectedTokens();
      // During recovery the expected set can include what was found; then it says nothing.
      bool useful = offending && !expected.contains(offending->getType());
      if (useful && !expected.isEmpty() && expected.size() <= 6) {
        std::vector<std::string> names;
        for (auto t : expected.toList())
          names.push_back(describeToken(parser->getVocabulary(), t));
        msg += "; expected ";
        for (size_t i = 0; i < names.size(); ++i)
          msg += (i ? (i + 1 == names.size() ? " or " : ", ") : "") + names[i];
      } else if (antlrMsg.rfind("missing", 0) == 0) {
        msg = antlrMsg;
      }
    } else {
      msg = antlrMsg;
    }
    diags_.report(DiagId::E0001, loc, msg);
  }

  size_t count = 0;

private:
  const SourceFile &src_;
  FileId id_;
  const OffsetMap &map_;
  DiagnosticEngine &diags_;
};

// ANTLR's default recovery at the entry of the file's top-level loop throws and then skips
// to the end of the file, hiding every later error. At file level, skip only the stray
// tokens, up to the next token that can start a declaration, reporting them once.
class TopLevelErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  void sync(antlr4::Parser *recognizer) override {
    if (!dynamic_cast<BulwarkParser::FileContext *>(recognizer->getContext()) || inErrorRecoveryMode(recognizer)) {
      DefaultErrorStrategy::sync(recognizer);
      return;
    }
    size_t la = recognizer->getInputStream()->LA(1);
    antlr4::misc::IntervalSet expecting = recognizer->getExpectedTokens();
    if (la == antlr4::Token::EOF || expecting.contains(la)) return;
    beginErrorCondition(recognizer);
    recognizer->notifyErrorListeners(recognizer->getCurrentToken(), kStrayTopLevel, nullptr);
    consumeUntil(recognizer, expecting);
    endErrorCondition(recognizer);
  }
};

class AstBuilder {
public:
  AstBuilder(const SourceFile &src, FileId id, const OffsetMap &map, DiagnosticEngine &diags)
      : src_(src), id_(id), map_(map), diags_(diags) {}

  SourceLoc loc(antlr4::Token *t) const {
    if (!t) return {};
    uint32_t begin = map_.byteOffset(t->getStartIndex());
    uint32_t end = map_.byteOffset(t->getStopIndex() + 1);
    SourceLoc l = src_.locAt(begin, end > begin ? end - begin : 1);
    l.file = id_;
    return l;
  }
  SourceLoc loc(antlr4::tree::TerminalNode *n) const { return n ? loc(n->getSymbol()) : SourceLoc{}; }
  SourceLoc loc(antlr4::ParserRuleContext *c) const {
    if (!c || !c->getStart()) return {};
    auto *stop = c->getStop() ? c->getStop() : c->getStart();
    uint32_t begin = map_.byteOffset(c->getStart()->getStartIndex());
    uint32_t end = map_.byteOffset(stop->getStopIndex() + 1);
    SourceLoc l = src_.locAt(begin, end > begin ? end - begin : 1);
    l.file = id_;
    return l;
  }

  static bool present(antlr4::tree::TerminalNode *n) {
    return n && n->getSymbol() && n->getSymbol()->getTokenIndex() != static_cast<size_t>(-1) &&
           n->getText().rfind("<missing", 0) != 0;
  }

  std::string stringValue(antlr4::tree::TerminalNode *n, std::string *raw = nullptr) {
    std::string text = n->getText();
    if (raw) *raw = text;
    if (text.size() < 2) return {};
    std::string out;
    size_t bad = 0;
    std::string_view body(text.data() + 1, text.size() - 2);
    if (!unescapeString(body, &out, &bad)) {
      SourceLoc l = loc(n);
      l.offset += static_cast<uint32_t>(bad + 1);
      l.column += static_cast<uint32_t>(bad + 1);
      l.length = 2;
      diags_.report(DiagId::E0018, l, "unknown escape sequence '\\" + std::string(1, body[bad + 1 < body.size() ? bad + 1 : bad]) + "'");
    }
    return out;
  }

  std::unique_ptr<ast::File> build(BulwarkParser::FileContext *ctx) {
    auto file = std::make_unique<ast::File>();
    file->id = id_;
    for (auto *imp : ctx->importDecl()) {
      if (!imp->qualifiedName()) continue;
      ast::Import i;
      i.module = imp->qualifiedName()->getText();
      i.loc = loc(imp);
      i.moduleLoc = loc(imp->qualifiedName());
      file->imports.push_back(std::move(i));
    }
    for (auto *top : ctx->topDecl()) {
      ast::TopItem item;
      if (top->ruleDecl()) {
        diags_.report(DiagId::E0001, loc(top->ruleDecl()->RULE()), "a rule belongs inside a policy { ... }");
        ++strayErrors;
        continue;
      }
      if (top->importDecl()) {
        diags_.report(DiagId::E0001, loc(top->importDecl()), "imports come before declarations and policies");
        ++strayErrors;
        continue;
      }
      if (top->policyDecl()) {
        item.kind = ast::TopItem::Kind::Policy;
        item.policy = policy(top->policyDecl());
        if (!item.policy) continue;
      } else if (auto d = decl(top->listDecl(), top->macroDecl(), top->constDecl())) {
        item.kind = ast::TopItem::Kind::Decl;
        item.decl = std::move(d);
      } else {
        continue;
      }
      file->items.push_back(std::move(item));
    }
    return file;
  }

private:
  std::unique_ptr<ast::Decl> decl(BulwarkParser::ListDeclContext *l, BulwarkParser::MacroDeclContext *m,
                                  BulwarkParser::ConstDeclContext *c) {
    auto d = std::make_unique<ast::Decl>();
    if (l) {
      if (!present(l->IDENT()) || !l->listLiteral()) return nullptr;
      d->kind = ast::Decl::Kind::List;
      d->list = std::make_unique<ast::ListDecl>();
      d->list->name = l->IDENT()->getText();
      d->list->loc = loc(l);
      d->list->nameLoc = loc(l->IDENT());
      if (l->typeName() && present(l->typeName()->IDENT())) {
        d->list->typeName = l->typeName()->getText();
        d->list->typeLoc = loc(l->typeName());
      }
      d->list->value = listLiteral(l->listLiteral());
      return d;
    }
    if (m) {
      if (!present(m->IDENT()) || !m->expr()) return nullptr;
      d->kind = ast::Decl::Kind::Macro;
      d->macro = std::make_unique<ast::MacroDecl>();
      d->macro->name = m->IDENT()->getText();
      d->macro->loc = loc(m);
      d->macro->nameLoc = loc(m->IDENT());
      d->macro->value = expr(m->expr());
      return d->macro->value ? std::move(d) : nullptr;
    }
    if (c) {
      if (!present(c->IDENT()) || !c->expr()) return nullptr;
      d->kind = ast::Decl::Kind::Const;
      d->constant = std::make_unique<ast::ConstDecl>();
      d->constant->name = c->IDENT()->getText();
      d->constant->loc = loc(c);
      d->constant->nameLoc = loc(c->IDENT());
      if (c->typeName() && present(c->typeName()->IDENT())) {
        d->constant->typeName = c->typeName()->getText();
        d->constant->typeLoc = loc(c->typeName());
      }
      d->constant->value = expr(c->expr());
      return d->constant->value ? std::move(d) : nullptr;
    }
    return nullptr;
  }

  std::unique_ptr<ast::PolicyDecl> policy(BulwarkParser::PolicyDeclContext *ctx) {
    if (!present(ctx->IDENT())) return nullptr;
    auto p = std::make_unique<ast::PolicyDecl>();
    p->name = ctx->IDENT()->getText();
    p->loc = loc(ctx);
    p->nameLoc = loc(ctx->IDENT());
    p->endLoc = loc(ctx->RBRACE());
    for (auto *it : ctx->policyItem()) {
      ast::PolicyItem item;
      item.loc = loc(it);
      if (auto *d = dynamic_cast<BulwarkParser::DescriptionItemContext *>(it)) {
        if (!present(d->STRING())) continue;
        item.kind = ast::PolicyItem::Kind::Description;
        item.value = stringValue(d->STRING(), &item.raw);
        item.valueLoc = loc(d->STRING());
      } else if (auto *m = dynamic_cast<BulwarkParser::ModeItemContext *>(it)) {
        if (!m->value) continue;
        item.kind = ast::PolicyItem::Kind::Mode;
        item.value = m->value->getText();
        item.valueLoc = loc(m->value);
      } else if (auto *df = dynamic_cast<BulwarkParser::DefaultItemContext *>(it)) {
        if (!df->action) continue;
        item.kind = ast::PolicyItem::Kind::Default;
        item.value = df->action->getText();
        item.valueLoc = loc(df->action);
      } else if (auto *s = dynamic_cast<BulwarkParser::ScopeItemContext *>(it)) {
        auto *spec = s->scopeSpec();
        if (!spec || !present(spec->IDENT())) continue;
        item.kind = ast::PolicyItem::Kind::Scope;
        item.scope = std::make_unique<ast::Scope>();
        item.scope->kind = spec->IDENT()->getText();
        item.scope->loc = loc(s);
        item.scope->kindLoc = loc(spec->IDENT());
        for (auto *str : spec->STRING())
          if (present(str)) item.scope->values.emplace_back(stringValue(str), loc(str));
      } else if (auto *li = dynamic_cast<BulwarkParser::ListItemContext *>(it)) {
        item.kind = ast::PolicyItem::Kind::Decl;
        item.decl = decl(li->listDecl(), nullptr, nullptr);
        if (!item.decl) continue;
      } else if (auto *mi = dynamic_cast<BulwarkParser::MacroItemContext *>(it)) {
        item.kind = ast::PolicyItem::Kind::Decl;
        item.decl = decl(nullptr, mi->macroDecl(), nullptr);
        if (!item.decl) continue;
      } else if (auto *ci = dynamic_cast<BulwarkParser::ConstItemContext *>(it)) {
        item.kind = ast::PolicyItem::Kind::Decl;
        item.decl = decl(nullptr, nullptr, ci->constDecl());
        if (!item.decl) continue;
      } else if (auto *ri = dynamic_cast<BulwarkParser::RuleItemContext *>(it)) {
        item.kind = ast::PolicyItem::Kind::Rule;
        item.rule = rule(ri->ruleDecl());
        if (!item.rule) continue;
      } else {
        continue;
      }
      p->items.push_back(std::move(item));
    }
    return p;
  }

  std::unique_ptr<ast::RuleDecl> rule(BulwarkParser::RuleDeclContext *ctx) {
    if (!ctx || !present(ctx->IDENT()) || !ctx->hookRef())
      return nullptr;
    auto r = std::make_unique<ast::RuleDecl>();
    r->name = ctx->IDENT()->getText();
    r->loc = loc(ctx);
    r->nameLoc = loc(ctx->IDENT());
    if (auto *k = dynamic_cast<BulwarkParser::KprobeHookContext *>(ctx->hookRef())) {
      if (!present(k->STRING())) return nullptr;
      r->hook = "kprobe";
      r->kprobeFunction = stringValue(k->STRING());
      r->hookLoc = loc(k);
    } else if (auto *n = dynamic_cast<BulwarkParser::NamedHookContext *>(ctx->hookRef())) {
      if (!n->qualifiedName()) return nullptr;
      r->hook = n->qualifiedName()->getText();
      r->hookLoc = loc(n->qualifiedName());
    }
    if (ctx->WHEN()) {
      if (!ctx->expr()) return nullptr;
      r->when = expr(ctx->expr());
      if (!r->when) return nullptr;
    }
    return effects(ctx, std::move(r));
  }

  // An effect the parser matched (not one it gave up on: its verb is then whatever token was there).
  static bool parsedEffect(BulwarkParser::RuleEffectContext *e) {
    if (e->exception || !e->verb || e->verb->getTokenIndex() == static_cast<size_t>(-1)) return false;
    switch (e->verb->getType()) {
    case BulwarkParser::ALLOW: case BulwarkParser::DENY: case BulwarkParser::AUDIT: case BulwarkParser::KILL:
    case BulwarkParser::MARK: return true;
    default: return false;
    }
  }

  // The verb (at most one) and the marks of a rule. The grammar lets every effect take every
  // part; what a verb takes is checked here (E0001).
  std::unique_ptr<ast::RuleDecl> effects(BulwarkParser::RuleDeclContext *ctx, std::unique_ptr<ast::RuleDecl> r) {
    BulwarkParser::RuleEffectContext *action = nullptr;
    for (auto *e : ctx->ruleEffect()) {
      if (!parsedEffect(e)) return nullptr;  // reported by the parser
      if (e->verb->getType() == BulwarkParser::MARK) {
        if (!e->who || !present(e->STRING())) {
          auto &d = diags_.report(DiagId::E0001, loc(e), "a mark names whom it marks and the mark");
          d.help = "write 'mark process \"name\"' (or 'mark parent \"name\"')";
          return nullptr;
        }
        r->marks.push_back(markClause(e));
        continue;
      }
      if (e->who || e->FOR() || e->UNTIL()) {
        auto *extra = e->who ? e->who : e->FOR() ? e->FOR()->getSymbol() : e->UNTIL()->getSymbol();
        auto &d = diags_.report(DiagId::E0001, loc(extra), "'" + e->verb->getText() + "' takes only a message");
        d.help = "'for' and 'until' belong to a mark: 'mark process \"name\" for 10m'";
        return nullptr;
      }
      if (action) {
        auto &d = diags_.report(DiagId::E0001, loc(e->verb), "a rule has one action; this is its second");
        d.notes.push_back({loc(action->verb), "the first action is here"});
        return nullptr;
      }
      action = e;
    }
    r->hasAction = action != nullptr;
    if (!action)
      return r->marks.empty() ? nullptr : std::move(r);
    std::string verb = action->verb->getText();
    r->action = verb == "allow" ? ast::ActionKind::Allow
                : verb == "deny" ? ast::ActionKind::Deny
                : verb == "audit" ? ast::ActionKind::Audit
                                  : ast::ActionKind::Kill;
    r->actionLoc = loc(action->verb);
    if (present(action->STRING())) {
      r->message = stringValue(action->STRING(), &r->messageRaw);
      r->messageLoc = loc(action->STRING());
    }
    return r;
  }

  ast::MarkClause markClause(BulwarkParser::RuleEffectContext *m) {
    ast::MarkClause c;
    c.loc = loc(m);
    c.who = m->who->getText();
    c.whoLoc = loc(m->who);
    c.name = stringValue(m->STRING());
    c.nameLoc = loc(m->STRING());
    if (m->amount && m->unit) {
      c.amount = m->amount->getText();
      c.unit = m->unit->getText();
      c.durationLoc = loc(m->amount);
      SourceLoc unit = loc(m->unit);
      c.durationLoc.length = unit.offset + unit.length - c.durationLoc.offset;
    }
    if (m->until) {
      c.until = m->until->getText();
      c.untilLoc = loc(m->until);
    }
    return c;
  }

  ast::ExprPtr make(ast::ExprKind k, SourceLoc l) {
    auto e = std::make_unique<ast::Expr>();
    e->kind = k;
    e->loc = l;
    return e;
  }

  ast::ExprPtr listLiteral(BulwarkParser::ListLiteralContext *ctx) {
    auto e = make(ast::ExprKind::List, loc(ctx));
    for (auto *x : ctx->expr())
      if (auto k = expr(x)) e->kids.push_back(std::move(k));
    return e;
  }

  ast::ExprPtr expr(BulwarkParser::ExprContext *ctx) {
    if (!ctx) return nullptr;
    if (auto *n = dynamic_cast<BulwarkParser::NotExprContext *>(ctx)) {
      auto inner = expr(n->expr());
      if (!inner) return nullptr;
      auto e = make(ast::ExprKind::Not, loc(ctx));
      e->opLoc = loc(n->NOT());
      e->kids.push_back(std::move(inner));
      return e;
    }
    if (auto *p = dynamic_cast<BulwarkParser::PrimaryExprContext *>(ctx)) return primary(p->primary());
    antlr4::Token *opTok = nullptr;
    std::vector<BulwarkParser::ExprContext *> sides;
    ast::BinaryOp op = ast::BinaryOp::Eq;
    if (auto *c = dynamic_cast<BulwarkParser::CompareExprContext *>(ctx)) {
      opTok = c->op;
      sides = c->expr();
    } else if (auto *m = dynamic_cast<BulwarkParser::MemberExprContext *>(ctx)) {
      opTok = m->op;
      sides = m->expr();
    } else if (auto *a = dynamic_cast<BulwarkParser::AndExprContext *>(ctx)) {
      opTok = a->AND()->getSymbol();
      sides = a->expr();
    } else if (auto *o = dynamic_cast<BulwarkParser::OrExprContext *>(ctx)) {
      opTok = o->OR()->getSymbol();
      sides = o->expr();
    }
    if (!opTok || sides.size() != 2) return nullptr;
    switch (opTok->getType()) {
    case BulwarkLexer::EQ: op = ast::BinaryOp::Eq; break;
    case BulwarkLexer::NE: op = ast::BinaryOp::Ne; break;
    case BulwarkLexer::LT: op = ast::BinaryOp::Lt; break;
    case BulwarkLexer::LE: op = ast::BinaryOp::Le; break;
    case BulwarkLexer::GT: op = ast::BinaryOp::Gt; break;
    case BulwarkLexer::GE: op = ast::BinaryOp::Ge; break;
    case BulwarkLexer::IN: op = ast::BinaryOp::In; break;
    case BulwarkLexer::STARTSWITH: op = ast::BinaryOp::StartsWith; break;
    case BulwarkLexer::ENDSWITH: op = ast::BinaryOp::EndsWith; break;
    case BulwarkLexer::MATCHES: op = ast::BinaryOp::Matches; break;
    case BulwarkLexer::HAS: op = ast::BinaryOp::Has; break;
    case BulwarkLexer::AND: op = ast::BinaryOp::And; break;
    case BulwarkLexer::OR: op = ast::BinaryOp::Or; break;
    default: return nullptr;
    }
    auto lhs = expr(sides[0]);
    auto rhs = expr(sides[1]);
    if (!lhs || !rhs) return nullptr;
    auto e = make(ast::ExprKind::Binary, loc(ctx));
    e->op = op;
    e->opLoc = loc(opTok);
    e->kids.push_back(std::move(lhs));
    e->kids.push_back(std::move(rhs));
    return e;
  }

  ast::ExprPtr primary(BulwarkParser::PrimaryContext *ctx) {
    if (!ctx) return nullptr;
    if (auto *p = dynamic_cast<BulwarkParser::ParenPrimaryContext *>(ctx)) {
      auto inner = expr(p->expr());
      if (!inner) return nullptr;
      auto e = make(ast::ExprKind::Paren, loc(ctx));
      e->kids.push_back(std::move(inner));
      return e;
    }
    if (auto *l = dynamic_cast<BulwarkParser::ListPrimaryContext *>(ctx)) return listLiteral(l->listLiteral());
    if (auto *s = dynamic_cast<BulwarkParser::StringPrimaryContext *>(ctx)) {
      if (!present(s->STRING())) return nullptr;
      auto e = make(ast::ExprKind::String, loc(ctx));
      e->text = stringValue(s->STRING(), &e->raw);
      return e;
    }
    if (auto *i = dynamic_cast<BulwarkParser::IntPrimaryContext *>(ctx)) {
      if (!present(i->INT())) return nullptr;
      auto e = make(ast::ExprKind::Int, loc(ctx));
      e->text = i->INT()->getText();
      int base = 10;
      std::string_view digits = e->text;
      bool negative = !digits.empty() && digits[0] == '-';
      if (negative) digits.remove_prefix(1);
      if (digits.rfind("0x", 0) == 0) { base = 16; digits.remove_prefix(2); }
      else if (digits.rfind("0o", 0) == 0) { base = 8; digits.remove_prefix(2); }
      uint64_t magnitude = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
      const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
      if (ec != std::errc() || ptr != digits.data() + digits.size() || magnitude > limit)
        diags_.report(DiagId::E0018, e->loc, "integer literal '" + e->text + "' does not fit in 64 bits");
      else
        e->intValue = negative ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
      return e;
    }
    if (dynamic_cast<BulwarkParser::AddrPrimaryContext *>(ctx)) {
      auto e = make(ast::ExprKind::Addr, loc(ctx));
      e->text = ctx->getText();
      return e;
    }
    if (dynamic_cast<BulwarkParser::BoolPrimaryContext *>(ctx)) {
      auto e = make(ast::ExprKind::Bool, loc(ctx));
      e->text = ctx->getText();
      e->intValue = e->text == "true";
      return e;
    }
    if (auto *n = dynamic_cast<BulwarkParser::NamePrimaryContext *>(ctx)) {
      if (!n->qualifiedName()) return nullptr;
      if (!present(n->qualifiedName()->IDENT())) return nullptr;
      for (auto *part : n->qualifiedName()->nameAfterDot())
        if (part->getText().rfind("<missing", 0) == 0) return nullptr;
      auto e = make(ast::ExprKind::Name, loc(ctx));
      e->text = n->qualifiedName()->getText();
      return e;
    }
    return nullptr;
  }

  const SourceFile &src_;
  FileId id_;
  const OffsetMap &map_;
  DiagnosticEngine &diags_;

public:
  size_t strayErrors = 0;
};

} // namespace

// Bulwark files are UTF-8. Each byte of an invalid sequence is reported once per run and
// replaced by '?' in the copy the lexer reads, so offsets stay the same and parsing goes on
// (ANTLR's UTF-8 decoder would throw).
std::string checkUtf8(const SourceFile &src, FileId id, DiagnosticEngine &diags) {
  std::string text = src.text();
  bool inBadRun = false;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size() && !(c == 0xC0 || c == 0xC1 || c > 0xF4);
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && len > 2) {
      // RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF.
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 > 0x9F) && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 > 0x8F);
    }
    if (ok) {
      i += len;
      inBadRun = false;
      continue;
    }
    if (!inBadRun) {
      SourceLoc loc = src.locAt(static_cast<uint32_t>(i));
      loc.file = id;
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      diags.report(DiagId::E0001, loc, std::string("invalid UTF-8 byte ") + hex + "; Bulwark files are UTF-8");
    }
    inBadRun = true;
    text[i++] = '?';
  }
  return text;
}

std::unique_ptr<ast::File> parseFile(const SourceManager &sm, FileId id, DiagnosticEngine &diags) {
  const SourceFile &src = sm.file(id);
  size_t errorsBefore = diags.errorCount();
  std::string text = checkUtf8(src, id, diags);
  bool badUtf8 = diags.errorCount() != errorsBefore;
  OffsetMap map(text);
  CodePointStream input(text);
  BulwarkLexer lexer(&input);
  SyntaxErrorListener listener(src, id, map, diags);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  BulwarkParser parser(&tokens);
  parser.setErrorHandler(std::make_shared<TopLevelErrorStrategy>());
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  auto *tree = parser.file();

  AstBuilder builder(src, id, map, diags);
  auto file = builder.build(tree);
  file->hasSyntaxErrors = listener.count > 0 || builder.strayErrors > 0 || badUtf8;

  // Comments are on the hidden channel; the formatter re-attaches them by position.
  for (auto *tok : tokens.getTokens()) {
    if (tok->getType() != BulwarkLexer::COMMENT) continue;
    ast::Comment c;
    c.loc = builder.loc(tok);
    c.text = tok->getText();
    file->comments.push_back(std::move(c));
  }
  return file;
}

} // namespace bulwark
