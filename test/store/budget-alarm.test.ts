import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BudgetAlarm } from '../../src/store/budget-alarm.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, log };
}

const use = { usedBytes: 900, queuedBytes: 0, diskBudgetBytes: 1000 };

describe('BudgetAlarm', () => {
  it('warns when the budget first fills, then at most once a minute, and says when there is room again', () => {
    const { lines, log } = capture();
    const alarm = new BudgetAlarm(log);
    alarm.full(use, 0);
    alarm.full(use, 30_000);
    alarm.full(use, 59_999);
    expect(lines.map((l) => l['level'])).toEqual([40]);
    expect(lines[0]).toMatchObject({ ...use, fullForMs: 0, appendsHeld: 1 });
    expect(lines[0]!['msg']).toMatch(/^disk budget full: .*store\.disk_budget_bytes$/);

    alarm.full(use, 60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ fullForMs: 60_000, appendsHeld: 4 });

    alarm.roomAgain({ ...use, usedBytes: 100 }, 61_000);
    expect(lines[2]).toMatchObject({ level: 30, msg: 'disk budget has room again: appends go on', fullForMs: 61_000, appendsHeld: 4 });
    expect(alarm.isFull).toBe(false);

    // Room again says nothing when nothing was full; a new episode warns at once.
    alarm.roomAgain(use, 62_000);
    alarm.full(use, 62_500);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ level: 40, fullForMs: 0, appendsHeld: 1 });
  });
});
