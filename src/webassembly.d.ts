/**
 * The part of the WebAssembly JS API that the scanner's wasm build uses (src/core/wasmScanner.ts).
 * Node has it as a global; TypeScript declares it only in lib.dom, which a Node project leaves out.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  class RuntimeError extends Error {}
}
