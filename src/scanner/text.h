// Tests on define bodies, in the terms of the JavaScript regular expressions they were first written as.
#pragma once
#include <string>
#include "common.h"

namespace kx {

// The regular expressions, as plain loops. `.` in JS excludes
// \n and \r; trim() and \s take, of latin1, \t..\r, space and no-break space.
inline bool isLineTerm(uint8_t c) { return c == '\n' || c == '\r'; }
inline bool isJsSpace(uint8_t c) { return (c >= 9 && c <= '\r') || c == ' ' || c == 0xa0; }

std::string jsTrim(const std::string &t) {
  size_t a = 0, b = t.size();
  while (a < b && isJsSpace((uint8_t)t[a])) a++;
  while (b > a && isJsSpace((uint8_t)t[b - 1])) b--;
  return t.substr(a, b - a);
}

// .replace(/^"(.*)"$/, '$1')
std::string unquote(const std::string &t) {
  if (t.size() < 2 || t[0] != '"' || t[t.size() - 1] != '"') return t;
  for (size_t k = 1; k + 1 < t.size(); k++)
    if (isLineTerm((uint8_t)t[k])) return t;
  return t.substr(1, t.size() - 2);
}

// .replace(/\/\*.*?\*\//g, '').replace(/\/\/.*$/, '')
std::string stripComments(const std::string &t) {
  std::string out;
  size_t p = 0;
  while (p < t.size()) {
    if (t[p] == '/' && p + 1 < t.size() && t[p + 1] == '*') {
      size_t q = p + 2;
      bool found = false;
      while (q < t.size() && !isLineTerm((uint8_t)t[q])) {
        if (t[q] == '*' && q + 1 < t.size() && t[q + 1] == '/') {
          found = true;
          break;
        }
        q++;
      }
      if (found) {
        p = q + 2;
        continue;
      }
    }
    out.push_back(t[p]);
    p++;
  }
  size_t lastTerm = std::string::npos;
  for (size_t k = 0; k < out.size(); k++)
    if (isLineTerm((uint8_t)out[k])) lastTerm = k;
  size_t from = lastTerm == std::string::npos ? 0 : lastTerm + 1;
  for (size_t k = from; k + 1 < out.size(); k++)
    if (out[k] == '/' && out[k + 1] == '/') return out.substr(0, k);
  return out;
}

// .replace(/\\\r?\n/g, ' ')
std::string joinContinuations(const std::string &t) {
  std::string out;
  for (size_t k = 0; k < t.size(); k++) {
    if (t[k] == '\\' && k + 1 < t.size() && t[k + 1] == '\n') {
      out.push_back(' ');
      k += 1;
    } else if (t[k] == '\\' && k + 2 < t.size() && t[k + 1] == '\r' && t[k + 2] == '\n') {
      out.push_back(' ');
      k += 2;
    } else out.push_back(t[k]);
  }
  return out;
}

// /^[\w\s#]+$/.test(body) && /[A-Za-z_]/.test(body)
bool isNameBody(const std::string &t) {
  if (t.empty()) return false;
  bool letter = false;
  for (uint8_t c : t) {
    if (!(isIdChar[c] || isJsSpace(c) || c == '#')) return false;
    if (cls[c] == C_IDSTART) letter = true;
  }
  return letter;
}

// /^[A-Za-z_]\w*$/
bool isIdentifier(const std::string &t) {
  if (t.empty() || cls[(uint8_t)t[0]] != C_IDSTART) return false;
  for (uint8_t c : t)
    if (!isIdChar[c]) return false;
  return true;
}

bool startsWith(const std::string &s, const char *p) { return s.compare(0, strlen(p), p) == 0; }
bool endsWith(const std::string &s, const char *p) {
  size_t n = strlen(p);
  return s.size() >= n && s.compare(s.size() - n, n, p) == 0;
}

}  // namespace kx
