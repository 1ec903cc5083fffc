// A scanner's life over many files: its own name table (renewed past a limit), and batches of files
// that go to JS as one set of arrays. Pure: the Node addon reads the files, the wasm build is handed
// their bytes, and both call scanInto() for each.
#pragma once
#include <string>
#include <vector>
#include "defineOnly.h"
#include "scan.h"
#include "wire.h"

namespace kx {

struct Instance {
  Shared *sh = nullptr;
  std::vector<std::string> exportNames;
  uint32_t nameLimit = 1u << 20;
  uint32_t nextWire = 0;
  Bytes readBuf;  // the addon's file reads; the wasm build's copy of the bytes it is handed
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

// How a file is scanned: as assembly, as a header (define-only ones skipped), with proxies.
struct FileKind {
  bool isAsm = false, isHeader = false, proxies = false;
};

// The kind from the path, the one place that decides it: assembly (.S), a header (.h), and proxies
// in headers outside tools/ and scripts/ (inline functions and macros that kernel code uses).
FileKind kindOf(const std::string &p) {
  FileKind k;
  k.isAsm = endsWith(p, ".S") && !endsWith(p, ".c") && !endsWith(p, ".c_shipped");
  k.isHeader = endsWith(p, ".h");
  k.proxies = k.isHeader && !startsWith(p, "tools/") && !startsWith(p, "scripts/");
  return k;
}


// A file's status in a batch, as wire.ts's toFiles() reads it.
enum { S_OK = 0, S_BINARY = 1, S_TOO_LARGE = 2, S_UNREADABLE = 3 };

struct FileOut {
  int status = S_OK;
  double size = 0, stamp = 0;
  uint32_t lines = 0;
  uint32_t nulLine = 0;
  std::string error;
};

uint32_t countLines(const uint8_t *b, size_t end) {
  return 1 + (uint32_t)countByte(b, 10, end);
}

// A batch's arrays as both builds hand them to JS, under wire.ts's RawBatch names: X(the name JS
// reads, the ScanOut field, its element type). The addon makes a typed array of each; the wasm build
// exports kx_NAME() and kx_NAME_count() for each.
#define KX_BATCH_ARRAYS(X)        \
  X(names, packed, uint8)         \
  X(nameLens, packedLens, uint16) \
  X(uses, uses, uint32)           \
  X(proxies, proxies, uint32)     \
  X(stat, stat, float64)          \
  X(info, info, int32)

// A proxy's kind in a batch's `proxies`, as the index's postings keep it (postings.ts's proxyKind).
enum { PROXY_MACRO = 0, PROXY_INLINE = 1 };

// One batch: what scanInto() fills for each file and the glue hands to JS (src/core/scan/wire.ts).
struct ScanOut {
  bool fresh = false;
  // uses: (name, line, context) triples; proxies: (name, first line, PROXY_*) triples
  std::vector<uint32_t> uses, proxies;
  Bytes packed;
  std::vector<uint16_t> packedLens;
  std::vector<double> stat;
  std::vector<int32_t> info;
  Json json;
  // scanParallel() only: the scanner, and the index of the batch's first path.
  uint32_t scanner = 0;
  size_t first = 0;
  // Wrapper names flagged for this batch alone (beginBatch(), endBatch()).
  std::vector<uint32_t> wrapperIds;
};

// Starts a batch: a new name table when the old one passed its limit (batch.fresh), and the
// wrapper names flagged until endBatch().
void beginBatch(Instance &in, const std::vector<std::string> &wrapperNames, ScanOut &batch) {
  if (!in.sh || in.sh->names.count > in.nameLimit) {
    delete in.sh;
    in.sh = newShared(in.exportNames);
    in.nextWire = 0;
    batch.fresh = true;
  }
  Names &names = in.sh->names;
  for (const std::string &w : wrapperNames) {
    uint32_t id = names.intern(w);
    if (!(names.entries[id].flags & F_WRAPPER)) {
      names.entries[id].flags |= F_WRAPPER;
      batch.wrapperIds.push_back(id);
    }
  }
  batch.json.ch('[');
}

void endBatch(Instance &in, ScanOut &batch) {
  batch.json.ch(']');
  for (uint32_t id : batch.wrapperIds) in.sh->names.entries[id].flags &= ~F_WRAPPER;
  batch.wrapperIds.clear();
}

// Adds one file to the batch: `out` as the reader left it (status, size, stamp, error), and for a
// file read whole, its bytes b[0, len) followed by PAD zero bytes.
void scanInto(Instance &in, FileKind kind, const uint8_t *b, size_t len, bool keepDefs, FileOut &out, ScanOut &batch) {
  Shared &sh = *in.sh;
  Names &names = sh.names;
  std::vector<uint32_t> &uses = batch.uses;
  Json &json = batch.json;
  size_t usesBefore = uses.size();
  size_t proxyCount = 0;
  if (batch.info.size()) json.ch(',');
  if (out.status == S_UNREADABLE) {
    json.str(out.error);
  } else if (out.status == S_TOO_LARGE) {
    json.ch('0');
  } else {
    const uint8_t *nul = findByte(b, 0, len);
    if (nul) {
      out.status = S_BINARY;
      out.nulLine = countLines(b, (size_t)(nul - b));
      json.ch('0');
    } else if (kind.isHeader && len >= DEFINE_ONLY_MIN_BYTES && isDefineOnly(b, len, out.lines)) {
      json.ch('0');
    } else {
      Scan scan(b, len, sh, kind.isAsm, kind.proxies, keepDefs);
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
      // The proxies as numbers, beside the uses: the pool maps their names as it maps the uses'.
      for (const Proxy &p : scan.proxies) {
        batch.proxies.push_back(wire(p.id));
        batch.proxies.push_back(p.line);
        batch.proxies.push_back(p.isMacro ? PROXY_MACRO : PROXY_INLINE);
      }
      proxyCount = scan.proxies.size();
    }
  }
  batch.stat.push_back(out.size);
  batch.stat.push_back(out.stamp);
  // wire.ts's INFO_FIELDS, per file: status, use triples, lines, NUL line, proxies
  batch.info.push_back(out.status);
  batch.info.push_back((int32_t)((uses.size() - usesBefore) / 3));
  batch.info.push_back((int32_t)out.lines);
  batch.info.push_back((int32_t)out.nulLine);
  batch.info.push_back((int32_t)proxyCount);
}

}  // namespace kx
