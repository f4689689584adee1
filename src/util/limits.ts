/**
 * How much of the worker's output and state the harness is willing to hold, in one place so that config
 * can expose them later. Every name carries its unit. A worker controls all of these sizes; without a
 * bound one session's output becomes a transcript as large as the disk, or a FEATURES.json as large as
 * the harness's memory.
 */
const mebibyte = 1024 * 1024;

export const ioLimits = {
  /** A session transcript keeps its first `transcriptHeadBytes` and last `transcriptTailBytes`. */
  transcriptHeadBytes: 6 * mebibyte,
  transcriptTailBytes: 2 * mebibyte,
  /** A check's saved output (smoke, verify, oracle) keeps its first and last bytes. */
  checkOutputHeadBytes: 512 * 1024,
  checkOutputTailBytes: 512 * 1024,
  /** FEATURES.json larger than this is refused, not parsed. */
  maxFeaturesFileBytes: 2 * mebibyte,
  /** More features than this is refused: each one is a verify command per iteration. */
  maxFeatureCount: 500,
  /** PROGRESS.md, IMPLEMENTATION_PLAN.md, SPEC.md read back by the harness. */
  maxStateFileBytes: mebibyte,
  /** The handoff note a command agent writes to BATON_HANDOFF_FILE. */
  maxHandoffBytes: 256 * 1024,
  /** A transcript read back into memory (diagnostics, a distributed attempt's result). */
  maxTranscriptReadBytes: 64 * 1024,
  /** One JSON line of a stream agent held while it is incomplete; longer lines are dropped unparsed. */
  maxStreamLineBytes: 16 * mebibyte,
  /** The most of one iteration's diff the test-gaming review reads; a larger diff is refused. */
  maxReviewedDiffBytes: 16 * mebibyte,
} as const;

/** The most a transcript file can grow to, marker aside. */
export const maxTranscriptBytes = ioLimits.transcriptHeadBytes + ioLimits.transcriptTailBytes;
/** The most a check output file can grow to, marker aside. */
export const maxCheckOutputBytes = ioLimits.checkOutputHeadBytes + ioLimits.checkOutputTailBytes;
