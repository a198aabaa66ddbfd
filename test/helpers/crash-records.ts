/** The records crash tests write: deterministic, so the parent can check them byte for byte. */
export const CRASH_TOPIC = 'crash';

export function crashRecordKey(worker: string): Buffer {
  return Buffer.from(`worker-${worker}`);
}

/** Varying sizes (20..~1.2 KB) so batches and segments roll at different places every run. */
export function crashRecordValue(worker: string, seq: number): Buffer {
  const head = `${worker}:${seq}:`;
  return Buffer.concat([Buffer.from(head), Buffer.alloc((seq * 37) % 1200, head.charCodeAt(head.length - 2))]);
}
