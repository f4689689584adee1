import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateFiles } from './paths.ts';

/** The goal as SPEC.md states it: the text under "## Goal", or its first paragraph. */
export function readGoal(workspace: string): string {
  const path = join(workspace, stateFiles.spec);
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const section = /^## Goal\s*\n([\s\S]*?)(?=\n## |$)/m.exec(text)?.[1];
  const body = section ?? text.replace(/^# .*\n/, '');
  return (
    body
      .trim()
      .split(/\n\s*\n/)[0]
      ?.trim() ?? ''
  );
}
