import { describe, expect, it } from 'vitest';
import {
  lockedPaths,
  parseUnifiedDiff,
  reviewDiff,
  type DiffReviewInput,
} from '../src/guards/diff-review.ts';
import { defaultTestGlobs } from '../src/config/schema.ts';
import { featuresMissingFromPlan, foldCompletedItems } from '../src/guards/plan-check.ts';
import { questionAsked } from '../src/guards/question.ts';
import { classifyUntracked } from '../src/guards/pollution.ts';
import { matchesGlob } from '../src/util/glob.ts';
import { hostAllowed } from '../src/sandbox/network-proxy.ts';

const patch = `diff --git a/src/a.ts b/src/a.ts
--- a/src/a.ts
+++ b/src/a.ts
@@ -1 +1,2 @@
-const x = 1;
+// eslint-disable-next-line
+const x: any = 1; // @ts-ignore
diff --git a/test/a.test.ts b/test/a.test.ts
--- a/test/a.test.ts
+++ b/test/a.test.ts
@@ -3,2 +3,1 @@
-  expect(a()).toBe(1);
-  expect(b()).toBe(2);
+  expect(a()).toBe(1);
diff --git a/test/gone.test.ts b/test/gone.test.ts
deleted file mode 100644
--- a/test/gone.test.ts
+++ /dev/null
@@ -1 +0,0 @@
-test('x', () => expect(1).toBe(1));
diff --git a/test/new.test.ts b/test/new.test.ts
new file mode 100644
--- /dev/null
+++ b/test/new.test.ts
@@ -0,0 +1 @@
+it.only('focus', () => {});
`;

function input(overrides: Partial<DiffReviewInput> = {}): DiffReviewInput {
  return {
    files: [
      { status: 'modified', path: 'src/a.ts' },
      { status: 'modified', path: 'test/a.test.ts' },
      { status: 'deleted', path: 'test/gone.test.ts' },
      { status: 'added', path: 'test/new.test.ts' },
    ],
    lines: parseUnifiedDiff(patch),
    testFiles: defaultTestGlobs,
    protectedPaths: ['evals/**'],
    locked: new Map(),
    lockedNow: new Map(),
    testGaming: true,
    ignoreDirectives: true,
    ...overrides,
  };
}

describe('the diff review', () => {
  it('reads added and removed lines per file, deleted files included', () => {
    const lines = parseUnifiedDiff(patch);
    expect(lines.get('src/a.ts')).toEqual({
      added: ['// eslint-disable-next-line', 'const x: any = 1; // @ts-ignore'],
      removed: ['const x = 1;'],
    });
    expect(lines.get('test/gone.test.ts')?.removed).toHaveLength(1);
  });

  it('refuses what no test run can judge, and leaves the rest to running the accepted tests', () => {
    const review = reviewDiff(input());
    expect(review.violations.map((violation) => `${violation.guard}: ${violation.detail}`)).toEqual([
      'ignore-directive: added 2 lint/type-check ignore(s) to src/a.ts',
      'test-gaming: added a new test file test/new.test.ts with 1 skip/only marker(s): a test that does not run proves nothing, and .only keeps the others from running',
    ]);
    expect(review.hints.map((hint) => hint.detail)).toEqual([
      'deleted the test file test/gone.test.ts',
      'removed 1 assertion(s) from test/a.test.ts',
    ]);
  });

  it('counts assertions across files, so a test split into two files loses none', () => {
    const split = `diff --git a/test/a.test.ts b/test/a.test.ts
--- a/test/a.test.ts
+++ b/test/a.test.ts
@@ -3,2 +3,0 @@
-  expect(a()).toBe(1);
-  expect(b()).toBe(2);
diff --git a/test/b.test.ts b/test/b.test.ts
--- /dev/null
+++ b/test/b.test.ts
@@ -0,0 +1,2 @@
+  expect(a()).toBe(1);
+  expect(b()).toBe(2);
`;
    const review = reviewDiff(
      input({
        files: [
          { status: 'modified', path: 'test/a.test.ts' },
          { status: 'added', path: 'test/b.test.ts' },
        ],
        lines: parseUnifiedDiff(split),
      }),
    );
    expect(review).toEqual({ violations: [], hints: [] });
  });

  it('reads ignore directives only in comments of code files: a config file naming one is text', () => {
    const config = `diff --git a/.eslintrc.json b/.eslintrc.json
--- a/.eslintrc.json
+++ b/.eslintrc.json
@@ -1 +1 @@
-{}
+{ "rules": { "eslint-comments/no-unlimited-disable": "error", "x": "eslint-disable" } }
diff --git a/test/types.test.ts b/test/types.test.ts
--- a/test/types.test.ts
+++ b/test/types.test.ts
@@ -1 +1,2 @@
+// @ts-expect-error the call must not type-check
 expectType(f(1));
`;
    const review = reviewDiff(
      input({
        files: [
          { status: 'modified', path: '.eslintrc.json' },
          { status: 'modified', path: 'test/types.test.ts' },
        ],
        lines: parseUnifiedDiff(config),
      }),
    );
    expect(review.violations).toEqual([]);
    expect(review.hints.map((hint) => hint.detail)).toEqual([
      'added 1 lint/type-check ignore(s) to test/types.test.ts',
    ]);
  });

  it('can be turned off guard by guard', () => {
    expect(reviewDiff(input({ testGaming: false, ignoreDirectives: false }))).toEqual({
      violations: [],
      hints: [],
    });
  });

  it('refuses any change to a protected file, added files under protection aside; tests are not locked', () => {
    const locked = lockedPaths(
      new Map([
        ['evals/score.py', 'blob1'],
        ['src/x.ts', 'blob2'],
        ['test/a.test.ts', 'blob3'],
      ]),
      ['evals/**'],
    );
    expect([...locked.keys()]).toEqual(['evals/score.py']);
    const review = reviewDiff(
      input({
        files: [
          { status: 'modified', path: 'evals/other.py' },
          { status: 'added', path: 'evals/new.py' },
          { status: 'modified', path: 'test/a.test.ts' },
        ],
        lines: new Map(),
        locked,
        lockedNow: new Map([['test/a.test.ts', 'blob3-changed']]),
      }),
    );
    expect(review.violations.map((violation) => violation.detail)).toEqual([
      'deleted the protected file evals/score.py (locked when the run started)',
      'modified the protected file evals/other.py',
    ]);
  });
});

describe('the small guards', () => {
  it('match globs the way baton.yaml documents them', () => {
    expect(matchesGlob('test/unit/a.test.ts', '**/*.test.*')).toBe(true);
    expect(matchesGlob('a.test.ts', '**/*.test.*')).toBe(true);
    expect(matchesGlob('src/a.ts', 'test/**')).toBe(false);
    expect(matchesGlob('tmp/x/y.txt', 'tmp/**')).toBe(true);
    expect(matchesGlob('src/tmp.ts', 'tmp/**')).toBe(false);
  });

  it('tell scratch files from new work', () => {
    expect(
      classifyUntracked(
        ['src/new.ts', 'debug.log', 'tmp/a', 'notes/scratch.md', 'x.orig'],
        ['**/*.log', 'tmp/**', '**/scratch*', '**/*.orig'],
      ),
    ).toEqual({
      scratch: ['debug.log', 'tmp/a', 'notes/scratch.md', 'x.orig'],
      work: ['src/new.ts'],
    });
  });

  it('see plan rot and fold completed items', () => {
    expect(featuresMissingFromPlan('- [ ] F1: a\n- [x] F10: b\n', ['F1', 'F2', 'F10'])).toEqual(['F2']);
    expect(foldCompletedItems('# Plan\n- [x] F1\n- [ ] F2\n- [X] F3\n')).toBe(
      '# Plan\n- [ ] F2\n\n_2 completed items folded away by baton (see git log)._\n',
    );
  });

  it('match allow-listed hosts exactly or by subdomain wildcard', () => {
    expect(hostAllowed('api.anthropic.com', ['api.anthropic.com'])).toBe(true);
    expect(hostAllowed('API.anthropic.com.', ['api.anthropic.com'])).toBe(true);
    expect(hostAllowed('evil-api.anthropic.com', ['api.anthropic.com'])).toBe(false);
    expect(hostAllowed('a.b.example.com', ['*.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('example.com.evil.test', ['*.example.com'])).toBe(false);
  });

  it('recognise a question asked instead of work', () => {
    expect(questionAsked('I read the code.\nShould F4 count the ellipsis?', false)).toBe(
      'Should F4 count the ellipsis?',
    );
    expect(questionAsked('QUESTION: which database?\nI stopped here.', false)).toBe('which database?');
    expect(questionAsked('Implemented it. Anything else?', true)).toBeUndefined();
    expect(questionAsked('Implemented it.', false)).toBeUndefined();
  });
});
