/** Why `baton init` left a file out of the baseline, in words; light, so the CLI formats without loading init. */
export { leaveOutReasonText } from '../workspace/baseline-policy.ts';
