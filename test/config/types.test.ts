import { describe, expect, it } from 'vitest';
import { bool, bytesSize, decimal, durationMs, formatBytes, hostPort, int, orAuto, parseByteSize, parseDurationMs } from '../../src/config/types.js';

const ctx = { cwd: '/' };

describe('size strings', () => {
  it.each([
    [1048576, 1048576],
    ['1048576', 1048576],
    ['64MiB', 64 * 2 ** 20],
    ['64 MiB', 64 * 2 ** 20],
    ['2GiB', 2 * 2 ** 30],
    ['2gib', 2 * 2 ** 30],
    ['500MB', 500_000_000],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['10KB', 10_000],
    ['3kib', 3072],
    ['1TiB', 2 ** 40],
    ['7B', 7],
  ])('%j is %d bytes', (raw, bytes) => {
    expect(parseByteSize(raw)).toBe(bytes);
  });

  it.each(['', 'lots', '-1', '2 GiBs', '1e9', 'GiB', '5 PB', -5, 1.5, true, null])('%j is not a size', (raw) => {
    expect(parseByteSize(raw)).toBeUndefined();
  });

  it('enforces bounds, and names them in the reason', () => {
    const t = bytesSize(64 * 1024, 2 ** 30);
    expect(t.parse('1GiB', ctx)).toEqual({ ok: true, value: 2 ** 30 });
    const r = t.parse('2GiB', ctx);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toContain('from 64KiB to 1GiB');
  });

  it('formats exact binary multiples', () => {
    expect(formatBytes(64 * 2 ** 20)).toBe('64MiB');
    expect(formatBytes(1000)).toBe('1000');
  });
});

describe('durations', () => {
  it.each([
    [5000, 5000],
    ['5000', 5000],
    ['250ms', 250],
    ['5s', 5000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('%j is %d ms', (raw, ms) => {
    expect(parseDurationMs(raw)).toBe(ms);
  });

  it.each(['soon', '5 sec', '-1s', '', -1, 2.5])('%j is not a duration', (raw) => {
    expect(parseDurationMs(raw)).toBeUndefined();
  });

  it('enforces bounds', () => {
    expect(durationMs(100, 1000).parse('2s', ctx).ok).toBe(false);
  });
});

describe('other types', () => {
  it('int takes YAML integers and digit strings only', () => {
    const t = int(1, 10);
    expect(t.parse(3, ctx)).toEqual({ ok: true, value: 3 });
    expect(t.parse(' 7 ', ctx)).toEqual({ ok: true, value: 7 });
    expect(t.parse(2.5, ctx).ok).toBe(false);
    expect(t.parse('0x10', ctx).ok).toBe(false);
    expect(t.parse(11, ctx).ok).toBe(false);
  });

  it('decimal takes YAML numbers and decimal strings within bounds', () => {
    const t = decimal(0.01, 100);
    expect(t.parse(2, ctx)).toEqual({ ok: true, value: 2 });
    expect(t.parse(0.5, ctx)).toEqual({ ok: true, value: 0.5 });
    expect(t.parse(' 1.25 ', ctx)).toEqual({ ok: true, value: 1.25 });
    for (const bad of ['2TB', '1e3', '-1', '.5', '', true]) expect(t.parse(bad, ctx)).toEqual({ ok: false, why: 'expected a number from 0.01 to 100 (a fraction is fine, e.g. 0.5)' });
    expect(t.parse(0, ctx)).toEqual({ ok: false, why: 'out of range: expected a number from 0.01 to 100 (a fraction is fine, e.g. 0.5)' });
    expect(t.parse('101', ctx).ok).toBe(false);
  });

  it('bool takes true/false only', () => {
    expect(bool().parse('FALSE', ctx)).toEqual({ ok: true, value: false });
    expect(bool().parse('yes', ctx).ok).toBe(false);
    expect(bool().parse(1, ctx).ok).toBe(false);
  });

  it('orAuto passes auto through and delegates the rest', () => {
    const t = orAuto(bool());
    expect(t.parse('auto', ctx)).toEqual({ ok: true, value: 'auto' });
    expect(t.parse(true, ctx)).toEqual({ ok: true, value: true });
    expect(t.parse('maybe', ctx)).toEqual({ ok: false, why: 'expected auto, or true or false' });
  });

  it('host:port parses IPv4, names and bracketed IPv6', () => {
    const t = hostPort();
    expect(t.parse('127.0.0.1:1883', ctx)).toEqual({ ok: true, value: { host: '127.0.0.1', port: 1883 } });
    expect(t.parse('[::1]:9092', ctx)).toEqual({ ok: true, value: { host: '::1', port: 9092 } });
    expect(t.parse('gateway.local:0', ctx)).toEqual({ ok: true, value: { host: 'gateway.local', port: 0 } });
    for (const bad of ['1883', '::1:9092', 'host:65536', 'host:', ':1883', 1883]) expect(t.parse(bad, ctx).ok).toBe(false);
  });
});
