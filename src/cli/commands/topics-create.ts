import { isWeirError } from '../../errors.js';
import { withAdmin } from '../kafka-client.js';
import { intValue, stringValue, type CommandSpec } from '../spec.js';
import { STORE_OPTIONS, TOPIC_OPTION, isRemote, plural, withStore } from './topics-common.js';
import { checkReplicationFactor, remoteCreate } from './topics-remote.js';
import { CONFIG_KEYS_DOC, topicConfigs, topicName } from './topics-validate.js';

export const topicsCreate: CommandSpec = {
  path: ['topics', 'create'],
  summary: 'Create a topic with N partitions and optional per-topic configs',
  description: [
    'Creates a topic in the store. Configs not given follow topic_defaults from the config file, which follow Kafka\'s defaults.',
  ],
  options: [
    { ...TOPIC_OPTION, doc: `Topic to create: ${TOPIC_OPTION.doc}` },
    { name: 'partitions', type: 'string', placeholder: 'N', doc: 'Number of partitions (1–10000).', defaultDoc: 'topic_defaults.partitions (1)' },
    { name: 'config', type: 'string', multiple: true, placeholder: 'KEY=VALUE', doc: `A per-topic config override. ${CONFIG_KEYS_DOC}` },
    { name: 'replication-factor', type: 'string', placeholder: 'N', doc: 'Accepted for kafka-topics.sh scripts; must be 1 (Weir is a single node).', defaultDoc: '1' },
    { name: 'if-not-exists', type: 'boolean', doc: 'Succeed without changes when the topic already exists.' },
    ...STORE_OPTIONS,
  ],
  examples: [
    'weir topics create --topic sensors --partitions 3 --config retention.ms=86400000',
    'weir topics create --data-dir /var/lib/weir --topic alarms --config weir.overflow.policy=reject-new',
    'weir topics create --bootstrap-server 127.0.0.1:9092 --topic events --partitions 6 --replication-factor 1',
  ],
  async run(values, ctx) {
    const name = topicName(values, topicsCreate);
    const partitions = intValue(values, 'partitions', 1, 10_000, topicsCreate);
    const configs = topicConfigs(values, topicsCreate);
    checkReplicationFactor(stringValue(values, 'replication-factor'), 'weir topics create');
    if (isRemote(values)) {
      const done = await withAdmin(values, ctx, 'weir-topics', `creating topic ${name}`, (admin) => remoteCreate(admin, name, partitions, configs, values['if-not-exists'] === true));
      if (done !== undefined) ctx.stdout.write(`${done}\n`);
      return 0;
    }
    return withStore(values, ctx, true, async ({ store, options }) => {
      try {
        const topic = await store.createTopic(name, { ...(partitions === undefined ? {} : { partitions }), configs });
        ctx.stdout.write(`Created topic ${name} with ${plural(topic.partitions.length, 'partition')} in ${options.dir}.\n`);
      } catch (err) {
        if (values['if-not-exists'] === true && isWeirError(err, 'TOPIC_ALREADY_EXISTS')) return 0;
        throw err;
      }
      return 0;
    });
  },
};
