// The name table: identifiers interned on their bytes, one table per scanner.
#pragma once
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>
#include "common.h"

namespace kx {

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

// A table's first size. The addon's scanners each read thousands of files; the wasm build's are
// also made for one file at a time (an editor's edit, a history query), in a memory the garbage
// collector does not see and that never shrinks: they start small and grow as the addon's would.
#ifdef __wasm__
const uint32_t TABLE_BITS = 10, ARENA_BYTES = 1 << 14;
#else
const uint32_t TABLE_BITS = 16, ARENA_BYTES = 1 << 20;
#endif

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
#if __cpp_exceptions
    if (!q) throw std::bad_alloc();
#else
    if (!q) abort();  // the wasm build: a trap, after which JS drops the instance
#endif
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
    table.assign(1 << TABLE_BITS, Slot{0, -1});
    mask = (1 << TABLE_BITS) - 1;
    cache.assign(1 << CACHE_BITS, CacheLine{0, 0, 0, 0});
    arena.reserve(ARENA_BYTES);
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

}  // namespace kx
