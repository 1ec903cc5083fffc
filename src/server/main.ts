/** The language server: over IPC for VS Code, `--stdio` for every other LSP editor. */
import { createConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver/node';
import { FramingWatch } from './framing';
import { KexportsServer } from './server';

/** A broken stream cannot be answered on: say why on stderr, where editors log it, and exit. */
function broken(why: string): never {
  process.stderr.write(`kexports: the client's message stream is broken (${why}); exiting\n`);
  process.exit(1);
}

export function startServer(): void {
  let connection;
  if (process.argv.includes('--stdio')) {
    const watch = new FramingWatch();
    process.stdin.on('data', (chunk: Buffer) => {
      const problem = watch.feed(chunk);
      if (problem) broken(problem);
    });
    const reader = new StreamMessageReader(process.stdin);
    reader.onError((e) => broken(e.message.split('\n')[0]!));
    connection = createConnection(ProposedFeatures.all, reader, new StreamMessageWriter(process.stdout));
  } else connection = createConnection(ProposedFeatures.all);
  // One failed promise must not end the server; the editor would lose every answer with it.
  process.on('unhandledRejection', (e) => connection.console.error(`kexports: unhandled: ${(e as Error)?.stack ?? String(e)}`));
  new KexportsServer(connection).listen();
}

if (require.main === module) startServer();
