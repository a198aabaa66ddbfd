/**
 * Child process for the MQTT kill test: Weir's store and MQTT bridge on port 0, configured
 * through the real config loader, with the kill test's mapping rule. Prints `ready <port>` once
 * the listener is up; the parent's publishers then record every PUBACK they receive, and the
 * parent SIGKILLs this process mid-stream.
 *
 * Usage: node mqtt-crash-broker.js <dir> [port]   (port 0, the default, asks the OS for one)
 */
import { pino } from 'pino';
import { startTestBridge } from './mqtt-bridge.js';

export const CRASH_PARTITIONS = 3;
export const CRASH_RULES = JSON.stringify([{ filter: 'sensors/{site}/{device}/#', topic: 'sensors.{site}', key: '{device}' }]);

const dir = process.argv[2];
if (dir !== undefined && process.argv[1]?.endsWith('mqtt-crash-broker.js') === true) {
  const running = await startTestBridge(dir, pino({ level: 'silent' }), {
    WEIR_MQTT__RULES: CRASH_RULES,
    WEIR_TOPIC_DEFAULTS__PARTITIONS: String(CRASH_PARTITIONS),
    WEIR_MQTT__LISTEN: `127.0.0.1:${process.argv[3] ?? '0'}`,
  }, { writeQueueMaxRecords: 10_000, writeQueueMaxBytes: 8 * 1024 * 1024 });
  process.stdout.write(`ready ${running.bridge.address.port}\n`);
}
