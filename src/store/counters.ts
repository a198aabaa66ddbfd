/** The store's running totals, shared by the parts that move them (commits, retention, deletes). */
export class StoreCounters {
  /** Log bytes stored now: what the disk budget caps. */
  usedBytes = 0;
  recordsAppended = 0;
  /** RecordBatch bytes appended durably since the store opened. */
  bytesAppended = 0;
  /** Payload bytes appended durably since the store opened (see StoreStats). */
  payloadBytesAppended = 0;
  /** Records retention or overflow dropped before every cursor passed them. */
  recordsDropped = 0;
}
