/**
 * aedes's authentication and authorization hooks: who may connect (password file, or a TLS
 * client certificate), and what the ACL lets them publish and subscribe to. Publishes that pass
 * go on to the ingest hook, which appends them before they are acknowledged.
 */
import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../../src/logger.js';
import { Acl, type AclEntry, type AclSubject } from './acl.js';
import type { Ingest } from './ingest.js';
import { PasswordFile } from './passwords.js';
import type { ConnectionStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

export interface AuthOptions {
  allowAnonymous: boolean;
  passwordFile: string | undefined;
  acl: readonly AclEntry[];
}

type Hooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

/** The verified client certificate's Common Name, when the connection is TLS with a trusted certificate. */
function certificateIdentity(client: Client): string | undefined {
  const conn = client.conn;
  if (!(conn instanceof TLSSocket) || !conn.authorized) return undefined;
  const cn = conn.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

const DECISIONS_PER_CONNECTION = 16;
const DECISION_CACHED_MAX_TOPIC_LENGTH = 256;

export function authHooks(options: AuthOptions, ingest: Ingest, conns: ConnectionStats, log: Logger): Hooks {
  const passwords = options.passwordFile === undefined ? undefined : new PasswordFile(options.passwordFile);
  const acl = new Acl(options.acl);
  const usernames = new WeakMap<Client, string>();
  const subject = (client: Client) => ({ username: usernames.get(client), clientId: client.id });
  const identify = (client: Client, username: string | undefined): void => {
    if (username === undefined) return;
    usernames.set(client, username);
    ingest.setUsername(client, username);
  };
  const mayPublish = cachedPublishDecisions(acl, subject);

  return {
    authenticate: authenticator(options, passwords, identify, loginRefuser(conns, log), log),
    authorizePublish(client: Client | null, packet: PublishPacket, callback) {
      const malformed = malformedTopic(packet.topic);
      if (client !== null && malformed !== undefined) {
        callback(ingest.refusal(client, 'malformed-topic', `topic name ${malformed}`, packet));
        return;
      }
      // Checked before anything else: this runs for every PUBLISH, and most gateways have no ACL.
      if (client !== null && acl.enabled && !mayPublish(client, packet.topic)) {
        conns.aclDenied++;
        // MQTT 3.1.1 cannot refuse one PUBLISH, so the connection goes, with a log line.
        callback(ingest.refusal(client, 'acl-denied', 'the ACL does not allow this client to publish to the topic', packet));
        return;
      }
      ingest.authorizePublish(client, packet, callback);
    },
    authorizeSubscribe(client, sub, callback) {
      const malformed = malformedTopic(sub.topic);
      if (malformed !== undefined) {
        // An error closes the connection; it is counted and logged as a protocol error (index.ts).
        callback(new Error(`topic filter ${malformed}`), null);
        return;
      }
      if (acl.canSubscribe(subject(client), sub.topic)) {
        callback(null, sub);
        return;
      }
      conns.aclDenied++;
      log.info({ clientId: client.id, username: usernames.get(client), filter: sub.topic }, 'subscription refused by the ACL');
      callback(null, null); // SUBACK return code 0x80, Failure [MQTT-3.9.3]
    },
  };
}

type RefuseLogin = (client: Client, username: string | undefined, returnCode: 4 | 5, why: string) => AuthenticateError;

/** Counts and logs (rate-limited) a refused CONNECT, and makes the error that carries its CONNACK code. */
function loginRefuser(conns: ConnectionStats, log: Logger): RefuseLogin {
  const refusedLogins = new WarnLimiter(log);
  return (client, username, returnCode, why) => {
    conns.authFailed++;
    refusedLogins.warn({ clientId: client.id, username, returnCode }, `refusing CONNECT: ${why}`);
    // [MQTT-3.2.2-5] CONNACK 4 = bad user name or password, 5 = not authorized; then close.
    return Object.assign(new Error(why), { returnCode });
  };
}

/** The CONNECT check: a trusted client certificate, else anonymous when allowed, else the password file. */
function authenticator(
  options: AuthOptions,
  passwords: PasswordFile | undefined,
  identify: (client: Client, username: string | undefined) => void,
  refuseLogin: RefuseLogin,
  log: Logger,
): Hooks['authenticate'] {
  return (client, username, password, done) => {
    // A certificate verified against mqtt.tls_ca_file is the client's identity: its CN is the
    // username the ACL and the mqtt.username header see.
    const certUser = certificateIdentity(client);
    if (certUser !== undefined) {
      identify(client, certUser);
      done(null, true);
      return;
    }
    identify(client, username);
    if (passwords === undefined || (username === undefined && options.allowAnonymous)) {
      done(null, true);
      return;
    }
    if (username === undefined) {
      done(refuseLogin(client, username, 5, 'no username, and mqtt.allow_anonymous is false'), false);
      return;
    }
    passwords.check(username, password ?? Buffer.alloc(0)).then(
      (valid) => (valid ? done(null, true) : done(refuseLogin(client, username, 4, 'bad username or password'), false)),
      (err: unknown) => {
        log.error({ err }, 'password check failed');
        done(refuseLogin(client, username, 5, 'password check failed'), false);
      },
    );
  };
}

/**
 * The ACL's answer per connection and topic. Evaluating the ACL substitutes and splits each
 * pattern on every PUBLISH, a cost that showed in the MQTT benchmark with an ACL (BENCHMARKS.md,
 * "MQTT bridge"); a sensor publishes to the same few topics, and the answer cannot change while
 * the connection lasts (the ACL is read at start, the client's identity at CONNECT). Bounded per
 * connection, in entries and in topic length.
 */
function cachedPublishDecisions(acl: Acl, subject: (client: Client) => AclSubject): (client: Client, topic: string) => boolean {
  const publishDecisions = new WeakMap<Client, Map<string, boolean>>();
  return (client, topic) => {
    if (topic.length > DECISION_CACHED_MAX_TOPIC_LENGTH) return acl.canPublish(subject(client), topic);
    let decisions = publishDecisions.get(client);
    if (decisions === undefined) publishDecisions.set(client, (decisions = new Map()));
    let allowed = decisions.get(topic);
    if (allowed === undefined) {
      allowed = acl.canPublish(subject(client), topic);
      if (decisions.size >= DECISIONS_PER_CONNECTION) decisions.clear();
      decisions.set(topic, allowed);
    }
    return allowed;
  };
}

/**
 * Why a topic name or filter is not a well-formed MQTT string, or undefined when it is. A receiver
 * of ill-formed UTF-8 [MQTT-1.5.3-1] or of U+0000 [MQTT-1.5.3-2] (which topics must not hold
 * either, [MQTT-4.7.3-2]) closes the network connection: so do we, for a PUBLISH's topic and a
 * SUBSCRIBE's filters. mqtt-packet has already decoded the bytes, replacing each ill-formed
 * sequence (and each UTF-16 surrogate, which [MQTT-1.5.3-1] also forbids) by U+FFFD, so the bytes
 * are judged by their decoding: a U+FFFD is taken as ill-formed input. That also refuses a topic
 * that carries a well-formed U+FFFD, and it is what keeps two distinct byte strings from ever
 * being accepted as one topic (valid UTF-8 decodes one-to-one).
 */
export function malformedTopic(topic: string): string | undefined {
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0) return 'contains U+0000 [MQTT-1.5.3-2]';
    if (c === 0xfffd) return 'is not well-formed UTF-8 [MQTT-1.5.3-1]';
  }
  return undefined;
}
