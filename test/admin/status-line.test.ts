import { expect, it } from 'vitest';
import { StatusLine } from '../../src/admin/status-line.js';
import { openTestStore, tempDir } from '../helpers/store.js';

it('STATUS= line: append rate since the previous line, topics, disk use, then component parts', async () => {
  const { dir, cleanup } = tempDir();
  const store = await openTestStore(dir);
  try {
    const line = new StatusLine(store);
    line.register('mqtt', () => '3 MQTT clients');
    await store.createTopic('t');
    expect(line.render(1_000)).toMatch(/^0 records appended, 1 topics, disk budget \d+% used; 3 MQTT clients$/);
    await store.appendRecords('t', 0, Array.from({ length: 50 }, () => ({ key: null, value: Buffer.from('x') })));
    expect(line.render(3_000)).toMatch(/^25 records\/s, 1 topics, disk budget \d+% used; 3 MQTT clients$/);
  } finally {
    await store.close();
    cleanup();
  }
});
