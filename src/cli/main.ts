/** kexports: argv -> core -> stdout and an exit code. */
import { readFileSync } from 'node:fs';
import { scannerInUse } from '../core/scan/nativeScanner';
import { printableLines } from '../core/util/printable';
import { BufferedOut } from './output';
import { flag, parseArgs, UsageError } from './args';
import { runCheck, runConsumers, runExports, runModule, usage, VERSION } from './commands';
import { cacheWritesSettled, type Io, reportCutShortCaches } from './context';
import { historyCommand } from './history';
import { maintainersCommand } from './maintainers';
import { reviewCommand } from './review';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code: number;
  try {
    code = await run(argv, io);
  } finally {
    await cacheWritesSettled();
  }
  // Answers from a cache cut short under this run are not to be trusted, nor passed in CI.
  return reportCutShortCaches(io) && code >= 0 ? 2 : code;
}

/** Formats that escape control characters themselves; every other output is escaped, whatever wrote it. */
const SELF_ESCAPING = ['json', 'jsonl', 'sarif', 'patchwork'];

async function run(argv: readonly string[], raw: Io): Promise<number> {
  let io: Io = { ...raw, err: (s) => raw.err(printableLines(s)) };
  try {
    const args = parseArgs(argv);
    if (!SELF_ESCAPING.includes(flag(args, '--format') ?? '')) io = { ...io, out: (s) => raw.out(printableLines(s)) };
    if (args.flags.has('--version')) return (io.out(`kexports ${VERSION}\n${scannerInUse()}\n`), 0);
    switch (args.command) {
      case 'exports':
        return await runExports(args, io);
      case 'consumers':
        return await runConsumers(args, io);
      case 'check':
        return await runCheck(args, io);
      case 'review':
        return await reviewCommand(args, io);
      case 'history':
        return await historyCommand(args, io);
      case 'maintainers':
        return await maintainersCommand(args, io);
      case 'module':
        return await runModule(args, io);
      case 'lsp': {
        if (!args.flags.has('--stdio')) throw new UsageError('lsp needs --stdio');
        const { startServer } = await import('../server/main');
        startServer();
        return -1; // the server keeps the process alive
      }
      case undefined:
      case 'help':
        io.out(usage);
        return args.command === 'help' || args.flags.has('--help') ? 0 : 2;
      default:
        throw new UsageError(`unknown command ${args.command}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`kexports: ${e.message}\n\n${usage}`);
      return 2;
    }
    io.err(`kexports: ${(e as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) {
  // The reader may close the pipe early (`kexports consumers … | head`): the rest is not written, and
  // the command stops at its next record, as other Unix tools do.
  let gone = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    gone = true;
  });
  // done with the bytes when nothing waits to be written: a file's or /dev/null's write, a pipe's
  // that took them whole
  const stdout = new BufferedOut((b) => gone || (process.stdout.write(b), process.stdout.writableLength === 0));
  const io: Io = {
    out: (s) => void (gone || stdout.write(s)),
    err: (s) => (stdout.flush(), process.stderr.write(s)),
    cwd: process.cwd(),
    stdin: () => readFileSync(0, 'utf8'),
    drained: async () => {
      await drained(process.stdout);
      return !gone;
    },
  };
  void main(process.argv.slice(2), io).then((code) => {
    stdout.flush();
    if (code >= 0) process.exitCode = code;
  });
}

/** Resolves when the stream has room again, or is gone (the reader closed the pipe: nothing more will drain). */
function drained(out: NodeJS.WriteStream): Promise<void> {
  if (!out.writableNeedDrain || out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done).off('close', done).off('error', done);
      resolve();
    };
    out.on('drain', done).on('close', done).on('error', done);
  });
}
