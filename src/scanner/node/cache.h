// The warm start's reads of the cache file: checked reads, range checks, and mappings that survive a file cut short.
#pragma once
#include <atomic>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
#include "napi.h"
#include "async.h"
#include "crc.h"

namespace kx {

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


}  // namespace kx
