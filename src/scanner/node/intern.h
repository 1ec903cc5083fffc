// interner.ts's internPacked() on the JS interner's own arrays.
#pragma once
#include "napi.h"
#include "../common.h"

namespace kx {

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

}  // namespace kx
