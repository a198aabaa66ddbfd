"""A confluent-kafka (Python, librdkafka 2.0.2) transactional producer, and a consumer in a group
beside it, driven one command at a time for the transaction tests (txn-clients.ts).

Usage: python3 txn-client.py BOOTSTRAP TRANSACTIONAL_ID TRANSACTION_TIMEOUT_MS

Reads one JSON command a line on stdin, answers each with one JSON line on stdout:
  {"op": "init"}                                   init_transactions
  {"op": "begin"} / {"op": "commit"} / {"op": "abort"}
  {"op": "send", "topic": T, "records": [[PARTITION, VALUE], ...]}
      produce them and flush: answers {"ok": true, "delivered": [[PARTITION, OFFSET, VALUE], ...]}
  {"op": "subscribe", "group": G, "topic": T}       a consumer of T in group G (read_committed)
  {"op": "poll", "count": N, "timeout_ms": MS}      up to N records: {"ok": true, "records": [[P, O, V], ...]}
  {"op": "send_offsets"}                            the consumer's positions, to the transaction:
      {"ok": true, "offsets": [[PARTITION, OFFSET], ...]} (partitions not read yet left out)
  {"op": "rewind"}                                  the consumer back to its group's committed offsets
  {"op": "close"}
A failed command answers {"ok": false, "error": {"code", "name", "message", "fatal", "retriable",
"abortable"}}, as librdkafka classifies it.
"""
import json
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, transactional_id, transaction_timeout_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
TIMEOUT_S = 30

producer = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": transactional_id,
    "transaction.timeout.ms": transaction_timeout_ms,
    "linger.ms": 5,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
})
consumer = None


def describe(err):
    return {
        "code": err.code(), "name": err.name(), "message": err.str(), "fatal": err.fatal(),
        "retriable": err.retriable(), "abortable": err.txn_requires_abort(),
    }


def send(cmd):
    delivered, failed = [], []

    def report(err, msg):
        if err is not None:
            failed.append(err)
        else:
            delivered.append([msg.partition(), msg.offset(), msg.value().decode()])

    for partition, value in cmd["records"]:
        producer.produce(cmd["topic"], value.encode(), partition=partition, on_delivery=report)
    left = producer.flush(TIMEOUT_S)
    if failed:
        raise KafkaException(failed[0])
    if left:
        raise RuntimeError(f"{left} deliveries outstanding after {TIMEOUT_S} s")
    return {"delivered": delivered}


def subscribe(cmd):
    global consumer
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": cmd["group"], "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "isolation.level": "read_committed",
        "fetch.wait.max.ms": 100, "session.timeout.ms": 6000,
    })
    consumer.subscribe([cmd["topic"]])
    return {}


def poll(cmd):
    msgs = consumer.consume(cmd["count"], cmd["timeout_ms"] / 1000)
    for m in msgs:
        if m.error() is not None:
            raise KafkaException(m.error())
    return {"records": [[m.partition(), m.offset(), m.value().decode()] for m in msgs]}


def send_offsets(_cmd):
    positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT_S)
    return {"offsets": [[tp.partition, tp.offset] for tp in positions]}


def rewind(_cmd):
    for tp in consumer.committed(consumer.assignment(), TIMEOUT_S):
        consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))
    return {}


def close(_cmd):
    if consumer is not None:
        consumer.close()
    producer.flush(5)
    return {}


OPS = {
    "init": lambda c: producer.init_transactions(TIMEOUT_S) or {},
    "begin": lambda c: producer.begin_transaction() or {},
    "commit": lambda c: producer.commit_transaction(TIMEOUT_S) or {},
    "abort": lambda c: producer.abort_transaction(TIMEOUT_S) or {},
    "send": send,
    "subscribe": subscribe,
    "poll": poll,
    "send_offsets": send_offsets,
    "rewind": rewind,
    "close": close,
}

for line in sys.stdin:
    cmd = json.loads(line)
    try:
        answer = {"ok": True, **OPS[cmd["op"]](cmd)}
    except KafkaException as e:
        answer = {"ok": False, "error": describe(e.args[0])}
    except Exception as e:  # a bug here, or a timeout: reported, not a hang
        answer = {"ok": False, "error": {"code": None, "name": type(e).__name__, "message": str(e),
                                         "fatal": False, "retriable": False, "abortable": False}}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    if cmd["op"] == "close":
        break
