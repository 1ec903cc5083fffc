// The main loop: tokens and punctuation, brace and paren depth, statements and function bodies.
#pragma once
#include "scan.h"

namespace kx {

inline __attribute__((always_inline)) size_t Scan::punct(uint8_t c, size_t i) {
  switch (c) {
    case '(':
      if (brace == 0 && paren == 0 && declId >= 0 && prev == P_IDENT && !stmtHasEq && !macroCallParen) {
        inParams = true;
        paramsParen = 1;
        fnName = declId;
        fnLine = declLine;
        declId = -1;
      }
      paren++;
      prev = P_OTHER;
      break;
    case ')':
      if (paren > 0) paren--;
      if (inParams && paren < paramsParen) {
        inParams = false;
        pendingFn = fnName;
        pendingFnLine = fnLine;
      }
      if (paren == 0) macroCallParen = 0;
      prev = P_RPAREN;
      break;
    case '{':
      if (brace == 0) {
        if (keepDefs) fileStamp = sh.stamp();  // each top-level body its own uses (see resetStmt())
        if (pendingFn >= 0 && !stmtHasEq && altFnDef >= 0) {
          reopenAltFn();
        } else if (pendingFn >= 0 && !stmtHasEq) {
          bodyKind = B_FUNCTION;
          fnDefIndex = (int64_t)addDef((uint32_t)pendingFn, pendingFnLine, line, stmtStatic, 0);
          if (proxyMode) {
            proxies.push_back({pendingFnLine, false, (uint32_t)pendingFn});
            ctx = (uint32_t)proxies.size();
            ctxStamp = sh.stamp();
          }
        } else if (stmtHasEq) bodyKind = B_OTHER;
        else if (stmtAggregate) bodyKind = B_AGGREGATE;
        else bodyKind = B_OTHER;
      }
      brace++;
      prev = P_OTHER;
      break;
    case '}':
      if (brace > 0) brace--;
      if (brace == 0) {
        if (bodyKind == B_FUNCTION) {
          if (fnDefIndex >= 0) defMeta[fnDefIndex * 4 + 1] = line;
          fnDefIndex = -1;
          ctx = 0;
          bodyKind = B_NONE;
          resetStmt();
          break;
        }
        bodyKind = B_NONE;
      }
      prev = P_OTHER;
      break;
    case ';':
      if (brace == 0 && paren == 0) {
        if (declId >= 0 && !stmtSkip) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
        for (size_t d = stmtDefStart; d < defIds.size(); d++) defMeta[d * 4 + 1] = line;
        resetStmt();
        break;
      }
      prev = P_OTHER;
      break;
    case '=':
      if (brace == 0 && paren == 0 && buf[i + 1] != '=') {
        if (declId >= 0 && !stmtSkip && !stmtHasEq) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
        declId = -1;
        stmtHasEq = true;
      }
      prev = P_OTHER;
      break;
    case ',':
      if (brace == 0 && paren == 0) {
        if (declId >= 0 && !stmtSkip && !stmtHasEq) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
        declId = -1;
        stmtHasEq = false;
      }
      prev = P_OTHER;
      break;
    case '[':
      if (brace == 0 && paren == 0 && declId >= 0 && !stmtSkip && !stmtHasEq) {
        addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
        declId = -1;
      }
      prev = P_OTHER;
      break;
    case '*':
      prev = P_STAR;
      break;
    case '.':
      prev = P_MEMBER;
      break;
    case '-':
      if (buf[i + 1] == '>') {
        prev = P_MEMBER;
        return i + 2;
      }
      prev = P_OTHER;
      break;
    default:
      prev = P_OTHER;
  }
  return i + 1;
}

inline void Scan::run() {
  size_t i = 0;
  bool atLineStart = true;
  while (i < n) {
    uint8_t c = buf[i];
    uint8_t k = cls[c];

    if (k == C_IDSTART) {
      size_t s = i;
      if (inDefine ? definePrev == P_MEMBER || definePrev == P_HASH : prev == P_MEMBER || (brace > 0 ? bodyKind == B_AGGREGATE : inParams)) {
        // buf[n] is a zero byte: the identifier ends there at the latest.
        i = (size_t)(idEnd(buf + i + 1) - buf);
        atLineStart = false;
        if (inDefine) definePrev = P_IDENT;
        else prev = P_IDENT;
        continue;
      }
      // buf[n] is a zero byte: no bounds check.
      i = (size_t)(idEnd(buf + i + 1) - buf);
      atLineStart = false;
      uint32_t id = names.intern(buf + s, i - s, hashName(buf + s, i - s));
      uint8_t flags = names.entries[id].flags;

      if (inDefine) {
        if (flags & F_EXPORT) defineHasExport = true;
        int dp = definePrev;
        definePrev = P_IDENT;
        if (dp == P_MEMBER || dp == P_HASH) continue;
        if (defineHasParams && isDefineParam(id)) continue;
        if (nextIsPaste(i)) continue;
        if (proxyMode && defineCtx == 0) openMacroProxy();
        record(id, line, defineCtx);
        continue;
      }

      if (flags & (F_EXPORT | F_WRAPPER | F_IMPORT)) {
        if (prev != P_MEMBER) {
          i = (flags & F_IMPORT) ? importCall(i) : exportCall(id, s, i);
          continue;
        }
      }

      if (prev == P_MEMBER) {
        prev = P_IDENT;
        continue;
      }

      if (isAsm) {
        i = asmIdent(id, i);
        continue;
      }

      if (brace == 0) {
        if (paren == 0) fileScopeIdent(id, flags, i);
        else if (!inParams && !stmtSkip && !macroSkip) {
          record(id, line, ctx);
          if (macroDefines && paren == macroCallParen) addDef(id, line, line, stmtStatic, 2);
        }
      } else {
        record(id, line, ctx);
      }
      prev = P_IDENT;
      continue;
    }

    if (k == C_SPACE) {
      do i++;
      while (cls[buf[i]] == C_SPACE);
      continue;
    }
    if (k == C_NL) {
      line++;
      i++;
      atLineStart = true;
      if (inDefine) endDefine(i - 1);
      continue;
    }
    if (k == C_DIGIT) {
      i++;
      while (i < n) {
        uint8_t d = buf[i];
        if (isIdChar[d] || d == '.') i++;
        else if ((d == '+' || d == '-') && (buf[i - 1] == 'e' || buf[i - 1] == 'E' || buf[i - 1] == 'p' || buf[i - 1] == 'P')) i++;
        else break;
      }
      atLineStart = false;
      if (inDefine) definePrev = P_OTHER;
      else prev = P_OTHER;
      continue;
    }

    if (c == '/') {
      uint8_t d = buf[i + 1];
      if (d == '*') {
        i = skipComment(i + 2);
        continue;
      }
      if (d == '/') {
        for (;;) {
          const uint8_t *nlp = i < n ? findByte(buf + i, 10, n - i) : nullptr;
          if (!nlp) {
            i = n;
            break;
          }
          size_t nl = (size_t)(nlp - buf);
          if (!isAsm && nl > 0 && buf[nl - 1] == '\\') {
            line++;
            i = nl + 1;
            continue;
          }
          i = nl;
          break;
        }
        continue;
      }
    }
    if (c == '\\' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && buf[i + 2] == '\n'))) {
      i += buf[i + 1] == '\n' ? 2 : 3;
      line++;
      continue;
    }
    if (c == '#') {
      if (atLineStart && !inDefine) {
        i = directive(i + 1);
        continue;
      }
      if (inDefine) definePrev = P_HASH;
      i++;
      continue;
    }
    atLineStart = false;
    if (c == '"') {
      // "E": perhaps an export call that a host program prints into a file it generates.
      if (buf[i + 1] == 'E' && !isAsm && !inDefine) printedExport(i + 1);
      size_t start = i + 1;
      uint32_t startLine = line;
      i++;
      while (i < n) {
        uint8_t d = buf[i];
        if (d == '"' || d == '\n') break;
        if (d == '\\') {
          if (buf[i + 1] == '\n') line++;
          i += 2;
        } else i++;
      }
      if (!isAsm && i > start + 5 && !stmtSkip) asmStringUses(start, i < n ? i : n, startLine);
      if (i < n && buf[i] == '"') i++;
      if (inDefine) definePrev = P_OTHER;
      else prev = P_OTHER;
      continue;
    }
    if (c == '\'') {
      i++;
      if (!isAsm) {
        size_t limit = n < i + 12 ? n : i + 12;
        while (i < limit && buf[i] != '\'' && buf[i] != '\n') i += buf[i] == '\\' ? 2 : 1;
        if (i < n && buf[i] == '\'') i++;
      }
      continue;
    }

    if (inDefine) {
      bool arrow = c == '-' && buf[i + 1] == '>';
      definePrev = c == '.' || arrow ? P_MEMBER : P_OTHER;
      i += arrow ? 2 : 1;
      continue;
    }
    i = punct(c, i);
  }
  if (inDefine) endDefine(n);
}

}  // namespace kx
