import type { ProjectFiles } from './project-files.ts';

/** A project's own test command, and the file that says so (shown to the person, so they can check it). */
export interface DetectedTestCommand {
  readonly command: string;
  readonly source: string;
}

/**
 * The command that runs a project's tests, from its manifests, or undefined when none says. The first
 * ecosystem that answers wins, in this order: a package.json test script, pytest, cargo, go.
 */
export function detectTestCommand(files: ProjectFiles): DetectedTestCommand | undefined {
  return fromPackageJson(files) ?? fromPytest(files) ?? fromCargo(files) ?? fromGo(files);
}

/** What `npm init` writes when there are no tests: it always fails, so it is no oracle. */
const npmPlaceholder = /no test specified/;

function fromPackageJson(files: ProjectFiles): DetectedTestCommand | undefined {
  const text = files.read('package.json');
  if (text === undefined) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return undefined;
  }
  const scripts = isRecord(manifest) ? manifest.scripts : undefined;
  const test = isRecord(scripts) ? scripts.test : undefined;
  if (typeof test !== 'string' || test.trim() === '' || npmPlaceholder.test(test)) return undefined;
  return { command: 'npm test', source: 'package.json' };
}

function fromPytest(files: ProjectFiles): DetectedTestCommand | undefined {
  const command = 'python -m pytest';
  const sections: readonly (readonly [string, RegExp])[] = [
    ['pyproject.toml', /^\s*\[tool\.pytest/m],
    ['pytest.ini', /^\s*\[pytest\]/m],
    ['tox.ini', /^\s*\[pytest\]/m],
    ['setup.cfg', /^\s*\[tool:pytest\]/m],
  ];
  for (const [source, section] of sections) {
    if (section.test(files.read(source) ?? '')) return { command, source };
  }
  const tests = files.list('tests');
  if (tests.some((name) => /^test_.*\.py$|_test\.py$/.test(name))) return { command, source: 'tests/' };
  return undefined;
}

function fromCargo(files: ProjectFiles): DetectedTestCommand | undefined {
  return files.read('Cargo.toml') === undefined ? undefined : { command: 'cargo test', source: 'Cargo.toml' };
}

function fromGo(files: ProjectFiles): DetectedTestCommand | undefined {
  return files.read('go.mod') === undefined ? undefined : { command: 'go test ./...', source: 'go.mod' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
