import { WeirError } from '../../errors.js';
import { withAdmin } from '../kafka-client.js';
import { intValue, listValue, type CommandSpec } from '../spec.js';
import { STORE_OPTIONS, TOPIC_OPTION, isRemote, withStore } from './topics-common.js';
import { remoteAlter } from './topics-remote.js';
import { CONFIG_KEYS_DOC, deletedConfigs, topicConfigs, topicName } from './topics-validate.js';

export const topicsAlter: CommandSpec = {
  path: ['topics', 'alter'],
  summary: 'Add partitions, set or remove per-topic configs',
  description: [
    'Grows the topic to --partitions (as in Kafka, partitions are never removed: keys may move to another partition once the count changes), sets each --config and removes each --delete-config override, after which that config follows topic_defaults again.',
  ],
  options: [
    { ...TOPIC_OPTION, doc: `Topic to alter: ${TOPIC_OPTION.doc}` },
    { name: 'partitions', type: 'string', placeholder: 'N', doc: 'New partition count; must be larger than the current one.' },
    { name: 'config', type: 'string', multiple: true, placeholder: 'KEY=VALUE', doc: `Set a per-topic config override. ${CONFIG_KEYS_DOC}` },
    { name: 'delete-config', type: 'string', multiple: true, placeholder: 'KEY', doc: 'Remove a per-topic override.' },
    ...STORE_OPTIONS,
  ],
  examples: [
    'weir topics alter --topic sensors --partitions 6',
    'weir topics alter --topic sensors --config retention.ms=3600000 --delete-config segment.ms',
    'weir topics alter --bootstrap-server 127.0.0.1:9092 --topic sensors --partitions 6',
  ],
  async run(values, ctx) {
    const spec = topicsAlter;
    const name = topicName(values, spec);
    const partitions = intValue(values, 'partitions', 1, 10_000, spec);
    const set = topicConfigs(values, spec);
    const remove = deletedConfigs(listValue(values, 'delete-config'), set, spec);
    if (partitions === undefined && Object.keys(set).length === 0 && remove.length === 0) {
      throw new WeirError('USAGE', 'nothing to alter: give --partitions, --config or --delete-config', { details: { command: 'weir topics alter' } });
    }
    if (isRemote(values)) {
      const done = await withAdmin(values, ctx, 'weir-topics', `altering topic ${name}`, (admin) => remoteAlter(admin, name, partitions, set, remove));
      ctx.stdout.write(`Altered topic ${name}: ${done.join('; ')}.\n`);
      return 0;
    }
    return withStore(values, ctx, false, async ({ store }) => {
      const done: string[] = [];
      if (partitions !== undefined) {
        const before = store.describeTopic(name).partitions.length;
        await store.createPartitions(name, partitions);
        done.push(`partitions ${before} -> ${partitions}`);
      }
      if (Object.keys(set).length > 0 || remove.length > 0) {
        await store.alterTopicConfigs(name, set, remove);
        for (const [k, v] of Object.entries(set)) done.push(`set ${k}=${v}`);
        for (const k of remove) done.push(`removed override ${k}`);
      }
      ctx.stdout.write(`Altered topic ${name}: ${done.join('; ')}.\n`);
      return 0;
    });
  },
};
