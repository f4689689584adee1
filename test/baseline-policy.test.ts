import { describe, expect, it } from 'vitest';
import { decidePath, excludePattern, needsContent, planBaseline } from '../src/workspace/baseline-policy.ts';

const reasonOf = (path: string, contents: Record<string, string> = {}, files: string[] = []): string => {
  const decision = decidePath(path, {
    contentOf: (name) => contents[name],
    exists: (name) => files.includes(name),
  });
  return decision.action === 'commit' ? 'commit' : `${decision.reason} ${decision.unit}`;
};

describe('the baseline policy', () => {
  it('leaves out files that look like secrets, wherever they are, and keeps their templates', () => {
    for (const path of [
      '.env',
      '.env.local',
      'config/.env.production',
      'certs/server.pem',
      'tls.key',
      'store.p12',
      'home/id_rsa',
      'id_rsa.pub',
      'id_ed25519',
      'credentials',
      'credentials.json',
      '.aws/credentials',
      '.netrc',
      '.git-credentials',
    ]) {
      expect(reasonOf(path), path).toBe(`secret ${path}`);
    }
    for (const path of [
      '.env.example',
      '.env.sample',
      'src/credentials.ts',
      'keys.md',
      'src/a.js',
      'environment.ts',
    ]) {
      expect(reasonOf(path), path).toBe('commit');
    }
  });

  it('reads .npmrc and .pypirc only to tell a token from settings, and keeps an unreadable one out', () => {
    expect(needsContent('.npmrc')).toBe(true);
    expect(needsContent('src/a.js')).toBe(false);
    expect(reasonOf('.npmrc', { '.npmrc': '//registry.npmjs.org/:_authToken=npm_abc\n' })).toBe(
      'secret .npmrc',
    );
    expect(reasonOf('.npmrc', { '.npmrc': 'save-exact=true\n' })).toBe('commit');
    expect(reasonOf('.npmrc')).toBe('secret .npmrc');
    expect(reasonOf('.pypirc', { '.pypirc': '[pypi]\nusername = me\npassword = hunter2\n' })).toBe(
      'secret .pypirc',
    );
  });

  it('leaves out a dependency folder as a whole, and Cargo target/ only beside a Cargo.toml', () => {
    expect(reasonOf('node_modules/x/index.js')).toBe('dependency-folder node_modules/');
    expect(reasonOf('packages/a/node_modules/.bin/x')).toBe('dependency-folder packages/a/node_modules/');
    expect(reasonOf('.venv/lib/site.py')).toBe('dependency-folder .venv/');
    expect(reasonOf('src/__pycache__/a.cpython-312.pyc')).toBe('dependency-folder src/__pycache__/');
    expect(reasonOf('vendor/bundle/ruby/gem.rb')).toBe('dependency-folder vendor/bundle/');
    expect(reasonOf('target/debug/app', {}, ['Cargo.toml'])).toBe('dependency-folder target/');
    expect(reasonOf('src/target/page.ts')).toBe('commit');
    // A file named like a folder is not one.
    expect(reasonOf('docs/node_modules')).toBe('commit');
  });

  it('leaves out logs', () => {
    expect(reasonOf('debug.log')).toBe('log debug.log');
    expect(reasonOf('logs/npm-debug.log')).toBe('log logs/npm-debug.log');
    expect(reasonOf('catalog.md')).toBe('commit');
  });

  it('plans once per file or folder, in order', () => {
    const plan = planBaseline([
      'src/a.js',
      'node_modules/x/a.js',
      'node_modules/y/b.js',
      '.env',
      'debug.log',
    ]);
    expect(plan.commit).toEqual(['src/a.js']);
    expect(plan.leaveOut).toEqual([
      { unit: 'node_modules/', reason: 'dependency-folder' },
      { unit: '.env', reason: 'secret' },
      { unit: 'debug.log', reason: 'log' },
    ]);
  });

  it('writes exclude lines that match only the one file or folder', () => {
    expect(excludePattern('.env')).toBe('/.env');
    expect(excludePattern('a/node_modules/')).toBe('/a/node_modules/');
    expect(excludePattern('!x[1]*.key')).toBe('/\\!x\\[1\\]\\*.key');
    expect(excludePattern('odd.log  ')).toBe('/odd.log\\ \\ ');
    expect(excludePattern('two\nlines.log')).toBeUndefined();
  });
});
