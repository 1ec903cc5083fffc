// Headers of nothing but numeric #defines (generated register headers): nothing to index.
#pragma once
#include "common.h"

namespace kx {

// isDefineOnly: every line, split at \n and \r, is a `#define NAME [number]`, a guard
// directive, a comment line or blank.
inline bool isHex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool defineOnlyLine(const uint8_t *p, size_t n) {
  size_t j = 0;
  while (j < n && (p[j] == ' ' || p[j] == '\t')) j++;
  if (j == n) return true;
  if (p[j] == '/' && j + 1 < n && (p[j + 1] == '/' || p[j + 1] == '*')) return true;
  if (p[j] == '*') return true;
  if (p[j] != '#') return false;
  j++;
  while (j < n && (p[j] == ' ' || p[j] == '\t')) j++;
  auto word = [&](const char *w) {
    size_t l = strlen(w);
    return n - j >= l && memcmp(p + j, w, l) == 0;
  };
  for (const char *w : {"ifndef", "ifdef", "endif", "else"}) {
    if (word(w)) {
      size_t e = j + strlen(w);
      if (e == n || !isIdChar[p[e]]) return true;
    }
  }
  if (!word("define")) return false;
  j += 6;
  size_t sp = j;
  while (j < n && (p[j] == ' ' || p[j] == '\t')) j++;
  if (j == sp) return false;
  size_t ns = j;
  // p[n] ends the line (\n, \r, or the buffer's zero padding), so the name stops there at the latest.
  j = (size_t)(idEnd(p + j) - p);
  if (j == ns) return false;
  // [ \t]*(comment)?$
  auto tail = [&](size_t k) {
    while (k < n && (p[k] == ' ' || p[k] == '\t')) k++;
    if (k == n) return true;
    if (p[k] == '/' && k + 1 < n && p[k + 1] == '/') return true;
    if (p[k] == '/' && k + 1 < n && p[k + 1] == '*') {
      size_t e = n;
      while (e > k + 2 && (p[e - 1] == ' ' || p[e - 1] == '\t')) e--;
      return e >= k + 4 && p[e - 2] == '*' && p[e - 1] == '/';
    }
    return false;
  };
  // ([ \t]+\(?(0x[0-9a-fA-F]+|\d+)[uUlL]*\)?)?
  size_t k = j;
  while (k < n && (p[k] == ' ' || p[k] == '\t')) k++;
  if (k > j) {
    if (k < n && p[k] == '(') k++;
    size_t d = k;
    bool num = false;
    if (d + 2 < n && p[d] == '0' && p[d + 1] == 'x' && isHex(p[d + 2])) {
      d += 2;
      while (d < n && isHex(p[d])) d++;
      num = true;
    } else if (d < n && p[d] >= '0' && p[d] <= '9') {
      while (d < n && p[d] >= '0' && p[d] <= '9') d++;
      num = true;
    }
    if (num) {
      while (d < n && (p[d] == 'u' || p[d] == 'U' || p[d] == 'l' || p[d] == 'L')) d++;
      if (d < n && p[d] == ')') d++;
      if (tail(d)) return true;
    }
  }
  return tail(j);
}

// The register headers' own line, `#define NAME 0x1f\n` (or decimal, with a U/L suffix), matched from
// s with no search for its end: the position after its \n, or 0 when the line is another. Such a line is
// one defineOnlyLine() takes; any other goes the long way. Reads past n only into the buffer's padding.
inline size_t plainDefineLine(const uint8_t *p, size_t s) {
  static const uint8_t lead[8] = {'#', 'd', 'e', 'f', 'i', 'n', 'e', ' '};
  if (memcmp(p + s, lead, 8) != 0) return 0;
  size_t j = s + 8;
  const uint8_t *e = idEnd(p + j);
  if (e == p + j) return 0;
  j = (size_t)(e - p);
  if (p[j] != ' ' && p[j] != '\t') return 0;
  while (p[j] == ' ' || p[j] == '\t') j++;
  if (p[j] == '0' && p[j + 1] == 'x' && isHex(p[j + 2])) {
    j += 2;
    while (isHex(p[j])) j++;
  } else if (p[j] >= '0' && p[j] <= '9') {
    while (p[j] >= '0' && p[j] <= '9') j++;
  } else {
    return 0;
  }
  while (p[j] == 'u' || p[j] == 'U' || p[j] == 'l' || p[j] == 'L') j++;
  return p[j] == '\n' ? j + 1 : 0;
}

// Also counts the lines, as countLines() would: 1 + newlines. This pass reads a third of a kernel
// tree's bytes (generated register headers): their plain lines are matched as they come
// (plainDefineLine), the others found with findByte().
bool isDefineOnly(const uint8_t *p, size_t n, uint32_t &lines) {
  lines = 1;
  size_t s = 0;
  for (;;) {
    // Most lines of the large register headers, without a findByte() for each line's end (a line of
    // about 60 bytes left a third of this pass in the call).
    for (size_t next; s < n && (next = plainDefineLine(p, s)) != 0 && next <= n; s = next) lines++;
    const uint8_t *nl = findByte(p + s, 10, n - s);
    size_t e = nl ? (size_t)(nl - p) : n;
    size_t a = s;
    // A carriage return splits a line too (JS's multiline ^ and $). The plain lines above have none.
    for (const uint8_t *cr; (cr = findByte(p + a, 13, e - a)) != nullptr; a = (size_t)(cr - p) + 1)
      if (!defineOnlyLine(p + a, (size_t)(cr - p) - a)) return false;
    if (!defineOnlyLine(p + a, e - a)) return false;
    if (!nl) return true;
    lines++;
    s = e + 1;
  }
}

const size_t DEFINE_ONLY_MIN_BYTES = 256 * 1024;

}  // namespace kx
