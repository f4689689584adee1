/**
 * Path globs as used in baton.yaml: `*` and `?` stay within one path segment, `**` crosses them, and
 * `**\/` may match no folder at all. A pattern matches the whole path relative to the workspace.
 */
function toRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index] ?? '';
    if (char === '*' && glob[index + 1] === '*') {
      if (glob[index + 2] === '/') {
        source += '(?:.*/)?';
        index += 2;
      } else {
        source += '.*';
        index += 1;
      }
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const cache = new Map<string, RegExp>();

export function matchesGlob(path: string, glob: string): boolean {
  let pattern = cache.get(glob);
  if (pattern === undefined) {
    pattern = toRegExp(glob);
    cache.set(glob, pattern);
  }
  return pattern.test(path);
}

export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(path, glob));
}
