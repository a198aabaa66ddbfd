/**
 * Renders the README's configuration reference and weir.example.yaml from the schema table, so
 * the documentation cannot drift from what the loader accepts. test/config/docs.test.ts compares
 * both files with these renderings (and rewrites them with UPDATE_DOCS=1).
 */
import { stringify } from 'yaml';
import { FIELDS, SECTIONS, defaultDoc, rawDefault, type FieldEntry } from './schema.js';
import { wrapWords } from './wrap.js';

export const REFERENCE_BEGIN =
  '<!-- BEGIN config-reference: generated from src/config/schema.ts by `UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts`; do not edit by hand -->';
export const REFERENCE_END = '<!-- END config-reference -->';

const cell = (s: string): string => s.replaceAll('|', '\\|');

/** The Markdown table between REFERENCE_BEGIN and REFERENCE_END in README.md. */
export function renderConfigReference(): string {
  const rows = FIELDS.map(
    (f) => `| \`${f.path}\` | ${cell(f.spec.type.name)} | ${cell(defaultDoc(f))} | \`${f.env}\` | ${cell(f.spec.doc)} |`,
  );
  return [
    REFERENCE_BEGIN,
    '| Field | Type | Default | Environment override | Description |',
    '|---|---|---|---|---|',
    ...rows,
    REFERENCE_END,
  ].join('\n');
}

const plain = (s: string): string => s.replaceAll('`', '');

function exampleField(f: FieldEntry): string[] {
  const raw = rawDefault(f, {});
  // Topic config defaults are Kafka's strings ("604800000", "0.5"); write numbers as YAML numbers,
  // digit for digit (Long.MAX_VALUE is past a JS number's exact range).
  const value = typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw) ? raw : stringify(raw).trimEnd();
  const facts = `Type: ${f.spec.type.name}. Default: ${plain(defaultDoc(f))}.`;
  return [...wrapWords(plain(f.spec.doc), 94), ...wrapWords(facts, 94), `Env: ${f.env}`].map((l) => `  # ${l}`).concat(`  # ${f.key}: ${value}`);
}

/** The whole of weir.example.yaml. */
export function renderExampleYaml(): string {
  const out = [
    '# weir.example.yaml: every Weir setting, commented out, at its default.',
    '#',
    '# Generated from src/config/schema.ts; test/config/docs.test.ts keeps it in sync.',
    '# Copy it, uncomment and change what you need, then run: weir start --config weir.yaml',
    '# Any field can also be set from the environment as WEIR_<SECTION>__<FIELD> (dots and dashes',
    '# in the field become underscores), e.g. WEIR_STORE__DIR=/srv/weir. The environment wins over',
    '# the file; unknown fields and unknown WEIR_* variables are errors.',
  ];
  for (const section of SECTIONS) {
    out.push('', `${section}:`);
    const fields = FIELDS.filter((f) => f.section === section);
    fields.forEach((f, i) => {
      if (i > 0) out.push('');
      out.push(...exampleField(f));
    });
  }
  return `${out.join('\n')}\n`;
}
