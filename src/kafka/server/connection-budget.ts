/**
 * What one connection holds against the listener's two budgets (byte-budget.ts), so that a
 * closed connection gives all of it back at once:
 *
 * - request bytes, reserved from the moment a frame's size prefix is read until its response is
 *   written. A connection holding nothing may always read one small request
 *   (SMALL_REQUEST_BYTES), so large partial requests holding the budget do not stall everyone's
 *   Metadata, heartbeats and small produces;
 * - fetch response record bytes, from when a Fetch handler builds them until the socket takes
 *   them; while that budget is spent, no Fetch is started.
 */
import { SMALL_REQUEST_BYTES, type ByteBudget } from './byte-budget.js';

export class ConnectionBudget {
  /** Bytes of this connection's frames reserved and not yet answered. */
  private reserved = 0;
  private waitingForRequests = false;
  /** Fetch response bytes not yet taken by the socket. */
  private responseHeld = 0;
  private waitingForResponses = false;
  private released = false;

  constructor(
    private readonly requests: ByteBudget,
    private readonly responses: ByteBudget,
  ) {}

  /** The frame decoder's reservation of an `n`-byte request; false: not now, wait (waitForRequests). */
  reserveRequest(n: number): boolean {
    if (this.reserved === 0 && n <= SMALL_REQUEST_BYTES) this.requests.take(n);
    else if (!this.requests.tryTake(n)) return false;
    this.reserved += n;
    return true;
  }

  /** Gives back `n` bytes of this connection's frames (answered, or dropped unread). */
  giveBackRequest(n: number): void {
    this.reserved -= n;
    this.requests.release(n);
  }

  /** Calls `then` once when request bytes are given back by anyone (one wait at a time). */
  waitForRequests(then: () => void): void {
    if (this.waitingForRequests) return;
    this.waitingForRequests = true;
    this.requests.waitFor(() => {
      this.waitingForRequests = false;
      then();
    });
  }

  /** Most fetch response bytes a Fetch may build now, at least 1 and at most `fetchMaxBytes`. */
  responseLimit(fetchMaxBytes: number): number {
    return Math.min(fetchMaxBytes, Math.max(1, this.responses.availableBytes));
  }

  holdResponse(n: number): void {
    if (this.released || n === 0) return;
    this.responseHeld += n;
    this.responses.take(n);
  }

  releaseResponse(n: number): void {
    // After releaseAll, everything this connection held is back already.
    if (this.released || n === 0) return;
    this.responseHeld -= n;
    this.responses.release(n);
  }

  /** Whether a Fetch may start now; if not, calls `then` once the response budget has room. */
  roomForFetch(then: () => void): boolean {
    if (this.responses.availableBytes > 0) return true;
    if (!this.waitingForResponses) {
      this.waitingForResponses = true;
      this.responses.waitFor(() => {
        this.waitingForResponses = false;
        then();
      });
    }
    return false;
  }

  /** The connection is gone: requests still arriving, waiting or served will never be answered. */
  releaseAll(): void {
    if (this.released) return;
    this.released = true;
    this.giveBackRequest(this.reserved);
    this.responses.release(this.responseHeld);
    this.responseHeld = 0;
  }
}
