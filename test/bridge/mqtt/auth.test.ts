/**
 * Password-file authentication and publish/subscribe ACLs, as an allow/deny table.
 */
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MQTT_PASSWORDS, hashPassword, verifyPassword } from '../../../bridge/mqtt/passwords.js';
import { readUserFile, writeUserFile } from '../../../src/users/user-file.js';
import { filterCovers, topicMatches } from '../../../bridge/mqtt/acl.js';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

let aliceHash = '';
let bobHash = '';
beforeAll(async () => {
  [aliceHash, bobHash] = await Promise.all([hashPassword('alice-pw'), hashPassword('bob-pw')]);
});

const ACL = JSON.stringify([
  { user: 'alice', publish: ['sensors/%u/#'], subscribe: ['cmd/%c/#'] },
  { publish: ['public/#'] },
]);

async function bridge(env: Record<string, string> = {}): Promise<RunningBridge & { passwd: string }> {
  const { dir, cleanup } = tempDir('weir-mqtt-auth-');
  const passwd = join(dir, 'mqtt.passwd');
  writeUserFile(MQTT_PASSWORDS, passwd, new Map([['alice', aliceHash]]));
  const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__PASSWORD_FILE: passwd, WEIR_MQTT__ACL: ACL, ...env });
  cleanups.push(cleanup, () => running.close());
  return { ...running, passwd };
}

async function connect(b: RunningBridge, opts: IClientOptions): Promise<MqttClient> {
  const c = await connectAsync(b.url, { reconnectPeriod: 0, ...opts });
  cleanups.push(() => c.endAsync(true));
  return c;
}

async function connackCode(b: RunningBridge, opts: IClientOptions): Promise<number> {
  try {
    await connect(b, opts);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('passwords', () => {
  it('scrypt hashes are salted and verify only the right password', async () => {
    const again = await hashPassword('alice-pw');
    expect(again).not.toBe(aliceHash);
    expect(aliceHash).toMatch(/^\$scrypt\$N=16384,r=8,p=1\$/);
    expect(await verifyPassword('alice-pw', aliceHash)).toBe(true);
    expect(await verifyPassword('alice-pW', aliceHash)).toBe(false);
  });

  it.each([
    ['the right password', { username: 'alice', password: 'alice-pw' }, 0],
    ['a wrong password', { username: 'alice', password: 'nope' }, 4],
    ['an unknown user', { username: 'mallory', password: 'alice-pw' }, 4],
    ['no username', {}, 5],
  ])('CONNECT with %s → CONNACK %s', async (_what, opts, code) => {
    const b = await bridge();
    expect(await connackCode(b, opts)).toBe(code);
  });

  it('allow_anonymous lets clients without a username in beside password users', async () => {
    const b = await bridge({ WEIR_MQTT__ALLOW_ANONYMOUS: 'true' });
    expect(await connackCode(b, {})).toBe(0);
    expect(await connackCode(b, { username: 'alice', password: 'wrong' })).toBe(4);
  });

  it('a user added to the file while Weir runs can log in at once', async () => {
    const b = await bridge();
    expect(await connackCode(b, { username: 'bob', password: 'bob-pw' })).toBe(4);
    const users = readUserFile(MQTT_PASSWORDS, b.passwd);
    users.set('bob', bobHash);
    writeUserFile(MQTT_PASSWORDS, b.passwd, users);
    expect(await connackCode(b, { username: 'bob', password: 'bob-pw' })).toBe(0);
    expect(b.bridge.stats().connections.authFailed).toBe(1);
  });

  it('a non-loopback listener starts when a password file is configured', async () => {
    const b = await bridge({ WEIR_MQTT__LISTEN: '0.0.0.0:0' });
    expect(b.bridge.address.host).toBe('0.0.0.0');
  });
});

describe('ACL', () => {
  it.each([
    ['alice', 'sensors/alice/t', true],
    ['alice', 'sensors/alice', true],
    ['alice', 'sensors/bob/t', false],
    ['alice', 'public/x', true],
    ['alice', 'other', false],
  ])('%s publishing to %s: %s', async (user, topic, allowed) => {
    const b = await bridge({ WEIR_MQTT__RULES: '[{filter: "#", topic: all}]' });
    const c = await connect(b, { username: user, password: `${user}-pw` });
    const closed = new Promise<boolean>((resolve) => c.once('close', () => resolve(true)));
    const acked = c.publishAsync(topic, 'v', { qos: 1 }).then(() => true, () => false);
    expect(await Promise.race([acked, closed.then(() => false)])).toBe(allowed);
    expect(b.store.hasTopic('all') ? readAll(b.store, 'all').length : 0).toBe(allowed ? 1 : 0);
    expect(b.bridge.stats().connections.aclDenied).toBe(allowed ? 0 : 1);
  });

  it('a connection\'s remembered answers are its own: another client publishing the same topic is judged afresh', async () => {
    const b = await bridge({ WEIR_MQTT__RULES: '[{filter: "#", topic: all}]', WEIR_MQTT__ALLOW_ANONYMOUS: 'true' });
    const alice = await connect(b, { username: 'alice', password: 'alice-pw', clientId: 'a1' });
    for (let i = 0; i < 5; i++) await alice.publishAsync('sensors/alice/t', `v${i}`, { qos: 1 });
    for (let i = 0; i < 20; i++) await alice.publishAsync(`public/${i}`, 'v', { qos: 1 }); // past the per-connection bound
    await alice.publishAsync('sensors/alice/t', 'again', { qos: 1 });
    // An anonymous client may publish to public/# only: alice's answer for her topic must not carry over.
    const anon = await connect(b, { clientId: 'anon' });
    await anon.publishAsync('public/0', 'v', { qos: 1 });
    const closed = new Promise<string>((resolve) => anon.once('close', () => resolve('disconnected')));
    const acked = anon.publishAsync('sensors/alice/t', 'forged', { qos: 1 }).then(() => 'acknowledged', () => 'disconnected');
    expect(await Promise.race([acked, closed])).toBe('disconnected');
    expect(b.bridge.stats().connections.aclDenied).toBe(1);
    expect(readAll(b.store, 'all').map((r) => r.value?.toString())).not.toContain('forged');
    expect(readAll(b.store, 'all').length).toBe(5 + 20 + 1 + 1);
  });

  it.each([
    ['cmd/dev-1/#', 1],
    ['cmd/dev-1/reboot', 1],
    ['cmd/dev-2/#', 128],
    ['cmd/+/reboot', 128],
    ['#', 128],
  ])('alice (client dev-1) subscribing to %s → SUBACK %i', async (filter, code) => {
    const b = await bridge();
    const c = await connect(b, { username: 'alice', password: 'alice-pw', clientId: 'dev-1' });
    // MQTT.js rejects a SUBACK with a failure code (0x80 [MQTT-3.9.3]).
    const granted = await c.subscribeAsync(filter, { qos: 1 }).then((g) => g[0]?.qos, () => 128);
    expect(granted).toBe(code);
  });

  it('%u and %c are not substituted with values containing wildcards or "/"', () => {
    expect(topicMatches('sensors/+/t', 'sensors/a/t')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false); // [MQTT-4.7.2-1]
    expect(filterCovers('a/#', 'a/+/b')).toBe(true);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
  });

  it('a client id with "/" does not widen a %c pattern', async () => {
    const b = await bridge({ WEIR_MQTT__ALLOW_ANONYMOUS: 'true', WEIR_MQTT__ACL: JSON.stringify([{ publish: ['dev/%c'] }]) });
    const ok = await connect(b, { clientId: 'd1' });
    await ok.publishAsync('dev/d1', 'v', { qos: 1 });
    const sneaky = await connect(b, { clientId: 'd1/x' });
    const closed = new Promise<void>((resolve) => sneaky.once('close', () => resolve()));
    sneaky.publish('dev/d1/x', 'v', { qos: 1 });
    await closed;
    expect(b.bridge.stats().connections.aclDenied).toBe(1);
  });
});
