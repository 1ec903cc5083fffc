import { join } from 'node:path';

/** Where kexports keeps its caches unless told otherwise: $XDG_CACHE_HOME/kexports, or ~/.cache/kexports. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(process.env.HOME ?? '/tmp', '.cache'), 'kexports');
}
