// index.ts's counting sort of a full build's postings, on one of libuv's threads.
#pragma once
#include <utility>
#include <vector>
#include "napi.h"
#include "async.h"

namespace kx {

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

}  // namespace kx
