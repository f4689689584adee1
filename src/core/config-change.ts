import type { Config } from '../config/resolve.ts';

/**
 * What of an edited baton.yaml a running loop takes at the next iteration: everything but the parts a
 * harness sets up once (the sandbox it prepared, serial or parallel mode), which wait for the next
 * `baton resume` and are said to. A pure decision; the loop applies it (run/config-reload.ts).
 */
export interface ConfigChange {
  /** The config the next iteration runs with. */
  readonly config: Config;
  /** Top-level sections that changed and are applied. */
  readonly applied: readonly string[];
  /** Sections that changed but wait for a resume, with why. */
  readonly deferred: readonly { readonly section: string; readonly reason: string }[];
}

const setUpOnce: Readonly<Partial<Record<keyof Config, string>>> = {
  sandbox: 'the sandbox is prepared when the harness starts: it applies at the next `baton resume`',
  parallel: 'serial or parallel is chosen when the run starts: it applies to a new run (`baton run --new`)',
};

export function decideConfigChange(current: Config, edited: Config): ConfigChange {
  const keys = [...new Set([...Object.keys(current), ...Object.keys(edited)])] as (keyof Config)[];
  const changed = keys.filter((key) => JSON.stringify(current[key]) !== JSON.stringify(edited[key]));
  const deferred = changed.flatMap((key) => {
    const reason = setUpOnce[key];
    return reason === undefined ? [] : [{ section: key, reason }];
  });
  const kept = Object.fromEntries(deferred.map(({ section }) => [section, current[section]]));
  return {
    config: { ...edited, ...kept },
    applied: changed.filter((key) => setUpOnce[key] === undefined),
    deferred,
  };
}
