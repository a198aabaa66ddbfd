/**
 * Whether a listener address is reachable only from this machine. Weir binds loopback by
 * default, and a listener on any other address needs authentication or an explicit opt-out.
 */
import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host.toLowerCase() === '0:0:0:0:0:0:0:1';
  return false;
}
