/** The `kafka.sasl_mechanisms` field type: a list of mechanisms, in YAML or comma-separated. */
import type { FieldType } from '../../../config/types.js';
import { SASL_MECHANISMS, type SaslMechanism } from './mechanisms.js';

export function saslMechanisms(): FieldType<readonly SaslMechanism[]> {
  const accepts = `a list (YAML, or comma-separated) of ${SASL_MECHANISMS.join(', ')}`;
  return {
    name: `list (${SASL_MECHANISMS.join(' | ')})`,
    accepts,
    parse(raw) {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (items === undefined) return { ok: false, why: `expected ${accepts}` };
      const out: SaslMechanism[] = [];
      for (const item of items) {
        const m = typeof item === 'string' ? item.trim().toUpperCase() : '';
        if (!(SASL_MECHANISMS as readonly string[]).includes(m)) return { ok: false, why: `${JSON.stringify(item)} is not one of ${SASL_MECHANISMS.join(', ')}` };
        if (!out.includes(m as SaslMechanism)) out.push(m as SaslMechanism);
      }
      if (out.length === 0) return { ok: false, why: `expected at least one of ${SASL_MECHANISMS.join(', ')}` };
      return { ok: true, value: out };
    },
  };
}
