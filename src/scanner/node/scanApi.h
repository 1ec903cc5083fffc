// create(), scan(), scanParallel() and release(): the scanner's batches, read on this thread or on threads of its own.
#pragma once
#include <atomic>
#include <malloc.h>
#include <memory>
#include <pthread.h>
#include <thread>
#include "napi.h"
#include "files.h"
#include "../batch.h"

namespace kx {

void finalizeInstance(napi_env, void *data, void *) {
  delete (Instance *)data;
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
  beginBatch(in, input.wrapperNames, batch);
  for (size_t f = from; f < to; f++) {
    const std::string &path = input.paths[f];
    FileOut out;
    size_t len = 0;
    if (!readFile(input.root + "/" + path, input.maxBytes, in.readBuf, len, out)) {
      out.status = S_UNREADABLE;
      out.size = 0;
      out.stamp = 0;
    }
    scanInto(in, kindOf(path), in.readBuf.data(), len, input.keepDefs, out, batch);
  }
  endBatch(in, batch);
}

// A batch as wire.ts's RawBatch.
napi_value scanResult(napi_env env, const ScanOut &batch) {
  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_get_boolean(env, batch.fresh, &v));
  CHECK(napi_set_named_property(env, result, "fresh", v));
#define KX_SET_ARRAY(name, field, type)                                                                               \
  CHECK((v = typedArray(env, napi_##type##_array, batch.field.data(), batch.field.size())) ? napi_ok : napi_generic_failure); \
  CHECK(napi_set_named_property(env, result, #name, v));
  KX_BATCH_ARRAYS(KX_SET_ARRAY)
#undef KX_SET_ARRAY
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

}  // namespace kx
