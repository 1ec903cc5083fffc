/** The VS Code extension: activate and deactivate only; the context owns everything else. */
import type * as vscode from 'vscode';
import { ExtensionContext as KexportsContext } from './client/context';

let ctx: KexportsContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = await KexportsContext.create(context);
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
