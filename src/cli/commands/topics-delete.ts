import { isWeirError } from '../../errors.js';
import { withAdmin } from '../kafka-client.js';
import { stringValue, type CommandSpec } from '../spec.js';
import { STORE_OPTIONS, TOPIC_OPTION, isRemote, withStore } from './topics-common.js';
import { remoteDelete } from './topics-remote.js';
import { topicName } from './topics-validate.js';

export const topicsDelete: CommandSpec = {
  path: ['topics', 'delete'],
  summary: 'Delete a topic and all of its records',
  description: ['Deletes the topic, its partitions, its stored records and the cursors on it. This cannot be undone.'],
  options: [
    { ...TOPIC_OPTION, doc: `Topic to delete: ${TOPIC_OPTION.doc}` },
    { name: 'if-exists', type: 'boolean', doc: 'Succeed without changes when the topic does not exist.' },
    ...STORE_OPTIONS,
  ],
  examples: ['weir topics delete --topic sensors', 'weir topics delete --topic sensors --bootstrap-server 127.0.0.1:9092'],
  async run(values, ctx) {
    const name = topicName(values, topicsDelete);
    if (isRemote(values)) {
      const deleted = await withAdmin(values, ctx, 'weir-topics', `deleting topic ${name}`, (admin) => remoteDelete(admin, name, values['if-exists'] === true, stringValue(values, 'bootstrap-server')!));
      if (deleted) ctx.stdout.write(`Deleted topic ${name}.\n`);
      return 0;
    }
    return withStore(values, ctx, false, async ({ store, options }) => {
      try {
        await store.deleteTopic(name);
      } catch (err) {
        if (values['if-exists'] === true && isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return 0;
        throw err;
      }
      ctx.stdout.write(`Deleted topic ${name} from ${options.dir}.\n`);
      return 0;
    });
  },
};
