import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/**
 * The PATH a project's commands (its checks) see: the user's, without baton's own Node in front. baton
 * runs itself on the Node 24 the npm `node` package brings; npm and npx put that package's `node` first
 * on PATH (`node_modules/.bin`), so a project's `npm test` would run on baton's Node instead of its own
 * (and the worker be blamed for "Cannot find module … Node.js v24"). The decision is pure; the caller
 * probes the file system.
 */
export interface PathProbe {
  /** The real path of `dir/node` when it is an executable file (undefined: none there). */
  readonly nodeIn: (dir: string) => string | undefined;
  /** The real path of a folder (undefined: there is none). */
  readonly realDir: (dir: string) => string | undefined;
}

export type ProjectPath =
  | { readonly kind: 'unchanged' }
  /** Put a folder holding only `node` (a link to `userNode`) in front of `path`. */
  | { readonly kind: 'shim'; readonly userNode: string; readonly path: string };

/**
 * `batonNodes`: real paths of baton's own Node binaries. Unchanged when the first `node` on PATH is not
 * baton's, when it is found in the folder of baton's binary itself (put there on purpose), or when the
 * user has no other `node` on PATH (baton's is then the only one). Otherwise baton's
 * own Node folder is left out and a folder with the user's `node` goes in front; every other entry stays
 * where it was, so the project's tools in `node_modules/.bin` are still found.
 */
export function decideProjectPath(
  pathVariable: string,
  batonNodes: ReadonlySet<string>,
  probe: PathProbe,
): ProjectPath {
  const entries = pathVariable.split(delimiter).filter((entry) => entry !== '');
  const nodes = entries.map((entry) => probe.nodeIn(entry));
  const firstIndex = nodes.findIndex((node) => node !== undefined);
  const first = nodes[firstIndex];
  if (first === undefined || !batonNodes.has(first)) return { kind: 'unchanged' };
  // The folder of baton's binary itself named first is a caller's choice (the demo runs its own
  // project on baton's Node): only a link to it (npm's `node_modules/.bin`) is taken for the project's.
  const batonDirs = new Set([...batonNodes].map((node) => dirname(node)));
  if (batonDirs.has(probe.realDir(entries[firstIndex] ?? '') ?? '')) return { kind: 'unchanged' };
  const userNode = nodes.find((node) => node !== undefined && !batonNodes.has(node));
  if (userNode === undefined) return { kind: 'unchanged' };
  const kept = entries.filter((entry) => !batonDirs.has(probe.realDir(entry) ?? entry));
  return { kind: 'shim', userNode, path: kept.join(delimiter) };
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

const fileSystem: PathProbe = {
  nodeIn: (dir) => {
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      return undefined;
    }
  },
  realDir: safeRealpath,
};

/** baton's own Node binaries: the one running baton, and the npm `node` package's. */
function batonNodes(): Set<string> {
  const nodes = new Set<string>();
  const running = safeRealpath(process.execPath);
  if (running !== undefined) nodes.add(running);
  try {
    const bundled = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
    const real = safeRealpath(bundled);
    if (real !== undefined) nodes.add(real);
  } catch {
    // baton installed without the node package: only the running binary is its own.
  }
  return nodes;
}

let shims: Map<string, string> | undefined;

/** One folder per user Node for this process, removed when it exits. */
function shimFor(userNode: string): string {
  if (shims === undefined) {
    const made = new Map<string, string>();
    shims = made;
    process.once('exit', () => {
      for (const dir of made.values()) rmSync(dirname(dir), { recursive: true, force: true });
    });
  }
  const known = shims.get(userNode);
  if (known !== undefined) return known;
  // Under /tmp: the sandbox makes a PATH folder in a hidden place readable (sandbox/bwrap-backend.ts).
  const parent = mkdtempSync(join(tmpdir(), 'baton-project-node-'));
  // The parent is new and ours (mkdtemp): nothing a worker planted can be in the way. It holds one
  // link, so others may enter it: the sandbox's own uid (sandbox.user) looks up `node` through it.
  chmodSync(parent, 0o755);
  const dir = join(parent, 'bin');
  mkdirSync(dir, { mode: 0o755 });
  symlinkSync(userNode, join(dir, 'node'));
  shims.set(userNode, dir);
  return dir;
}

/** The environment for a project's command: PATH as `decideProjectPath` says. */
export function projectEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const decision = decideProjectPath(env.PATH ?? '', batonNodes(), fileSystem);
  if (decision.kind === 'unchanged') return env;
  return { ...env, PATH: [shimFor(decision.userNode), decision.path].join(delimiter) };
}
