// CRC-32 as zlib computes it, for the cache's checks.
#pragma once
#include <cstdint>
#include <dlfcn.h>
#include <mutex>
#include "napi.h"

namespace kx {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <wmmintrin.h>
#endif
// CRC-32 of zlib (the reflected polynomial 0xedb88320). Where the CPU multiplies without carries
// (PCLMULQDQ: every x86-64 since 2010), 64 bytes a step are folded into four 128-bit lanes, then
// reduced to 32 bits by Barrett's method, as in Intel's paper "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ Instruction" (the constants are x^k mod P for its fold distances): about
// twice as fast as Node's crc32_z and four times a table (README, Performance, the warm start).
// Else Node's own crc32_z when the process exports it, else a table, eight bytes a step.
typedef unsigned long (*Crc32Z)(unsigned long, const unsigned char *, size_t);
uint32_t crcTable[8][256];
Crc32Z zlibCrc = nullptr;
bool hasClmul = false;
std::once_flag crcOnce;
void initCrc() {
  zlibCrc = (Crc32Z)dlsym(RTLD_DEFAULT, "crc32_z");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  hasClmul = __builtin_cpu_supports("pclmul");
#endif
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crcTable[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++)
    for (int t = 1; t < 8; t++) crcTable[t][n] = (crcTable[t - 1][n] >> 8) ^ crcTable[0][crcTable[t - 1][n] & 0xff];
}

// The CRC register (not inverted) after bytes p[0, n), eight bytes a step.
uint32_t crcTableRun(uint32_t c, const uint8_t *p, size_t n) {
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = crcTable[7][lo & 0xff] ^ crcTable[6][(lo >> 8) & 0xff] ^ crcTable[5][(lo >> 16) & 0xff] ^ crcTable[4][lo >> 24] ^ crcTable[3][hi & 0xff] ^
        crcTable[2][(hi >> 8) & 0xff] ^ crcTable[1][(hi >> 16) & 0xff] ^ crcTable[0][hi >> 24];
  }
  while (n--) c = crcTable[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("pclmul"), always_inline)) inline __m128i crcFoldStep(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

// The CRC register after p[0, n), from register c: n at least 64 and a multiple of 16.
__attribute__((target("pclmul"))) uint32_t crcClmulRun(uint32_t c, const uint8_t *p, size_t n) {
  // x^(512+64) and x^512 mod P (fold four lanes 512 bits on), x^(128+64) and x^128 (fold one lane on),
  // x^64 (64 bits to 32), then P itself and floor(x^64 / P), each bit-reflected and shifted one place.
  const __m128i k4 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4), k1 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
  const __m128i k64 = _mm_set_epi64x(0, 0x163cd6124), barrett = _mm_set_epi64x(0x1f7011641, 0x1db710641), low32 = _mm_set_epi32(0, 0, 0, -1);
  const __m128i *q = (const __m128i *)p;
  __m128i x0 = _mm_xor_si128(_mm_loadu_si128(q), _mm_cvtsi32_si128((int)c)), x1 = _mm_loadu_si128(q + 1), x2 = _mm_loadu_si128(q + 2), x3 = _mm_loadu_si128(q + 3);
  for (q += 4, n -= 64; n >= 64; n -= 64, q += 4) {
    x0 = crcFoldStep(x0, k4, _mm_loadu_si128(q));
    x1 = crcFoldStep(x1, k4, _mm_loadu_si128(q + 1));
    x2 = crcFoldStep(x2, k4, _mm_loadu_si128(q + 2));
    x3 = crcFoldStep(x3, k4, _mm_loadu_si128(q + 3));
  }
  x0 = crcFoldStep(crcFoldStep(crcFoldStep(x0, k1, x1), k1, x2), k1, x3);
  for (; n >= 16; n -= 16, q++) x0 = crcFoldStep(x0, k1, _mm_loadu_si128(q));
  x0 = _mm_xor_si128(_mm_clmulepi64_si128(x0, k1, 0x10), _mm_srli_si128(x0, 8));
  x0 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x0, low32), k64, 0x00), _mm_srli_si128(x0, 4));
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, low32), barrett, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
  return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(_mm_xor_si128(t, x0), 4));
}
#endif

// zlib's crc32(value, p, n).
uint32_t crc32Of(const uint8_t *p, size_t n, uint32_t value = 0) {
  std::call_once(crcOnce, initCrc);
  uint32_t c = ~value;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (hasClmul && n >= 64) {
    size_t bulk = n & ~(size_t)15;
    c = crcClmulRun(c, p, bulk);
    return ~crcTableRun(c, p + bulk, n - bulk);
  }
#endif
  if (zlibCrc) return (uint32_t)zlibCrc(value, p, n);
  return ~crcTableRun(c, p, n);
}

// crc32(bytes, value = 0): zlib's crc32 of a Uint8Array, as Node's zlib.crc32(), on this thread.
napi_value Crc32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  uint8_t *data = nullptr;
  size_t n = 0;
  napi_typedarray_type t;
  uint32_t value = 0;
  napi_valuetype vt = napi_undefined;
  if (argc < 1 || !typed(env, argv[0], (void **)&data, &n, &t) || t != napi_uint8_array ||
      (argc >= 2 && (napi_typeof(env, argv[1], &vt) != napi_ok || (vt != napi_undefined && napi_get_value_uint32(env, argv[1], &value) != napi_ok)))) {
    napi_throw_type_error(env, nullptr, "crc32(Uint8Array, value?)");
    return nullptr;
  }
  napi_value out;
  CHECK(napi_create_uint32(env, crc32Of(data, n, value), &out));
  return out;
}

}  // namespace kx
