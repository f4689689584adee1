import { describe, expect, it } from 'vitest';
import { detectTestCommand } from '../src/workspace/detect-test-command.ts';
import { gitignoreTemplate } from '../src/workspace/gitignore-template.ts';
import { detectEcosystems, projectFilesOf } from '../src/workspace/project-files.ts';

const detect = (files: Record<string, string>) => detectTestCommand(projectFilesOf(files));

describe('test command detection', () => {
  it('uses a package.json test script, but not the one npm init writes', () => {
    expect(detect({ 'package.json': '{"scripts": {"test": "vitest run"}}' })).toEqual({
      command: 'npm test',
      source: 'package.json',
    });
    expect(
      detect({ 'package.json': '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}' }),
    ).toBeUndefined();
    expect(detect({ 'package.json': '{"scripts": {"build": "tsc"}}' })).toBeUndefined();
    expect(detect({ 'package.json': '{"scripts": {"test": ""}}' })).toBeUndefined();
    expect(detect({ 'package.json': 'not json' })).toBeUndefined();
    expect(detect({ 'package.json': '["scripts"]' })).toBeUndefined();
  });

  it('finds pytest in its config files or in a tests/ folder of test_*.py', () => {
    const pytest = (source: string) => ({ command: 'python -m pytest', source });
    expect(detect({ 'pyproject.toml': '[project]\nname = "x"\n\n[tool.pytest.ini_options]\n' })).toEqual(
      pytest('pyproject.toml'),
    );
    expect(detect({ 'pyproject.toml': '[project]\nname = "x"\n' })).toBeUndefined();
    expect(detect({ 'pytest.ini': '[pytest]\naddopts = -q\n' })).toEqual(pytest('pytest.ini'));
    expect(detect({ 'tox.ini': '[tox]\n\n[pytest]\n' })).toEqual(pytest('tox.ini'));
    expect(detect({ 'setup.cfg': '[metadata]\n[tool:pytest]\n' })).toEqual(pytest('setup.cfg'));
    expect(detect({ 'setup.cfg': '[metadata]\nname = x\n' })).toBeUndefined();
    expect(detect({ 'tests/test_parse.py': 'def test_x(): pass\n' })).toEqual(pytest('tests/'));
    expect(detect({ 'tests/helpers.py': '' })).toBeUndefined();
  });

  it('uses cargo and go from their manifests, in a fixed order', () => {
    expect(detect({ 'Cargo.toml': '[package]\n' })).toEqual({ command: 'cargo test', source: 'Cargo.toml' });
    expect(detect({ 'go.mod': 'module x\n' })).toEqual({ command: 'go test ./...', source: 'go.mod' });
    expect(detect({ 'go.mod': 'module x\n', 'package.json': '{"scripts": {"test": "jest"}}' })?.command).toBe(
      'npm test',
    );
    expect(detect({ 'README.md': '# x\n' })).toBeUndefined();
  });
});

describe('the .gitignore of --git-init', () => {
  it('always keeps secrets and logs out, adds each detected ecosystem once, and keeps .env.example', () => {
    const files = projectFilesOf({
      'package.json': '{}',
      'pyproject.toml': '',
      'Cargo.toml': '',
      'go.mod': '',
    });
    const ecosystems = detectEcosystems(files);
    expect(ecosystems).toEqual(['node', 'python', 'rust', 'go']);
    const lines = gitignoreTemplate(ecosystems).split('\n');
    for (const line of [
      '.env',
      '.env.*',
      '!.env.example',
      '*.log',
      '.DS_Store',
      'node_modules/',
      '__pycache__/',
      '.venv/',
      'target/',
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.filter((line) => line === 'dist/')).toHaveLength(1);
    expect(gitignoreTemplate([])).not.toContain('node_modules/');
  });
});
