import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.function.IntPredicate;
import org.apache.rocketmq.client.apis.ClientException;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;

/** Normal messages, consumers, filters, credentials and TLS. Typed messages are in {@link TypedCases}. */
final class Cases {
  private Cases() {}

  static final List<String> NAMES = List.of("normal-simple", "normal-push", "fifo", "delay", "transaction-commit",
      "transaction-rollback", "transaction-unknown-checkback", "tag-filter", "sql-filter", "credentials",
      "credentials-rejected", "tls");

  /** The SQL92 case's expression and the same predicate over the message index. */
  static final String SQL = "region IN ('eu', 'ap') AND amount BETWEEN 4 AND 15";
  private static final String[] REGIONS = {"eu", "us", "ap"};
  private static final IntPredicate SQL_MATCHES = i -> !REGIONS[i % 3].equals("us") && i >= 4 && i <= 15;

  static Map<String, Object> run(String name, Conformance.Args a) throws Exception {
    if (name.equals("tls")) a.set("tls", "true");
    if (name.equals("credentials") || name.equals("credentials-rejected")) a.require("ak");
    try (Clients c = new Clients(a)) {
      switch (name) {
        case "normal-simple", "credentials", "tls":
          return normalSimple(c, a);
        case "normal-push":
          return normalPush(c, a);
        case "tag-filter":
          return tagFilter(c, a);
        case "sql-filter":
          return sqlFilter(c, a);
        case "credentials-rejected":
          return credentialsRejected(c, a);
        case "fifo":
          return TypedCases.fifo(c, a);
        case "delay":
          return TypedCases.delay(c, a);
        default:
          return TypedCases.transaction(name, c, a);
      }
    }
  }

  static long deadline(Conformance.Args a) {
    return System.currentTimeMillis() + a.integer("wait-ms", 30_000);
  }

  static FilterExpression all() {
    return new FilterExpression("*", FilterExpressionType.TAG);
  }

  /** Sends count messages with tag TagA and an "index" property; returns messageId -> index. */
  private static Map<String, Integer> sendNormal(Clients c, Producer p, String topic, int count)
      throws ClientException {
    Map<String, Integer> sent = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      Message m = c.message(topic, i).setTag("TagA").addProperty("index", Integer.toString(i)).build();
      sent.put(p.send(m).getMessageId().toString(), i);
    }
    return sent;
  }

  /** Simple consumer subscribed first, then count messages sent; every one received once, intact, and acked. */
  static Map<String, Object> normalSimple(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    int count = a.integer("count", 10);
    SimpleConsumer consumer = c.simpleConsumer(a.require("group"), topic, all());
    Producer producer = c.producer(topic, null);
    Map<String, Integer> sent = sendNormal(c, producer, topic, count);
    List<Clients.Received> got = c.receive(consumer, deadline(a), Clients.atLeast(count));
    return expectExactly(c, topic, sent, got);
  }

  static Map<String, Object> normalPush(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    int count = a.integer("count", 10);
    Queue<Clients.Received> sink = Clients.sink();
    c.pushConsumer(a.require("group"), topic, all(), sink);
    Producer producer = c.producer(topic, null);
    Map<String, Integer> sent = sendNormal(c, producer, topic, count);
    List<Clients.Received> got = Clients.await(sink, deadline(a), Clients.atLeast(count));
    return expectExactly(c, topic, sent, got);
  }

  /** Compares what was received with what was sent: ids, duplicates, body, tag, keys, properties, attempt. */
  static Map<String, Object> expectExactly(Clients c, String topic, Map<String, Integer> sent,
      List<Clients.Received> got) {
    Set<String> seen = new HashSet<>();
    List<String> duplicates = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    List<String> mismatches = new ArrayList<>();
    for (Clients.Received r : got) {
      String id = r.view().getMessageId().toString();
      if (!seen.add(id)) duplicates.add(id);
      Integer i = sent.get(id);
      if (i == null) {
        unexpected.add(id + " " + r.body());
        continue;
      }
      String problem = mismatch(c, topic, r, i);
      if (problem != null && mismatches.size() < 10) mismatches.add(id + ": " + problem);
    }
    List<Integer> missing = new ArrayList<>();
    sent.forEach((id, i) -> {
      if (!seen.contains(id)) missing.add(i);
    });
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("sent", sent.size());
    detail.put("received", got.size());
    detail.put("missing", missing);
    detail.put("duplicates", duplicates);
    detail.put("unexpected", unexpected);
    detail.put("mismatches", mismatches);
    if (!missing.isEmpty() || !duplicates.isEmpty() || !unexpected.isEmpty() || !mismatches.isEmpty()) {
      throw new Conformance.CaseFailure("received messages differ from the sent ones", detail);
    }
    return detail;
  }

  private static String mismatch(Clients c, String topic, Clients.Received r, int i) {
    if (!r.body().equals(c.runId + ":" + i)) return "body '" + r.body() + "'";
    if (!topic.equals(r.view().getTopic())) return "topic " + r.view().getTopic();
    if (!"TagA".equals(r.view().getTag().orElse(null))) return "tag " + r.view().getTag();
    if (!r.view().getKeys().contains("key-" + c.runId + "-" + i)) return "keys " + r.view().getKeys();
    if (!Integer.toString(i).equals(r.property("index"))) return "properties " + r.view().getProperties();
    if (r.view().getDeliveryAttempt() != 1) return "delivery attempt " + r.view().getDeliveryAttempt();
    if (r.view().getBornTimestamp() <= 0) return "born timestamp " + r.view().getBornTimestamp();
    return null;
  }

  /** Tags cycle TagA, TagB, TagC; the consumer's TAG expression (default "TagA || TagC") gets exactly its tags. */
  static Map<String, Object> tagFilter(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    String expression = a.get("tag-expression", "TagA || TagC");
    Set<String> wanted = new HashSet<>();
    for (String t : expression.split("\\|\\|")) wanted.add(t.trim());
    String[] tags = {"TagA", "TagB", "TagC"};
    FilterExpression filter = new FilterExpression(expression, FilterExpressionType.TAG);
    SimpleConsumer consumer = c.simpleConsumer(a.require("group"), topic, filter);
    Producer producer = c.producer(topic, null);
    Set<Integer> expected = new HashSet<>();
    int count = a.integer("count", 12);
    for (int i = 0; i < count; i++) {
      String tag = tags[i % tags.length];
      producer.send(c.message(topic, i).setTag(tag).addProperty("index", Integer.toString(i)).build());
      if (wanted.contains(tag)) expected.add(i);
    }
    return expectFiltered(c, a, consumer, expected, Arrays.toString(tags) + " filtered by " + expression);
  }

  /** Properties region (eu, us, ap cycling) and amount (= index); the SQL92 expression {@link #SQL}. */
  static Map<String, Object> sqlFilter(Clients c, Conformance.Args a) throws Exception {
    String topic = a.require("topic");
    FilterExpression filter = new FilterExpression(SQL, FilterExpressionType.SQL92);
    SimpleConsumer consumer = c.simpleConsumer(a.require("group"), topic, filter);
    Producer producer = c.producer(topic, null);
    Set<Integer> expected = new HashSet<>();
    int count = a.integer("count", 20);
    for (int i = 0; i < count; i++) {
      Message m = c.message(topic, i).setTag("TagA").addProperty("index", Integer.toString(i))
          .addProperty("region", REGIONS[i % 3]).addProperty("amount", Integer.toString(i)).build();
      producer.send(m);
      if (SQL_MATCHES.test(i)) expected.add(i);
    }
    return expectFiltered(c, a, consumer, expected, SQL);
  }

  /** Receives until the expected indexes arrived, then keeps polling for --hold-ms to catch non-matching ones. */
  private static Map<String, Object> expectFiltered(Clients c, Conformance.Args a, SimpleConsumer consumer,
      Set<Integer> expected, String what) throws ClientException {
    List<Clients.Received> got = new ArrayList<>(c.receive(consumer, deadline(a), Clients.atLeast(expected.size())));
    got.addAll(c.receive(consumer, System.currentTimeMillis() + a.integer("hold-ms", 3_000), g -> false));
    List<Integer> indexes = new ArrayList<>();
    for (Clients.Received r : got) indexes.add(Integer.parseInt(r.property("index")));
    Set<Integer> missing = new HashSet<>(expected);
    missing.removeAll(indexes);
    List<Integer> unexpected = new ArrayList<>(indexes);
    unexpected.removeIf(expected::contains);
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("filter", what);
    detail.put("expected", expected.size());
    detail.put("receivedIndexes", indexes);
    detail.put("missing", missing);
    detail.put("unexpected", unexpected);
    boolean duplicates = new HashSet<>(indexes).size() != indexes.size();
    detail.put("duplicates", duplicates);
    if (!missing.isEmpty() || !unexpected.isEmpty() || duplicates) {
      throw new Conformance.CaseFailure("the filter delivered the wrong messages", detail);
    }
    return detail;
  }

  /** A client with wrong credentials must not be able to send; reports the client's error text. */
  static Map<String, Object> credentialsRejected(Clients c, Conformance.Args a) {
    String topic = a.require("topic");
    Map<String, Object> detail = new LinkedHashMap<>();
    try {
      Producer producer = c.producer(topic, null);
      detail.put("messageId", producer.send(c.message(topic, 0).build()).getMessageId().toString());
    } catch (ClientException | RuntimeException e) {
      detail.put("rejectedWith", Conformance.describe(e));
      return detail;
    }
    throw new Conformance.CaseFailure("a client with access key " + a.get("ak", "") + " was allowed to send", detail);
  }
}
