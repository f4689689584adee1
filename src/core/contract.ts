import type { ChangedFile } from '../git/git.ts';
import { matchesAny } from '../util/glob.ts';
import { singleLine } from '../util/text.ts';
import type { Feature } from '../workspace/features.ts';

/**
 * The verification contract: what decides "done", which belongs to the harness and not to the worker.
 * Feature ids, titles and verify commands; the files the oracle and verify commands depend on (the test
 * runner's configuration, the package manifest's scripts, init.sh, a script a command names). A worker's
 * change to any of it is never applied by itself: it becomes a proposal. Pure: the reads happen before.
 */

/** Test-runner configuration files, across ecosystems: they decide which tests run and how. */
export const runnerConfigGlobs = [
  '**/.mocharc*',
  '**/vitest.config.*',
  '**/vitest.workspace.*',
  '**/vite.config.*',
  '**/jest.config.*',
  '**/jest.setup.*',
  '**/ava.config.*',
  '**/.taprc*',
  '**/karma.conf.*',
  '**/playwright.config.*',
  '**/cypress.config.*',
  '**/.c8rc*',
  '**/.nycrc*',
  '**/pytest.ini',
  '**/conftest.py',
  '**/noxfile.py',
  'init.sh',
];

/** package.json sections that choose what `npm test` runs and how its runners behave. */
const manifestSections = ['scripts', 'jest', 'mocha', 'ava', 'vitest', 'c8', 'nyc', 'tap'] as const;

/** INI/TOML sections of pytest's configuration in shared files. */
const pytestSection = /^\[(?:tool\.pytest[^\]]*|tool:pytest|pytest)\]\s*$/;
const sharedConfigFiles = ['pyproject.toml', 'setup.cfg', 'tox.ini'];

export interface ContractFileVersions {
  readonly path: string;
  /** The file's text at the accepted commit (null: absent). */
  readonly before: string | null;
  /** The file's text in the worker's commit (null: absent, deleted). */
  readonly after: string | null;
}

export interface ContractInput {
  readonly featuresBefore: readonly Feature[];
  /** FEATURES.json as the worker committed it (undefined: unreadable, already refused elsewhere). */
  readonly featuresAfter: readonly Feature[] | undefined;
  readonly changed: readonly ChangedFile[];
  /** The text of the changed files the contract may depend on (manifests, shared configs). */
  readonly versions: readonly ContractFileVersions[];
  /** Paths the contract's commands name (non-test files: tests are judged by running them). */
  readonly namedPaths: ReadonlySet<string>;
  readonly testFiles: readonly string[];
}

export interface ContractChange {
  readonly detail: string;
  /** Features whose checks the change touches (empty: all of them, e.g. the runner's configuration). */
  readonly features: readonly string[];
}

function manifestSectionsChanged(before: string | null, after: string | null): string[] | 'unreadable' {
  const parse = (text: string | null): Record<string, unknown> | undefined => {
    if (text === null) return {};
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const old = parse(before);
  const next = parse(after);
  if (next === undefined) return 'unreadable';
  if (old === undefined) return [];
  return manifestSections.filter((key) => JSON.stringify(old[key]) !== JSON.stringify(next[key]));
}

function pytestSections(text: string | null): string {
  if (text === null) return '';
  const kept: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('[')) inside = pytestSection.test(line.trim());
    if (inside) kept.push(line.trimEnd());
  }
  return kept.join('\n');
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Programs that run the file named after them (`node check.js`, `bash -e verify.sh`). */
const interpreters = new Set([
  'node',
  'nodejs',
  'deno',
  'bun',
  'tsx',
  'ts-node',
  'python',
  'python3',
  'bash',
  'sh',
  'zsh',
  'dash',
  'ruby',
  'perl',
  'php',
  'lua',
  'Rscript',
  'pwsh',
  'make',
  'just',
]);

/**
 * The workspace files a command runs, among the files of the tree: its program (`./init.sh smoke` ->
 * init.sh) or the script an interpreter is given (`node scripts/check.js`, `make -f ci.mk`). A file a
 * command only reads (a plan a `grep` looks at) is data, not the contract.
 */
export function pathsNamedBy(commands: readonly string[], tree: Iterable<string>): Set<string> {
  const run = new Set<string>();
  for (const command of commands) {
    for (const segment of command.split(/&&|\|\||[;|\n()]/)) {
      const words = segment
        .trim()
        .split(/\s+/)
        .map((word) => word.replace(/^['"]|['"]$/g, ''))
        .filter((word) => word !== '' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word));
      const [program, ...rest] = words;
      if (program === undefined) continue;
      run.add(program.replace(/^\.\//, ''));
      if (interpreters.has(program.slice(program.lastIndexOf('/') + 1))) {
        const script = rest.find((word) => !word.startsWith('-'));
        if (script !== undefined) run.add(script.replace(/^\.\//, ''));
      }
    }
  }
  const named = new Set<string>();
  for (const path of tree) if (run.has(path)) named.add(path);
  return named;
}

/** What of the contract the worker's commit changes; empty when it changes none of it. */
export function contractChanges(input: ContractInput): ContractChange[] {
  const changes: ContractChange[] = [];
  if (input.featuresAfter !== undefined) {
    const after = new Map(input.featuresAfter.map((feature) => [feature.id, feature]));
    for (const feature of input.featuresBefore) {
      const now = after.get(feature.id);
      if (now === undefined) {
        changes.push({
          detail: `dropped the feature ${feature.id} from FEATURES.json`,
          features: [feature.id],
        });
        continue;
      }
      if (now.verify !== feature.verify) {
        changes.push({
          detail: `changed the verify command of ${feature.id} (\`${singleLine(feature.verify)}\` -> \`${singleLine(now.verify)}\`)`,
          features: [feature.id],
        });
      }
      if (now.title !== feature.title) {
        changes.push({
          detail: `changed the title of ${feature.id} ("${singleLine(feature.title)}" -> "${singleLine(now.title)}")`,
          features: [feature.id],
        });
      }
    }
  }
  const versions = new Map(input.versions.map((entry) => [entry.path, entry]));
  for (const file of input.changed) {
    const verb = file.status === 'added' ? 'added' : file.status === 'deleted' ? 'deleted' : 'changed';
    if (matchesAny(file.path, runnerConfigGlobs)) {
      changes.push({ detail: `${verb} the test runner's configuration ${file.path}`, features: [] });
    } else if (baseName(file.path) === 'package.json') {
      const entry = versions.get(file.path);
      const sections = manifestSectionsChanged(entry?.before ?? null, entry?.after ?? null);
      if (sections === 'unreadable') {
        changes.push({
          detail: `left ${file.path} unreadable (not JSON): its scripts decide what the checks run`,
          features: [],
        });
      } else if (sections.length > 0) {
        changes.push({
          detail: `changed ${sections.map((key) => `"${key}"`).join(', ')} in ${file.path}, which decide what the checks run`,
          features: [],
        });
      }
    } else if (sharedConfigFiles.includes(baseName(file.path))) {
      const entry = versions.get(file.path);
      if (pytestSections(entry?.before ?? null) !== pytestSections(entry?.after ?? null)) {
        changes.push({ detail: `changed the pytest configuration in ${file.path}`, features: [] });
      }
    } else if (
      file.status !== 'added' &&
      input.namedPaths.has(file.path) &&
      !matchesAny(file.path, input.testFiles)
    ) {
      // A test file a command names is judged by running its accepted version (core/test-changes.ts);
      // any other file a command runs (a script, a fixture) is the contract's.
      changes.push({
        detail: `${verb} ${file.path}, which a verify, oracle or smoke command runs`,
        features: [],
      });
    }
  }
  return changes;
}

/** The files whose text contractChanges needs, among the changed ones. */
export function contractFilesToRead(changed: readonly ChangedFile[]): string[] {
  return changed
    .map((file) => file.path)
    .filter((path) => baseName(path) === 'package.json' || sharedConfigFiles.includes(baseName(path)));
}
