/**
 * Gives the `bl` BufferList that mqtt-packet parses with reads that make no Buffer per read
 * (buffer-list-reads.ts). Imported first by the executable, next to quiet-debug.ts.
 *
 * mqtt-packet's parser holds a `bl()` list, bl's stream class, whose prototype has BufferList's
 * methods copied onto it; that prototype is the one patched.
 */
import { createRequire } from 'node:module';
import { readFromFirstChunk } from './buffer-list-reads.js';

const here = createRequire(import.meta.url);
const mqttPacket = createRequire(here.resolve('aedes')).resolve('mqtt-packet');
const bl = createRequire(mqttPacket)('bl') as { prototype: Record<string, unknown> };
readFromFirstChunk(bl.prototype);
