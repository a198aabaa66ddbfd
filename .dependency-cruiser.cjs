/**
 * Weir's layers, checked by dependency-cruiser (`npm run lint:layers`, part of `npm test`). The
 * README's "Layers" table says the same in words. Bottom to top; a layer imports only layers
 * below it (and itself):
 *
 *   base        src/errors.ts, logger.ts, version.ts, loopback.ts, memory-guard.ts, src/types/,
 *               device/profiles.ts, device/sd-notify.ts
 *   codec       src/kafka/protocol/        (base's errors.ts only; no I/O)
 *   store       src/store/
 *   services    src/config/, src/admin/, src/produce/, src/users/
 *   components  src/kafka/server/, bridge/mqtt/, bridge/mirror/   (never each other)
 *   wiring      src/main.ts, src/listen-error.ts, the rest of device/ (doctor, simulator)
 *   commands    src/cli/                   (nothing imports it)
 *
 * One planned exception: the config schema (src/config/schema.ts) is one table assembled from
 * the sections each component declares in its own config-fields.ts, so src/config may import a
 * component's config-fields.ts (and what that file parses with), nothing else of it; no-circular
 * keeps those files from reaching back.
 *
 * Type-only imports count (tsPreCompilationDeps): a type is a dependency for the reader too.
 */
const BASE = '^(src/(errors|logger|version|loopback|memory-guard)\\.ts$|src/types/|device/(profiles|sd-notify)\\.ts$)';
const CODEC = '^src/kafka/protocol/';
const STORE = '^src/store/';
const SERVICES = '^src/(config|admin|produce|users)/';
const COMPONENTS = '^(src/kafka/server|bridge/mqtt|bridge/mirror)/';
const WIRING = '^(src/main\\.ts$|src/listen-error\\.ts$|device/(?!(profiles|sd-notify)\\.ts$))';
const CLI = '^src/cli/';
const PROJECT = '^(src|bridge|device)/';

/** `to` paths of the layers above `layer`, for "imports nothing above it". */
const ABOVE = {
  base: [CODEC, STORE, SERVICES, COMPONENTS, WIRING, CLI],
  store: [SERVICES, COMPONENTS, WIRING, CLI],
  services: [COMPONENTS, WIRING, CLI],
  components: [WIRING, CLI],
  wiring: [CLI],
};

/** Only `owner` imports the npm package(s) `packages` (a regex over the package name). */
function onlyIn(name, owner, packages, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { pathNot: owner },
    to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], path: `^node_modules/(${packages})/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only ones included: each module can be read (and tested) after what it imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'base-imports-only-base',
      comment: 'errors, logger, version, loopback, memory guard, board profiles and sd_notify are used by every layer, so they import none.',
      severity: 'error',
      from: { path: BASE },
      to: { path: ABOVE.base },
    },
    {
      name: 'codec-is-pure',
      comment: 'src/kafka/protocol is the pure Kafka codec: it imports only itself and src/errors.ts.',
      severity: 'error',
      from: { path: CODEC },
      to: { path: PROJECT, pathNot: [CODEC, '^src/errors\\.ts$'] },
    },
    {
      name: 'codec-does-no-io',
      comment: 'The codec turns bytes into values and back; sockets, files and processes belong to the server.',
      severity: 'error',
      from: { path: CODEC, pathNot: '\\.mjs$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(net|tls|fs|fs/promises|http|https|http2|dgram|child_process|worker_threads)$' },
    },
    {
      name: 'store-imports-only-codec-and-base',
      comment: 'The log store knows nothing of config, listeners, bridges or commands: it is opened with plain options.',
      severity: 'error',
      from: { path: STORE },
      to: { path: PROJECT, pathNot: [STORE, CODEC, BASE] },
    },
    {
      name: 'services-below-components',
      comment: 'config, admin, produce and users serve the components and never import them (config: see config-reads-only-config-fields).',
      severity: 'error',
      from: { path: SERVICES, pathNot: '^src/config/' },
      to: { path: ABOVE.services },
    },
    {
      name: 'config-reads-only-config-fields',
      comment: "The schema assembles each component's section from its config-fields.ts; nothing else of a component is config's business.",
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: ABOVE.services, pathNot: '/config-fields\\.ts$' },
    },
    {
      name: 'components-apart',
      comment: 'The Kafka listener, the MQTT bridge and the mirror meet only in the store; startWeir (src/main.ts) wires them.',
      severity: 'error',
      from: { path: COMPONENTS },
      to: { path: COMPONENTS, pathNot: '^$1/' },
    },
    {
      name: 'components-below-wiring',
      comment: 'Components are started by src/main.ts and never reach up to it, to device/ or to the commands.',
      severity: 'error',
      from: { path: COMPONENTS },
      to: { path: ABOVE.components },
    },
    {
      name: 'wiring-below-commands',
      comment: 'src/cli is the top: startWeir, doctor and the simulator are called by commands and never call them.',
      severity: 'error',
      from: { path: WIRING },
      to: { path: ABOVE.wiring },
    },
    {
      name: 'only-commands-start-weir',
      comment: 'startWeir is started by `weir start` (and tests) only.',
      severity: 'error',
      from: { path: PROJECT, pathNot: [CLI, '^src/main\\.ts$'] },
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'nothing-imports-commands',
      comment: 'src/cli is the top layer: the version, the config and startWeir live below it so anything may use them.',
      severity: 'error',
      from: { pathNot: CLI },
      to: { path: CLI },
    },
    {
      name: 'every-file-in-a-layer',
      comment: 'A new top-level file or folder gets its place in the table above (and in the README) before it imports anything.',
      severity: 'error',
      from: { path: PROJECT, pathNot: [BASE, CODEC, STORE, SERVICES, COMPONENTS, WIRING, CLI] },
      to: {},
    },
    onlyIn('lmdb-only-in-store', STORE, 'lmdb', 'src/store is the only code that imports lmdb: the on-disk format has one owner.'),
    onlyIn('librdkafka-only-in-mirror', '^bridge/mirror/', '@confluentinc/kafka-javascript', 'The mirror owns the librdkafka client (an optional dependency).'),
    onlyIn('aedes-only-in-mqtt', '^bridge/mqtt/', 'aedes|aedes-[a-z-]+|mqemitter|mqtt-packet|ws', 'The MQTT broker and its transports are the MQTT bridge\'s.'),
    onlyIn(
      'kafkajs-only-in-commands',
      // gen-error-codes.mjs is the build-time script that reads Kafka's error table from kafkajs.
      '^(src/cli/|src/kafka/protocol/gen-error-codes\\.mjs$)',
      'kafkajs',
      'kafkajs is the client of remote commands (consume, groups, topics --bootstrap-server); Weir itself never loads it.',
    ),
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // Packages such as aedes declare only `exports` (no `main`): resolve them as Node does.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    exclude: { path: '^(dist|test)/' },
  },
};
