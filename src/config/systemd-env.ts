/**
 * What systemd tells a service through its environment (sd_notify(3), sd_watchdog_enabled(3)).
 * Read here, next to the config loader, because nothing else in Weir reads process.env.
 */
export interface SystemdEnvironment {
  /** $NOTIFY_SOCKET, set for Type=notify units. */
  notifySocket: string | undefined;
  /** $WATCHDOG_USEC, set when the unit has WatchdogSec=; only meant for $WATCHDOG_PID. */
  watchdogUsec: number | undefined;
}

export function systemdEnvironment(env: NodeJS.ProcessEnv = process.env, pid = process.pid): SystemdEnvironment {
  const usec = Number(env['WATCHDOG_USEC']);
  const watchdogPid = env['WATCHDOG_PID'];
  const forUs = watchdogPid === undefined || watchdogPid === '' || Number(watchdogPid) === pid;
  return {
    notifySocket: env['NOTIFY_SOCKET'] || undefined,
    watchdogUsec: forUs && Number.isInteger(usec) && usec > 0 ? usec : undefined,
  };
}
