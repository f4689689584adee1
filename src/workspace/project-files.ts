/**
 * A read-only view of a project's top-level files, for the pure detections of `baton init` (its test
 * command, its .gitignore): tests pass a map, init passes the disk read without following links.
 */
export interface ProjectFiles {
  /** A regular file's text (bounded), or undefined when it is absent or not a regular file. */
  readonly read: (path: string) => string | undefined;
  /** The names in a folder, or none when it is absent. */
  readonly list: (folder: string) => readonly string[];
}

export type Ecosystem = 'node' | 'python' | 'rust' | 'go' | 'ruby';

const markers: readonly (readonly [Ecosystem, readonly string[]])[] = [
  ['node', ['package.json']],
  ['python', ['pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', 'Pipfile']],
  ['rust', ['Cargo.toml']],
  ['go', ['go.mod']],
  ['ruby', ['Gemfile']],
];

/** The ecosystems whose manifest lies at the top of the project. */
export function detectEcosystems(files: ProjectFiles): Ecosystem[] {
  const names = new Set(files.list(''));
  return markers.filter(([, manifests]) => manifests.some((name) => names.has(name))).map(([kind]) => kind);
}

/** A ProjectFiles over a map of path -> text (folders are implied by the paths), for tests and demos. */
export function projectFilesOf(entries: Readonly<Record<string, string>>): ProjectFiles {
  return {
    read: (path) => entries[path],
    list: (folder) => {
      const prefix = folder === '' ? '' : `${folder.replace(/\/$/, '')}/`;
      const names = new Set<string>();
      for (const path of Object.keys(entries)) {
        if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0] ?? '');
      }
      return [...names].filter((name) => name !== '');
    },
  };
}
