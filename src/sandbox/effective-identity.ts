import type { SandboxSettings } from '../config/sandbox-settings.ts';
import { BatonError } from '../errors.ts';
import { detectBwrap } from './bwrap.ts';
import { sandboxIdentityFor, type SandboxIdentity } from './identity.ts';

/** Who the bwrap sandbox runs its processes as, and what a person must be told about it. */
export interface EffectiveIdentity {
  /** Undefined: the harness's own uid (an unprivileged harness; root when said, or when it must be). */
  readonly identity: SandboxIdentity | undefined;
  /** Said when the run starts (`sandbox.chosen`): workers are uid 0 inside, and why. */
  readonly warning: string | undefined;
}

const rootWarning =
  'workers and checks run as uid 0 inside the sandbox and can read root-only host files (/etc/shadow, other repositories)';

/** Whether bwrap works here, as an identity or (undefined) as the harness's own uid. */
export type DetectAs = (identity?: SandboxIdentity) => {
  readonly works: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
};

/**
 * `sandbox.user` as this machine allows it (pure over `detect`). A uid of its own needs bwrap to switch
 * to it (util-linux's setpriv, and the uid mapped where baton runs: in a user-namespaced container a high
 * uid is not). When `auto` cannot switch but bwrap itself works, the sandbox keeps uid 0, with a warning
 * naming the fix: never no sandbox at all. An account or uid named in baton.yaml that cannot be used is
 * an error.
 */
export function decideIdentity(
  user: SandboxSettings['user'],
  wanted: SandboxIdentity | undefined,
  harnessIsRoot: boolean,
  detect: DetectAs,
): EffectiveIdentity {
  if (wanted === undefined) {
    return {
      identity: undefined,
      warning: harnessIsRoot
        ? `sandbox.user: ${String(user)}: ${rootWarning}; remove the setting to give them a uid of their own`
        : undefined,
    };
  }
  const asWanted = detect(wanted);
  if (asWanted.works || !detect().works) return { identity: wanted, warning: undefined };
  if (user === 'auto') {
    return {
      identity: undefined,
      warning: `sandbox.user: auto could not run the sandbox as ${wanted.label} here (${asWanted.detail}), so ${rootWarning}; fix: install util-linux (setpriv), create an account with useradd --system baton-sandbox that this machine maps, or set sandbox.user: root to accept it`,
    };
  }
  throw new BatonError(`sandbox.user: ${String(user)} cannot be used here: ${asWanted.detail}`, {
    code: 'SANDBOX_UNAVAILABLE',
    fix: asWanted.fix ?? 'set sandbox.user: auto in baton.yaml',
  });
}

const decided = new Map<string, EffectiveIdentity>();

/** `decideIdentity` for this process and the real bwrap, once per setting. */
export function effectiveIdentity(settings: Pick<SandboxSettings, 'user'>): EffectiveIdentity {
  const key = String(settings.user);
  const known = decided.get(key);
  if (known !== undefined) return known;
  const result = decideIdentity(
    settings.user,
    sandboxIdentityFor(settings),
    process.getuid?.() === 0,
    detectBwrap,
  );
  decided.set(key, result);
  return result;
}
