/**
 * Values kept per file of the index for a bulk answer: by the file's number where the walk gives it
 * (an array's slot, not a Map's hash of the path, for the 12 M consumers of every export of
 * linux-6.1), by its path where only the path is known.
 */
export class PerFile<T> {
  private readonly byIdx: (T | undefined)[] = [];
  private readonly byPath = new Map<string, T>();

  constructor(private readonly make: (file: string, fileIdx?: number) => T) {}

  of(file: string, fileIdx?: number): T {
    if (fileIdx === undefined) {
      let v = this.byPath.get(file);
      if (v === undefined) this.byPath.set(file, (v = this.make(file)));
      return v;
    }
    let v = this.byIdx[fileIdx];
    if (v === undefined) {
      // filled up to it, so that the slots stay an array, not a dictionary
      while (this.byIdx.length < fileIdx) this.byIdx.push(undefined);
      this.byIdx[fileIdx] = v = this.make(file, fileIdx);
    }
    return v;
  }
}
