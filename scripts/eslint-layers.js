// @ts-check
// One-way layers (docs/architecture.md): a module of src/<layer>/ may import only from layers below its
// own. The CLI and the dashboard are thin shells: they reach the harness through api/, and read the event
// log's fold (log/) to format it. A violation fails `npm run lint`, and so `npm test`.
import { dirname, relative, resolve, sep } from 'node:path';

/** Rank of each top-level folder of src/: a layer imports only lower ranks (or itself). */
export const layerRanks = {
  cli: 15,
  dashboard: 14,
  api: 13,
  demo: 12,
  testing: 11,
  run: 10,
  observe: 10,
  distributed: 9,
  parallel: 8,
  loop: 7,
  core: 6,
  checks: 5,
  guards: 5,
  agents: 5,
  sandbox: 4,
  workspace: 3,
  git: 3,
  log: 3,
  config: 2,
  util: 1,
};

/** The shells may use only these layers below them. */
const shells = {
  cli: ['api', 'dashboard', 'testing', 'log', 'util'],
  dashboard: ['api', 'log', 'workspace', 'util'],
};

/** Files directly in src/: index.ts is the public entry (above everything), errors.ts the base of all. */
const rootFiles = { 'index.ts': 100, 'errors.ts': 0 };

function layerOf(srcDir, file) {
  const inside = relative(srcDir, file);
  if (inside.startsWith('..')) return undefined;
  const parts = inside.split(sep);
  if (parts.length === 1) {
    const rank = rootFiles[parts[0] ?? ''];
    return rank === undefined ? undefined : { name: parts[0], rank };
  }
  const name = parts[0] ?? '';
  const rank = layerRanks[name];
  return rank === undefined ? { name, rank: undefined } : { name, rank };
}

/** @type {import('eslint').Rule.RuleModule} */
const oneWay = {
  meta: {
    type: 'problem',
    docs: { description: 'a lower layer never imports a higher one (docs/architecture.md)' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcDir = resolve(context.cwd, 'src');
    const from = layerOf(srcDir, file);
    if (from === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = layerOf(srcDir, resolve(dirname(file), source));
      if (to === undefined || to.name === from.name) return;
      if (from.rank === undefined || to.rank === undefined) {
        context.report({
          node,
          message: `src/${from.rank === undefined ? from.name : to.name}/ is not a known layer: add it to scripts/eslint-layers.js and docs/architecture.md`,
        });
        return;
      }
      const allowed = shells[from.name];
      if (
        allowed !== undefined ? !allowed.includes(to.name) && to.name !== 'errors.ts' : to.rank >= from.rank
      ) {
        context.report({
          node,
          message: `layer violation: ${from.name}/ may not import ${to.name}${to.name.endsWith('.ts') ? '' : '/'} (${allowed !== undefined ? `a shell uses only ${allowed.join(', ')}` : 'a lower layer never imports a higher or sibling one'})`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source.value : undefined),
    };
  },
};

export default { rules: { 'one-way': oneWay } };
