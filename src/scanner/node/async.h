// Work on libuv's threads that ends in a JS callback.
#pragma once
#include <node_api.h>
#include <vector>
#include "napi.h"

namespace kx {

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

}  // namespace kx
