import type { CommandSpec } from '../spec.js';
import { STORE_OPTIONS, withStore } from './topics-common.js';

export const topicsList: CommandSpec = {
  path: ['topics', 'list'],
  summary: 'List the topics in the store, one name per line',
  description: ['Prints every topic name, sorted, one per line (as kafka-topics.sh --list does), so the output pipes into other commands.'],
  options: [...STORE_OPTIONS],
  examples: ['weir topics list --data-dir ./data'],
  async run(values, ctx) {
    return withStore(values, ctx, false, async ({ store }) => {
      const names = [...store.listTopics()].sort();
      if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
      return 0;
    });
  },
};
