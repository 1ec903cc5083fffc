// The scanner as WebAssembly (src/core/scan/wasmScanner.ts): the same rules as the addon, for the
// editor's single-file scans and for whole-tree scans wherever the addon is not built. It reads no
// file: JS reads each file into the scanner's buffer (kx_buffer()), then hands it over with its kind
// (kx_file()). A batch is the addon's, read back the same way: kx_NAME() and kx_NAME_count() give
// where each of its arrays lies in memory (KX_BATCH_ARRAYS in batch.h).
#include <cstdlib>

#include "../batch.h"

using namespace kx;

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

// Packed latin1 names with their 16-bit lengths, as JS sends them.
std::vector<std::string> unpack(const uint8_t *bytes, const uint16_t *lens, uint32_t count) {
  std::vector<std::string> out(count);
  for (uint32_t k = 0, at = 0; k < count; at += lens[k], k++) out[k].assign((const char *)bytes + at, lens[k]);
  return out;
}

}  // namespace

EXPORT(kx_alloc) void *kxAlloc(uint32_t bytes) { return malloc(bytes ? bytes : 1); }
EXPORT(kx_free) void kxFree(void *p) { free(p); }

// A scanner with its own names: the export macros' names, and past how many names it starts afresh.
EXPORT(kx_create) Instance *kxCreate(const uint8_t *bytes, const uint16_t *lens, uint32_t count, uint32_t nameLimit) {
  initClasses();
  Instance *in = new Instance();
  in->exportNames = unpack(bytes, lens, count);
  in->nameLimit = nameLimit ? nameLimit : 1u << 20;
  return in;
}

EXPORT(kx_release) void kxRelease(Instance *in) { delete in; }

// A batch, with the wrapper names flagged for it.
EXPORT(kx_begin) ScanOut *kxBegin(Instance *in, const uint8_t *bytes, const uint16_t *lens, uint32_t count) {
  ScanOut *batch = new ScanOut();
  beginBatch(*in, unpack(bytes, lens, count), *batch);
  return batch;
}

// Room for a file of `bytes` bytes and the zeros after it; valid until the next call.
EXPORT(kx_buffer) uint8_t *kxBuffer(Instance *in, uint32_t bytes) {
  size_t want = (size_t)bytes + 1 + PAD;
  if (in->readBuf.size() < want) in->readBuf.resize(want);
  return in->readBuf.data();
}

// Adds the file in the buffer: its first `len` bytes, scanned as its path says (kindOf(), as the
// addon does). status is S_TOO_LARGE or S_UNREADABLE (with the error's latin1 bytes) for a file JS
// could not read whole, and its bytes are not looked at.
EXPORT(kx_file) void kxFile(Instance *in, ScanOut *batch, const char *path, uint32_t pathLen, uint32_t len, uint32_t keepDefs, int32_t status, double size, double stamp, const char *error, uint32_t errorLen) {
  FileOut out;
  out.status = status;
  out.size = size;
  out.stamp = stamp;
  if (status == S_UNREADABLE) out.error.assign(error, errorLen);
  if (status == S_OK) memset(in->readBuf.data() + len, 0, PAD);
  scanInto(*in, kindOf(std::string(path, pathLen)), in->readBuf.data(), len, keepDefs != 0, out, *batch);
}

EXPORT(kx_end) void kxEnd(Instance *in, ScanOut *batch) { endBatch(*in, *batch); }

// Where each of a batch's arrays lies, and how many values it holds: kx_names(), kx_names_count(), ...
#define KX_ARRAY_EXPORTS(name, field, type)                                                   \
  EXPORT(kx_##name) const void *kx_##name(ScanOut *b) { return b->field.data(); } \
  EXPORT(kx_##name##_count) uint32_t kx_##name##_count(ScanOut *b) { return (uint32_t)b->field.size(); }
KX_BATCH_ARRAYS(KX_ARRAY_EXPORTS)
#undef KX_ARRAY_EXPORTS

// The batch's JSON part (latin1), and whether the batch started a new name table.
EXPORT(kx_json) const char *kxJson(ScanOut *b) { return b->json.s.data(); }
EXPORT(kx_json_count) uint32_t kxJsonCount(ScanOut *b) { return (uint32_t)b->json.s.size(); }
EXPORT(kx_fresh) uint32_t kxFresh(ScanOut *b) { return b->fresh ? 1 : 0; }

EXPORT(kx_drop) void kxDrop(ScanOut *b) { delete b; }
