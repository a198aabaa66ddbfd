/**
 * One connection's responses in request order. Each request takes a slot when it starts; slots
 * are written strictly front to back as they finish, so responses leave in request order (Kafka
 * clients match by correlation id, but librdkafka and kafkajs also expect order). A request that
 * gets no response (Produce acks=0) still holds its slot until it is served, so order holds for
 * the requests behind it. A slot gives its request bytes back to the connection's budget when it
 * is written, and its fetch response bytes once the socket has taken them.
 */
import type { Socket } from 'node:net';
import { ApiKey } from '../protocol/api-keys.js';
import type { ConnectionBudget } from './connection-budget.js';
import type { KafkaServerStats } from './stats.js';

export interface Slot {
  apiKey: number;
  done: boolean;
  /** Request bytes held against the budget until the slot is written. */
  bytes: number;
  /** Fetch response bytes held against the response budget until the socket takes them. */
  responseBytes: number;
  /** null: served, nothing to send. */
  chunks: Buffer[] | null;
  /** Close the connection once this response is written (failed SASL authentication). */
  closeAfter?: boolean;
}

/** What one `writeFinished` did. */
export interface Written {
  /** At least one response was handed to the socket. */
  wrote: boolean;
  /** The socket's write buffer went over its high-water mark: wait for 'drain'. */
  blocked: boolean;
  /** The last slot written asked for the connection to close; the slots behind it were left. */
  closeAfter: boolean;
}

export class ResponseQueue {
  private readonly slots: Slot[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly budget: ConnectionBudget,
    private readonly stats: KafkaServerStats,
  ) {}

  /** Slots taken: requests started and not yet written. */
  get length(): number {
    return this.slots.length;
  }

  /** Takes the next slot for a request of `bytes` (`chunks` given: answered already). */
  add(apiKey: number, bytes: number, chunks: Buffer[] | null = null): Slot {
    const slot: Slot = { apiKey, done: chunks !== null, bytes, responseBytes: 0, chunks };
    this.slots.push(slot);
    return slot;
  }

  /** A request is being served (its slot is not finished). */
  serving(): boolean {
    return this.slots.some((s) => !s.done);
  }

  /** A Fetch is being served or waiting to be written. */
  holdsFetch(): boolean {
    return this.slots.some((s) => s.apiKey === ApiKey.Fetch);
  }

  /** Writes every finished slot at the front of the queue. */
  writeFinished(): Written {
    const result: Written = { wrote: false, blocked: false, closeAfter: false };
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      this.budget.giveBackRequest(slot.bytes);
      if (slot.chunks === null) {
        this.budget.releaseResponse(slot.responseBytes);
        continue;
      }
      result.wrote = true;
      if (!this.write(slot.chunks, slot.responseBytes)) result.blocked = true;
      if (slot.closeAfter === true) {
        result.closeAfter = true;
        break;
      }
    }
    return result;
  }

  /** Drops every slot: the connection closed, nothing more will be written. */
  clear(): void {
    this.slots.length = 0;
  }

  /** Writes one response; false when the socket's buffer is over its high-water mark. */
  private write(chunks: Buffer[], held: number): boolean {
    let ok = true;
    const last = chunks.length - 1;
    chunks.forEach((c, i) => {
      this.stats.bytesOut += c.length;
      // The last chunk's callback: the socket has taken the whole response.
      ok = i === last && held > 0 ? this.socket.write(c, () => this.budget.releaseResponse(held)) : this.socket.write(c);
    });
    return ok;
  }
}
