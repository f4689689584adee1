import type { FeatureList } from '../workspace/features.ts';
import type { AgentScriptInput } from '../testing/script.ts';

type ScriptRule = AgentScriptInput['rules'][number];

/**
 * The demo's example project: "textkit", a small string library with a real test suite (node:test).
 * It starts with every function a stub, so every feature fails until a worker implements it.
 */
const stub = (name: string): string =>
  `export function ${name}() {\n  throw new Error('${name} is not implemented yet');\n}\n`;

export const textkitFiles: Record<string, string> = {
  'package.json': `${JSON.stringify({ name: 'textkit', version: '0.0.0', type: 'module', private: true, scripts: { test: 'node --test' } }, null, 2)}\n`,
  '.gitignore': 'node_modules/\n',
  'README.md': '# textkit\n\nSmall, dependable string helpers: slugify, wordCount, titleCase, truncate.\n',
  'src/index.js':
    "export { slugify } from './slugify.js';\nexport { wordCount } from './word-count.js';\nexport { titleCase } from './title-case.js';\nexport { truncate } from './truncate.js';\n",
  'src/slugify.js': stub('slugify'),
  'src/word-count.js': stub('wordCount'),
  'src/title-case.js': stub('titleCase'),
  'src/truncate.js': stub('truncate'),
  'test/slugify.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slugify } from '../src/index.js';

test('slugify lowercases and joins words with dashes', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
});
test('slugify strips accents and punctuation', () => {
  assert.equal(slugify('Crème Brûlée, à la carte!'), 'creme-brulee-a-la-carte');
});
test('slugify collapses separators and trims them', () => {
  assert.equal(slugify('  --Many   spaces__here-- '), 'many-spaces-here');
});
`,
  'test/word-count.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wordCount } from '../src/index.js';

test('wordCount counts words separated by any whitespace', () => {
  assert.equal(wordCount('one two\\tthree\\nfour'), 4);
});
test('wordCount of empty or blank text is 0', () => {
  assert.equal(wordCount(''), 0);
  assert.equal(wordCount('   '), 0);
});
test('wordCount keeps hyphenated words whole', () => {
  assert.equal(wordCount('state-of-the-art harness'), 2);
});
`,
  'test/title-case.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { titleCase } from '../src/index.js';

test('titleCase capitalises each word', () => {
  assert.equal(titleCase('the quick brown fox'), 'The Quick Brown Fox');
});
test('titleCase keeps short joining words lower case except at the start', () => {
  assert.equal(titleCase('a tale of two cities'), 'A Tale of Two Cities');
});
`,
  'test/truncate.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncate } from '../src/index.js';

test('truncate leaves short text alone', () => {
  assert.equal(truncate('short', 10), 'short');
});
test('truncate cuts at a word boundary and adds an ellipsis', () => {
  assert.equal(truncate('the quick brown fox jumps', 16), 'the quick brown…');
});
test('truncate never returns more than the limit', () => {
  assert.ok(truncate('abcdefghijklmnop', 5).length <= 5);
});
`,
};

const implementations = {
  slugify: `export function slugify(text) {
  return text
    .normalize('NFKD')
    .replace(/[\\u0300-\\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
`,
  wordCount: `export function wordCount(text) {
  const words = text.trim().split(/\\s+/).filter((word) => word !== '');
  return words.length;
}
`,
  titleCase: `const minor = new Set(['a', 'an', 'and', 'as', 'at', 'but', 'by', 'for', 'in', 'of', 'on', 'or', 'the', 'to']);

export function titleCase(text) {
  return text
    .toLowerCase()
    .split(' ')
    .map((word, index) => (index > 0 && minor.has(word) ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join(' ');
}
`,
  truncate: `export function truncate(text, limit) {
  if (text.length <= limit) return text;
  const room = text.slice(0, limit - 1);
  const atBoundary = text.charAt(limit - 1) === ' ';
  const space = room.lastIndexOf(' ');
  const cut = atBoundary || space <= 0 ? room : room.slice(0, space);
  return \`\${cut.trimEnd()}…\`;
}
`,
};

export const textkitGoal =
  'Build textkit, a small string library: slugify, wordCount, titleCase and truncate, each behaving as its tests in test/ describe.';

export const textkitFeatures: FeatureList = {
  version: 1,
  features: [
    {
      id: 'F1',
      title: 'slugify turns any title into a URL slug',
      steps: ['lowercase', 'strip accents', 'join words with -'],
      verify: 'node --test test/slugify.test.js',
      status: 'failing',
      evidence: null,
    },
    {
      id: 'F2',
      title: 'wordCount counts the words of a text',
      steps: ['split on whitespace', 'blank text has 0 words'],
      verify: 'node --test test/word-count.test.js',
      status: 'failing',
      evidence: null,
    },
    {
      id: 'F3',
      title: 'titleCase capitalises titles the editorial way',
      steps: ['capitalise words', 'keep minor words lower case'],
      verify: 'node --test test/title-case.test.js',
      status: 'failing',
      evidence: null,
    },
    {
      id: 'F4',
      title: 'truncate shortens text at a word boundary',
      steps: ['never exceed the limit', 'end with an ellipsis'],
      verify: 'node --test test/truncate.test.js',
      status: 'failing',
      evidence: null,
    },
  ],
};

const planTick = (id: string) => ({
  replace: { path: 'IMPLEMENTATION_PLAN.md', find: `- [ ] ${id}:`, with: `- [x] ${id}:` },
});

/** An honest worker: one feature per session, each verified before it hands off. */
export const textkitHonestRules: ScriptRule[] = [
  {
    name: 'implement slugify',
    when: { featureFailing: 'F1' },
    do: [
      { write: { path: 'src/slugify.js', content: implementations.slugify } },
      planTick('F1'),
      { run: 'node --test test/slugify.test.js' },
    ],
    say: 'Implemented slugify (NFKD, strip accents, dashes). Ran node --test test/slugify.test.js: passes. Next: F2 wordCount.',
  },
  {
    name: 'implement wordCount',
    when: { featureFailing: 'F2' },
    do: [
      { write: { path: 'src/word-count.js', content: implementations.wordCount } },
      planTick('F2'),
      { run: 'node --test test/word-count.test.js' },
    ],
    say: 'Implemented wordCount (split on whitespace, blank is 0). Its tests pass. Next: F3 titleCase.',
  },
  {
    name: 'implement titleCase',
    when: { featureFailing: 'F3' },
    do: [
      { write: { path: 'src/title-case.js', content: implementations.titleCase } },
      planTick('F3'),
      { run: 'node --test test/title-case.test.js' },
    ],
    say: 'Implemented titleCase with minor words kept lower case. Its tests pass. Next: F4 truncate.',
  },
  {
    name: 'implement truncate',
    when: { featureFailing: 'F4' },
    do: [
      { write: { path: 'src/truncate.js', content: implementations.truncate } },
      planTick('F4'),
      { run: 'node --test' },
    ],
    say: 'Implemented truncate at a word boundary with an ellipsis. The whole suite passes: node --test.',
    claimDone: true,
  },
];

/**
 * The demo worker: honest progress one feature per session, except once, when two features pass and it
 * declares the whole job done. The judge must reject that claim; the worker then reads the rejection
 * in its next prompt and carries on.
 */
export const textkitAgentScript: AgentScriptInput = {
  name: 'demo worker',
  rules: [
    {
      name: 'premature victory',
      when: { passingExactly: 2, promptExcludes: 'claim was rejected' },
      say: 'slugify and wordCount work and the library looks complete to me.',
      claimDone: true,
    },
    ...textkitHonestRules,
  ],
  otherwise: 'Every feature I know of passes.',
};
