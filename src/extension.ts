/** The VS Code extension: activate and deactivate; the context owns the parts, the commands come from client/. */
import type * as vscode from 'vscode';
import { registerCommands } from './client/commands';
import { ExtensionContext as KexportsContext } from './client/context';
import { registerReviewCommands } from './client/review';

let ctx: KexportsContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = KexportsContext.create(context);
  // the commands first: they answer (and say why) even when the server cannot start
  context.subscriptions.push(...registerCommands(ctx), ...registerReviewCommands(ctx));
  await ctx.launch();
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
