/** The language server: over IPC for VS Code, `--stdio` for every other LSP editor. */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { KexportsServer } from './server';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  // One failed promise must not end the server; the editor would lose every answer with it.
  process.on('unhandledRejection', (e) => connection.console.error(`kexports: unhandled: ${(e as Error)?.stack ?? String(e)}`));
  new KexportsServer(connection).listen();
}

if (require.main === module) startServer();
