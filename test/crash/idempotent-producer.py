"""An idempotent confluent-kafka (Python) producer for idempotent-restart.test.ts.

Usage: python3 idempotent-producer.py BOOTSTRAP TOPIC PARTITIONS PREFIX WINDOW

Sends the values PREFIX-0, PREFIX-1, ... (value n to partition n % PARTITIONS), keeping at most
WINDOW unacknowledged, until a line "stop" arrives on stdin; then waits for every outstanding
delivery report and exits. Prints one line per event on stdout:
  a N PARTITION OFFSET   value N acknowledged (its delivery report had no error)
  f N ERROR              value N failed (not acknowledged; it may still be stored)
  fatal ERROR            librdkafka raised a fatal error: the producer stops
  s SENT                 values sent so far
  done SENT OUTSTANDING  after "stop": values sent, deliveries still unreported
"""
import sys
import threading

from confluent_kafka import KafkaException, Producer

bootstrap, topic, partitions, prefix, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
stopping = threading.Event()
fatal = []
out = []


def on_error(err):
    if err.fatal():
        fatal.append(str(err))
        out.append(f"fatal {err}")


def on_delivery(err, msg):
    n = int(msg.value().decode().rsplit("-", 1)[1])
    out.append(f"f {n} {err}" if err is not None else f"a {n} {msg.partition()} {msg.offset()}")


def flush_out():
    if out:
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()
        out.clear()


def read_stdin():
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stopping.set()


producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 10,
    # The broker is down for about a second per kill: nothing may time out meanwhile.
    "message.timeout.ms": 120000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "error_cb": on_error,
})
threading.Thread(target=read_stdin, daemon=True).start()

sent = 0
while not stopping.is_set() and not fatal:
    if len(producer) >= window:
        producer.poll(0.005)
    else:
        for _ in range(min(50, window - len(producer))):
            try:
                producer.produce(topic, f"{prefix}-{sent}".encode(), partition=sent % partitions, on_delivery=on_delivery)
            except (BufferError, KafkaException) as err:
                out.append(f"fatal produce: {err}")
                fatal.append(str(err))
                break
            sent += 1
        out.append(f"s {sent}")
        producer.poll(0)
    flush_out()

remaining = producer.flush(60) if not fatal else len(producer)
flush_out()
print(f"done {sent} {remaining}", flush=True)
