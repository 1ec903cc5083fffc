// Preprocessor lines: #define bodies and the macros they make, #include, #if and its dead branches.
#pragma once
#include "scan.h"

namespace kx {

inline void Scan::endDefine(size_t end) {
  if (!defineHasExport) {
    size_t from = defineBodyStart;
    if (from < exportSearchFrom || (nextExport >= 0 && (size_t)nextExport < from)) {
      nextExport = -1;
      for (size_t k = from; k + 6 <= n; k++) {
        const uint8_t *e = findByte(buf + k, 'E', n - k);
        if (!e) break;
        k = (size_t)(e - buf);
        if (k + 6 <= n && memcmp(buf + k, "EXPORT", 6) == 0) {
          nextExport = (int64_t)k;
          break;
        }
      }
      exportSearchFrom = from;
    }
    defineHasExport = nextExport >= 0 && (size_t)nextExport < end;
  }
  if (defineHasExport) {
    Wrapper w;
    w.name = latin1(defineNameStart, defineNameEnd);
    w.params = defineParamNames;
    w.line = defineLine;
    w.body = joinContinuations(latin1(defineBodyStart, end));
    wrappers.push_back(std::move(w));
  }
  if (defineIsNamespace) {
    fileNamespace = unquote(jsTrim(stripComments(latin1(defineBodyStart, end))));
    hasNs = true;
    fileNamespaceLine = defineLine;
    fileNamespaceLate = seenInclude;
  } else if ((int64_t)end - (int64_t)defineBodyStart < 96) {
    std::string body = jsTrim(latin1(defineBodyStart, end));
    // A header's macros are proxies; of them only its renames are kept here as well
    // (`#define ieee80211_rx ieee80211_rx_rsl`): a file that includes it exports the new name.
    if (proxyMode ? !defineHasParams && isIdentifier(body) && body != latin1(defineNameStart, defineNameEnd) : isNameBody(body)) {
      LocalMacro m;
      m.name = latin1(defineNameStart, defineNameEnd);
      m.hasParams = defineHasParams;
      if (defineHasParams) m.params = defineParamNames;
      m.body = body;
      m.line = defineLine;
      localMacros.push_back(std::move(m));
    }
  }
  inDefine = false;
  defineHasParams = false;
  defineParams.clear();
  defineHasExport = false;
  defineIsNamespace = false;
}

inline void Scan::openMacroProxy() {
  size_t len = defineNameEnd - defineNameStart;
  uint32_t id = names.intern(buf + defineNameStart, len, hashName(buf + defineNameStart, len));
  proxies.push_back({defineLine, true, id});
  defineCtx = (uint32_t)proxies.size();
  ctxStamp = sh.stamp();
}

// To the next "*/" with findByte(), then the newlines in between counted.
inline size_t Scan::skipComment(size_t j) {
  size_t k = j;
  size_t end = n;
  while (k < n) {
    const uint8_t *star = findByte(buf + k, 42, n - k);
    if (!star) break;
    k = (size_t)(star - buf);
    if (buf[k + 1] == '/') {
      end = k + 2;
      break;
    }
    k++;
  }
  size_t stop = end == n ? n : end - 2;
  line += (uint32_t)countByte(buf + j, 10, stop - j);
  return end;
}

inline size_t Scan::skipBlank(size_t j) {
  while (j < n) {
    uint8_t c = buf[j];
    if (c == '\n') {
      line++;
      j++;
    } else if (cls[c] == C_SPACE) j++;
    else if (c == '\\' && buf[j + 1] == '\n') {
      line++;
      j += 2;
    } else if (c == '/' && buf[j + 1] == '*') j = skipComment(j + 2);
    else if (c == '/' && buf[j + 1] == '/') {
      while (j < n && buf[j] != '\n') j++;
    } else break;
  }
  return j;
}

inline size_t Scan::skipLine(size_t j) {
  while (j < n) {
    uint8_t c = buf[j];
    if (c == '\n') return j;
    if (c == '\\' && buf[j + 1] == '\n') {
      line++;
      j += 2;
    } else if (c == '/' && buf[j + 1] == '*') j = skipComment(j + 2);
    else j++;
  }
  return n;
}

inline std::vector<std::string> Scan::parseArgs(size_t j) {
  std::vector<std::string> args;
  std::string cur;
  int depth = 0;
  size_t limit = n < j + 4096 ? n : j + 4096;
  while (j < limit) {
    uint8_t c = buf[j];
    if (c == '(') {
      if (depth > 0) cur.push_back('(');
      depth++;
      j++;
    } else if (c == ')') {
      depth--;
      j++;
      if (depth == 0) {
        args.push_back(cur);
        argsEnd = j;
        return args;
      }
      cur.push_back(')');
    } else if (c == ',' && depth == 1) {
      args.push_back(cur);
      cur.clear();
      j++;
    } else if (c == '"') {
      size_t s = j;
      j++;
      while (j < n && buf[j] != '"' && buf[j] != '\n') j += buf[j] == '\\' ? 2 : 1;
      j++;
      cur += latin1(s, j < n ? j : n);
    } else if (c == '\n' || cls[c] == C_SPACE || c == '/' || (c == '\\' && buf[j + 1] == '\n')) {
      size_t before = j;
      j = skipBlank(j);
      if (j == before) {
        cur.push_back('/');
        j++;
      }
    } else {
      cur.push_back((char)c);
      j++;
    }
  }
  argsEnd = j < n ? j : n;
  args.push_back(cur);
  return args;
}

inline size_t Scan::directive(size_t j) {
  size_t hashAt = j - 1;
  j = skipSpaces(j);
  size_t s = j;
  while (j < n && isIdChar[buf[j]]) j++;
  if (j == s) return skipLine(j);
  uint32_t id = names.intern(buf + s, j - s, hashName(buf + s, j - s));
  if (id == sh.kDefine) {
    j = skipSpaces(j);
    size_t ns = j;
    while (j < n && isIdChar[buf[j]]) j++;
    if (j == ns) return skipLine(j);
    defineNameStart = ns;
    defineNameEnd = j;
    defineLine = line;
    defineParamNames.clear();
    defineParams.clear();
    defineHasParams = false;
    if (buf[j] == '(') {
      j++;
      while (j < n && buf[j] != ')' && buf[j] != '\n') {
        uint8_t c = buf[j];
        if (cls[c] == C_IDSTART) {
          size_t ps = j;
          while (j < n && isIdChar[buf[j]]) j++;
          uint32_t pid = names.intern(buf + ps, j - ps, hashName(buf + ps, j - ps));
          defineParams.push_back(pid);
          defineParamNames.push_back(names.name(pid));
        } else if (c == '\\' && buf[j + 1] == '\n') {
          line++;
          j += 2;
        } else j++;
      }
      if (buf[j] == ')') j++;
      defineHasParams = true;
    }
    if (!defineHasParams && isPlainNumberBody(j)) return skipLine(j);
    inDefine = true;
    definePrev = P_OTHER;
    defineBodyStart = j;
    defineIsNamespace = j - ns == 24 && startsWithAscii(ns, "DEFAULT_SYMBOL_NAMESPACE");
    defineCtx = 0;
    return j;
  }
  if (id == sh.kIf || id == sh.kIfdef || id == sh.kIfndef) {
    condIds.push_back(++condCounter);
    condBranch.push_back(0);
    condBrace.push_back(brace);
    condBraceAfterFirst.push_back(brace);
    if (id == sh.kIf && isZeroCondition(j)) return skipFalseBranch(j);
    return skipLine(j);
  }
  if (id == sh.kElif || id == sh.kElse) {
    if (!condIds.empty()) {
      size_t top = condIds.size() - 1;
      if (condBranch[top] == 0) {
        condBraceAfterFirst[top] = brace;
        if (condBrace[top] == 0 && brace > 0 && bodyKind == B_FUNCTION) {
          altFnDef = fnDefIndex;
          altFnCtx = ctx;
          altFnStamp = ctxStamp;
          bodyKind = B_NONE;
          ctx = 0;
          resetStmt();
        }
      }
      condBranch[top]++;
      brace = condBrace[top];
    }
    return skipLine(j);
  }
  if (id == sh.kEndif) {
    if (!condIds.empty()) {
      size_t top = condIds.size() - 1;
      if (condBranch[top] > 0) {
        brace = condBraceAfterFirst[top];
        if (altFnDef >= 0) reopenAltFn();
      }
      popCond();
    }
    return skipLine(j);
  }
  if (id == sh.kInclude) {
    seenInclude = true;
    if (!proxyMode) include(hashAt, skipSpaces(j));
  }
  if (id == sh.kUndef) {
    size_t t = skipSpaces(j);
    if (startsWithAscii(t, "DEFAULT_SYMBOL_NAMESPACE")) {
      hasNs = false;
      fileNamespace.clear();
    }
    size_t e = t;
    while (e < n && isIdChar[buf[e]]) e++;
    if (!wrappers.empty() && e > t) {
      std::string nm = latin1(t, e);
      for (Wrapper &w : wrappers)
        if (w.name == nm && w.undefLine < 0) w.undefLine = line;
    }
  }
  return skipLine(j);
}

inline void Scan::include(size_t hash, size_t j) {
  int close = buf[j] == '"' ? '"' : buf[j] == '<' ? '>' : -1;
  if (close < 0) return;
  size_t e = j + 1;
  while (e < n && buf[e] != close && buf[e] != '\n') e++;
  if (buf[e] != close) return;
  std::string target = latin1(j + 1, e);
  size_t ls = lineStartOf(hash);
  Include inc{target, close == '>', line, (uint32_t)(hash - ls), (uint32_t)(e + 1 - ls)};
  if (endsWith(target, ".c") || !wrappers.empty()) includes.push_back(std::move(inc));
  // The file's own headers, for their renames: sent only if the file exports (json()).
  else if (close == '"' && endsWith(target, ".h")) ownHeaders.push_back(std::move(inc));
}

inline void Scan::reopenAltFn() {
  fnDefIndex = altFnDef;
  ctx = altFnCtx;
  ctxStamp = altFnStamp;
  bodyKind = B_FUNCTION;
  altFnDef = -1;
  resetStmt();
}

inline void Scan::popCond() {
  condIds.pop_back();
  condBranch.pop_back();
  condBrace.pop_back();
  condBraceAfterFirst.pop_back();
}

inline size_t Scan::skipFalseBranch(size_t j) {
  int nest = 0;
  j = skipLine(j);
  while (j < n) {
    j++;
    line++;
    size_t t = skipSpaces(j);
    if (buf[t] == '#') {
      size_t ds = skipSpaces(t + 1);
      size_t de = ds;
      while (de < n && isIdChar[buf[de]]) de++;
      std::string word = latin1(ds, de);
      if (word == "if" || word == "ifdef" || word == "ifndef") nest++;
      else if (word == "endif") {
        if (nest == 0) {
          popCond();
          return skipLine(de);
        }
        nest--;
      } else if ((word == "else" || word == "elif") && nest == 0) {
        if (!condIds.empty()) condBranch[condIds.size() - 1]++;
        if (word == "elif" && isZeroCondition(de)) {
          j = skipLine(de);
          continue;
        }
        return skipLine(de);
      }
      j = skipLine(de);
    } else {
      j = t;
      while (j < n && buf[j] != '\n') {
        if (buf[j] == '/' && buf[j + 1] == '*') j = skipComment(j + 2);
        else if (buf[j] == '\\' && buf[j + 1] == '\n') {
          line++;
          j += 2;
        } else j++;
      }
    }
  }
  return n;
}

}  // namespace kx
