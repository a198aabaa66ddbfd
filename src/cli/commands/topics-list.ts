import { withAdmin } from '../kafka-client.js';
import type { CommandSpec } from '../spec.js';
import { STORE_OPTIONS, isRemote, withStore } from './topics-common.js';
import { remoteList } from './topics-remote.js';

export const topicsList: CommandSpec = {
  path: ['topics', 'list'],
  summary: 'List the topics in the store, one name per line',
  description: ['Prints every topic name, sorted, one per line (as kafka-topics.sh --list does), so the output pipes into other commands.'],
  options: [...STORE_OPTIONS],
  examples: ['weir topics list --data-dir ./data', 'weir topics list --bootstrap-server 127.0.0.1:9092'],
  async run(values, ctx) {
    if (isRemote(values)) {
      const names = await withAdmin(values, ctx, 'weir-topics', 'listing topics', remoteList);
      if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
      return 0;
    }
    return withStore(values, ctx, false, async ({ store }) => {
      const names = [...store.listTopics()].sort();
      if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
      return 0;
    });
  },
};
