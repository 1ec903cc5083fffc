// The scanner as a Node-API addon, for whole-tree scans (src/core/scan/nativeScanner.ts). One
// translation unit: the scanning rules (../*.h), the same the wasm build compiles, and the glue that
// only Node has, each in its own header:
//   scanApi.h   create(), scan(), scanParallel(), release(): batches of files read here
//   files.h     reads, change stamps, statPaths(), statList(), readTree()
//   cache.h     readChecked(), checkRanges(), mapFile(), mappedFaults(): the warm start
//   crc.h       crc32();  intern.h  internPacked();  postings.h  fillPostings()
//
// A batch is:
//   uses      all files' (name, line, context) triples, one Uint32Array, names numbered on the wire;
//   proxies   each file's proxies in order: (name, first line, kind) triples, names numbered on the wire;
//   names     the names first sent in this batch, packed latin1, with their lengths: the pool maps
//             wire numbers to its global table;
//   info      per file: status, use triples, lines, NUL line, proxies;  stat: per file: size, change stamp;
//   json      per file: the rare structured parts (exports, definitions, wrappers...) or 0.
#define NAPI_VERSION 8
#include <node_api.h>

#include <mutex>

#include "../batch.h"
#include "cache.h"
#include "crc.h"
#include "files.h"
#include "intern.h"
#include "napi.h"
#include "postings.h"
#include "scanApi.h"

using namespace kx;

NAPI_MODULE_INIT() {
  // Once per process: each worker thread that loads the addon runs this, while another thread's
  // scan may be reading the classes.
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
