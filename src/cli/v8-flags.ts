/**
 * V8 settings Weir wants however it is started (systemd, `npm start`, a shell), set before any
 * other module loads. Imported first by the executable.
 *
 * No allocation-site pretenuring: V8 learns that objects from a site outlive young-generation
 * scavenges and then allocates them straight in the old generation. An MQTT PUBLISH's objects
 * (the packet, its ack, the record) do outlive one or two scavenges while their group commit
 * flushes, so V8 pretenures them; they die milliseconds later, in the old generation, where only
 * a mark-compact frees them, and every old-to-young pointer they hold makes scavenges dearer.
 * Under a steady MQTT load that meant many more mark-compacts and slower scavenges (figures in
 * BENCHMARKS.md, "MQTT bridge"). Node does not accept this flag in NODE_OPTIONS, hence here. V8
 * reads it at each scavenge, so setting it at start is enough.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
