/**
 * What the harness may commit of files it did not write: a pure decision over a path (and, for the few
 * files whose name alone does not tell, their first bytes). A secret committed once stays in the
 * history; a dependency folder or a log makes every later diff noise. So these are left out even when
 * the project has no .gitignore, or one that does not list them, and stay on disk untouched.
 */

export type LeaveOutReason = 'secret' | 'dependency-folder' | 'log';

export type PathDecision =
  | { readonly action: 'commit' }
  | {
      readonly action: 'leave-out';
      readonly reason: LeaveOutReason;
      /** What is left out as a whole: the file, or the folder (ending with `/`) the path lies in. */
      readonly unit: string;
    };

/** What the policy may ask about the project beyond one path. */
export interface PolicyContext {
  /** The file's text (its first few KiB), or undefined when it cannot be read. Asked only when `needsContent`. */
  readonly contentOf?: (path: string) => string | undefined;
  /** Whether a file exists in the project (tracked or not), e.g. the Cargo.toml beside a `target/`. */
  readonly exists?: (path: string) => boolean;
}

/** `.env` files meant to be committed: they show which variables exist, without values. */
const envTemplates = new Set(['.env.example', '.env.sample', '.env.template', '.env.dist']);

/** Files that hold credentials by design, whatever they contain. */
const secretNames = new Set(['.netrc', '_netrc', '.git-credentials', '.pgpass']);
const secretExtensions = ['.pem', '.key', '.p12', '.pfx'];
const privateKeyPrefixes = ['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519'];
/** `credentials.json`, AWS's `credentials`: data files; `credentials.ts` is code and is committed. */
const credentialDataExtensions = new Set([
  '',
  '.json',
  '.yaml',
  '.yml',
  '.toml',
  '.ini',
  '.xml',
  '.csv',
  '.txt',
  '.conf',
  '.cfg',
]);

/** Files that may or may not hold a token: only their content tells. */
const tokenPatterns: Readonly<Record<string, RegExp>> = {
  '.npmrc': /_authToken|_auth\s*=|_password\s*=/,
  '.pypirc': /^\s*password\s*[=:]/m,
};

/** Folders of installed dependencies or caches: reproducible from the lock file, never source. */
const dependencyFolders = new Set(['node_modules', '.venv', 'venv', '__pycache__']);

export function needsContent(path: string): boolean {
  return baseName(path) in tokenPatterns;
}

export function decidePath(path: string, context: PolicyContext = {}): PathDecision {
  const folder = dependencyFolderOf(path, context);
  if (folder !== undefined) return { action: 'leave-out', reason: 'dependency-folder', unit: folder };
  if (looksLikeSecret(path, context)) return { action: 'leave-out', reason: 'secret', unit: path };
  if (baseName(path).endsWith('.log')) return { action: 'leave-out', reason: 'log', unit: path };
  return { action: 'commit' };
}

function looksLikeSecret(path: string, context: PolicyContext): boolean {
  const name = baseName(path);
  const lower = name.toLowerCase();
  if (lower === '.env' || (lower.startsWith('.env.') && !envTemplates.has(lower))) return true;
  if (secretNames.has(lower)) return true;
  if (secretExtensions.some((extension) => lower.endsWith(extension))) return true;
  if (privateKeyPrefixes.some((prefix) => lower.startsWith(prefix))) return true;
  if (lower.startsWith('credentials') && credentialDataExtensions.has(extensionOf(lower))) return true;
  const pattern = tokenPatterns[name];
  if (pattern !== undefined) {
    const content = context.contentOf?.(path);
    // Unreadable (a link, too odd to read): fail closed, it stays out.
    return content === undefined || pattern.test(content);
  }
  return false;
}

/** The dependency folder a path lies in (`a/node_modules/`), or undefined. */
function dependencyFolderOf(path: string, context: PolicyContext): string | undefined {
  const parts = path.split('/');
  for (let index = 0; index < parts.length - 1; index += 1) {
    const part = parts[index] ?? '';
    const parent = parts.slice(0, index).join('/');
    const prefix = parent === '' ? '' : `${parent}/`;
    const isDependencyFolder =
      dependencyFolders.has(part) ||
      // Cargo's build output, only beside a Cargo.toml: a `target/` folder elsewhere may be source.
      (part === 'target' && context.exists?.(`${prefix}Cargo.toml`) === true) ||
      // Bundler's `bundle install --path vendor/bundle`.
      (part === 'bundle' && parts[index - 1] === 'vendor');
    if (isDependencyFolder) return `${prefix}${part}/`;
  }
  return undefined;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `.json` of `credentials.json`, nothing of `credentials`. */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
}

export interface LeftOut {
  readonly unit: string;
  readonly reason: LeaveOutReason;
}

export interface BaselinePlan {
  readonly commit: readonly string[];
  /** One entry per file or folder, in the order first met. */
  readonly leaveOut: readonly LeftOut[];
}

/** The decision for every candidate path, folded into what to commit and what to leave out. */
export function planBaseline(paths: Iterable<string>, context: PolicyContext = {}): BaselinePlan {
  const commit: string[] = [];
  const leaveOut = new Map<string, LeaveOutReason>();
  for (const path of paths) {
    const decision = decidePath(path, context);
    if (decision.action === 'commit') commit.push(path);
    else if (!leaveOut.has(decision.unit)) leaveOut.set(decision.unit, decision.reason);
  }
  return { commit, leaveOut: [...leaveOut].map(([unit, reason]) => ({ unit, reason })) };
}

export const leaveOutReasonText: Readonly<Record<LeaveOutReason, string>> = {
  secret: 'looks like a secret',
  'dependency-folder': 'dependency folder',
  log: 'log file',
};

/**
 * The .git/info/exclude line that ignores exactly this file or folder: anchored at the top, with
 * git's pattern characters escaped so a file named `*` excludes only itself. Undefined for a name
 * no exclude line can hold (a line break in it): the caller must refuse rather than commit it.
 */
export function excludePattern(unit: string): string | undefined {
  if (/[\n\r]/.test(unit)) return undefined;
  const escaped = unit
    .replace(/[\\*?[\]!#]/g, (character) => `\\${character}`)
    .replace(/ +$/, (spaces) => '\\ '.repeat(spaces.length));
  return `/${escaped}`;
}
