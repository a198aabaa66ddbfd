/** What one `weir doctor` check reports (doctor.ts and the checks beside it). */

/** `info`: the check could not tell (e.g. it needs the running Weir); never a problem. */
export type CheckLevel = 'ok' | 'info' | 'warn' | 'fail';

export interface CheckResult {
  level: CheckLevel;
  name: string;
  message: string;
  /** What to do, when level is not ok. */
  fix?: string;
}
