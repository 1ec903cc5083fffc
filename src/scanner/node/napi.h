// Node-API helpers: errors, strings and paths, typed arrays.
#pragma once
#include <node_api.h>
#include <string>
#include <vector>

namespace kx {

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, nullptr, "kexports native scanner: " #call); \
      return nullptr;                                                    \
    }                                                                    \
  } while (0)

// A path's bytes from its JS string, as src/core/util/fsName.ts's encodeName() makes them: UTF-8, but
// for the code units U+DC80..U+DCFF alone, which stand for the bytes 0x80..0xFF of a name that is not
// UTF-8 (Python's surrogateescape).
bool getPath(napi_env env, napi_value v, std::string &out) {
  size_t len = 0;
  if (napi_get_value_string_utf16(env, v, nullptr, 0, &len) != napi_ok) return false;
  std::u16string u(len + 1, u'\0');
  if (napi_get_value_string_utf16(env, v, &u[0], len + 1, &len) != napi_ok) return false;
  out.clear();
  out.reserve(len);
  for (size_t k = 0; k < len; k++) {
    uint32_t c = u[k];
    if (c >= 0xD800 && c <= 0xDBFF && k + 1 < len && u[k + 1] >= 0xDC00 && u[k + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (u[++k] - 0xDC00);
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
      out.push_back((char)(c - 0xDC00));
      continue;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;
    }
    if (c < 0x80) out.push_back((char)c);
    else if (c < 0x800) out.append({(char)(0xC0 | c >> 6), (char)(0x80 | (c & 0x3F))});
    else if (c < 0x10000) out.append({(char)(0xE0 | c >> 12), (char)(0x80 | ((c >> 6) & 0x3F)), (char)(0x80 | (c & 0x3F))});
    else out.append({(char)(0xF0 | c >> 18), (char)(0x80 | ((c >> 12) & 0x3F)), (char)(0x80 | ((c >> 6) & 0x3F)), (char)(0x80 | (c & 0x3F))});
  }
  return true;
}

// The length of the valid UTF-8 sequence at s[k..n), or 0 (as WHATWG's decoder judges it: no
// overlong forms, no surrogates, nothing past U+10FFFF).
size_t utf8Sequence(const unsigned char *s, size_t k, size_t n) {
  unsigned char c = s[k];
  if (c < 0x80) return 1;
  size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!need || k + need > n) return 0;
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (s[k + 1] < lo || s[k + 1] > hi) return 0;
  for (size_t j = 2; j < need; j++)
    if ((s[k + j] & 0xC0) != 0x80) return 0;
  return need;
}

// A JS string of a path's bytes, the inverse of getPath(): a byte that is not part of valid UTF-8
// becomes U+DC00 + the byte.
napi_status pathString(napi_env env, const std::string &bytes, napi_value *out) {
  const unsigned char *s = (const unsigned char *)bytes.data();
  size_t n = bytes.size(), k = 0;
  while (k < n) {
    size_t len = utf8Sequence(s, k, n);
    if (!len) break;
    k += len;
  }
  if (k == n) return napi_create_string_utf8(env, bytes.data(), n, out);
  std::u16string u;
  u.reserve(n);
  for (k = 0; k < n;) {
    size_t len = utf8Sequence(s, k, n);
    if (!len) {
      u.push_back((char16_t)(0xDC00 + s[k++]));
      continue;
    }
    uint32_t c = len == 1 ? s[k] : len == 2 ? (s[k] & 0x1F) << 6 | (s[k + 1] & 0x3F) : len == 3 ? (s[k] & 0x0F) << 12 | (s[k + 1] & 0x3F) << 6 | (s[k + 2] & 0x3F) : (s[k] & 0x07) << 18 | (s[k + 1] & 0x3F) << 12 | (s[k + 2] & 0x3F) << 6 | (s[k + 3] & 0x3F);
    k += len;
    if (c >= 0x10000) {
      u.push_back((char16_t)(0xD800 + ((c - 0x10000) >> 10)));
      u.push_back((char16_t)(0xDC00 + ((c - 0x10000) & 0x3FF)));
    } else u.push_back((char16_t)c);
  }
  return napi_create_string_utf16(env, u.data(), u.size(), out);
}

// A JS string's bytes: latin1, a byte a code unit, for identifiers (the scanner's own encoding), or
// a path's bytes (getPath()), as the file system has them.
bool getString(napi_env env, napi_value v, std::string &out, bool path = false) {
  if (path) return getPath(env, v, out);
  size_t len = 0;
  if (napi_get_value_string_latin1(env, v, nullptr, 0, &len) != napi_ok) return false;
  out.resize(len + 1);
  if (napi_get_value_string_latin1(env, v, &out[0], len + 1, &len) != napi_ok) return false;
  out.resize(len);
  return true;
}

bool getStrings(napi_env env, napi_value v, std::vector<std::string> &out, bool path = false) {
  bool isArray = false;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray) return false;
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  out.resize(n);
  for (uint32_t k = 0; k < n; k++) {
    napi_value e;
    if (napi_get_element(env, v, k, &e) != napi_ok || !getString(env, e, out[k], path)) return false;
  }
  return true;
}


template <typename T>
napi_value typedArray(napi_env env, napi_typedarray_type type, const T *data, size_t count) {
  void *mem = nullptr;
  napi_value ab, out;
  if (napi_create_arraybuffer(env, count * sizeof(T), &mem, &ab) != napi_ok) return nullptr;
  if (count) memcpy(mem, data, count * sizeof(T));
  if (napi_create_typedarray(env, type, count, ab, 0, &out) != napi_ok) return nullptr;
  return out;
}

// A typed array's data and length, and its type when asked; false when v is not a typed array.
bool typed(napi_env env, napi_value v, void **data, size_t *count, napi_typedarray_type *type = nullptr) {
  napi_typedarray_type t;
  napi_value ab;
  size_t offset;
  return napi_get_typedarray_info(env, v, type ? type : &t, count, data, &ab, &offset) == napi_ok;
}


}  // namespace kx
