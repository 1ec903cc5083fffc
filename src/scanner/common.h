// Character classes, identifier ends and name hashes: what every part of the scanner reads bytes with.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace kx {

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif
typedef std::vector<uint8_t> Bytes;

// Character classes.
enum { C_OTHER = 0, C_IDSTART = 1, C_DIGIT = 2, C_SPACE = 3, C_NL = 4 };
uint8_t cls[256];
uint8_t isIdChar[256];

void initClasses() {
  for (int c = 0; c < 256; c++) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') cls[c] = C_IDSTART;
    else if (c >= '0' && c <= '9') cls[c] = C_DIGIT;
    else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') cls[c] = C_SPACE;
    else if (c == '\n') cls[c] = C_NL;
    else cls[c] = C_OTHER;
    isIdChar[c] = cls[c] == C_IDSTART || cls[c] == C_DIGIT;
  }
}

#if defined(__SSE2__) || defined(__wasm_simd128__)
// Sixteen bytes as signed lanes, in the compiler's vector extensions: one source for both targets,
// whose byte compares are signed alike. lanesSet() is the one step each spells its own way.
typedef signed char Lanes __attribute__((vector_size(16)));

// The top bit of each lane, one bit a lane.
inline unsigned lanesSet(Lanes m) {
#ifdef __SSE2__
  return (unsigned)_mm_movemask_epi8((__m128i)m);
#else
  return (unsigned)wasm_i8x16_bitmask((v128_t)m);
#endif
}
#endif

// memchr(), and a count of one byte's occurrences. WebAssembly's libc memchr goes a word at a time;
// sixteen bytes at a time it was 13% of a single header's scan (include/linux/mm.h) less. Reads
// nothing past p + n. Natively, libc's memchr is vectorised already.
inline const uint8_t *findByte(const uint8_t *p, uint8_t c, size_t n) {
#ifdef __wasm_simd128__
  const uint8_t *e = p + n;
  v128_t needle = wasm_i8x16_splat((int8_t)c);
  for (; e - p >= 16; p += 16) {
    unsigned m = (unsigned)wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(p), needle));
    if (m) return p + __builtin_ctz(m);
  }
  for (; p < e; p++)
    if (*p == c) return p;
  return nullptr;
#else
  return (const uint8_t *)memchr(p, c, n);
#endif
}

inline size_t countByte(const uint8_t *p, uint8_t c, size_t n) {
  size_t count = 0;
#ifdef __wasm_simd128__
  const uint8_t *e = p + n;
  v128_t needle = wasm_i8x16_splat((int8_t)c);
  for (; e - p >= 16; p += 16) count += (size_t)__builtin_popcount((unsigned)wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(p), needle)));
  for (; p < e; p++) count += *p == c;
#else
  for (const uint8_t *q = p, *e = p + n; (q = (const uint8_t *)memchr(q, c, (size_t)(e - q))) != nullptr; q++) count++;
#endif
  return count;
}

// The end of an identifier: the first byte from p on that is not [A-Za-z0-9_]. Sixteen bytes at a
// time where SIMD is (SSE2 on every x86-64, WebAssembly's SIMD): the byte loop's exit branch,
// mispredicted once an identifier, was a sixth of the scan. Reads up to 15 bytes past the end: file
// buffers end in PAD zero bytes.
inline const uint8_t *idEnd(const uint8_t *p) {
#if defined(__SSE2__) || defined(__wasm_simd128__)
  for (;;) {
    Lanes v;
    memcpy(&v, p, 16);
    // Bytes from 0x80 are negative, so never letters or digits.
    Lanes lower = v | 0x20;
    Lanes id = ((lower > 'a' - 1) & (lower < 'z' + 1)) | ((v > '0' - 1) & (v < '9' + 1)) | (v == '_');
    unsigned stop = ~lanesSet(id) & 0xffffu;
    if (stop) return p + __builtin_ctz(stop);
    p += 16;
  }
#else
  while (isIdChar[*p]) p++;
  return p;
#endif
}

enum { P_NONE = 0, P_IDENT = 1, P_STAR = 2, P_MEMBER = 3, P_OTHER = 4, P_RPAREN = 5, P_HASH = 6 };
enum { B_NONE = 0, B_FUNCTION = 1, B_AGGREGATE = 2, B_OTHER = 3 };
enum { F_EXPORT = 1, F_WRAPPER = 2, F_IMPORT = 4, F_STORAGE = 8, F_QUALIFIER = 16, F_AGGREGATE = 32 };
const uint32_t DEF_CTX = 0xffffffffu;
// Zero bytes after a file's end stand for JS's `undefined` past the buffer: files with a NUL byte
// are skipped as binary, so a zero is never content.
const size_t PAD = 64;

// Names are hashed eight bytes at a time (FNV-1a's multiply per byte was a serial chain). It reads up
// to seven bytes past the name: file buffers end in PAD zero bytes, and other names are copied first.
inline uint32_t hashName(const uint8_t *p, size_t n) {
  uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t w;
    memcpy(&w, p + k, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  if (k < n) {
    uint64_t w;
    memcpy(&w, p + k, 8);
    w &= ~0ull >> (64 - 8 * (n - k));
    h = (h ^ w) * 0xff51afd7ed558ccdull;
  }
  h ^= h >> 29;
  h *= 0xc4ceb9fe1a85ec53ull;
  return (uint32_t)(h ^ (h >> 32));
}

// Eight bytes at a time; both sides have seven readable bytes past the end (file buffers' PAD, the
// arena's slack, padded copies).
inline bool sameBytes(const uint8_t *a, const uint8_t *b, uint32_t n) {
  uint32_t k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t x, y;
    memcpy(&x, a + k, 8);
    memcpy(&y, b + k, 8);
    if (x != y) return false;
  }
  if (k == n) return true;
  uint64_t x, y;
  memcpy(&x, a + k, 8);
  memcpy(&y, b + k, 8);
  return ((x ^ y) & (~0ull >> (64 - 8 * (n - k)))) == 0;
}

}  // namespace kx
