import { z } from 'zod';
import { byteSize } from '../fields.ts';

/** `guards:`: the failure-mode guards on a worker's diff, and the stall escalation (guards/). */

/** Where tests usually live, across ecosystems. */
export const defaultTestGlobs = [
  '**/*.test.*',
  '**/*.spec.*',
  '**/test_*.py',
  '**/*_test.py',
  '**/*_test.go',
  'test/**',
  'tests/**',
  '**/__tests__/**',
];

/** What a worker typically leaves behind by accident. */
export const defaultScratchGlobs = [
  '**/*.log',
  '**/*.tmp',
  '**/*.bak',
  '**/*.orig',
  '**/*.rej',
  '**/*.swp',
  '**/*~',
  '**/.DS_Store',
  '**/nohup.out',
  '**/scratch*',
  '**/debug-*',
  'tmp/**',
];

export const guardsSchema = z
  .strictObject({
    protectedPaths: z
      .array(z.string())
      .default(['evals/**'])
      .describe('Globs of files the worker may not change or delete (hash-locked at run start).'),
    testFiles: z
      .array(z.string())
      .default(defaultTestGlobs)
      .describe(
        "Globs of test files: a changed one is judged by running its accepted version on the new code; the worker's tests must fail on the code a feature last failed on.",
      ),
    testGaming: z
      .boolean()
      .default(true)
      .describe(
        'Judge test changes by running the accepted tests (a change of tested behaviour becomes a proposal) and refuse evidence that does not discriminate.',
      ),
    ignoreDirectives: z.boolean().default(true).describe('Refuse diffs that add lint or type-check ignores.'),
    regression: z
      .enum(['rollback', 'fix-first'])
      .default('rollback')
      .describe('What happens when a passing check starts failing.'),
    pollution: z
      .strictObject({
        mode: z.enum(['scratch', 'reject']).default('scratch'),
        patterns: z.array(z.string()).default(defaultScratchGlobs),
      })
      .prefault({})
      .describe(
        'Untracked scratch files a worker leaves: moved to .baton/scratch, or the iteration is refused.',
      ),
    planMaxBytes: z.number().int().positive().default(16_384),
    maxGrowth: byteSize
      .prefault('128MiB')
      .describe(
        "The most one iteration's uncommitted changes may add to the worktree (new and changed files); more is refused and moved to .baton/scratch, never committed.",
      ),
    replanEvery: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Run a planning pass every K iterations (0: never).'),
    replanOnMismatch: z
      .boolean()
      .default(true)
      .describe('Run a planning pass when the plan misses failing features.'),
    stall: z
      .strictObject({
        replanAfter: z.number().int().min(0).default(2),
        switchAgentAfter: z.number().int().min(0).default(3),
        parkAfter: z.number().int().min(0).default(4),
      })
      .prefault({})
      .describe('Escalation after iterations without progress (0 turns a step off).'),
    questions: z
      .boolean()
      .default(true)
      .describe('Record a question asked instead of work, park its feature.'),
  })
  .prefault({});
