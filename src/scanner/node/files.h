// Files as the tree walk, the scan and the warm start read them: whole reads, change stamps, stat in bulk, the tree walk.
#pragma once
#include <algorithm>
#include <cerrno>
#include <thread>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include "napi.h"
#include "async.h"
#include "../batch.h"

namespace kx {

// A file's change stamp: its inode, mtime and ctime in nanoseconds, folded into 52 bits so that a double
// holds it exactly. Same-size edits with the mtime put back, or moved by 1 ns, still change the ctime; a
// file replaced by another changes the inode. changeStamp() in src/core/util/stamp.ts computes the same.
double changeStamp(const struct stat &st) {
  uint64_t m = (uint64_t)((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
  uint64_t c = (uint64_t)((int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
  uint64_t h = m * 0x9E3779B97F4A7C15ull;
  h = (h ^ c) * 0xC2B2AE3D27D4EB4Full;
  h = (h ^ (uint64_t)st.st_ino) * 0x165667B19E3779F9ull;
  h ^= h >> 32;
  return (double)(h & 0xFFFFFFFFFFFFFull);
}

// What src/core/util/regularFile.ts's NOT_REGULAR says: a link, a FIFO or a device where a file was.
const char *const NOT_REGULAR = "not a regular file";

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


}  // namespace kx
