// Builds the mirror's Kafka client, @confluentinc/kafka-javascript (librdkafka), at `npm ci`
// (package.json postinstall, through ./check-kafka-client.mjs), a few progress lines at a time.
// npm runs a dependency's install script with its output hidden (a silent build of minutes), or
// with foreground-scripts all of it (about 1,100 lines, 250 of them compiler warnings), so
// package.json's allowScripts denies the package its own script and this runs the same command,
// `node-pre-gyp install --fallback-to-build`, with the full output in a log file instead.
// Never fails the install: Weir runs without the mirror, and the check after this says why.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGE_DIR = join(ROOT, 'node_modules/@confluentinc/kafka-javascript');
const BINARY = join(PACKAGE_DIR, 'build/Release/confluent-kafka-javascript.node');
export const BUILD_LOG = join(ROOT, 'node_modules/.weir-kafka-client-build.log');
/** A progress line this often while compiling, when more files are done; else this often. */
const PROGRESS_EVERY_MS = 30_000;
const STILL_ALIVE_EVERY_MS = 120_000;

const say = (line) => process.stderr.write(`weir: ${line}\n`);

function elapsed(startedAt) {
  const s = Math.round((Date.now() - startedAt) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function countFiles(dir, ext) {
  try {
    return readdirSync(join(PACKAGE_DIR, dir), { recursive: true }).filter((f) => String(f).endsWith(ext)).length;
  } catch {
    return 0;
  }
}

/** The source files a build from source compiles: librdkafka's C and C++, and the Node binding. */
const sourceFiles = () => countFiles('deps/librdkafka/src', '.c') + countFiles('deps/librdkafka/src-cpp', '.cpp') + countFiles('src', '.cc');
/**
 * The files compiled so far, by their object files: librdkafka's make runs every compiler at once
 * (`make -j`), so the commands it prints say what started, not what is done.
 */
const objectFiles = () => countFiles('deps/librdkafka/src', '.o') + countFiles('deps/librdkafka/src-cpp', '.o') + countFiles('build/Release/obj.target', '.o');

/** What a line of the build's output says about its progress; undefined for most lines. */
function classify(line) {
  if (/Pre-built binaries not installable/.test(line)) return 'no-prebuilt';
  if (/^\s*ACTION \S*_configure\b/.test(line)) return 'configure';
  if (/^\s*ACTION \S*_build_dependencies\b/.test(line)) return 'compile';
  if (/^\s*SOLINK_MODULE\(target\)/.test(line)) return 'link';
  return undefined;
}

/** Runs the package's own install command; resolves with its exit code and last output lines. */
function runBuild(onLine) {
  const requireFromPackage = createRequire(join(PACKAGE_DIR, 'package.json'));
  const bin = requireFromPackage.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  const child = spawn(process.execPath, [bin, 'install', '--fallback-to-build'], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(BUILD_LOG);
  const tail = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      log.write(line + '\n');
      tail.push(line);
      if (tail.length > 15) tail.shift();
      onLine(line);
    });
  }
  return new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: -1, tail: [String(err)] }));
    child.on('close', (code) => log.end(() => resolve({ code, tail })));
  });
}

/** Builds the client when it is installed but not built; says nothing when there is nothing to do. */
export async function buildKafkaClient() {
  if (!existsSync(PACKAGE_DIR) || existsSync(BINARY)) return;
  const startedAt = Date.now();
  const total = sourceFiles();
  say("building the mirror's Kafka client (@confluentinc/kafka-javascript: librdkafka, C and C++): compiling it takes");
  say('  about 2 minutes of CPU, 1 to 3 minutes on an idle 2-core machine and up to 10 on a busy one (a prebuilt');
  say(`  client is downloaded instead when github.com is reachable); full log: ${BUILD_LOG}`);
  let progress;
  const { code, tail } = await runBuild((line) => {
    const what = classify(line);
    if (what === 'no-prebuilt') say('  no prebuilt client could be downloaded: compiling from source');
    else if (what === 'configure') say(`  configuring librdkafka (${elapsed(startedAt)})`);
    else if (what === 'compile' && progress === undefined) {
      say(`  compiling about ${total} files (${elapsed(startedAt)})`);
      let shown = 0;
      let shownAt = Date.now();
      progress = setInterval(() => {
        const done = objectFiles();
        if (done === shown && Date.now() - shownAt < STILL_ALIVE_EVERY_MS) return;
        [shown, shownAt] = [done, Date.now()];
        say(`  compiled ${done}${done <= total ? ` of about ${total}` : ''} files (${elapsed(startedAt)})`);
      }, PROGRESS_EVERY_MS);
    } else if (what === 'link') {
      clearInterval(progress);
      say(`  linking (${elapsed(startedAt)})`);
    }
  });
  clearInterval(progress);
  if (code === 0 && existsSync(BINARY)) {
    say(`built the mirror's Kafka client in ${elapsed(startedAt)}`);
    return;
  }
  say(`building the mirror's Kafka client failed after ${elapsed(startedAt)} (exit ${code}); the end of ${BUILD_LOG}:`);
  for (const line of tail) process.stderr.write(`  ${line}\n`);
}
