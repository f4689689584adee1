import type { Config } from './resolve.ts';
import { parseAllowList } from './allow-rules.ts';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `budgets.iterations`. */
  readonly field: string;
  readonly message: string;
  readonly fix: string;
}

type Rule = (config: Config) => ConfigProblem[];

const oracleNamesUnique: Rule = (config) => {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  config.oracles.forEach((oracle, index) => {
    if (seen.has(oracle.name)) {
      problems.push({
        field: `oracles.${index}.name`,
        message: `the oracle name "${oracle.name}" is used twice`,
        fix: 'give every oracle its own name',
      });
    }
    seen.add(oracle.name);
  });
  return problems;
};

const doneOraclesExist: Rule = (config) => {
  const names = new Set(config.oracles.map((oracle) => oracle.name));
  return config.done.oracles.flatMap((name, index) =>
    names.has(name)
      ? []
      : [
          {
            field: `done.oracles.${index}`,
            message: `names the oracle "${name}", which is not defined`,
            fix:
              names.size === 0
                ? `define it under oracles: (- name: ${name}, command: ...) or remove it from done.oracles`
                : `use one of: ${[...names].join(', ')}; or define "${name}" under oracles:`,
          },
        ],
  );
};

const doneIsReachable: Rule = (config) =>
  config.done.features === 'none' && config.done.oracles.length === 0 && !config.done.requireClaim
    ? [
        {
          field: 'done',
          message: 'the done condition checks nothing (features: none, no oracles, no claim)',
          fix: 'set done.features: all, or list oracles under done.oracles, so that "done" needs evidence',
        },
      ]
    : [];

/** Every `sandbox.allow` entry must mean exactly one thing the proxy can enforce (see allow-rules.ts). */
const sandboxAllowValid: Rule = (config) =>
  parseAllowList(config.sandbox.allow).problems.map((entry) => ({
    field: `sandbox.allow.${entry.index}`,
    message: entry.message,
    fix: entry.fix,
  }));

export const configRules: readonly Rule[] = [
  oracleNamesUnique,
  doneOraclesExist,
  doneIsReachable,
  sandboxAllowValid,
];
