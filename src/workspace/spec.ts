import { UnsafeFileError } from '../util/safe-io.ts';
import { sanitizeText } from '../util/text.ts';
import { stateFiles } from './paths.ts';
import { readStateFile } from './state-file.ts';

/**
 * The goal as SPEC.md states it: the text under "## Goal", or its first paragraph. It goes into every
 * prompt, so SPEC.md is read as a bounded regular file only (a link to a secret yields no goal) and the
 * text is stripped of control characters.
 */
export function readGoal(workspace: string): string {
  let content;
  try {
    content = readStateFile(workspace, stateFiles.spec);
  } catch (error) {
    if (UnsafeFileError.isUnsafeFile(error)) return '';
    throw error;
  }
  if (content === undefined) return '';
  const text = sanitizeText(content.text);
  const section = /^## Goal\s*\n([\s\S]*?)(?=\n## |$)/m.exec(text)?.[1];
  const body = section ?? text.replace(/^# .*\n/, '');
  return (
    body
      .trim()
      .split(/\n\s*\n/)[0]
      ?.trim() ?? ''
  );
}
