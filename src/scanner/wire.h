// The wire format: the rare parts of a scan as JSON tuples, read back by src/core/scan/wire.ts.
#pragma once
#include <string>
#include <type_traits>
#include <vector>

namespace kx {

// JSON out: latin1 text as JS strings (bytes >= 0x80 as \u00XX, so each byte stays one code unit).
struct Json {
  std::string s;
  void raw(const char *t) { s += t; }
  void ch(char c) { s.push_back(c); }
  void num(int64_t v) { s += std::to_string(v); }
  void str(const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    s.push_back('"');
    size_t run = 0;  // plain bytes waiting to be appended in one go
    for (size_t k = 0; k < n; k++) {
      uint8_t c = p[k];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        run++;
        continue;
      }
      s.append((const char *)p + k - run, run);
      run = 0;
      if (c == '"' || c == '\\') {
        s.push_back('\\');
        s.push_back((char)c);
      } else if (c < 0x20 || c >= 0x7f) {
        s += "\\u00";
        s.push_back(hex[c >> 4]);
        s.push_back(hex[c & 15]);
      }
    }
    s.append((const char *)p + n - run, run);
    s.push_back('"');
  }
  void str(const std::string &t) { str((const uint8_t *)t.data(), t.size()); }

  // Values of a tuple: strings, numbers, string lists, null.
  void val(const std::string &t) { str(t); }
  void val(int64_t v) { num(v); }
  void val(std::nullptr_t) { raw("null"); }
  void val(const std::vector<std::string> &list) {
    ch('[');
    for (size_t k = 0; k < list.size(); k++) {
      if (k) ch(',');
      str(list[k]);
    }
    ch(']');
  }
  template <typename T>
  typename std::enable_if<std::is_integral<T>::value>::type val(T v) {
    num((int64_t)v);
  }
  template <typename... T>
  void tuple(const T &...xs) {
    ch('[');
    bool first = true;
    (item(first, xs), ...);
    ch(']');
  }
  template <typename T>
  void item(bool &first, const T &x) {
    if (!first) ch(',');
    first = false;
    val(x);
  }
};

}  // namespace kx
