/**
 * The process-wide speed-ups the `weir` executable gives the aedes it embeds, in one import so
 * the executable and the benchmark's tuned baseline (BENCH_AEDES_TUNED) load the same set:
 * no-op `debug` loggers for mqtt-packet, and `bl` reads without a Buffer per read.
 */
import './quiet-debug.js';
import './mqtt-packet-reads.js';
