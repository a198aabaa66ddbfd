/**
 * Gives the `bl` BufferList that mqtt-packet parses with reads that make no Buffer per read
 * (buffer-list-reads.ts). Loaded first by the executable, through embedded-aedes.ts.
 *
 * mqtt-packet's parser holds a `bl()` list, bl's stream class, whose prototype has BufferList's
 * methods copied onto it; that prototype is the one patched.
 */
import { readFromFirstChunk } from './buffer-list-reads.js';
import { requireFromMqttPacket } from './mqtt-packet-require.js';

const bl = requireFromMqttPacket('bl') as { prototype: Record<string, unknown> };
readFromFirstChunk(bl.prototype);
