import { writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-write.ts';
import { ioLimits } from '../util/limits.ts';
import { readInside, type RegularFileContent } from '../util/safe-io.ts';

/**
 * A state file of the workspace (PROGRESS.md, IMPLEMENTATION_PLAN.md, SPEC.md...) read back by the
 * harness: no link at any component, a regular file, at most `maxBytes`. Undefined when it is missing;
 * an UnsafeFileError when it is a link or not a regular file.
 */
export function readStateFile(
  workspace: string,
  relative: string,
  maxBytes: number = ioLimits.maxStateFileBytes,
): RegularFileContent | undefined {
  return readInside(workspace, relative, { maxBytes });
}

/** Write a state file atomically, through a temp file in `.baton/tmp`, never through a link. */
export function writeStateFile(
  workspace: string,
  relative: string,
  content: string,
  options?: AtomicWriteOptions,
): void {
  writeFileAtomic(workspace, relative, content, options);
}
