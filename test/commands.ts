import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One shell command of a README's fenced `sh`/`bash`/`shell`/`console` block. */
export interface Command {
  /** The README, relative to the repository root. */
  file: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** As written, continuation lines joined. */
  text: string;
}

/** Every Markdown file of the repository, outside dependencies and build output. */
export function readmes(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || ['node_modules', 'dist', 'coverage'].includes(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

/** The commands of one Markdown file: lines of shell blocks, without blank and comment-only lines. */
export function commandsOf(root: string, file: string): Command[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const commands: Command[] = [];
  let inShell = false;
  let inFence = false;
  let pending: Command | undefined;
  for (const [i, raw] of lines.entries()) {
    const fence = /^\s*```\s*([\w-]*)/.exec(raw);
    if (fence) {
      if (!inFence) {
        inFence = true;
        inShell = ['sh', 'bash', 'shell', 'console', 'zsh'].includes(fence[1]!.toLowerCase());
      } else {
        inFence = false;
        inShell = false;
      }
      continue;
    }
    if (!inShell) continue;
    const line = raw.replace(/^\s*\$\s+/, '');
    if (pending) {
      pending.text += ` ${line.trim().replace(/\\$/, '').trim()}`;
      if (!line.trimEnd().endsWith('\\')) {
        commands.push(pending);
        pending = undefined;
      }
      continue;
    }
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const command = { file, line: i + 1, text: line.trim().replace(/\\$/, '').trim() };
    if (line.trimEnd().endsWith('\\')) pending = command;
    else commands.push(command);
  }
  if (pending) commands.push(pending);
  return commands;
}

/** The command without its trailing comment (`npm start     # install, …` → `npm start`). */
export function bare(text: string): string {
  return text.replace(/\s+#\s.*$/, '').trim();
}
