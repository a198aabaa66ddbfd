/** Every `weir` command, in the order help lists them. */
import type { CommandSpec } from '../spec.js';
import { consume } from './consume.js';
import { doctor } from './doctor.js';
import { groupsDescribe, groupsList } from './groups.js';
import { mirrorStatus } from './mirror-status.js';
import { produce } from './produce.js';
import { simulate } from './simulate.js';
import { start } from './start.js';
import { topicsAlter } from './topics-alter.js';
import { topicsCreate } from './topics-create.js';
import { topicsDelete } from './topics-delete.js';
import { topicsDescribe } from './topics-describe.js';
import { topicsList } from './topics-list.js';
import { usersAdd, usersList, usersRemove } from './users.js';

export const COMMANDS: readonly CommandSpec[] = [start, produce, consume, topicsCreate, topicsList, topicsDescribe, topicsDelete, topicsAlter, groupsList, groupsDescribe, usersAdd, usersRemove, usersList, mirrorStatus, simulate, doctor];

export interface CommandGroup {
  name: string;
  summary: string;
  description: readonly string[];
}

export const GROUPS: readonly CommandGroup[] = [
  {
    name: 'topics',
    summary: 'Create, list, describe, delete and alter topics (in a data directory, or through a running Weir)',
    description: [
      'With --bootstrap-server HOST:PORT the commands go through a running Weir\'s Kafka listener (its admin APIs), so they work while Weir runs.',
      'Without it they work directly on the store in a data directory, one command at a time. Weir must not be running on that directory: the store has a single writer, and these commands refuse a locked one rather than write behind the broker\'s back. Flag names follow Kafka\'s kafka-topics.sh.',
    ],
  },
  {
    name: 'groups',
    summary: 'List consumer groups and show their offsets and lag',
    description: ['Asks a running Weir over its Kafka listener (--bootstrap-server), like kafka-consumer-groups.'],
  },
  {
    name: 'mirror',
    summary: 'Show the state of the mirror to central Kafka',
    description: ['Reads the running Weir\'s mirror figures over its admin HTTP listener (the data directory is locked while Weir runs).'],
  },
  {
    name: 'users',
    summary: 'Add, remove and list MQTT users (or with --kafka, Kafka SASL users)',
    description: [
      'Edits the file named by mqtt.password_file (or --password-file): one username and salted scrypt hash per line.',
      'With --kafka, edits the file named by kafka.sasl_credentials_file (or --credentials-file) instead: one username and salted SCRAM-SHA-256 credential per line, which serves SCRAM-SHA-256 and PLAIN logins. `weir kafka-users …` is another name for `weir users … --kafka`.',
      'A running Weir rereads either file when it changes.',
    ],
  },
];
