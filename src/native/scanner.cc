// The scanner of src/core/lexer.ts, in C++ for the bulk scan of a whole tree: the same state machine,
// statement for statement, so that both give the same FileScan for every input. lexer.ts is the
// reference: change it first, then this, and test/core/nativeScanner.test.ts compares the two.
//
// create() makes a scanner with its own name table; scan() reads and scans a batch of files with it
// on the calling thread, and scanParallel() scans a whole list on threads of its own, a scanner each,
// handing each batch to JS as it is done. A batch is:
//   uses      all files' (name, line, context) triples, one Uint32Array, names numbered on the wire;
//   proxyNames  the name of each file's each proxy, in order, numbered on the wire as well;
//   names     the names first sent in this batch, packed latin1, with their lengths: the pool maps
//             wire numbers to its global table, as it does for the JS workers;
//   info      per file: status, use triples, lines, NUL line;  stat: per file: size, change stamp;
//   json      per file: the rare structured parts (exports, definitions, proxies...) or 0.
// Besides: readTree() walks a tree as walk.ts does, fillPostings() builds index.ts's postings on one of
// libuv's threads, internPacked() interns names into interner.ts's arrays, statPaths(), statList(),
// mapFile(), readChecked() and checkRanges() serve the warm start.
#define NAPI_VERSION 8
#include <node_api.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <memory>
#include <new>
#include <pthread.h>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <string>
#include <string_view>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <wmmintrin.h>
#endif

namespace {

typedef std::vector<uint8_t> Bytes;

// Character classes, as lexer.ts.
enum { C_OTHER = 0, C_IDSTART = 1, C_DIGIT = 2, C_SPACE = 3, C_NL = 4 };
uint8_t cls[256];
uint8_t isIdChar[256];

void initClasses() {
  for (int c = 0; c < 256; c++) {
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95) cls[c] = C_IDSTART;
    else if (c >= 48 && c <= 57) cls[c] = C_DIGIT;
    else if (c == 32 || c == 9 || c == 13 || c == 11 || c == 12) cls[c] = C_SPACE;
    else if (c == 10) cls[c] = C_NL;
    else cls[c] = C_OTHER;
    isIdChar[c] = cls[c] == C_IDSTART || cls[c] == C_DIGIT;
  }
}

// The end of an identifier: the first byte from p on that is not [A-Za-z0-9_]. Sixteen bytes at a
// time where SSE2 is (every x86-64): the byte loop's exit branch, mispredicted once an identifier,
// was a sixth of the scan. Reads up to 15 bytes past the end: file buffers end in PAD zero bytes.
inline const uint8_t *idEnd(const uint8_t *p) {
#ifdef __SSE2__
  const __m128i a = _mm_set1_epi8('a' - 1), z = _mm_set1_epi8('z' + 1), d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
  const __m128i under = _mm_set1_epi8('_'), caseBit = _mm_set1_epi8(0x20);
  for (;;) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    // Bytes from 0x80 are negative to the signed compares, so never letters or digits.
    __m128i lower = _mm_or_si128(v, caseBit);
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, a), _mm_cmplt_epi8(lower, z));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, d0), _mm_cmplt_epi8(v, d9));
    __m128i id = _mm_or_si128(_mm_or_si128(letter, digit), _mm_cmpeq_epi8(v, under));
    unsigned stop = ~(unsigned)_mm_movemask_epi8(id) & 0xffffu;
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

// ---------------------------------------------------------------------------------------------------
// Names: identifiers interned on their bytes. One entry per name, so that a lookup touches one cache
// line besides the bytes: flags, dedupe stamps (the file's for direct uses, a proxy body's for its
// uses) and the wire number it was sent as (-1: not yet). The table slots keep the hash, so a probe
// past another name does not touch its entry.
struct Entry {
  uint32_t hash, start;
  uint16_t len;
  uint8_t flags, pad;
  uint32_t seen, seenCtx;
  int32_t wire;
};

struct Slot {
  uint32_t hash;
  int32_t id;
};

// A direct-mapped cache in front of the table: most identifiers repeat within a file, while the
// table of a tree's millions of names misses the CPU caches. Hits are checked against the bytes.
struct CacheLine {
  uint32_t hash, id, start;
  uint16_t len;
};
const uint32_t CACHE_BITS = 14;

// A growable array of plain values on malloc and realloc. A tree's name table grows to tens of MB:
// std::vector copies it to grow, holding old and new at once, and zero-fills room not yet used, while
// realloc moves a large block's pages (mremap) and new room costs memory only once written.
template <typename T>
struct PodArray {
  T *p = nullptr;
  size_t n = 0, cap = 0;

  PodArray() = default;
  PodArray(const PodArray &) = delete;
  PodArray &operator=(const PodArray &) = delete;
  ~PodArray() { free(p); }

  void reserve(size_t c) {
    if (c <= cap) return;
    T *q = (T *)realloc(p, c * sizeof(T));
    if (!q) throw std::bad_alloc();
    p = q;
    cap = c;
  }
  void push_back(const T &v) {
    if (n == cap) reserve(cap ? cap * 2 : 1024);
    p[n++] = v;
  }
  T &operator[](size_t k) { return p[k]; }
  const T &operator[](size_t k) const { return p[k]; }
  T *data() { return p; }
  const T *data() const { return p; }
  size_t size() const { return n; }
  T *begin() { return p; }
  T *end() { return p + n; }
};

struct Names {
  std::vector<Slot> table;
  uint32_t mask = 0;
  PodArray<Entry> entries;
  PodArray<uint8_t> arena;  // names back to back, `used` bytes, then at least 8 spare (arena.cap)
  size_t used = 0;
  std::vector<CacheLine> cache;
  uint32_t count = 0;

  Names() {
    table.assign(1 << 16, Slot{0, -1});
    mask = (1 << 16) - 1;
    cache.assign(1 << CACHE_BITS, CacheLine{0, 0, 0, 0});
    arena.reserve(1 << 20);
  }

  uint32_t intern(const uint8_t *p, size_t n0, uint32_t h) {
    // As the JS interner: a name keeps at most 65,535 bytes.
    uint32_t n = n0 > 0xffff ? 0xffff : (uint32_t)n0;
    CacheLine &c = cache[(h ^ (h >> 15)) & ((1u << CACHE_BITS) - 1)];
    if (c.hash == h && c.len == n && n && sameBytes(arena.data() + c.start, p, n)) return c.id;
    uint32_t slot = h & mask;
    for (;;) {
      const Slot &t = table[slot];
      if (t.id < 0) break;
      if (t.hash == h) {
        const Entry &e = entries[t.id];
        if (e.len == n && sameBytes(arena.data() + e.start, p, n)) {
          c = CacheLine{h, (uint32_t)t.id, e.start, (uint16_t)n};
          return (uint32_t)t.id;
        }
      }
      slot = (slot + 1) & mask;
    }
    uint32_t id = count++;
    entries.push_back(Entry{h, (uint32_t)used, (uint16_t)n, 0, 0, 0, 0, -1});
    if (used + n + 8 > arena.cap) arena.reserve((used + n + 8) * 2);
    memcpy(arena.data() + used, p, n);
    used += n;
    table[slot] = Slot{h, (int32_t)id};
    c = CacheLine{h, id, entries[id].start, (uint16_t)n};
    if ((uint64_t)count * 5 > (uint64_t)table.size() * 3) rehash();
    return id;
  }

  uint32_t intern(const std::string &s) {
    std::string padded = s + std::string(8, '\0');
    return intern((const uint8_t *)padded.data(), s.size(), hashName((const uint8_t *)padded.data(), s.size()));
  }

  std::string name(uint32_t id) const { return std::string((const char *)arena.data() + entries[id].start, entries[id].len); }

  bool startsWith(uint32_t id, const char *w) const {
    size_t l = strlen(w);
    return entries[id].len >= l && memcmp(arena.data() + entries[id].start, w, l) == 0;
  }
  bool endsWith(uint32_t id, const char *w) const {
    size_t l = strlen(w);
    return entries[id].len >= l && memcmp(arena.data() + entries[id].start + entries[id].len - l, w, l) == 0;
  }
  bool contains(uint32_t id, const char *w) const {
    const char *b = (const char *)arena.data() + entries[id].start;
    return std::string_view(b, entries[id].len).find(w) != std::string_view::npos;
  }
  bool is(uint32_t id, const char *w) const { return entries[id].len == strlen(w) && startsWith(id, w); }

  void rehash() {
    std::vector<Slot> next(table.size() * 2, Slot{0, -1});
    uint32_t m = (uint32_t)next.size() - 1;
    for (uint32_t id = 0; id < count; id++) {
      uint32_t slot = entries[id].hash & m;
      while (next[slot].id >= 0) slot = (slot + 1) & m;
      next[slot] = Slot{entries[id].hash, (int32_t)id};
    }
    table.swap(next);
    mask = m;
  }
};

// ---------------------------------------------------------------------------------------------------
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

// The regular expressions lexer.ts applies to define bodies, as plain loops. `.` in JS excludes
// \n and \r; trim() and \s take, of latin1, \t..\r, space and no-break space.
inline bool isLineTerm(uint8_t c) { return c == 10 || c == 13; }
inline bool isJsSpace(uint8_t c) { return (c >= 9 && c <= 13) || c == 32 || c == 0xa0; }

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


// ---------------------------------------------------------------------------------------------------
// isDefineOnly (scanFile.ts): every line, split at \n and \r, is a `#define NAME [number]`, a guard
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
// (plainDefineLine), the others found with memchr.
bool isDefineOnly(const uint8_t *p, size_t n, uint32_t &lines) {
  lines = 1;
  size_t s = 0;
  for (;;) {
    // Most lines of the large register headers, without a memchr() for each line's end (a line of
    // about 60 bytes left a third of this pass in the call).
    for (size_t next; s < n && (next = plainDefineLine(p, s)) != 0 && next <= n; s = next) lines++;
    const uint8_t *nl = (const uint8_t *)memchr(p + s, 10, n - s);
    size_t e = nl ? (size_t)(nl - p) : n;
    size_t a = s;
    // A carriage return splits a line too (JS's multiline ^ and $). The plain lines above have none.
    for (const uint8_t *cr; (cr = (const uint8_t *)memchr(p + a, 13, e - a)) != nullptr; a = (size_t)(cr - p) + 1)
      if (!defineOnlyLine(p + a, (size_t)(cr - p) - a)) return false;
    if (!defineOnlyLine(p + a, e - a)) return false;
    if (!nl) return true;
    lines++;
    s = e + 1;
  }
}

const size_t DEFINE_ONLY_MIN_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------------------
struct Export {
  std::string macro;
  std::vector<std::string> args;
  uint32_t line, col, endLine, endCol;
  std::string cond;
  bool hasNs = false;
  std::string ns;
  uint32_t nsLine = 0;
  bool late = false;
  bool printed = false;  // text in a string literal that a program prints (lexer.ts's RawExport.printed)
};
struct Proxy {
  std::string name;
  uint32_t line;
  bool isMacro;
  uint32_t id;  // the name's, sent as a wire number beside the uses (proxyNames)
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
    while (j < n && (buf[j] == 32 || buf[j] == 9 || buf[j] == 13)) j++;
    return j;
  }

  bool nextIsPaste(size_t j) const {
    j = skipSpaces(j);
    return buf[j] == 35 && buf[j + 1] == 35;
  }

  bool isZeroCondition(size_t j) const {
    j = skipSpaces(j);
    while (buf[j] == 40) j = skipSpaces(j + 1);
    if (buf[j] != 48) return false;
    j++;
    while (buf[j] == 41) j++;
    j = skipSpaces(j);
    return j >= n || buf[j] == 10 || buf[j] == 47;
  }

  bool startsWithAscii(size_t j, const char *w) const {
    size_t l = strlen(w);
    for (size_t k = 0; k < l; k++)
      if (j + k >= n + PAD || buf[j + k] != (uint8_t)w[k]) return false;
    return !isIdChar[buf[j + l]];
  }

  bool hasContinuation(size_t j) const {
    const void *nl = j < n ? memchr(buf + j, 10, n - j) : nullptr;
    size_t end = nl ? (const uint8_t *)nl - buf : n;
    if (end == 0) return false;
    size_t k = end - 1;
    if (buf[k] == 13) {
      if (k == 0) return false;
      k--;
    }
    return buf[k] == 92;
  }

  bool isPlainNumberBody(size_t j) const {
    j = skipSpaces(j);
    if (buf[j] == 40) j++;
    if (j >= n || cls[buf[j]] != C_DIGIT) return false;
    while (j < n && (isIdChar[buf[j]] || buf[j] == 46)) j++;
    if (buf[j] == 41) j++;
    j = skipSpaces(j);
    return j >= n || buf[j] == 10 || (buf[j] == 47 && (buf[j + 1] == 42 || buf[j + 1] == 47) && !hasContinuation(j));
  }

  size_t lineStartOf(size_t j) const {
    while (j > 0 && buf[j - 1] != 10) j--;
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

  void endDefine(size_t end) {
    if (!defineHasExport) {
      size_t from = defineBodyStart;
      if (from < exportSearchFrom || (nextExport >= 0 && (size_t)nextExport < from)) {
        nextExport = -1;
        for (size_t k = from; k + 6 <= n; k++) {
          const void *e = memchr(buf + k, 'E', n - k);
          if (!e) break;
          k = (const uint8_t *)e - buf;
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
    } else if (!proxyMode && (int64_t)end - (int64_t)defineBodyStart < 96) {
      std::string body = jsTrim(latin1(defineBodyStart, end));
      if (isNameBody(body)) {
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

  // As lexer.ts's asmStringUses(): `call NAME` / `jmp NAME` in a string literal that holds assembly,
  // from s (after its quote) to e (its closing quote).
  void asmStringUses(size_t s, size_t e, uint32_t ln) {
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

  void openMacroProxy() {
    size_t len = defineNameEnd - defineNameStart;
    uint32_t id = names.intern(buf + defineNameStart, len, hashName(buf + defineNameStart, len));
    proxies.push_back({latin1(defineNameStart, defineNameEnd), defineLine, true, id});
    defineCtx = (uint32_t)proxies.size();
    ctxStamp = sh.stamp();
  }

  // To the next "*/" with memchr, then the newlines in between, also with memchr.
  size_t skipComment(size_t j) {
    size_t k = j;
    size_t end = n;
    while (k < n) {
      const uint8_t *star = (const uint8_t *)memchr(buf + k, 42, n - k);
      if (!star) break;
      k = (size_t)(star - buf);
      if (buf[k + 1] == 47) {
        end = k + 2;
        break;
      }
      k++;
    }
    size_t stop = end == n ? n : end - 2;
    for (const uint8_t *q = buf + j; (q = (const uint8_t *)memchr(q, 10, buf + stop - q)) != nullptr; q++) line++;
    return end;
  }

  size_t skipBlank(size_t j) {
    while (j < n) {
      uint8_t c = buf[j];
      if (c == 10) {
        line++;
        j++;
      } else if (cls[c] == C_SPACE) j++;
      else if (c == 92 && buf[j + 1] == 10) {
        line++;
        j += 2;
      } else if (c == 47 && buf[j + 1] == 42) j = skipComment(j + 2);
      else if (c == 47 && buf[j + 1] == 47) {
        while (j < n && buf[j] != 10) j++;
      } else break;
    }
    return j;
  }

  size_t skipLine(size_t j) {
    while (j < n) {
      uint8_t c = buf[j];
      if (c == 10) return j;
      if (c == 92 && buf[j + 1] == 10) {
        line++;
        j += 2;
      } else if (c == 47 && buf[j + 1] == 42) j = skipComment(j + 2);
      else j++;
    }
    return n;
  }

  std::vector<std::string> parseArgs(size_t j) {
    std::vector<std::string> args;
    std::string cur;
    int depth = 0;
    size_t limit = n < j + 4096 ? n : j + 4096;
    while (j < limit) {
      uint8_t c = buf[j];
      if (c == 40) {
        if (depth > 0) cur.push_back('(');
        depth++;
        j++;
      } else if (c == 41) {
        depth--;
        j++;
        if (depth == 0) {
          args.push_back(cur);
          argsEnd = j;
          return args;
        }
        cur.push_back(')');
      } else if (c == 44 && depth == 1) {
        args.push_back(cur);
        cur.clear();
        j++;
      } else if (c == 34) {
        size_t s = j;
        j++;
        while (j < n && buf[j] != 34 && buf[j] != 10) j += buf[j] == 92 ? 2 : 1;
        j++;
        cur += latin1(s, j < n ? j : n);
      } else if (c == 10 || cls[c] == C_SPACE || c == 47 || (c == 92 && buf[j + 1] == 10)) {
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

  size_t directive(size_t j) {
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
      if (buf[j] == 40) {
        j++;
        while (j < n && buf[j] != 41 && buf[j] != 10) {
          uint8_t c = buf[j];
          if (cls[c] == C_IDSTART) {
            size_t ps = j;
            while (j < n && isIdChar[buf[j]]) j++;
            uint32_t pid = names.intern(buf + ps, j - ps, hashName(buf + ps, j - ps));
            defineParams.push_back(pid);
            defineParamNames.push_back(names.name(pid));
          } else if (c == 92 && buf[j + 1] == 10) {
            line++;
            j += 2;
          } else j++;
        }
        if (buf[j] == 41) j++;
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

  void include(size_t hash, size_t j) {
    int close = buf[j] == 34 ? 34 : buf[j] == 60 ? 62 : -1;
    if (close < 0) return;
    size_t e = j + 1;
    while (e < n && buf[e] != close && buf[e] != 10) e++;
    if (buf[e] != close) return;
    std::string target = latin1(j + 1, e);
    if (!endsWith(target, ".c") && wrappers.empty()) return;
    size_t ls = lineStartOf(hash);
    includes.push_back({target, close == 62, line, (uint32_t)(hash - ls), (uint32_t)(e + 1 - ls)});
  }

  void reopenAltFn() {
    fnDefIndex = altFnDef;
    ctx = altFnCtx;
    ctxStamp = altFnStamp;
    bodyKind = B_FUNCTION;
    altFnDef = -1;
    resetStmt();
  }

  void popCond() {
    condIds.pop_back();
    condBranch.pop_back();
    condBrace.pop_back();
    condBraceAfterFirst.pop_back();
  }

  size_t skipFalseBranch(size_t j) {
    int nest = 0;
    j = skipLine(j);
    while (j < n) {
      j++;
      line++;
      size_t t = skipSpaces(j);
      if (buf[t] == 35) {
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
        while (j < n && buf[j] != 10) {
          if (buf[j] == 47 && buf[j + 1] == 42) j = skipComment(j + 2);
          else if (buf[j] == 92 && buf[j + 1] == 10) {
            line++;
            j += 2;
          } else j++;
        }
      }
    }
    return n;
  }

  // As lexer.ts's printedExport(): `EXPORT_SYMBOL(name);` at the start of a string literal, s after its quote.
  void printedExport(size_t s) {
    size_t j = s;
    while (j < n && isIdChar[buf[j]]) j++;
    if (buf[j] != 40) return;
    std::string macro((const char *)buf + s, j - s);
    if (!sh.exportNames.count(macro)) return;
    size_t open = j + 1;
    j = open;
    while (j < n && (isIdChar[buf[j]] || buf[j] == 44 || buf[j] == 32 || buf[j] == 9)) j++;
    size_t semi = j + 1;
    while (buf[semi] == 32 || buf[semi] == 9 || buf[semi] == 13) semi++;
    if (buf[j] != 41 || buf[semi] != 59) return;
    // Identifiers between commas, blanks around them only.
    std::vector<std::string> args;
    for (size_t k = open; k <= j; k++) {
      size_t a = k;
      while (buf[a] == 32 || buf[a] == 9) a++;
      size_t e = a;
      while (isIdChar[buf[e]]) e++;
      k = e;
      while (buf[k] == 32 || buf[k] == 9) k++;
      if (e == a || cls[buf[a]] != C_IDSTART || (buf[k] != 44 && buf[k] != 41)) return;
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

  size_t exportCall(uint32_t id, size_t s, size_t i) {
    uint32_t startLine = line;
    uint32_t col = (uint32_t)(s - lineStartOf(s));
    size_t j = skipBlank(i);
    if (buf[j] != 40) {
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

  size_t importCall(size_t i) {
    size_t j = skipBlank(i);
    if (buf[j] != 40) return j;
    uint32_t ln = line;
    std::vector<std::string> args = parseArgs(j);
    imports.push_back({unquote(args.empty() ? std::string() : args[0]), ln});
    prev = P_OTHER;
    return argsEnd;
  }

  void fileScopeIdent(uint32_t id, uint8_t flags, size_t i) {
    fileScopeIdentInner(id, flags, i);
    prevStorage = (flags & F_STORAGE) != 0;
  }

  void fileScopeIdentInner(uint32_t id, uint8_t flags, size_t i) {
    if (id == sh.kStatic) stmtStatic = true;
    else if (id == sh.kExtern || id == sh.kTypedef) stmtSkip = true;
    else if (flags & F_AGGREGATE) stmtAggregate = true;
    if (stmtHasEq) {
      if (!stmtSkip) record(id, line, ctx);
    } else if ((prev == P_IDENT || prev == P_STAR) && !(flags & F_QUALIFIER) && !(prevStorage && buf[skipSpaces(i)] == 40)) {
      declId = id;
      declLine = line;
    } else if (prev == P_NONE || prev == P_OTHER || prevStorage) {
      size_t t = skipSpaces(i);
      if (buf[t] == 40 && !(flags & F_STORAGE)) {
        if (!stmtSkip) record(id, line, ctx);
        if (names.startsWith(id, "DECLARE_")) macroSkip = true;
        else if (names.startsWith(id, "DEFINE_") || names.endsWith(id, "_HEAD")) macroDefines = true;
        macroCallParen = 1;
      }
    }
  }

  size_t asmIdent(uint32_t id, size_t i) {
    if (buf[i] == 58 && brace == 0) {
      addDef(id, line, line, false, 3);
    } else {
      size_t t = skipSpaces(i);
      if (buf[t] == 40 && ((names.startsWith(id, "SYM_") && names.contains(id, "_START")) || names.is(id, "ENTRY") || names.is(id, "GLOBAL") || names.is(id, "SYM_FUNC_ALIAS"))) {
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

  inline __attribute__((always_inline)) size_t punct(uint8_t c, size_t i) {
    switch (c) {
      case 40:
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
      case 41:
        if (paren > 0) paren--;
        if (inParams && paren < paramsParen) {
          inParams = false;
          pendingFn = fnName;
          pendingFnLine = fnLine;
        }
        if (paren == 0) macroCallParen = 0;
        prev = P_RPAREN;
        break;
      case 123:
        if (brace == 0) {
          if (pendingFn >= 0 && !stmtHasEq && altFnDef >= 0) {
            reopenAltFn();
          } else if (pendingFn >= 0 && !stmtHasEq) {
            bodyKind = B_FUNCTION;
            fnDefIndex = (int64_t)addDef((uint32_t)pendingFn, pendingFnLine, line, stmtStatic, 0);
            if (proxyMode) {
              proxies.push_back({names.name((uint32_t)pendingFn), pendingFnLine, false, (uint32_t)pendingFn});
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
      case 125:
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
      case 59:
        if (brace == 0 && paren == 0) {
          if (declId >= 0 && !stmtSkip) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
          for (size_t d = stmtDefStart; d < defIds.size(); d++) defMeta[d * 4 + 1] = line;
          resetStmt();
          break;
        }
        prev = P_OTHER;
        break;
      case 61:
        if (brace == 0 && paren == 0 && buf[i + 1] != 61) {
          if (declId >= 0 && !stmtSkip && !stmtHasEq) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
          declId = -1;
          stmtHasEq = true;
        }
        prev = P_OTHER;
        break;
      case 44:
        if (brace == 0 && paren == 0) {
          if (declId >= 0 && !stmtSkip && !stmtHasEq) addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
          declId = -1;
          stmtHasEq = false;
        }
        prev = P_OTHER;
        break;
      case 91:
        if (brace == 0 && paren == 0 && declId >= 0 && !stmtSkip && !stmtHasEq) {
          addDef((uint32_t)declId, declLine, line, stmtStatic, 1);
          declId = -1;
        }
        prev = P_OTHER;
        break;
      case 42:
        prev = P_STAR;
        break;
      case 46:
        prev = P_MEMBER;
        break;
      case 45:
        if (buf[i + 1] == 62) {
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

  bool isDefineParam(uint32_t id) const {
    for (uint32_t p : defineParams)
      if (p == id) return true;
    return false;
  }

  void run() {
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
          if (isIdChar[d] || d == 46) i++;
          else if ((d == 43 || d == 45) && (buf[i - 1] == 101 || buf[i - 1] == 69 || buf[i - 1] == 112 || buf[i - 1] == 80)) i++;
          else break;
        }
        atLineStart = false;
        if (inDefine) definePrev = P_OTHER;
        else prev = P_OTHER;
        continue;
      }

      if (c == 47) {
        uint8_t d = buf[i + 1];
        if (d == 42) {
          i = skipComment(i + 2);
          continue;
        }
        if (d == 47) {
          for (;;) {
            const void *nlp = i < n ? memchr(buf + i, 10, n - i) : nullptr;
            if (!nlp) {
              i = n;
              break;
            }
            size_t nl = (const uint8_t *)nlp - buf;
            if (!isAsm && nl > 0 && buf[nl - 1] == 92) {
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
      if (c == 92 && (buf[i + 1] == 10 || (buf[i + 1] == 13 && buf[i + 2] == 10))) {
        i += buf[i + 1] == 10 ? 2 : 3;
        line++;
        continue;
      }
      if (c == 35) {
        if (atLineStart && !inDefine) {
          i = directive(i + 1);
          continue;
        }
        if (inDefine) definePrev = P_HASH;
        i++;
        continue;
      }
      atLineStart = false;
      if (c == 34) {
        // "E": perhaps an export call that a host program prints into a file it generates.
        if (buf[i + 1] == 69 && !isAsm && !inDefine) printedExport(i + 1);
        size_t start = i + 1;
        uint32_t startLine = line;
        i++;
        while (i < n) {
          uint8_t d = buf[i];
          if (d == 34 || d == 10) break;
          if (d == 92) {
            if (buf[i + 1] == 10) line++;
            i += 2;
          } else i++;
        }
        if (!isAsm && i > start + 5 && !stmtSkip) asmStringUses(start, i < n ? i : n, startLine);
        if (i < n && buf[i] == 34) i++;
        if (inDefine) definePrev = P_OTHER;
        else prev = P_OTHER;
        continue;
      }
      if (c == 39) {
        i++;
        if (!isAsm) {
          size_t limit = n < i + 12 ? n : i + 12;
          while (i < limit && buf[i] != 39 && buf[i] != 10) i += buf[i] == 92 ? 2 : 1;
          if (i < n && buf[i] == 39) i++;
        }
        continue;
      }

      if (inDefine) {
        bool arrow = c == 45 && buf[i + 1] == 62;
        definePrev = c == 46 || arrow ? P_MEMBER : P_OTHER;
        i += arrow ? 2 : 1;
        continue;
      }
      i = punct(c, i);
    }
    if (inDefine) endDefine(n);
  }

  // The rare parts, as lexer.ts's FileScan, minus uses and lines: each record a JSON tuple, read
  // back by nativeScanner.ts's toScan().
  void json(Json &out) {
    bool keep = !exports.empty() || keepDefs;
    bool macros = (!exports.empty() || !includes.empty()) && !localMacros.empty();
    if (exports.empty() && !(keep && !defIds.empty()) && proxies.empty() && wrappers.empty() && imports.empty() && !macros && includes.empty()) {
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
    for (size_t d = 0; keep && d < defIds.size(); d++) {
      if (d) out.ch(',');
      uint32_t ln = defMeta[d * 4], end = defMeta[d * 4 + 1];
      out.tuple(names.name(defIds[d]), ln, end > ln ? end : ln, defMeta[d * 4 + 2], defMeta[d * 4 + 3]);
    }
    out.raw("],\"p\":[");
    for (size_t k = 0; k < proxies.size(); k++) {
      if (k) out.ch(',');
      out.tuple(proxies[k].name, proxies[k].line, proxies[k].isMacro ? 1 : 0);
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
};

// ---------------------------------------------------------------------------------------------------
struct Instance {
  Shared *sh = nullptr;
  std::vector<std::string> exportNames;
  uint32_t nameLimit = 1u << 20;
  uint32_t nextWire = 0;
  Bytes readBuf;
  Instance() = default;
  Instance(const Instance &) = delete;
  Instance &operator=(const Instance &) = delete;
  ~Instance() { delete sh; }
};

Shared *newShared(const std::vector<std::string> &exportNames) {
  Shared *sh = new Shared();
  Names &nm = sh->names;
  auto id = [&](const char *w, uint8_t f) {
    uint32_t v = nm.intern(std::string(w));
    nm.entries[v].flags |= f;
    return v;
  };
  sh->kStatic = id("static", F_STORAGE);
  sh->kExtern = id("extern", F_STORAGE);
  sh->kTypedef = id("typedef", F_STORAGE);
  id("inline", F_STORAGE | F_QUALIFIER);
  id("const", F_STORAGE | F_QUALIFIER);
  for (const char *q : {"volatile", "__inline", "__inline__", "__always_inline"}) id(q, F_QUALIFIER);
  for (const char *a : {"struct", "union", "enum"}) id(a, F_AGGREGATE);
  sh->kDefine = id("define", 0);
  sh->kIf = id("if", 0);
  sh->kIfdef = id("ifdef", 0);
  sh->kIfndef = id("ifndef", 0);
  sh->kElif = id("elif", 0);
  sh->kElse = id("else", 0);
  sh->kEndif = id("endif", 0);
  sh->kUndef = id("undef", 0);
  sh->kInclude = id("include", 0);
  id("MODULE_IMPORT_NS", F_IMPORT);
  for (const std::string &e : exportNames) id(e.c_str(), F_EXPORT);
  sh->exportNames.insert(exportNames.begin(), exportNames.end());
  return sh;
}

// Kind and proxies from the path, as sourceKindOf() and proxiesAllowed().
void kindOf(const std::string &p, bool &isAsm, bool &isHeader, bool &proxies) {
  isAsm = endsWith(p, ".S") && !endsWith(p, ".c") && !endsWith(p, ".c_shipped");
  isHeader = endsWith(p, ".h");
  proxies = isHeader && !startsWith(p, "tools/") && !startsWith(p, "scripts/");
}

enum { S_OK = 0, S_BINARY = 1, S_TOO_LARGE = 2, S_UNREADABLE = 3 };

// A file's change stamp: its inode, mtime and ctime in nanoseconds, folded into 52 bits so that a double
// holds it exactly. Same-size edits with the mtime put back, or moved by 1 ns, still change the ctime; a
// file replaced by another changes the inode. changeStamp() in src/core/stamp.ts computes the same.
double changeStamp(const struct stat &st) {
  uint64_t m = (uint64_t)((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
  uint64_t c = (uint64_t)((int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
  uint64_t h = m * 0x9E3779B97F4A7C15ull;
  h = (h ^ c) * 0xC2B2AE3D27D4EB4Full;
  h = (h ^ (uint64_t)st.st_ino) * 0x165667B19E3779F9ull;
  h ^= h >> 32;
  return (double)(h & 0xFFFFFFFFFFFFFull);
}

// What src/core/regularFile.ts's NOT_REGULAR says: a link, a FIFO or a device where a file was.
const char *const NOT_REGULAR = "not a regular file";

struct FileOut {
  int status = S_OK;
  double size = 0, stamp = 0;
  uint32_t lines = 0;
  uint32_t nulLine = 0;
  std::string error;
};

uint32_t countLines(const uint8_t *b, size_t end) {
  uint32_t line = 1;
  for (const uint8_t *q = b, *e = b + end; (q = (const uint8_t *)memchr(q, 10, e - q)) != nullptr; q++) line++;
  return line;
}

// Reads a whole file as readShared() does; false with out.error (an errno name) when it cannot.
bool readFile(const std::string &abs, double maxBytes, Bytes &buf, size_t &len, FileOut &out) {
  // Never a FIFO's open that waits for a writer, nor a link the tree's walk would not follow.
  int fd = open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) {
    const char *e = errno == ELOOP ? NOT_REGULAR : strerrorname_np(errno);
    out.error = e ? e : "EIO";
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const char *e = strerrorname_np(errno);
    out.error = e ? e : "EIO";
    close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = NOT_REGULAR;
    close(fd);
    return false;
  }
  out.size = (double)st.st_size;
  out.stamp = changeStamp(st);
  if ((double)st.st_size > maxBytes) {
    close(fd);
    out.status = S_TOO_LARGE;
    return true;
  }
  size_t want = (size_t)st.st_size + 1 + PAD;
  if (buf.size() < want) buf.resize(want);
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf.data() + got, buf.size() - PAD - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      const char *e = strerrorname_np(errno);
      out.error = e ? e : "EIO";
      close(fd);
      return false;
    }
    if (r == 0) break;
    got += (size_t)r;
    // the limit holds for the bytes read: a file that grows while it is read stops here
    if ((double)got > maxBytes) {
      close(fd);
      out.size = (double)got;
      out.status = S_TOO_LARGE;
      return true;
    }
    if (got == buf.size() - PAD) buf.resize(buf.size() * 2);
  }
  close(fd);
  memset(buf.data() + got, 0, PAD);
  len = got;
  out.size = (double)got;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Node-API glue.
#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, nullptr, "kexports native scanner: " #call); \
      return nullptr;                                                    \
    }                                                                    \
  } while (0)

// A path's bytes from its JS string, as src/core/fsName.ts's encodeName() makes them: UTF-8, but
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

void finalizeInstance(napi_env, void *data, void *) {
  delete (Instance *)data;
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

// create(exportNames: string[], nameLimit: number): a scanner with its own names, freed with the handle.
napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::vector<std::string> exportNames;
  double limit = 0;
  if (argc < 2 || !getStrings(env, argv[0], exportNames) || napi_get_value_double(env, argv[1], &limit) != napi_ok) {
    napi_throw_type_error(env, nullptr, "create(exportNames, nameLimit)");
    return nullptr;
  }
  Instance *in = new Instance();
  in->exportNames = exportNames;
  in->nameLimit = limit > 0 ? (uint32_t)limit : 1u << 20;
  napi_value handle;
  if (napi_create_external(env, in, finalizeInstance, nullptr, &handle) != napi_ok) {
    delete in;
    napi_throw_error(env, nullptr, "kexports native scanner: napi_create_external");
    return nullptr;
  }
  return handle;
}

// The scanner behind a handle from create(), or nullptr.
Instance *scannerOf(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  void *in = nullptr;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &in) != napi_ok) return nullptr;
  return (Instance *)in;
}

// release(handle): frees the scanner's names and read buffer now, not when the handle is collected.
napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Instance *in = argc == 1 ? scannerOf(env, argv[0]) : nullptr;
  if (in) {
    delete in->sh;
    in->sh = nullptr;
    Bytes().swap(in->readBuf);
  }
  return nullptr;
}

// What a scan reads, from scan()'s or scanParallel()'s arguments on the JS thread.
struct ScanInput {
  std::string root;
  std::vector<std::string> paths, wrapperNames;
  double maxBytes = 0;
  bool keepDefs = false;
};

// One batch: what runScan() builds on whichever thread runs it, and scanResult() hands to JS on the
// JS thread.
struct ScanOut {
  bool fresh = false;
  std::vector<uint32_t> uses, proxyNames;
  Bytes packed;
  std::vector<uint16_t> packedLens;
  std::vector<double> stat;
  std::vector<int32_t> info;
  Json json;
  // scanParallel() only: the scanner, and the index of the batch's first path.
  uint32_t scanner = 0;
  size_t first = 0;
};

// Reads root, paths, maxBytes, wrapperNames | null and keepDefs from argv; false when they are not those.
bool readScanInput(napi_env env, napi_value *argv, ScanInput &in) {
  napi_valuetype wt = napi_undefined;
  return getString(env, argv[0], in.root, true) && getStrings(env, argv[1], in.paths, true) && napi_get_value_double(env, argv[2], &in.maxBytes) == napi_ok &&
         napi_typeof(env, argv[3], &wt) == napi_ok && (wt == napi_null || wt == napi_undefined || getStrings(env, argv[3], in.wrapperNames)) &&
         napi_get_value_bool(env, argv[4], &in.keepDefs) == napi_ok;
}

// Reads and scans paths [from, to) with one scanner. Touches no JS value: scanParallel() runs it on
// its own threads.
void runScan(Instance &in, const ScanInput &input, size_t from, size_t to, ScanOut &batch) {
  if (!in.sh || in.sh->names.count > in.nameLimit) {
    delete in.sh;
    in.sh = newShared(in.exportNames);
    in.nextWire = 0;
    batch.fresh = true;
  }
  Shared &sh = *in.sh;
  Names &names = sh.names;
  std::vector<uint32_t> wrapperIds;
  for (const std::string &w : input.wrapperNames) {
    uint32_t id = names.intern(w);
    if (!(names.entries[id].flags & F_WRAPPER)) {
      names.entries[id].flags |= F_WRAPPER;
      wrapperIds.push_back(id);
    }
  }

  std::vector<uint32_t> &uses = batch.uses;
  batch.stat.resize((to - from) * 2);
  batch.info.resize((to - from) * 4);
  Json &json = batch.json;
  json.ch('[');
  for (size_t f = 0; f < to - from; f++) {
    const std::string &path = input.paths[from + f];
    FileOut out;
    size_t len = 0;
    size_t usesBefore = uses.size();
    if (f) json.ch(',');
    if (!readFile(input.root + "/" + path, input.maxBytes, in.readBuf, len, out)) {
      out.status = S_UNREADABLE;
      out.size = 0;
      out.stamp = 0;
      json.str(out.error);
    } else if (out.status == S_TOO_LARGE) {
      json.ch('0');
    } else {
      const uint8_t *b = in.readBuf.data();
      const void *nul = memchr(b, 0, len);
      bool isAsm, isHeader, proxies;
      kindOf(path, isAsm, isHeader, proxies);
      if (nul) {
        out.status = S_BINARY;
        out.nulLine = countLines(b, (const uint8_t *)nul - b);
        json.ch('0');
      } else if (isHeader && len >= DEFINE_ONLY_MIN_BYTES && isDefineOnly(b, len, out.lines)) {
        json.ch('0');
      } else {
        Scan scan(b, len, sh, isAsm, proxies, input.keepDefs);
        scan.run();
        out.lines = scan.line;
        scan.json(json);
        // Wire numbers: a name's first use in this scanner's life sends its bytes.
        auto wire = [&](uint32_t id) -> uint32_t {
          Entry &e = names.entries[id];
          if (e.wire < 0) {
            e.wire = (int32_t)in.nextWire++;
            const uint8_t *p = names.arena.data() + e.start;
            batch.packed.insert(batch.packed.end(), p, p + e.len);
            batch.packedLens.push_back(e.len);
          }
          return (uint32_t)e.wire;
        };
        uses.resize(usesBefore + scan.useCount);
        for (size_t u = 0; u < scan.useCount; u += 3) {
          uses[usesBefore + u] = wire(sh.sink[u]);
          uses[usesBefore + u + 1] = sh.sink[u + 1];
          uses[usesBefore + u + 2] = sh.sink[u + 2];
        }
        // The proxies' names too: the pool maps them as it maps the uses, without looking up strings.
        for (const Proxy &p : scan.proxies) batch.proxyNames.push_back(wire(p.id));
      }
    }
    batch.stat[f * 2] = out.size;
    batch.stat[f * 2 + 1] = out.stamp;
    batch.info[f * 4] = out.status;
    batch.info[f * 4 + 1] = (int32_t)((uses.size() - usesBefore) / 3);
    batch.info[f * 4 + 2] = (int32_t)out.lines;
    batch.info[f * 4 + 3] = (int32_t)out.nulLine;
  }
  json.ch(']');
  for (uint32_t id : wrapperIds) names.entries[id].flags &= ~F_WRAPPER;
}

// A batch as nativeScanner.ts's RawBatch.
napi_value scanResult(napi_env env, const ScanOut &batch) {
  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_get_boolean(env, batch.fresh, &v));
  CHECK(napi_set_named_property(env, result, "fresh", v));
  CHECK((v = typedArray(env, napi_uint8_array, batch.packed.data(), batch.packed.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "names", v));
  CHECK((v = typedArray(env, napi_uint16_array, batch.packedLens.data(), batch.packedLens.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "nameLens", v));
  CHECK((v = typedArray(env, napi_uint32_array, batch.uses.data(), batch.uses.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "uses", v));
  CHECK((v = typedArray(env, napi_uint32_array, batch.proxyNames.data(), batch.proxyNames.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "proxyNames", v));
  CHECK((v = typedArray(env, napi_float64_array, batch.stat.data(), batch.stat.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "stat", v));
  CHECK((v = typedArray(env, napi_int32_array, batch.info.data(), batch.info.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "info", v));
  CHECK(napi_create_string_latin1(env, batch.json.s.data(), batch.json.s.size(), &v));
  CHECK(napi_set_named_property(env, result, "json", v));
  return result;
}

// scan(handle, root, paths, maxBytes, wrapperNames | null, keepDefs): one batch, on this thread.
napi_value ScanFiles(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Instance *in = argc == 6 ? scannerOf(env, argv[0]) : nullptr;
  ScanInput input;
  if (!in || !readScanInput(env, argv + 1, input)) {
    napi_throw_type_error(env, nullptr, "scan(handle, root, paths, maxBytes, wrapperNames, keepDefs)");
    return nullptr;
  }
  ScanOut batch;
  runScan(*in, input, 0, input.paths.size(), batch);
  return scanResult(env, batch);
}

// ---------------------------------------------------------------------------------------------------
// scanParallel(): threads of this addon, each with its own scanner, take chunks of one path list in
// turn and hand each batch to JS as it is done; the JS thread only maps the batches. Worker threads
// did the same at the cost of an isolate each, a structured clone of every reply, and a JS thread that
// scanned between replies, so that a worker's reply waited for its chunk to end.
struct Parallel {
  ScanInput input;
  size_t chunk = 128;
  std::vector<std::unique_ptr<Instance>> scanners;
  std::vector<std::thread> threads;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  napi_threadsafe_function tsfn = nullptr;
  napi_ref onBatch = nullptr, onDone = nullptr;
  napi_ref errorRef = nullptr;  // what onBatch threw; the JS thread's alone
};

// Guided chunks: a share of what is left, from MAX_CHUNK down to the caller's chunk. Long runs of one
// directory's files keep a thread's name cache warm and its batches few (faster than fixed 128-file
// chunks: README, Performance), and the small last chunks leave no thread waiting long for another.
const size_t MAX_CHUNK = 4096;

void parallelThread(Parallel *par, uint32_t t) {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "kexports-scan");  // as top -H and perf show it
#endif
  const size_t n = par->input.paths.size();
  const size_t threads = par->scanners.size();
  while (!par->stop.load(std::memory_order_relaxed)) {
    size_t from = par->next.load(), size;
    do {
      if (from >= n) break;
      size = (n - from) / (threads * 4);
      size = size > MAX_CHUNK ? MAX_CHUNK : size < par->chunk ? par->chunk : size;
    } while (!par->next.compare_exchange_weak(from, from + size));
    if (from >= n) break;
    size_t to = from + size < n ? from + size : n;
    ScanOut *batch = new ScanOut();
    batch->scanner = t;
    batch->first = from;
    runScan(*par->scanners[t], par->input, from, to, *batch);
    if (napi_call_threadsafe_function(par->tsfn, batch, napi_tsfn_blocking) != napi_ok) {
      delete batch;
      break;
    }
  }
  napi_release_threadsafe_function(par->tsfn, napi_tsfn_release);
}

// On the JS thread, in each scanner's order: onBatch(scanner, first, batch). A false return, or a
// throw, stops the threads after their current chunks.
void parallelBatch(napi_env env, napi_value, void *context, void *data) {
  Parallel *par = (Parallel *)context;
  ScanOut *batch = (ScanOut *)data;
  if (!env || par->errorRef || par->stop.load()) {
    delete batch;
    return;
  }
  napi_value cb, undefined, argv[3], ret = nullptr;
  napi_get_undefined(env, &undefined);
  napi_create_uint32(env, batch->scanner, &argv[0]);
  napi_create_double(env, (double)batch->first, &argv[1]);
  argv[2] = scanResult(env, *batch);
  delete batch;
  if (argv[2] && napi_get_reference_value(env, par->onBatch, &cb) == napi_ok) napi_call_function(env, undefined, cb, 3, argv, &ret);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_create_reference(env, err, 1, &par->errorRef);
    par->stop.store(true);
    return;
  }
  bool go = true;
  napi_valuetype rt = napi_undefined;
  if (ret && napi_typeof(env, ret, &rt) == napi_ok && rt == napi_boolean) napi_get_value_bool(env, ret, &go);
  if (!go) par->stop.store(true);
}

// Once every thread has released the function and its batches are handed over: onDone(error | undefined).
void parallelDone(napi_env env, void *data, void *) {
  Parallel *par = (Parallel *)data;
  for (std::thread &t : par->threads) t.join();
  napi_value cb, undefined, err;
  napi_get_undefined(env, &undefined);
  err = undefined;
  if (par->errorRef) napi_get_reference_value(env, par->errorRef, &err);
  if (napi_get_reference_value(env, par->onDone, &cb) == napi_ok) napi_call_function(env, undefined, cb, 1, &err, nullptr);
  if (par->errorRef) napi_delete_reference(env, par->errorRef);
  napi_delete_reference(env, par->onBatch);
  napi_delete_reference(env, par->onDone);
  delete par;
#ifdef __GLIBC__
  // The scanners' name tables were freed into their threads' malloc arenas, which keep them mapped.
  malloc_trim(0);
#endif
}

// scanParallel(exportNames, nameLimit, threads, chunk, root, paths, maxBytes, wrapperNames | null,
// keepDefs, onBatch(scanner, first, batch) => boolean | void, onDone(error | undefined)).
napi_value ScanParallel(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Parallel *par = new Parallel();
  std::vector<std::string> exportNames;
  double limit = 0, threads = 0, chunk = 0;
  napi_valuetype bt = napi_undefined, dt = napi_undefined;
  if (argc != 11 || !getStrings(env, argv[0], exportNames) || napi_get_value_double(env, argv[1], &limit) != napi_ok ||
      napi_get_value_double(env, argv[2], &threads) != napi_ok || napi_get_value_double(env, argv[3], &chunk) != napi_ok || !readScanInput(env, argv + 4, par->input) ||
      napi_typeof(env, argv[9], &bt) != napi_ok || bt != napi_function || napi_typeof(env, argv[10], &dt) != napi_ok || dt != napi_function || threads < 1 ||
      threads > 64 || chunk < 1) {
    delete par;
    napi_throw_type_error(env, nullptr, "scanParallel(exportNames, nameLimit, threads, chunk, root, paths, maxBytes, wrapperNames, keepDefs, onBatch, onDone)");
    return nullptr;
  }
  par->chunk = (size_t)chunk;
  for (size_t t = 0; t < (size_t)threads; t++) {
    par->scanners.push_back(std::make_unique<Instance>());
    par->scanners.back()->exportNames = exportNames;
    par->scanners.back()->nameLimit = limit > 0 ? (uint32_t)limit : 1u << 20;
  }
  napi_value name;
  if (napi_create_string_utf8(env, "kexports.scanParallel", NAPI_AUTO_LENGTH, &name) != napi_ok || napi_create_reference(env, argv[9], 1, &par->onBatch) != napi_ok ||
      napi_create_reference(env, argv[10], 1, &par->onDone) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, par->scanners.size(), par, parallelDone, par, parallelBatch, &par->tsfn) != napi_ok) {
    if (par->onBatch) napi_delete_reference(env, par->onBatch);
    if (par->onDone) napi_delete_reference(env, par->onDone);
    delete par;
    napi_throw_error(env, nullptr, "kexports native scanner: could not start the scan threads");
    return nullptr;
  }
  for (uint32_t t = 0; t < par->scanners.size(); t++) {
    try {
      par->threads.emplace_back(parallelThread, par, t);
    } catch (const std::exception &) {
      // No thread: its share goes to the others, and its hold on the function is let go here.
      napi_release_threadsafe_function(par->tsfn, napi_tsfn_release);
    }
  }
  return nullptr;
}

// A typed array's data and length, and its type when asked; false when v is not a typed array.
bool typed(napi_env env, napi_value v, void **data, size_t *count, napi_typedarray_type *type = nullptr) {
  napi_typedarray_type t;
  napi_value ab;
  size_t offset;
  return napi_get_typedarray_info(env, v, type ? type : &t, count, data, &ab, &offset) == napi_ok;
}

// internPacked(table, hashes, starts, lens, arena, state, bytes, byteLens, out): Interner.internPacked
// of interner.ts on the JS interner's own arrays, which the caller has grown for every name to fit
// (ids, arena, and a table at most 0.6 full after). state = [count, arenaUsed] is updated.

napi_value InternPacked(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t *table;
  uint32_t *hashes, *starts;
  uint16_t *lens, *byteLens;
  uint8_t *arena, *bytes;
  double *state;
  int32_t *out;
  size_t nTable, nIds, nStarts, nLens, nArena, nState, nBytes, nNames, nOut;
  if (argc < 9 || !typed(env, argv[0], (void **)&table, &nTable) || !typed(env, argv[1], (void **)&hashes, &nIds) || !typed(env, argv[2], (void **)&starts, &nStarts) ||
      !typed(env, argv[3], (void **)&lens, &nLens) || !typed(env, argv[4], (void **)&arena, &nArena) || !typed(env, argv[5], (void **)&state, &nState) ||
      !typed(env, argv[6], (void **)&bytes, &nBytes) || !typed(env, argv[7], (void **)&byteLens, &nNames) || !typed(env, argv[8], (void **)&out, &nOut)) {
    napi_throw_type_error(env, nullptr, "internPacked(table, hashes, starts, lens, arena, state, bytes, lens, out)");
    return nullptr;
  }
  uint32_t count = (uint32_t)state[0];
  size_t used = (size_t)state[1];
  uint32_t mask = (uint32_t)nTable - 1;
  size_t ids = nIds < nStarts ? nIds : nStarts;
  if (nLens < ids) ids = nLens;
  if ((nTable & mask) != 0 || nState < 2 || nOut < nNames || count + nNames > ids || used + nBytes > nArena || (uint64_t)(count + nNames) * 5 > (uint64_t)nTable * 3) {
    napi_throw_range_error(env, nullptr, "internPacked: the interner was not grown to fit");
    return nullptr;
  }
  // A table of millions of names misses the CPU caches at each step of a lookup: the slot, the
  // name's hash, length and start, its bytes. So names go in blocks: their slots are fetched for the
  // whole block first, then the entries those slots name, then the bytes, so that the misses overlap;
  // the lookups themselves still run in order, each seeing the names inserted before it.
  const size_t BLOCK = 16;
  uint32_t hs[BLOCK];
  size_t at[BLOCK + 1];
  size_t pos = 0;
  for (size_t k0 = 0; k0 < nNames; k0 += BLOCK) {
    size_t n = nNames - k0 < BLOCK ? nNames - k0 : BLOCK;
    at[0] = pos;
    for (size_t j = 0; j < n; j++) {
      uint32_t len = byteLens[k0 + j];
      if (at[j] + len > nBytes) {
        napi_throw_range_error(env, nullptr, "internPacked: lengths past the bytes");
        return nullptr;
      }
      const uint8_t *p = bytes + at[j];
      uint32_t h = 0x811c9dc5u;
      for (uint32_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x01000193u;
      hs[j] = h;
      at[j + 1] = at[j] + len;
      __builtin_prefetch(table + (h & mask));
    }
    for (size_t j = 0; j < n; j++) {
      int32_t id = table[hs[j] & mask];
      if (id >= 0) {
        __builtin_prefetch(hashes + id);
        __builtin_prefetch(lens + id);
        __builtin_prefetch(starts + id);
      }
    }
    for (size_t j = 0; j < n; j++) {
      int32_t id = table[hs[j] & mask];
      if (id >= 0 && hashes[id] == hs[j]) __builtin_prefetch(arena + starts[id]);
    }
    for (size_t j = 0; j < n; j++) {
      uint32_t len = byteLens[k0 + j];
      const uint8_t *p = bytes + at[j];
      uint32_t h = hs[j];
      uint32_t slot = h & mask;
      int32_t found = -1;
      // Bounded, and ids checked: a mapped cache cut short under the index reads as zeros (mapFile()).
      for (uint32_t probes = 0;; probes++) {
        int32_t id = table[slot];
        if (id < 0) break;
        if (probes > mask || (size_t)id >= count) {
          napi_throw_range_error(env, nullptr, "internPacked: the name table is damaged");
          return nullptr;
        }
        if (hashes[id] == h && lens[id] == len && memcmp(arena + starts[id], p, len) == 0) {  // no padding here: memcmp
          found = id;
          break;
        }
        slot = (slot + 1) & mask;
      }
      if (found < 0) {
        found = (int32_t)count++;
        hashes[found] = h;
        starts[found] = (uint32_t)used;
        lens[found] = (uint16_t)len;
        memcpy(arena + used, p, len);
        used += len;
        table[slot] = found;
      }
      out[k0 + j] = found;
    }
    pos = at[n];
  }
  state[0] = count;
  state[1] = (double)used;
  return nullptr;
}

// Stats root/path(k) for k in [from, to) into out[2k], out[2k + 1]: the size and change stamp (as Node's
// fs.Stats computes it), following symbolic links as statSync does; -1, -1 when it cannot be stat'ed.
// Paths are '/'-separated and relative ('' is root itself); each directory is opened once for a run
// of paths in it, so the kernel looks up only the last component. With `only`, paths whose byte is 0
// are left out, and their out[] alone.
template <typename PathAt>
void statRange(int rootFd, PathAt pathAt, size_t from, size_t to, const uint8_t *only, double *out) {
  std::string openDir, dir;
  int dirFd = -1;
  for (size_t k = from; k < to; k++) {
    if (only && !only[k]) continue;
    std::string_view p = pathAt(k);
    size_t slash = p.rfind('/');
    dir.assign(slash == std::string_view::npos ? std::string_view() : p.substr(0, slash));
    std::string base(slash == std::string_view::npos ? p : p.substr(slash + 1));
    if (dirFd < 0 || dir != openDir) {
      if (dirFd >= 0 && dirFd != rootFd) close(dirFd);
      dirFd = dir.empty() || rootFd < 0 ? rootFd : openat(rootFd, dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      openDir = dir;
    }
    struct stat st;
    bool ok;
    // A directory that cannot be opened (gone, not a directory) fails every path in it.
    // Links are not followed, as the walk does not follow them; what is neither a file nor a
    // directory (a link, a FIFO, a device) is gone from the index.
    if (p.empty()) ok = rootFd >= 0 && fstat(rootFd, &st) == 0;
    else ok = dirFd >= 0 && fstatat(dirFd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
    out[k * 2] = ok ? (double)st.st_size : -1;
    out[k * 2 + 1] = ok ? changeStamp(st) : -1;
  }
  if (dirFd >= 0 && dirFd != rootFd) close(dirFd);
}

// statPaths(root, paths, out): statRange() of an array of paths, on the calling thread.
napi_value StatPaths(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string root;
  std::vector<std::string> paths;
  double *out = nullptr;
  size_t nOut = 0;
  napi_typedarray_type type;
  if (argc < 3 || !getString(env, argv[0], root, true) || !getStrings(env, argv[1], paths, true) || !typed(env, argv[2], (void **)&out, &nOut, &type) || type != napi_float64_array ||
      nOut < paths.size() * 2) {
    napi_throw_type_error(env, nullptr, "statPaths(root, paths, Float64Array of 2 per path)");
    return nullptr;
  }
  int rootFd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  statRange(rootFd, [&](size_t k) { return std::string_view(paths[k]); }, 0, paths.size(), nullptr, out);
  if (rootFd >= 0) close(rootFd);
  return nullptr;
}

// Work queued on libuv's threads that ends in a JS callback, done(error or undefined, ...result):
// a subclass fills in execute(), result() and the references that keep its arrays alive.
struct AsyncJob {
  napi_async_work work = nullptr;
  napi_ref done = nullptr;
  std::vector<napi_ref> keep;
  std::string error;
  virtual ~AsyncJob() = default;
  virtual void execute() = 0;
  virtual napi_value result(napi_env env) {
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  }

  static void run(napi_env, void *data) { ((AsyncJob *)data)->execute(); }
  static void complete(napi_env env, napi_status status, void *data) {
    AsyncJob *job = (AsyncJob *)data;
    napi_value cb, undefined, args[2];
    napi_get_undefined(env, &undefined);
    args[0] = undefined;
    args[1] = undefined;
    if (status != napi_ok || !job->error.empty()) {
      napi_value msg;
      napi_create_string_utf8(env, status != napi_ok ? "cancelled" : job->error.c_str(), NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, nullptr, msg, &args[0]);
    } else {
      args[1] = job->result(env);
    }
    if (napi_get_reference_value(env, job->done, &cb) == napi_ok) napi_call_function(env, undefined, cb, 2, args, nullptr);
    job->release(env);
  }
  void release(napi_env env) {
    for (napi_ref r : keep) napi_delete_reference(env, r);
    if (done) napi_delete_reference(env, done);
    if (work) napi_delete_async_work(env, work);
    delete this;
  }
  // Keeps v alive until the job completes.
  bool hold(napi_env env, napi_value v) {
    napi_ref r;
    if (napi_create_reference(env, v, 1, &r) != napi_ok) return false;
    keep.push_back(r);
    return true;
  }
  // Queues the job with `cb` as done; on failure throws and frees it.
  napi_value queue(napi_env env, napi_value cb, const char *name) {
    napi_value n;
    napi_valuetype t = napi_undefined;
    if (napi_typeof(env, cb, &t) != napi_ok || t != napi_function || napi_create_reference(env, cb, 1, &done) != napi_ok ||
        napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n) != napi_ok || napi_create_async_work(env, nullptr, n, run, complete, this, &work) != napi_ok ||
        napi_queue_async_work(env, work) != napi_ok) {
      release(env);
      napi_throw_error(env, nullptr, "kexports native scanner: could not queue work");
    }
    return nullptr;
  }
};

// statList(root, paths, only, out, threads, done): statRange() of the NUL-separated UTF-8 paths (a
// cache's filePaths) on `threads` threads, one of libuv's and threads - 1 of its own, each claiming
// STAT_CHUNK paths at a time; then done(error). Only paths whose byte in `only` (a Uint8Array, or
// null for all) is not 0 are stat'ed.
const size_t STAT_CHUNK = 512;
struct StatList : AsyncJob {
  std::string root;
  const char *bytes = nullptr;
  size_t nBytes = 0;
  const uint8_t *only = nullptr;
  double *out = nullptr;
  size_t count = 0;
  unsigned threads = 1;

  void execute() override {
    // n NULs make n + 1 paths, except that no bytes may also be no paths.
    std::vector<size_t> starts;
    starts.reserve(count + 1);
    starts.push_back(0);
    for (const char *p = bytes, *end = bytes + nBytes; (p = (const char *)memchr(p, 0, end - p)); p++) starts.push_back(p - bytes + 1);
    starts.push_back(nBytes + 1);
    if (starts.size() - 1 != count && !(count == 0 && nBytes == 0)) {
      error = "statList: " + std::to_string(starts.size() - 1) + " paths for " + std::to_string(count) + " results";
      return;
    }
    int rootFd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::atomic<size_t> next{0};
    auto pathAt = [&](size_t k) { return std::string_view(bytes + starts[k], starts[k + 1] - 1 - starts[k]); };
    auto work = [&]() {
      for (size_t from; (from = next.fetch_add(STAT_CHUNK)) < count;) statRange(rootFd, pathAt, from, std::min(count, from + STAT_CHUNK), only, out);
    };
    std::vector<std::thread> more;
    for (unsigned t = 1; t < threads; t++) more.emplace_back(work);
    work();
    for (auto &t : more) t.join();
    if (rootFd >= 0) close(rootFd);
  }
};

napi_value StatListAsync(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  StatList *job = new StatList();
  size_t nOut = 0, nOnly = 0;
  napi_typedarray_type tBytes, tOut, tOnly;
  napi_valuetype onlyType = napi_undefined;
  uint32_t threads = 1;
  bool ok = argc == 6 && getString(env, argv[0], job->root, true) && typed(env, argv[1], (void **)&job->bytes, &job->nBytes, &tBytes) && tBytes == napi_uint8_array &&
            typed(env, argv[3], (void **)&job->out, &nOut, &tOut) && tOut == napi_float64_array && napi_typeof(env, argv[2], &onlyType) == napi_ok &&
            napi_get_value_uint32(env, argv[4], &threads) == napi_ok;
  job->count = nOut / 2;
  if (ok && onlyType != napi_null) ok = typed(env, argv[2], (void **)&job->only, &nOnly, &tOnly) && tOnly == napi_uint8_array && nOnly == job->count;
  if (ok) ok = job->hold(env, argv[1]) && job->hold(env, argv[3]) && (onlyType == napi_null || job->hold(env, argv[2]));
  if (!ok) {
    job->release(env);
    napi_throw_type_error(env, nullptr, "statList(root, paths, only, Float64Array of 2 per path, threads, done)");
    return nullptr;
  }
  job->threads = std::max(1u, std::min(threads, 16u));
  return job->queue(env, argv[5], "kexports.statList");
}

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

// What is out of range in a cache's postings and name slots, or nullptr: cache.ts's validateRanges().
const char *rangeProblem(const uint32_t *o, size_t nOff, const void *file, bool file16, size_t nFile, const uint32_t *c, const int32_t *t, size_t nTable, double files,
                         double proxies, double names) {
  for (size_t k = 1; k < nOff; k++)
    if (o[k] < o[k - 1]) return "offsets not sorted";
  for (size_t k = 0; k < nFile; k++) {
    double f = file16 ? ((const uint16_t *)file)[k] : ((const uint32_t *)file)[k];
    if (f >= files || ((double)c[k] > proxies && c[k] != 0xffffffffu)) return "posting out of range";
  }
  for (size_t k = 0; k < nTable; k++)
    if ((double)t[k] >= names) return "name table out of range";
  return nullptr;
}

// readChecked(file, at, sections, into, done): reads into.byteLength bytes of `file` from `at` into the
// ArrayBuffer `into` on one of libuv's threads, then checks each section, [start within into, bytes,
// CRC-32] triples in a Float64Array; done(error, index of the first section whose CRC differs or -1).
// With file null, `into` holds the bytes already (mapFile()): only the checks. With `ranges`, then
// rangeProblem() of the postings and name slots, so that the main thread need not: [start, bytes] in
// `into` of offsets, postFile, postCtx and the name table, whether postFile is 16-bit, and the counts
// of files, proxies and names; what is wrong fails the job, as its message. With 15 ranges and
// `starts`, then also the names' starts (interner.ts's internerOf()): [start, bytes] of the names'
// 16-bit lengths in `into`, and the bytes of the names, which the lengths must add up to.
struct ReadChecked : AsyncJob {
  std::string file;
  bool checkOnly = false;
  std::vector<double> ranges;
  uint32_t *starts = nullptr;
  size_t nStarts = 0;
  double at = 0;
  uint8_t *into = nullptr;
  size_t bytes = 0;
  std::vector<double> sections;
  int bad = -1;

  void execute() override {
    if (!checkOnly) read();
    if (!error.empty()) return;
    for (size_t s = 0; s + 2 < sections.size(); s += 3) {
      size_t start = (size_t)sections[s], n = (size_t)sections[s + 1];
      if (start > bytes || n > bytes - start || crc32Of(into + start, n) != (uint32_t)sections[s + 2]) {
        bad = (int)(s / 3);
        return;
      }
    }
    if (ranges.size() >= 12) checkRanges();
    if (error.empty() && starts) nameStarts();
  }
  void nameStarts() {
    size_t start = (size_t)ranges[12], len = (size_t)ranges[13];
    if (start > bytes || len > bytes - start || start % 2 || len % 2 || len / 2 != nStarts) {
      error = "name arrays";
      return;
    }
    const uint16_t *lens = (const uint16_t *)(into + start);
    double pos = 0;
    for (size_t k = 0; k < nStarts; k++) {
      starts[k] = (uint32_t)pos;
      pos += lens[k];
    }
    if (pos != ranges[14]) error = "name lengths do not add up to the names";
  }
  void checkRanges() {
    const uint8_t *part[4];
    size_t n[4];
    bool file16 = ranges[8] != 0;
    size_t align[4] = {4, file16 ? 2u : 4u, 4, 4};
    for (int k = 0; k < 4; k++) {
      size_t start = (size_t)ranges[2 * k], len = (size_t)ranges[2 * k + 1];
      if (start > bytes || len > bytes - start || start % align[k] || len % align[k]) {
        error = "range checks: arrays past the buffer";
        return;
      }
      part[k] = into + start;
      n[k] = len / align[k];
    }
    if (n[2] != n[1]) {
      error = "postings arrays";
      return;
    }
    const char *bad = rangeProblem((const uint32_t *)part[0], n[0], part[1], file16, n[1], (const uint32_t *)part[2], (const int32_t *)part[3], n[3], ranges[9], ranges[10], ranges[11]);
    if (bad) error = bad;
  }
  void read() {
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      error = file + ": " + strerror(errno);
      return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      error = file + ": not a regular file";
      close(fd);
      return;
    }
    size_t got = 0;
    while (got < bytes) {
      ssize_t n = pread(fd, into + got, bytes - got, (off_t)at + got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? file + ": " + strerror(errno) : std::string("truncated");
        break;
      }
      got += n;
    }
    close(fd);
  }
  napi_value result(napi_env env) override {
    napi_value v;
    napi_create_int32(env, bad, &v);
    return v;
  }
};

napi_value ReadCheckedAsync(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ReadChecked *job = new ReadChecked();
  double *sec = nullptr;
  size_t nSec = 0;
  napi_typedarray_type tSec;
  bool isAb = false;
  void *data = nullptr;
  napi_valuetype tFile = napi_undefined;
  job->checkOnly = argc >= 5 && napi_typeof(env, argv[0], &tFile) == napi_ok && tFile == napi_null;
  double *rng = nullptr;
  size_t nRng = 0;
  napi_typedarray_type tRng;
  napi_valuetype tLast = napi_undefined;
  bool rangesOk = argc < 6 || (napi_typeof(env, argv[5], &tLast) == napi_ok && tLast == napi_undefined) ||
                  (typed(env, argv[5], (void **)&rng, &nRng, &tRng) && tRng == napi_float64_array && (nRng == 12 || nRng == 15));
  if (rng) job->ranges.assign(rng, rng + nRng);
  napi_typedarray_type tStarts;
  napi_valuetype tSeventh = napi_undefined;
  if (rangesOk && argc >= 7 && napi_typeof(env, argv[6], &tSeventh) == napi_ok && tSeventh != napi_undefined)
    rangesOk = nRng == 15 && typed(env, argv[6], (void **)&job->starts, &job->nStarts, &tStarts) && tStarts == napi_uint32_array && job->hold(env, argv[6]);
  else if (nRng == 15)
    rangesOk = false;
  bool ok = argc >= 5 && rangesOk && (job->checkOnly || getString(env, argv[0], job->file, true)) && napi_get_value_double(env, argv[1], &job->at) == napi_ok &&
            typed(env, argv[2], (void **)&sec, &nSec, &tSec) && tSec == napi_float64_array && napi_is_arraybuffer(env, argv[3], &isAb) == napi_ok && isAb &&
            napi_get_arraybuffer_info(env, argv[3], &data, &job->bytes) == napi_ok && job->hold(env, argv[3]);
  if (!ok) {
    job->release(env);
    napi_throw_type_error(env, nullptr, "readChecked(file or null, at, Float64Array of [start, bytes, crc] per section, ArrayBuffer, done, ranges?, starts?)");
    return nullptr;
  }
  job->into = (uint8_t *)data;
  job->sections.assign(sec, sec + nSec);
  return job->queue(env, argv[4], "kexports.readChecked");
}

// readTree(root, from, known): walk.ts's walkTree() for a walk without exclude globs, which only
// JS can match. Returns { dirs, dirStamps, sources, makefiles, unreadable, symlinks }: the lists as
// strings of NUL-separated paths (no file name holds a NUL), unsorted, in the order walk.ts lists
// them: a stack of directories from `from`, each directory's entries in strcmp order as Node's
// readdirSync gives them, not into `known` directories nor the version-control and build folders.
bool isSourceFile(const char *n, size_t len) {
  char last = len ? n[len - 1] : 0;
  if (len > 2 && n[len - 2] == '.' && (last == 'c' || last == 'h' || last == 'S')) return true;
  return len >= 10 && memcmp(n + len - 10, ".c_shipped", 10) == 0;
}

napi_value ReadTree(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string root;
  std::vector<std::string> from, knownList;
  if (argc < 3 || !getString(env, argv[0], root, true) || !getStrings(env, argv[1], from, true) || !getStrings(env, argv[2], knownList, true)) {
    napi_throw_type_error(env, nullptr, "readTree(root, from, known)");
    return nullptr;
  }
  std::unordered_set<std::string> known(knownList.begin(), knownList.end());
  static const char *const skipDirs[] = {".git", ".hg", ".svn", "node_modules", ".pc", ".tmp_versions"};
  std::string dirs, sources, makefiles, unreadable;
  std::vector<double> stamps;
  double symlinks = 0;
  auto add = [](std::string &list, const std::string &path) {
    list += path;
    list.push_back('\0');
  };
  std::vector<std::string> stack(from.begin(), from.end());
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (!stack.empty()) {
    std::string rel = std::move(stack.back());
    stack.pop_back();
    std::string abs = rel.empty() ? root : root + "/" + rel;
    struct stat st;
    // the tree's root may be a link; a directory below it that became one is not walked
    if ((rel.empty() ? stat(abs.c_str(), &st) : lstat(abs.c_str(), &st)) != 0) {
      add(unreadable, rel.empty() ? std::string(".") : rel);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (S_ISLNK(st.st_mode)) symlinks++;
      else add(unreadable, rel);
      continue;
    }
    add(dirs, rel);
    stamps.push_back(changeStamp(st));
    DIR *d = opendir(abs.c_str());
    if (!d) {
      add(unreadable, rel.empty() ? std::string(".") : rel);
      continue;
    }
    entries.clear();
    while (struct dirent *e = readdir(d)) {
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat ls;
        type = fstatat(dirfd(d), e->d_name, &ls, AT_SYMLINK_NOFOLLOW) != 0 ? DT_UNKNOWN
               : S_ISLNK(ls.st_mode)                                       ? DT_LNK
               : S_ISDIR(ls.st_mode)                                       ? DT_DIR
               : S_ISREG(ls.st_mode)                                       ? DT_REG
                                                                           : DT_UNKNOWN;
      }
      entries.emplace_back(e->d_name, type);
    }
    closedir(d);
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return strcmp(a.first.c_str(), b.first.c_str()) < 0; });
    for (const auto &[name, type] : entries) {
      std::string path = rel.empty() ? name : rel + "/" + name;
      if (type == DT_LNK) {
        symlinks++;
      } else if (type == DT_DIR) {
        bool skip = false;
        for (const char *s : skipDirs) skip = skip || name == s;
        if (!skip && !known.count(path)) stack.push_back(std::move(path));
      } else if (type == DT_REG) {
        if (isSourceFile(name.data(), name.size())) add(sources, path);
        else if (name == "Makefile" || name == "Kbuild") add(makefiles, path);
      }
    }
  }
  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  const std::pair<const char *, const std::string *> lists[] = {{"dirs", &dirs}, {"sources", &sources}, {"makefiles", &makefiles}, {"unreadable", &unreadable}};
  for (const auto &[key, list] : lists) {
    CHECK(pathString(env, *list, &v));
    CHECK(napi_set_named_property(env, result, key, v));
  }
  CHECK((v = typedArray(env, napi_float64_array, stamps.data(), stamps.size())) ? napi_ok : napi_generic_failure);
  CHECK(napi_set_named_property(env, result, "dirStamps", v));
  CHECK(napi_create_double(env, symlinks, &v));
  CHECK(napi_set_named_property(env, result, "symlinks", v));
  return result;
}

// fillPostings(uses, pStarts, offsets, postFile, postLine, postCtx, done): index.ts's counting sort
// of a full build's postings, on one of libuv's threads while the main thread files the records and
// resolves the exports. uses[k] is file k's (name, line, context) triples, or null; pStarts[k] its
// first proxy's index. offsets (names + 1, zeros) gets each name's start; the posting arrays are
// sized for every use. The caller keeps every array untouched until done(error | undefined).
struct Postings : AsyncJob {
  std::vector<std::pair<const uint32_t *, size_t>> uses;
  const uint32_t *pStarts = nullptr;
  uint32_t *offsets = nullptr;
  size_t names = 0, total = 0;
  void *postFile = nullptr, *postLine = nullptr;
  bool fileWide = false, lineWide = false;
  uint32_t *postCtx = nullptr;
  const char *bad = nullptr;

  void execute() override {
    fill();
    if (bad) error = bad;
  }
  void fill();
};

void Postings::fill() {
  Postings &p = *this;
  // Counts, checked: a name past the offsets, a line too wide for postLine, more uses than room.
  for (const auto &[u, n] : p.uses) {
    for (size_t k = 0; k + 2 < n; k += 3) {
      if (u[k] >= p.names) p.bad = "a use of a name past the table";
      else if (!p.lineWide && u[k + 1] > 0xffff) p.bad = "a line past 65,535 in 16-bit postings";
      else {
        p.offsets[u[k]]++;
        continue;
      }
      return;
    }
  }
  size_t acc = 0;
  for (size_t k = 0; k < p.names; k++) {
    uint32_t c = p.offsets[k];
    p.offsets[k] = (uint32_t)acc;
    acc += c;
  }
  p.offsets[p.names] = (uint32_t)acc;
  if (acc != p.total) {
    p.bad = "uses and postings of different counts";
    return;
  }
  std::vector<uint32_t> fill(p.offsets, p.offsets + p.names);
  for (size_t f = 0; f < p.uses.size(); f++) {
    const uint32_t *u = p.uses[f].first;
    size_t n = p.uses[f].second;
    uint32_t pStart = p.pStarts[f];
    for (size_t k = 0; k + 2 < n; k += 3) {
      uint32_t at = fill[u[k]]++;
      if (p.fileWide) ((uint32_t *)p.postFile)[at] = (uint32_t)f;
      else ((uint16_t *)p.postFile)[at] = (uint16_t)f;
      if (p.lineWide) ((uint32_t *)p.postLine)[at] = u[k + 1];
      else ((uint16_t *)p.postLine)[at] = (uint16_t)u[k + 1];
      uint32_t c = u[k + 2];
      p.postCtx[at] = c == 0 || c == DEF_CTX ? c : pStart + c;  // global proxy index + 1
    }
  }
}

napi_value FillPostings(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Postings *p = new Postings();
  auto fail = [&]() -> napi_value {
    p->release(env);
    napi_throw_type_error(env, nullptr, "fillPostings(uses, pStarts, offsets, postFile, postLine, postCtx, done)");
    return nullptr;
  };
  bool isArray = false;
  uint32_t files = 0;
  napi_valuetype dt = napi_undefined;
  if (argc != 7 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray || napi_get_array_length(env, argv[0], &files) != napi_ok ||
      napi_typeof(env, argv[6], &dt) != napi_ok || dt != napi_function)
    return fail();
  size_t nStarts, nOffsets, nFile, nLine, nCtx;
  napi_typedarray_type tStarts, tOffsets, tFile, tLine, tCtx;
  if (!typed(env, argv[1], (void **)&p->pStarts, &nStarts, &tStarts) || tStarts != napi_uint32_array || nStarts < files ||
      !typed(env, argv[2], (void **)&p->offsets, &nOffsets, &tOffsets) || tOffsets != napi_uint32_array || nOffsets < 1 ||
      !typed(env, argv[3], &p->postFile, &nFile, &tFile) || !typed(env, argv[4], &p->postLine, &nLine, &tLine) ||
      !typed(env, argv[5], (void **)&p->postCtx, &nCtx, &tCtx) || tCtx != napi_uint32_array || (tFile != napi_uint16_array && tFile != napi_uint32_array) ||
      (tLine != napi_uint16_array && tLine != napi_uint32_array) || nFile != nCtx || nLine != nCtx)
    return fail();
  p->names = nOffsets - 1;
  p->total = nCtx;
  p->fileWide = tFile == napi_uint32_array;
  p->lineWide = tLine == napi_uint32_array;
  if (!p->fileWide && files > 0x10000) return fail();
  p->uses.resize(files);
  for (uint32_t f = 0; f < files; f++) {
    napi_value e;
    napi_valuetype et = napi_undefined;
    if (napi_get_element(env, argv[0], f, &e) != napi_ok || napi_typeof(env, e, &et) != napi_ok) return fail();
    if (et == napi_null || et == napi_undefined) {
      p->uses[f] = {nullptr, 0};
      continue;
    }
    void *data;
    size_t n;
    napi_typedarray_type t;
    if (!typed(env, e, &data, &n, &t) || t != napi_uint32_array) return fail();
    p->uses[f] = {(const uint32_t *)data, n};
  }
  for (size_t k = 0; k < 6; k++)
    if (!p->hold(env, argv[k])) return fail();
  return p->queue(env, argv[6], "kexports.fillPostings");
}

// checkRanges(offsets, postFile, postCtx, table, files, proxies, names): what cache.ts's
// validateRanges() checks, as a message, or null: offsets never decrease, every posting's file is
// below `files` and its context at most `proxies` or DEF_CTX, every table slot below `names`.
napi_value CheckRanges(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  napi_typedarray_type tOff, tFile, tCtx, tTable;
  void *off, *file, *ctx, *table;
  size_t nOff, nFile, nCtx, nTable;
  double files = 0, proxies = 0, names = 0;
  if (argc < 7 || !typed(env, argv[0], &off, &nOff, &tOff) || !typed(env, argv[1], &file, &nFile, &tFile) || !typed(env, argv[2], &ctx, &nCtx, &tCtx) ||
      !typed(env, argv[3], &table, &nTable, &tTable) || tOff != napi_uint32_array ||
      (tFile != napi_uint32_array && tFile != napi_uint16_array) || tCtx != napi_uint32_array || tTable != napi_int32_array || nCtx != nFile ||
      napi_get_value_double(env, argv[4], &files) != napi_ok || napi_get_value_double(env, argv[5], &proxies) != napi_ok ||
      napi_get_value_double(env, argv[6], &names) != napi_ok) {
    napi_throw_type_error(env, nullptr, "checkRanges(offsets, postFile, postCtx, table, files, proxies, names)");
    return nullptr;
  }
  const char *bad = rangeProblem((const uint32_t *)off, nOff, file, tFile == napi_uint16_array, nFile, (const uint32_t *)ctx, (const int32_t *)table, nTable, files, proxies, names);
  napi_value out;
  if (bad) CHECK(napi_create_string_utf8(env, bad, NAPI_AUTO_LENGTH, &out));
  else CHECK(napi_get_null(env, &out));
  return out;
}

// mapFile(file, at, bytes): `bytes` bytes of `file` from `at` (a multiple of the page size) mapped
// copy-on-write, as an ArrayBuffer: no page of fresh memory to fault in and fill, as a read needs
// (README, Performance, the warm start). undefined where the
// runtime allows no memory from outside its heap (Electron); the caller reads instead. The mapping
// is released with the ArrayBuffer.
//
// A mapped file cut short by another program would raise SIGBUS at the next read past its new end,
// and end the process. Mapped ranges are rescued instead: the page that faulted becomes a zero page
// of the process's own, and mappedFaults() counts it, so that the caller can say the cache changed
// under it and rebuild it. Faults outside these ranges go to the handler that was there before.
struct MappedRange {
  std::atomic<uintptr_t> start{0}, end{0};
};
MappedRange mappedRanges[64];
std::atomic<uint32_t> rescuedFaults{0};
struct sigaction previousBus;
std::once_flag busOnce;
uintptr_t pageBytes = 4096;

void onBus(int sig, siginfo_t *si, void *context) {
  uintptr_t a = (uintptr_t)si->si_addr;
  for (MappedRange &r : mappedRanges) {
    uintptr_t start = r.start.load(std::memory_order_acquire), end = r.end.load(std::memory_order_acquire);
    if (start && a >= start && a < end) {
      void *page = (void *)(a & ~(pageBytes - 1));
      if (mmap(page, pageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        rescuedFaults.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
  }
  if (previousBus.sa_flags & SA_SIGINFO) {
    if (previousBus.sa_sigaction) return previousBus.sa_sigaction(sig, si, context);
  } else if (previousBus.sa_handler != SIG_DFL && previousBus.sa_handler != SIG_IGN) {
    return previousBus.sa_handler(sig);
  }
  // Not ours and nobody else's: the default action, when the access faults again.
  signal(SIGBUS, SIG_DFL);
}

void installBusHandler() {
  pageBytes = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onBus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &previousBus);
}

void unmapRange(napi_env, void *data, void *hint) {
  MappedRange *r = (MappedRange *)hint;
  uintptr_t start = r->start.load(), end = r->end.load();
  munmap((void *)start, end - start);
  r->end.store(0, std::memory_order_release);
  r->start.store(0, std::memory_order_release);
  (void)data;
}

napi_value MapFile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string file;
  double at = 0, bytes = 0;
  if (argc < 3 || !getString(env, argv[0], file, true) || napi_get_value_double(env, argv[1], &at) != napi_ok || napi_get_value_double(env, argv[2], &bytes) != napi_ok ||
      at < 0 || bytes < 1 || at != (double)(uint64_t)at || bytes != (double)(size_t)bytes) {
    napi_throw_type_error(env, nullptr, "mapFile(file, at, bytes)");
    return nullptr;
  }
  std::call_once(busOnce, installBusHandler);
  CHECK(napi_get_undefined(env, &out));
  if ((uint64_t)at % pageBytes) return out;
  MappedRange *slot = nullptr;
  for (MappedRange &r : mappedRanges)
    if (!r.start.load()) {
      slot = &r;
      break;
    }
  if (!slot) return out;
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    napi_throw_error(env, nullptr, (file + ": " + strerror(errno)).c_str());
    return nullptr;
  }
  // A file shorter than asked for (replaced since its header was read) is read instead, and found short.
  struct stat st;
  void *p = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (double)st.st_size >= at + bytes ? mmap(nullptr, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)at) : MAP_FAILED;
  close(fd);
  if (p == MAP_FAILED) return out;
  slot->end.store((uintptr_t)p + (size_t)bytes, std::memory_order_release);
  slot->start.store((uintptr_t)p, std::memory_order_release);
  if (napi_create_external_arraybuffer(env, p, (size_t)bytes, unmapRange, slot, &out) != napi_ok) {
    // Electron: no external memory. Clear the exception napi may have left, and let the caller read.
    napi_value ignored;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
    unmapRange(env, p, slot);
    CHECK(napi_get_undefined(env, &out));
  }
  return out;
}

// mappedFaults(): how many reads of a mapped range found its file cut short (see mapFile()).
napi_value MappedFaults(napi_env env, napi_callback_info) {
  napi_value out;
  CHECK(napi_create_uint32(env, rescuedFaults.load(), &out));
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  // Once per process: each worker thread that loads the addon runs this, while another thread's
  // scanAsync() may be reading the classes.
  static std::once_flag classes;
  std::call_once(classes, initClasses);
  const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {{"create", Create}, {"scan", ScanFiles}, {"scanParallel", ScanParallel}, {"release", Release}, {"internPacked", InternPacked}, {"statPaths", StatPaths}, {"readTree", ReadTree}, {"fillPostings", FillPostings}, {"checkRanges", CheckRanges}, {"statList", StatListAsync}, {"readChecked", ReadCheckedAsync}, {"mapFile", MapFile}, {"mappedFaults", MappedFaults}, {"crc32", Crc32}};
  for (const auto &f : functions) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, f.name, fn) != napi_ok) return nullptr;
  }
  return exports;
}
