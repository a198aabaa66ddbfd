/** Every `weir` command, in the order help lists them. */
import type { CommandSpec } from '../spec.js';
import { doctor } from './doctor.js';
import { mirrorStatus } from './mirror-status.js';
import { simulate } from './simulate.js';
import { start } from './start.js';
import { topicsAlter } from './topics-alter.js';
import { topicsCreate } from './topics-create.js';
import { topicsDelete } from './topics-delete.js';
import { topicsDescribe } from './topics-describe.js';
import { topicsList } from './topics-list.js';
import { usersAdd, usersList, usersRemove } from './users.js';

export const COMMANDS: readonly CommandSpec[] = [start, topicsCreate, topicsList, topicsDescribe, topicsDelete, topicsAlter, usersAdd, usersRemove, usersList, mirrorStatus, simulate, doctor];

export interface CommandGroup {
  name: string;
  summary: string;
  description: readonly string[];
}

export const GROUPS: readonly CommandGroup[] = [
  {
    name: 'topics',
    summary: 'Create, list, describe, delete and alter topics in a data directory',
    description: [
      'Works directly on the store in a data directory, one command at a time. Weir must not be running on that directory: the store has a single writer, and these commands refuse a locked one rather than write behind the broker\'s back. Flag names follow Kafka\'s kafka-topics.sh.',
    ],
  },
  {
    name: 'mirror',
    summary: 'Show the state of the mirror to central Kafka',
    description: ['Reads the running Weir\'s mirror figures over its admin HTTP listener (the data directory is locked while Weir runs).'],
  },
  {
    name: 'users',
    summary: 'Add, remove and list MQTT users in the password file',
    description: [
      'Edits the file named by mqtt.password_file (or --password-file): one username and salted scrypt hash per line. A running Weir rereads it when it changes.',
    ],
  },
];
