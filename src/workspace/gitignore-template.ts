import type { Ecosystem } from './project-files.ts';

/**
 * The .gitignore `baton init --git-init` writes when a project has none: what no project wants
 * committed (secrets, logs, OS litter), and the build output and dependency folders of the ecosystems
 * it detected. Short on purpose: the project owns it and extends it.
 */
const common = [
  '# Secrets: keep them out of history (commit a .env.example with the variable names instead)',
  '.env',
  '.env.*',
  '!.env.example',
  '!.env.sample',
  '*.pem',
  '*.key',
  '',
  '# Logs and OS litter',
  '*.log',
  '.DS_Store',
];

const byEcosystem: Readonly<Record<Ecosystem, readonly string[]>> = {
  node: ['# Node', 'node_modules/', 'dist/', 'coverage/'],
  python: [
    '# Python',
    '__pycache__/',
    '*.py[cod]',
    '.venv/',
    'venv/',
    '*.egg-info/',
    '.pytest_cache/',
    'dist/',
    'build/',
  ],
  rust: ['# Rust', 'target/'],
  go: [],
  ruby: ['# Ruby', '.bundle/', 'vendor/bundle/'],
};

export function gitignoreTemplate(ecosystems: readonly Ecosystem[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const section of [common, ...ecosystems.map((kind) => byEcosystem[kind])]) {
    // dist/ is both Node's and Python's: each pattern once.
    const fresh = section.filter((line) => line === '' || line.startsWith('#') || !seen.has(line));
    for (const line of fresh) seen.add(line);
    if (!fresh.some((line) => line !== '' && !line.startsWith('#'))) continue;
    if (lines.length > 0) lines.push('');
    lines.push(...fresh);
  }
  return `${lines.join('\n')}\n`;
}
