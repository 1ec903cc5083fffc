/** Where the build puts the scanner's two builds, for whoever loads one. */
import { join } from 'node:path';

/**
 * The places to look for one of the build's files: beside the bundles, or dist/ when running from
 * src/core/scan (tests). The environment variable names it for a bundle elsewhere (the bench's ES
 * module, which has no __dirname).
 */
export function builtFilePaths(file: string, envVar: string): string[] {
  const here = typeof __dirname !== 'string' ? [] : __dirname.endsWith(join('src', 'core', 'scan')) ? [join(__dirname, '..', '..', '..', 'dist', file)] : [join(__dirname, file)];
  const named = process.env[envVar];
  return named ? [named, ...here] : here;
}
