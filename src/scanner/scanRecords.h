// Records: export calls, namespace imports, file-scope definitions, uses inside asm, and the JSON they go out as.
#pragma once
#include <algorithm>
#include "scan.h"

namespace kx {

// `call NAME` / `jmp NAME` in a string literal that holds assembly,
// from s (after its quote) to e (its closing quote).
inline void Scan::asmStringUses(size_t s, size_t e, uint32_t ln) {
  for (size_t j = s; j + 5 < e; j++) {
    uint8_t c = buf[j];
    if (c != 'c' && c != 'j') continue;
    uint8_t before = j == s ? '"' : buf[j - 1];
    bool at = before == '"' || before == ';' || before == '\t' ||
              ((before == 't' || before == 'n') ? j >= 2 && buf[j - 2] == '\\' : before == ' ' && j >= s + 2 && buf[j - 2] == ':');
    if (!at) continue;
    size_t k = j;
    if (c == 'c' && buf[k + 1] == 'a' && buf[k + 2] == 'l' && buf[k + 3] == 'l') k += 4;
    else if (c == 'j' && buf[k + 1] == 'm' && buf[k + 2] == 'p') k += 3;
    else continue;
    if (buf[k] == 'q') k++;
    size_t gap = k;
    while (k < e && (buf[k] == ' ' || buf[k] == '\t' || (buf[k] == '\\' && buf[k + 1] == 't'))) k += buf[k] == '\\' ? 2 : 1;
    if (k == gap || k >= e || !isIdChar[buf[k]] || (buf[k] >= '0' && buf[k] <= '9')) continue;
    size_t from = k;
    while (k < e && isIdChar[buf[k]]) k++;
    uint32_t id = names.intern(buf + from, k - from, hashName(buf + from, k - from));
    if (inDefine) {
      if (proxyMode && defineCtx == 0) openMacroProxy();
      record(id, ln, defineCtx);
    } else {
      record(id, ln, ctx);
    }
    j = k;
  }
}

// `EXPORT_SYMBOL(name);` at the start of a string literal, s after its quote.
inline void Scan::printedExport(size_t s) {
  size_t j = s;
  while (j < n && isIdChar[buf[j]]) j++;
  if (buf[j] != '(') return;
  std::string macro((const char *)buf + s, j - s);
  if (!sh.exportNames.count(macro)) return;
  size_t open = j + 1;
  j = open;
  while (j < n && (isIdChar[buf[j]] || buf[j] == ',' || buf[j] == ' ' || buf[j] == '\t')) j++;
  size_t semi = j + 1;
  while (buf[semi] == ' ' || buf[semi] == '\t' || buf[semi] == '\r') semi++;
  if (buf[j] != ')' || buf[semi] != ';') return;
  // Identifiers between commas, blanks around them only.
  std::vector<std::string> args;
  for (size_t k = open; k <= j; k++) {
    size_t a = k;
    while (buf[a] == ' ' || buf[a] == '\t') a++;
    size_t e = a;
    while (isIdChar[buf[e]]) e++;
    k = e;
    while (buf[k] == ' ' || buf[k] == '\t') k++;
    if (e == a || cls[buf[a]] != C_IDSTART || (buf[k] != ',' && buf[k] != ')')) return;
    args.emplace_back((const char *)buf + a, e - a);
  }
  Export e;
  e.macro = macro;
  e.args = std::move(args);
  e.line = e.endLine = line;
  e.col = (uint32_t)(s - lineStartOf(s));
  e.endCol = e.col + (uint32_t)(j + 1 - s);
  e.cond = condPath();
  e.printed = true;
  exports.push_back(std::move(e));
}

inline size_t Scan::exportCall(uint32_t id, size_t s, size_t i) {
  uint32_t startLine = line;
  uint32_t col = (uint32_t)(s - lineStartOf(s));
  size_t j = skipBlank(i);
  if (buf[j] != '(') {
    prev = P_IDENT;
    return j;
  }
  Export e;
  e.args = parseArgs(j);
  size_t after = argsEnd;
  e.macro = names.name(id);
  e.line = startLine;
  e.col = col;
  e.endLine = line;
  e.endCol = (uint32_t)(after - lineStartOf(after > 0 ? after - 1 : 0));
  e.cond = condPath();
  if (hasNs) {
    e.hasNs = true;
    e.ns = fileNamespace;
    e.nsLine = fileNamespaceLine;
    e.late = fileNamespaceLate;
  }
  exports.push_back(std::move(e));
  prev = P_OTHER;
  if (brace == 0 && paren == 0) resetStmt();
  return after;
}

inline size_t Scan::importCall(size_t i) {
  size_t j = skipBlank(i);
  if (buf[j] != '(') return j;
  uint32_t ln = line;
  std::vector<std::string> args = parseArgs(j);
  imports.push_back({unquote(args.empty() ? std::string() : args[0]), ln});
  prev = P_OTHER;
  return argsEnd;
}

inline void Scan::fileScopeIdent(uint32_t id, uint8_t flags, size_t i) {
  fileScopeIdentInner(id, flags, i);
  prevStorage = (flags & F_STORAGE) != 0;
}

inline void Scan::fileScopeIdentInner(uint32_t id, uint8_t flags, size_t i) {
  if (id == sh.kStatic) stmtStatic = true;
  else if (id == sh.kExtern || id == sh.kTypedef) stmtSkip = true;
  else if (flags & F_AGGREGATE) stmtAggregate = true;
  if (stmtHasEq) {
    if (!stmtSkip) record(id, line, ctx);
  } else if ((prev == P_IDENT || prev == P_STAR) && !(flags & F_QUALIFIER) && !(prevStorage && buf[skipSpaces(i)] == '(')) {
    declId = id;
    declLine = line;
  } else if (prev == P_NONE || prev == P_OTHER || prevStorage) {
    size_t t = skipSpaces(i);
    if (buf[t] == '(' && !(flags & F_STORAGE)) {
      if (!stmtSkip) record(id, line, ctx);
      if (names.startsWith(id, "DECLARE_")) macroSkip = true;
      else if (names.startsWith(id, "DEFINE_") || names.endsWith(id, "_HEAD")) macroDefines = true;
      macroCallParen = 1;
    }
  }
}

inline size_t Scan::asmIdent(uint32_t id, size_t i) {
  if (buf[i] == ':' && brace == 0) {
    addDef(id, line, line, false, 3);
  } else {
    size_t t = skipSpaces(i);
    if (buf[t] == '(' && ((names.startsWith(id, "SYM_") && names.contains(id, "_START")) || names.is(id, "ENTRY") || names.is(id, "GLOBAL") || names.is(id, "SYM_FUNC_ALIAS"))) {
      std::vector<std::string> args = parseArgs(t);
      if (!args.empty() && isIdentifier(args[0])) addDef(names.intern(args[0]), line, line, false, 3);
      prev = P_OTHER;
      return argsEnd;
    }
    record(id, line, 0);
  }
  prev = P_IDENT;
  return i;
}

// The rare parts, as scanTypes.ts's FileScan, minus uses, proxies and lines (numbers in the batch's
// arrays): each record a JSON tuple, read back by wire.ts's toScan().
inline void Scan::json(Json &out) {
  bool keep = !exports.empty() || keepDefs;
  if (!exports.empty() && !ownHeaders.empty()) {
    includes.insert(includes.end(), ownHeaders.begin(), ownHeaders.end());
    std::stable_sort(includes.begin(), includes.end(), [](const Include &a, const Include &b) { return a.line < b.line; });
  }
  bool macros = (!exports.empty() || !includes.empty() || proxyMode) && !localMacros.empty();
  if (exports.empty() && !(keep && !defIds.empty()) && wrappers.empty() && imports.empty() && !macros && includes.empty()) {
    out.ch('0');
    return;
  }
  out.raw("{\"e\":[");
  for (size_t k = 0; k < exports.size(); k++) {
    const Export &e = exports[k];
    if (k) out.ch(',');
    if (e.printed) out.tuple(e.macro, e.args, e.line, e.col, e.endLine, e.endCol, e.cond, nullptr, 0, 0, 1);
    else if (e.hasNs) out.tuple(e.macro, e.args, e.line, e.col, e.endLine, e.endCol, e.cond, e.ns, e.nsLine, e.late ? 1 : 0);
    else out.tuple(e.macro, e.args, e.line, e.col, e.endLine, e.endCol, e.cond);
  }
  out.raw("],\"d\":[");
  // An index record keeps the definitions of the names its file's export calls name, and the index
  // reads only those; the editor's scans (keepDefs) want them all.
  std::unordered_set<std::string_view> exported;
  if (!keepDefs)
    for (const Export &e : exports)
      for (const std::string &a : e.args) exported.insert(a);
  bool first = true;
  for (size_t d = 0; keep && d < defIds.size(); d++) {
    std::string name = names.name(defIds[d]);
    if (!keepDefs && !exported.count(name)) continue;
    if (!first) out.ch(',');
    first = false;
    uint32_t ln = defMeta[d * 4], end = defMeta[d * 4 + 1];
    out.tuple(name, ln, end > ln ? end : ln, defMeta[d * 4 + 2], defMeta[d * 4 + 3]);
  }
  out.raw("],\"w\":[");
  for (size_t k = 0; k < wrappers.size(); k++) {
    if (k) out.ch(',');
    out.tuple(wrappers[k].name, wrappers[k].params, wrappers[k].line, wrappers[k].body, wrappers[k].undefLine);
  }
  out.raw("],\"i\":[");
  for (size_t k = 0; k < imports.size(); k++) {
    if (k) out.ch(',');
    out.tuple(imports[k].ns, imports[k].line);
  }
  out.raw("],\"m\":[");
  for (size_t k = 0; macros && k < localMacros.size(); k++) {
    const LocalMacro &m = localMacros[k];
    if (k) out.ch(',');
    if (m.hasParams) out.tuple(m.name, m.params, m.body, m.line);
    else out.tuple(m.name, nullptr, m.body, m.line);
  }
  out.raw("],\"n\":[");
  for (size_t k = 0; k < includes.size(); k++) {
    if (k) out.ch(',');
    out.tuple(includes[k].target, includes[k].system ? 1 : 0, includes[k].line, includes[k].col, includes[k].endCol);
  }
  out.raw("]}");
}

}  // namespace kx
