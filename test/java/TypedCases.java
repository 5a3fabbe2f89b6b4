import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;

/** FIFO, delay and transactional messages. */
final class TypedCases {
  private TypedCases() {}

  /**
   * Sends --per-group messages (seq 0..n-1) to each of --groups message groups, interleaved, to a FIFO topic;
   * the FIFO consumer group (--consumer push|simple) must see every group's messages once and in seq order.
   */
  static Map<String, Object> fifo(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    int groups = a.integer("groups", 5);
    int perGroup = a.integer("per-group", 10);
    boolean push = a.get("consumer", "push").equals("push");
    Queue<Clients.Received> sink = Clients.sink();
    SimpleConsumer simple = null;
    if (push) {
      c.pushConsumer(a.require("group"), topic, Cases.all(), sink);
    } else {
      simple = c.simpleConsumer(a.require("group"), topic, Cases.all());
    }
    Producer producer = c.producer(topic, null);
    for (int seq = 0; seq < perGroup; seq++) {
      for (int g = 0; g < groups; g++) {
        producer.send(c.message(topic, seq * groups + g).setMessageGroup("g" + g + "-" + c.runId)
            .addProperty("mgroup", "g" + g).addProperty("seq", Integer.toString(seq)).build());
      }
    }
    int total = groups * perGroup;
    List<Clients.Received> got = push
        ? Clients.await(sink, Cases.deadline(a), Clients.atLeast(total))
        : c.receive(simple, Cases.deadline(a), Clients.atLeast(total));
    return checkFifoOrder(c, got, groups, perGroup);
  }

  private static Map<String, Object> checkFifoOrder(Clients c, List<Clients.Received> got, int groups, int perGroup) {
    Map<String, List<Integer>> seqs = new TreeMap<>();
    List<String> wrongGroup = new ArrayList<>();
    for (Clients.Received r : got) {
      String g = r.property("mgroup");
      seqs.computeIfAbsent(g, k -> new ArrayList<>()).add(Integer.parseInt(r.property("seq")));
      String expectedGroup = g + "-" + c.runId;
      if (!expectedGroup.equals(r.view().getMessageGroup().orElse(null)) && wrongGroup.size() < 5) {
        wrongGroup.add(r.view().getMessageId() + " has message group " + r.view().getMessageGroup());
      }
    }
    Map<String, Object> violations = new TreeMap<>();
    for (int g = 0; g < groups; g++) {
      List<Integer> observed = seqs.getOrDefault("g" + g, List.of());
      boolean inOrder = observed.size() == perGroup;
      for (int i = 0; inOrder && i < perGroup; i++) inOrder = observed.get(i) == i;
      if (!inOrder) violations.put("g" + g, observed);
    }
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("sent", groups * perGroup);
    detail.put("received", got.size());
    detail.put("groupsOutOfOrderOrIncomplete", violations);
    detail.put("wrongMessageGroup", wrongGroup);
    if (!violations.isEmpty() || !wrongGroup.isEmpty()) {
      throw new Conformance.CaseFailure("FIFO order violated or messages missing/duplicated", detail);
    }
    return detail;
  }

  /** --count messages with delivery timestamp now + --delay-ms: all received, none before its timestamp. */
  static Map<String, Object> delay(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    int count = a.integer("count", 3);
    int delayMs = a.integer("delay-ms", 2_000);
    SimpleConsumer consumer = c.simpleConsumer(a.require("group"), topic, Cases.all());
    Producer producer = c.producer(topic, null);
    Map<String, Long> due = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      long at = System.currentTimeMillis() + delayMs;
      SendReceipt r = producer.send(c.message(topic, i).setDeliveryTimestamp(at).build());
      due.put(r.getMessageId().toString(), at);
    }
    List<Clients.Received> got = c.receive(consumer, Cases.deadline(a) + delayMs, Clients.atLeast(count));
    List<String> early = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    long maxLateMs = Long.MIN_VALUE;
    for (Clients.Received r : got) {
      Long at = due.get(r.view().getMessageId().toString());
      if (at == null) {
        problems.add("unexpected " + r.view().getMessageId());
        continue;
      }
      if (r.atMs() < at) early.add(r.view().getMessageId() + " " + (at - r.atMs()) + " ms early");
      maxLateMs = Math.max(maxLateMs, r.atMs() - at);
      if (!at.equals(r.view().getDeliveryTimestamp().orElse(null))) {
        problems.add(r.view().getMessageId() + " delivery timestamp " + r.view().getDeliveryTimestamp());
      }
    }
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("sent", count);
    detail.put("received", got.size());
    detail.put("early", early);
    detail.put("maxLatenessMs", got.isEmpty() ? null : maxLateMs);
    detail.put("problems", problems);
    if (got.size() != count || !early.isEmpty() || !problems.isEmpty()) {
      throw new Conformance.CaseFailure("delayed messages missing, early or altered", detail);
    }
    return detail;
  }

  /** transaction-commit, transaction-rollback, transaction-unknown-checkback. */
  static Map<String, Object> transaction(String name, Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    Queue<String> checks = new ConcurrentLinkedQueue<>();
    long t0 = System.currentTimeMillis();
    TransactionResolution answer = name.equals("transaction-rollback")
        ? TransactionResolution.ROLLBACK
        : TransactionResolution.COMMIT;
    Producer producer = c.producer(topic, view -> {
      checks.add(view.getMessageId() + " after " + (System.currentTimeMillis() - t0) + " ms");
      return answer;
    });
    SimpleConsumer consumer = c.simpleConsumer(a.require("group"), topic, Cases.all());
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("checkerCalls", checks);
    switch (name) {
      case "transaction-commit":
        return commit(c, a, producer, consumer, detail);
      case "transaction-rollback":
        return rollback(c, a, producer, consumer, detail);
      default:
        return unknownThenCheckBack(c, a, producer, consumer, detail, checks);
    }
  }

  /** The half message stays invisible for --hold-ms, then commit makes it deliverable. */
  private static Map<String, Object> commit(Clients c, Conformance.Args a, Producer producer,
      SimpleConsumer consumer, Map<String, Object> detail) throws Exception {
    Transaction tx = producer.beginTransaction();
    String id = producer.send(c.message(a.require("topic"), 0).build(), tx).getMessageId().toString();
    long hold = System.currentTimeMillis() + a.integer("hold-ms", 3_000);
    List<Clients.Received> before = c.receive(consumer, hold, Clients.atLeast(1));
    tx.commit();
    List<Clients.Received> after = c.receive(consumer, Cases.deadline(a), Clients.atLeast(1));
    detail.put("messageId", id);
    detail.put("visibleBeforeCommit", ids(before));
    detail.put("receivedAfterCommit", ids(after));
    if (!before.isEmpty() || !ids(after).equals(List.of(id))) {
      throw new Conformance.CaseFailure("a half message was visible before commit or not delivered after", detail);
    }
    return detail;
  }

  /** A rolled-back message is never delivered; a committed marker sent after it is. */
  private static Map<String, Object> rollback(Clients c, Conformance.Args a, Producer producer,
      SimpleConsumer consumer, Map<String, Object> detail) throws Exception {
    String topic = a.require("topic");
    Transaction tx1 = producer.beginTransaction();
    String rolledBack = producer.send(c.message(topic, 0).build(), tx1).getMessageId().toString();
    tx1.rollback();
    Transaction tx2 = producer.beginTransaction();
    String marker = producer.send(c.message(topic, 1).build(), tx2).getMessageId().toString();
    tx2.commit();
    List<Clients.Received> got = new ArrayList<>(c.receive(consumer, Cases.deadline(a), Clients.atLeast(1)));
    got.addAll(c.receive(consumer, System.currentTimeMillis() + a.integer("hold-ms", 3_000), g -> false));
    detail.put("rolledBack", rolledBack);
    detail.put("committedMarker", marker);
    detail.put("received", ids(got));
    if (!ids(got).equals(List.of(marker))) {
      throw new Conformance.CaseFailure("expected exactly the committed marker, never the rolled-back message", detail);
    }
    return detail;
  }

  /** Neither commit nor rollback: the broker's check-back must reach the checker, which commits. */
  private static Map<String, Object> unknownThenCheckBack(Clients c, Conformance.Args a, Producer producer,
      SimpleConsumer consumer, Map<String, Object> detail, Queue<String> checks) throws Exception {
    long t0 = System.currentTimeMillis();
    Transaction tx = producer.beginTransaction();
    String id = producer.send(c.message(a.require("topic"), 0).build(), tx).getMessageId().toString();
    List<Clients.Received> got = c.receive(consumer, Cases.deadline(a), Clients.atLeast(1));
    detail.put("messageId", id);
    detail.put("received", ids(got));
    detail.put("deliveredAfterMs", got.isEmpty() ? null : got.get(0).atMs() - t0);
    if (checks.isEmpty() || !ids(got).equals(List.of(id))) {
      throw new Conformance.CaseFailure("the check-back did not call the checker or did not commit", detail);
    }
    return detail;
  }

  private static List<String> ids(List<Clients.Received> got) {
    List<String> out = new ArrayList<>();
    for (Clients.Received r : got) out.add(r.view().getMessageId().toString());
    return out;
  }
}
