/**
 * Readiness: each component that must be up before Weir takes traffic registers a check
 * (the store is open, a listener is bound); `/readyz` and systemd's READY=1 both wait for all of
 * them. Informational states (the mirror's connection) are reported but never fail readiness.
 */
export interface ReadinessCheck {
  name: string;
  /** Undefined when ready; otherwise why not, for the operator. */
  check(): string | undefined;
}

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private readonly notes: { name: string; describe: () => string }[] = [];

  /** An informational state shown in the report (`info`) that never makes Weir unready. */
  inform(name: string, describe: () => string): void {
    this.notes.push({ name, describe });
  }

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Marks a named component ready once `mark()` is called. */
  flag(name: string): { mark(): void } {
    let ready = false;
    this.register({ name, check: () => (ready ? undefined : 'not started yet') });
    return {
      mark() {
        ready = true;
      },
    };
  }

  report(): { ready: boolean; checks: Record<string, string>; info?: Record<string, string> } {
    const checks: Record<string, string> = {};
    let ready = this.checks.length > 0;
    for (const c of this.checks) {
      const problem = c.check();
      checks[c.name] = problem ?? 'ok';
      if (problem !== undefined) ready = false;
    }
    if (this.notes.length === 0) return { ready, checks };
    const info: Record<string, string> = {};
    for (const n of this.notes) info[n.name] = n.describe();
    return { ready, checks, info };
  }
}
