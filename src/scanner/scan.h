// The scanner's state machine over one file: its state, its small steps, and what it records.
#pragma once
#include <string>
#include <unordered_set>
#include <vector>
#include "common.h"
#include "names.h"
#include "text.h"
#include "wire.h"

namespace kx {

struct Export {
  std::string macro;
  std::vector<std::string> args;
  uint32_t line, col, endLine, endCol;
  std::string cond;
  bool hasNs = false;
  std::string ns;
  uint32_t nsLine = 0;
  bool late = false;
  bool printed = false;  // text in a string literal that a program prints (RawExport.printed)
};
struct Proxy {
  uint32_t line;
  bool isMacro;
  uint32_t id;  // the name's, sent as a wire number beside the uses (the batch's proxies)
};
struct Wrapper {
  std::string name;
  std::vector<std::string> params;
  uint32_t line;
  std::string body;
  int64_t undefLine = -1;
};
struct LocalMacro {
  std::string name;
  bool hasParams;
  std::vector<std::string> params;
  std::string body;
  uint32_t line;
};
struct Include {
  std::string target;
  bool system;
  uint32_t line, col, endCol;
};
struct Import {
  std::string ns;
  uint32_t line;
};

struct Shared {
  Names names;
  uint32_t stampNext = 1;
  uint32_t kStatic, kExtern, kTypedef, kDefine, kIf, kIfdef, kIfndef, kElif, kElse, kEndif, kUndef, kInclude;
  std::vector<uint32_t> sink;
  std::unordered_set<std::string> exportNames;  // for export calls printed in string literals

  uint32_t stamp() {
    if (stampNext >= 0xfffffff0u) {
      for (Entry &e : names.entries) e.seen = e.seenCtx = 0;
      stampNext = 1;
    }
    return stampNext++;
  }
};

struct Scan {
  const uint8_t *buf;
  size_t n;
  Shared &sh;
  Names &names;
  bool isAsm, proxyMode, keepDefs;
  uint32_t line = 1;
  size_t useCount = 0;
  uint32_t fileStamp, ctxStamp = 0;

  int brace = 0, paren = 0, prev = P_NONE, bodyKind = B_NONE;
  uint32_t ctx = 0;
  bool stmtStatic = false, stmtSkip = false, stmtAggregate = false, stmtHasEq = false;
  int64_t declId = -1;
  uint32_t declLine = 0;
  bool inParams = false;
  int paramsParen = 0;
  int64_t fnName = -1;
  uint32_t fnLine = 0;
  int64_t pendingFn = -1;
  uint32_t pendingFnLine = 0;
  int64_t fnDefIndex = -1;
  int macroCallParen = 0;
  bool macroDefines = false, macroSkip = false;
  size_t stmtDefStart = 0;
  bool prevStorage = false;
  int64_t altFnDef = -1;
  uint32_t altFnCtx = 0, altFnStamp = 0;

  std::vector<uint32_t> condIds, condBranch;
  std::vector<int> condBrace, condBraceAfterFirst;
  uint32_t condCounter = 0;
  bool hasNs = false;
  std::string fileNamespace;
  uint32_t fileNamespaceLine = 0;
  bool fileNamespaceLate = false;
  bool seenInclude = false;
  std::vector<LocalMacro> localMacros;
  std::vector<Include> includes;
  std::vector<Include> ownHeaders;  // #include "x.h", beside includes
  bool inDefine = false;
  uint32_t defineCtx = 0;
  bool defineHasParams = false;
  std::vector<uint32_t> defineParams;
  int definePrev = P_OTHER;
  bool defineHasExport = false;
  int64_t nextExport = -1;
  size_t exportSearchFrom = SIZE_MAX;
  size_t defineBodyStart = 0, defineNameStart = 0, defineNameEnd = 0;
  uint32_t defineLine = 0;
  std::vector<std::string> defineParamNames;
  bool defineIsNamespace = false;
  size_t argsEnd = 0;

  std::vector<Export> exports;
  std::vector<Proxy> proxies;
  std::vector<Wrapper> wrappers;
  std::vector<Import> imports;
  std::vector<uint32_t> defIds;
  std::vector<uint32_t> defMeta;

  Scan(const uint8_t *b, size_t len, Shared &s, bool asm_, bool proxies_, bool keep)
      : buf(b), n(len), sh(s), names(s.names), isAsm(asm_), proxyMode(proxies_), keepDefs(keep) {
    fileStamp = sh.stamp();
  }

  std::string latin1(size_t s, size_t e) const { return e > s ? std::string((const char *)buf + s, e - s) : std::string(); }

  size_t skipSpaces(size_t j) const {
    while (j < n && (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\r')) j++;
    return j;
  }

  bool nextIsPaste(size_t j) const {
    j = skipSpaces(j);
    return buf[j] == '#' && buf[j + 1] == '#';
  }

  bool isZeroCondition(size_t j) const {
    j = skipSpaces(j);
    while (buf[j] == '(') j = skipSpaces(j + 1);
    if (buf[j] != '0') return false;
    j++;
    while (buf[j] == ')') j++;
    j = skipSpaces(j);
    return j >= n || buf[j] == '\n' || buf[j] == '/';
  }

  bool startsWithAscii(size_t j, const char *w) const {
    size_t l = strlen(w);
    for (size_t k = 0; k < l; k++)
      if (j + k >= n + PAD || buf[j + k] != (uint8_t)w[k]) return false;
    return !isIdChar[buf[j + l]];
  }

  bool hasContinuation(size_t j) const {
    const uint8_t *nl = j < n ? findByte(buf + j, 10, n - j) : nullptr;
    size_t end = nl ? (size_t)(nl - buf) : n;
    if (end == 0) return false;
    size_t k = end - 1;
    if (buf[k] == '\r') {
      if (k == 0) return false;
      k--;
    }
    return buf[k] == '\\';
  }

  bool isPlainNumberBody(size_t j) const {
    j = skipSpaces(j);
    if (buf[j] == '(') j++;
    if (j >= n || cls[buf[j]] != C_DIGIT) return false;
    while (j < n && (isIdChar[buf[j]] || buf[j] == '.')) j++;
    if (buf[j] == ')') j++;
    j = skipSpaces(j);
    return j >= n || buf[j] == '\n' || (buf[j] == '/' && (buf[j + 1] == '*' || buf[j + 1] == '/') && !hasContinuation(j));
  }

  size_t lineStartOf(size_t j) const {
    while (j > 0 && buf[j - 1] != '\n') j--;
    return j;
  }

  void push(uint32_t id, uint32_t ln, uint32_t c) {
    std::vector<uint32_t> &sink = sh.sink;
    if (useCount + 3 > sink.size()) sink.resize((useCount + 3) * 2);
    sink[useCount] = id;
    sink[useCount + 1] = ln;
    sink[useCount + 2] = c;
    useCount += 3;
  }

  void record(uint32_t id, uint32_t ln, uint32_t c) {
    if (c == 0) {
      Entry &e = names.entries[id];
      if (e.seen == fileStamp) return;
      e.seen = fileStamp;
    } else {
      Entry &e = names.entries[id];
      if (e.seenCtx == ctxStamp) return;
      e.seenCtx = ctxStamp;
    }
    push(id, ln, c);
  }

  size_t addDef(uint32_t id, uint32_t ln, uint32_t endLn, bool isStatic, uint32_t kind) {
    defIds.push_back(id);
    defMeta.push_back(ln);
    defMeta.push_back(endLn);
    defMeta.push_back(isStatic ? 1 : 0);
    defMeta.push_back(kind);
    if (!isStatic) push(id, ln, DEF_CTX);
    return defIds.size() - 1;
  }

  std::string condPath() const {
    std::string s;
    for (size_t k = 0; k < condIds.size(); k++) {
      if (k) s.push_back('/');
      s += std::to_string(condIds[k]);
      s.push_back('.');
      s += std::to_string(condBranch[k]);
    }
    return s;
  }

  void resetStmt() {
    // The helper search (keepDefs) reads each function's names from this one scan: a name is then
    // recorded once per top-level statement, not once per file, so every body has its own uses.
    if (keepDefs) fileStamp = sh.stamp();
    stmtStatic = stmtSkip = stmtAggregate = stmtHasEq = false;
    declId = -1;
    inParams = false;
    pendingFn = -1;
    macroCallParen = 0;
    macroDefines = macroSkip = false;
    prev = P_NONE;
    prevStorage = false;
    stmtDefStart = defIds.size();
  }

  void endDefine(size_t end);

  void asmStringUses(size_t s, size_t e, uint32_t ln);

  void openMacroProxy();

  size_t skipComment(size_t j);

  size_t skipBlank(size_t j);

  size_t skipLine(size_t j);

  std::vector<std::string> parseArgs(size_t j);

  size_t directive(size_t j);

  void include(size_t hash, size_t j);

  void reopenAltFn();

  void popCond();

  size_t skipFalseBranch(size_t j);

  void printedExport(size_t s);

  size_t exportCall(uint32_t id, size_t s, size_t i);

  size_t importCall(size_t i);

  void fileScopeIdent(uint32_t id, uint8_t flags, size_t i);

  void fileScopeIdentInner(uint32_t id, uint8_t flags, size_t i);

  size_t asmIdent(uint32_t id, size_t i);

  size_t punct(uint8_t c, size_t i);

  bool isDefineParam(uint32_t id) const {
    for (uint32_t p : defineParams)
      if (p == id) return true;
    return false;
  }

  void run();

  void json(Json &out);
};

}  // namespace kx

#include "scanDirectives.h"
#include "scanRecords.h"
#include "scanRun.h"
