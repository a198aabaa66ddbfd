/**
 * `require` as seen from the mqtt-packet that aedes parses with: the dependencies it resolves
 * (`debug`, `bl`) are the ones the executable's process-wide fixes must reach.
 */
import { createRequire } from 'node:module';

const here = createRequire(import.meta.url);

export const requireFromMqttPacket = createRequire(createRequire(here.resolve('aedes')).resolve('mqtt-packet'));
