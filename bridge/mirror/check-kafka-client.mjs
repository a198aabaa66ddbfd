#!/usr/bin/env node
// Runs after `npm ci` (package.json postinstall). The mirror's Kafka client,
// @confluentinc/kafka-javascript (librdkafka), is an optional dependency compiled at install
// time (./build-kafka-client.mjs); when it did not build, say so and how to fix it instead of
// letting the install pass in silence. Never fails the install: Weir runs without the mirror.
import { createRequire } from 'node:module';
import { buildKafkaClient } from './build-kafka-client.mjs';

await buildKafkaClient();

const require = createRequire(import.meta.url);
// librdkafka drops a feature silently when its library is missing at build time; the mirror's
// compression and security settings need these.
const WANTED_FEATURES = ['ssl', 'sasl_scram', 'gzip', 'snappy', 'lz4', 'zstd'];
try {
  const { features } = require('@confluentinc/kafka-javascript');
  const missing = WANTED_FEATURES.filter((f) => !features.includes(f));
  if (missing.length > 0) {
    process.stderr.write(
      [
        '',
        `weir: the upstream mirror's Kafka client was built without ${missing.join(', ')} (its -dev libraries were missing).`,
        "A mirror upstream configured to use one fails with the client's configuration error. To rebuild:",
        '  sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev',
        '  CKJS_LINKING=dynamic npm ci',
        '',
      ].join('\n'),
    );
  }
} catch (err) {
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  process.stderr.write(
    [
      '',
      'weir: the upstream mirror\'s Kafka client (@confluentinc/kafka-javascript) is not available:',
      `  ${reason}`,
      'Weir runs without it, but cannot mirror to central Kafka. To build it (1 to 3 minutes on an idle 2-core machine):',
      '  sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev',
      '  CKJS_LINKING=dynamic npm ci',
      '',
    ].join('\n'),
  );
}
