/**
 * The README's configuration reference and weir.example.yaml are generated from the schema; this
 * fails when either drifts. To regenerate both after changing src/config/schema.ts:
 *   UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REFERENCE_END, renderConfigReference, renderExampleYaml } from '../../src/config/docs.js';
import { loadConfig } from '../../src/config/load.js';
import { FIELDS } from '../../src/config/schema.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../weir.example.yaml', import.meta.url));
const update = process.env.UPDATE_DOCS === '1';

function referenceIn(text: string): string {
  const begin = text.indexOf('<!-- BEGIN config-reference');
  const end = text.indexOf(REFERENCE_END);
  if (begin < 0 || end < 0) throw new Error(`README.md lacks the config reference markers (${REFERENCE_END})`);
  return text.slice(begin, end + REFERENCE_END.length);
}

describe('generated configuration docs', () => {
  it('README.md holds the configuration reference rendered from the schema', () => {
    const readme = readFileSync(README, 'utf8');
    if (update) writeFileSync(README, readme.replace(referenceIn(readme), renderConfigReference()));
    expect(referenceIn(readFileSync(README, 'utf8')), 'run UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts').toBe(renderConfigReference());
  });

  it('weir.example.yaml is the example rendered from the schema', () => {
    if (update) writeFileSync(EXAMPLE, renderExampleYaml());
    expect(readFileSync(EXAMPLE, 'utf8'), 'run UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts').toBe(renderExampleYaml());
  });

  it('every field appears in the reference and, commented, in the example', () => {
    const reference = renderConfigReference();
    const example = renderExampleYaml();
    for (const f of FIELDS) {
      expect(reference).toContain(`\`${f.path}\``);
      expect(reference).toContain(f.env);
      expect(example).toContain(`  # ${f.key}: `);
    }
  });

  it('weir.example.yaml loads, and gives exactly the defaults', () => {
    const cwd = '/srv/weir';
    expect(loadConfig({ file: EXAMPLE, env: {}, cwd })).toEqual(loadConfig({ env: {}, cwd }));
  });

  it('uncommenting every field of the example still loads to the defaults', () => {
    const keys = new Set(FIELDS.map((f) => f.key));
    const uncommented = renderExampleYaml().replace(/^ {2}# ([a-z_.]+): (.*)$/gm, (line, key: string, value: string) =>
      keys.has(key) ? `  ${key}: ${value}` : line,
    );
    expect(uncommented).toMatch(/^ {2}dir: \.\/data$/m);
    const dir = mkdtempSync(path.join(tmpdir(), 'weir-example-'));
    try {
      const file = path.join(dir, 'weir.yaml');
      writeFileSync(file, uncommented);
      expect(loadConfig({ file, env: {}, cwd: '/srv/weir' })).toEqual(loadConfig({ env: {}, cwd: '/srv/weir' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
