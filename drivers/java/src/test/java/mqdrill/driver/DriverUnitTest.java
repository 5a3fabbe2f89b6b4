package mqdrill.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.java.exception.InternalErrorException;
import org.apache.rocketmq.client.java.exception.TooManyRequestsException;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.remoting.exception.RemotingConnectException;
import org.apache.rocketmq.remoting.exception.RemotingSendRequestException;
import org.apache.rocketmq.remoting.exception.RemotingTimeoutException;
import org.junit.jupiter.api.Test;

/** Plan parsing, result mapping and the encodings shared with the other drivers; no broker. */
class DriverUnitTest {
  static final Path FIXTURES = Path.of("../go/internal/load/testdata/ts-fixture.json");

  static final String PLAN = "{\"type\":\"plan\",\"protocol\":1,\"driverId\":\"orders-0\",\"runId\":\"r1\","
      + "\"segment\":{\"index\":1,\"count\":2},\"target\":{\"endpoint\":\"127.0.0.1:8081\",\"tls\":false,"
      + "\"namespace\":\"\",\"namesrv\":\"127.0.0.1:9876\","
      + "\"remotingRoutes\":{\"127.0.0.1:10911\":\"127.0.0.1:4000\"}},"
      + "\"scenario\":{\"name\":\"orders\",\"role\":\"producer\",\"schedule\":{\"executor\":\"constant-arrival-rate\","
      + "\"startTimeMs\":0,\"gracefulStopMs\":1000,\"rate\":50,\"timeUnitMs\":1000,\"durationMs\":2000,"
      + "\"preAllocatedVUs\":4,\"maxVUs\":8},\"message\":{\"type\":\"FIFO\",\"topic\":\"t\",\"tags\":[\"a\",\"b\"],"
      + "\"keys\":{\"count\":10,\"distribution\":\"zipf\",\"exponent\":1.1,\"prefix\":\"k-\"},"
      + "\"bodySizeBytes\":{\"distribution\":\"fixed\",\"value\":100},\"properties\":{},\"sendTimeoutMs\":3000,"
      + "\"poisonShare\":0},\"tags\":{},\"workers\":2},\"idPrefix\":\"p\",\"seed\":42,\"ledgerPath\":null,"
      + "\"metricsIntervalMs\":1000,\"fifoTopics\":[\"t\"],\"unknownField\":{\"x\":1}}";

  @Test
  void parsesAPlanWithTheRemotingEndpointAndIgnoresUnknownFields() {
    Plan.EngineMessage m = Protocol.decode(PLAN);
    assertEquals("plan", m.type);
    assertEquals("orders-0", m.driverId);
    assertEquals(1, m.segment.index);
    assertEquals("127.0.0.1:9876", m.target.namesrv);
    assertEquals("127.0.0.1:4000", m.target.remotingRoutes.get("127.0.0.1:10911"));
    assertEquals("FIFO", m.scenario.message.type);
    assertEquals(1.1, m.scenario.message.keys.exponent);
    assertEquals(50, m.scenario.schedule.rate);
    assertNull(m.ledgerPath);
    assertEquals(List.of("t"), m.fifoTopics);
  }

  @Test
  void refusesOtherProtocolsAndNonEngineMessages() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Protocol.decode(PLAN.replace("\"protocol\":1", "\"protocol\":2")));
    assertTrue(e.getMessage().contains("plan protocol 2"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Protocol.decode("{\"type\":\"ready\"}"));
    assertThrows(IllegalArgumentException.class, () -> Protocol.decode("not json"));
    assertEquals("stop", Protocol.decode("{\"type\":\"stop\",\"reason\":\"drain over\"}").type);
  }

  @Test
  void plansFifoMessagesWithPerKeySequencesInTheSegmentsKeys() {
    Plan.EngineMessage m = Protocol.decode(PLAN);
    Planner planner = new Planner(m.scenario.message, "p", m.segment, new Rand(7));
    Map<String, Integer> last = new java.util.HashMap<>();
    for (int i = 1; i <= 200; i++) {
      Planner.Planned p = planner.next();
      assertEquals("p-" + i, p.id());
      int k = Integer.parseInt(p.key().substring(2));
      assertEquals(1, k % 2, "segment 1 of 2 owns the odd keys, got " + p.key());
      assertEquals(last.getOrDefault(p.key(), 0) + 1, p.seq());
      last.put(p.key(), p.seq());
      assertEquals(100, p.bodySizeBytes());
      assertTrue(List.of("a", "b").contains(p.tag()));
    }
  }

  @Test
  void mapsRemotingResultsOntoOkFailUnknown() {
    assertEquals("ok", Outcomes.classify(null));
    assertEquals("unknown", Outcomes.classify(new RemotingTimeoutException("127.0.0.1:1", 3000)));
    assertEquals("unknown", Outcomes.classify(new Outcomes.Timeout("no answer")));
    assertEquals("unknown", Outcomes.classify(new TimeoutException()));
    assertEquals("fail", Outcomes.classify(new MQBrokerException(2, "system busy")));
    assertEquals("fail", Outcomes.classify(new RemotingConnectException("127.0.0.1:1")));
    assertEquals("unknown", Outcomes.classify(new RemotingSendRequestException("127.0.0.1:1")));
    assertEquals("fail", Outcomes.classify(new MQClientException("No route info of this topic: t", null)));
    // After retries the application sees only the last attempt: an earlier one may have stored the message.
    assertEquals("unknown", Outcomes.classify(new MQClientException(
        "Send [3] times, still failed, cost [10]ms, Topic: t", new RemotingConnectException("127.0.0.1:1"))));
    assertEquals("fail", Outcomes.classify(new MQClientException(
        "Send [1] times, still failed, cost [10]ms, Topic: t", new MQBrokerException(16, "no permission"))));
    assertEquals("unknown", Outcomes.classify(new MQClientException("x", new RemotingTimeoutException("a"))));
    assertEquals("unknown", Outcomes.classify(new RemotingFamily.NotFlushed(
        org.apache.rocketmq.client.producer.SendStatus.FLUSH_DISK_TIMEOUT)));
  }

  @Test
  void mapsGrpcResultsOntoOkFailUnknown() {
    assertEquals("fail", Outcomes.classify(new TooManyRequestsException(42900, "req", "throttled")));
    assertEquals("unknown", Outcomes.classify(new InternalErrorException(50001, "req", "internal")));
    assertEquals("unknown", Outcomes.classify(new org.apache.rocketmq.client.apis.ClientException("io")));
  }

  @Test
  void idSharesAndHistogramsMatchTheTypeScriptFixture() throws Exception {
    JsonObject fixture = JsonParser.parseString(Files.readString(FIXTURES)).getAsJsonObject();
    for (var s : fixture.getAsJsonArray("shares")) {
      JsonObject o = s.getAsJsonObject();
      assertEquals(o.get("share").getAsDouble(), Rand.idShare(o.get("id").getAsString(), o.get("salt").getAsString()));
    }
    Histogram decoded = decode(fixture.get("histogram").getAsString());
    assertEquals(fixture.get("count").getAsLong(), decoded.getTotalCount());
    assertEquals(fixture.get("p50").getAsLong(), decoded.getValueAtPercentile(50));
    Metrics metrics = new Metrics();
    for (int v = 1; v <= 10_000; v++) metrics.trend("send_duration", v / 10.0, Map.of("scenario", "s"));
    Metrics.SeriesDelta d = metrics.takeDelta().series.get(0);
    assertTrue(d.hdr.startsWith("HISTFAA"), d.hdr);
    Histogram mine = decode(d.hdr);
    assertEquals(10_000, mine.getTotalCount());
    assertEquals(fixture.get("p50").getAsLong(), mine.getValueAtPercentile(50));
    assertEquals(10_000L, d.count);
    assertTrue(metrics.takeDelta().series.isEmpty(), "a delta starts afresh");
  }

  static Histogram decode(String base64) throws DataFormatException {
    return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(base64)), 0);
  }

  @Test
  void ledgerRecordsAreJsonWithShortestNumbers() {
    Rec r = new Rec("si", 1700000000123.5).num("o", 3).str("id", "a\"b\n").num("it", 12.0).bool("ok", true)
        .strMap("pr", Map.of("b", "2", "a", "1"));
    JsonObject o = JsonParser.parseString(r.toString()).getAsJsonObject();
    assertEquals("si", o.get("t").getAsString());
    assertEquals(1700000000123.5, o.get("ts").getAsDouble());
    assertEquals("a\"b\n", o.get("id").getAsString());
    assertTrue(r.toString().contains("\"it\":12,"), r.toString());
    assertTrue(r.toString().endsWith("\"pr\":{\"a\":\"1\",\"b\":\"2\"}}"), r.toString());
  }

  @Test
  void rewritesRouteAddressesToTheirProxiesOnly() {
    byte[] body = "{\"brokerDatas\":[{\"brokerAddrs\":{0:\"127.0.0.1:10911\"},\"x\":\"127.0.0.1:109111\"}]}"
        .getBytes(StandardCharsets.UTF_8);
    String out = new String(RouteRewrite.rewrite(body, Map.of("127.0.0.1:10911", "127.0.0.1:4000")),
        StandardCharsets.UTF_8);
    assertTrue(out.contains("{0:\"127.0.0.1:4000\"}"), out);
    assertTrue(out.contains("\"127.0.0.1:109111\""), out);
  }

  @Test
  void failedDeliveriesRetryAtTheSmallestDelayLevelCoveringTheRetryDelay() {
    assertEquals(1, RemotingFamily.delayLevelFor(500));
    assertEquals(1, RemotingFamily.delayLevelFor(1000));
    assertEquals(2, RemotingFamily.delayLevelFor(1001));
    assertEquals(18, RemotingFamily.delayLevelFor(1e9));
  }

  @Test
  void poisonFailsEveryAttemptAndFailureShareFailsByIdAndAttempt() {
    Plan.ConsumerBehaviour b = new Plan.ConsumerBehaviour();
    Msg.Delivery poison = new Msg.Delivery("bid", "t", 5, null, null, Map.of(Msg.ID, "x", Msg.POISON, "1"), null,
        null);
    assertFalse(Consumer.succeeds(b, poison));
    b.failureShare = 0.5;
    int failed = 0;
    for (int i = 0; i < 1000; i++) {
      Msg.Delivery d = new Msg.Delivery("bid", "t", 1, null, null, Map.of(Msg.ID, "id-" + i), null, null);
      if (!Consumer.succeeds(b, d)) failed++;
      assertEquals(Consumer.succeeds(b, d), Rand.idShare("id-" + i, "fail:1") >= 0.5);
    }
    assertTrue(failed > 400 && failed < 600, "failed " + failed);
  }

  @Test
  void anArrivalRateExecutorStartsEveryArrivalOnceAndCountsDrops() throws Exception {
    Plan.Schedule s = new Plan.Schedule();
    s.executor = "constant-arrival-rate";
    s.rate = 200;
    s.timeUnitMs = 1000;
    s.durationMs = 100;
    s.preAllocatedVUs = 1;
    s.maxVUs = 1;
    s.gracefulStopMs = 5000;
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    Executors.Executor e = Executors.start(s, it -> release.await(10, java.util.concurrent.TimeUnit.SECONDS));
    // Released only once every arrival was started or dropped: no timing in the assertion.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (e.progress().startedIterations + e.progress().droppedIterations < 20 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    release.countDown();
    assertTrue(e.awaitDone(10_000));
    Executors.Result r = e.result();
    // 20 arrivals in 100 ms at 200/s; one VU held by the first: the other 19 are dropped.
    assertEquals(1, r.startedIterations);
    assertEquals(19, r.droppedIterations);
    assertEquals(1, r.completedIterations);
  }

  @Test
  void asyncCallsMapOntoOutcomes() throws Exception {
    assertEquals("id", Outcomes.await(java.util.concurrent.CompletableFuture.completedFuture("id"), 10));
    java.util.concurrent.CompletableFuture<String> refused = new java.util.concurrent.CompletableFuture<>();
    refused.completeExceptionally(new MQBrokerException(14, "refused"));
    Exception e = assertThrows(Exception.class, () -> Outcomes.await(refused, 10));
    assertEquals("fail", Outcomes.classify(e));
    Exception late = assertThrows(Exception.class,
        () -> Outcomes.await(new java.util.concurrent.CompletableFuture<String>(), 1));
    assertTrue(late instanceof Outcomes.Timeout);
    assertEquals("unknown", Outcomes.classify(late));
  }

  @Test
  void transactionDecisionsMapThroughOutcomesForBothFamilies() {
    assertEquals("c", Outcomes.decision("commit", "c", "r", "u"));
    assertEquals("r", Outcomes.decision("rollback", "c", "r", "u"));
    assertEquals("u", Outcomes.decision("unknown", "c", "r", "u"));
    assertEquals("u", Outcomes.decision(null, "c", "r", "u"));
    assertEquals("u", Outcomes.decision("COMMIT", "c", "r", "u"));
    // Each family passes its client's own constants to that one mapping.
    for (String d : new String[] {"commit", "rollback", "unknown", null}) {
      assertEquals(Outcomes.decision(d, TransactionResolution.COMMIT, TransactionResolution.ROLLBACK,
          TransactionResolution.UNKNOWN), GrpcFamily.resolution(d));
      assertEquals(Outcomes.decision(d, LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.ROLLBACK_MESSAGE,
          LocalTransactionState.UNKNOW), RemotingFamily.state(d));
    }
  }

  /** How a test family starts a push consumer. */
  interface PushStarter {
    ConsumerClient.Push start(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
        ConsumerClient.Listener listener);
  }

  static ConsumerClient.Family family(boolean canNack, boolean pastFiltered) {
    return family(canNack, pastFiltered, (b, clientId, orderly, listener) -> {
      throw new UnsupportedOperationException();
    });
  }

  static ConsumerClient.Family family(boolean canNack, boolean pastFiltered, PushStarter push) {
    return new ConsumerClient.Family() {
      @Override
      public boolean simpleCanNack() {
        return canNack;
      }

      @Override
      public boolean simpleCommitsPastFiltered() {
        return pastFiltered;
      }

      @Override
      public ConsumerClient.Simple startSimple(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          String group, String topic) {
        throw new UnsupportedOperationException();
      }

      @Override
      public ConsumerClient.Push startPush(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          ConsumerClient.Listener listener) {
        return push.start(b, clientId, orderly, listener);
      }
    };
  }

  @Test
  void aConsumerIsReadyOnlyOnceEachClientStartedAndOneHoldsAQueue() throws Exception {
    Plan.EngineMessage plan = Protocol.decode("{\"type\":\"plan\",\"protocol\":1,\"driverId\":\"audit-0\","
        + "\"scenario\":{\"name\":\"audit\",\"role\":\"consumer\",\"consumer\":{\"group\":\"g\","
        + "\"topic\":\"t\",\"kind\":\"push\"}},\"seed\":1}");
    java.util.concurrent.atomic.AtomicBoolean assigned = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(2);
    ConsumerClient.Family slow = family(true, true, (b, clientId, orderly, listener) -> {
      started.countDown();
      return new ConsumerClient.Push() {
        @Override
        public boolean hasQueues() {
          return assigned.get();
        }

        @Override
        public void close() {}
      };
    });
    Consumer c = new Consumer(plan, 2, new Metrics(), null, (level, message) -> {}, slow);
    c.start();
    assertTrue(started.await(10, java.util.concurrent.TimeUnit.SECONDS));
    // Started, but no rebalance has given a queue yet: a drain counting from now would see idle clients.
    assertFalse(c.awaitReady(300));
    assigned.set(true);
    assertTrue(c.awaitReady(10_000));
    c.stop();
  }

  @Test
  void simpleConsumersThatTheLitePullApiCannotServeArePushConsumersUnderRemoting() {
    ConsumerClient.Family remoting = family(false, false);
    ConsumerClient.Family grpc = family(true, true);
    Plan.ConsumerBehaviour plain = new Plan.ConsumerBehaviour();
    assertNull(Consumer.simpleUnfit(plain, remoting));
    Plan.ConsumerBehaviour tagged = new Plan.ConsumerBehaviour();
    tagged.filter.expression = "login || admin";
    assertTrue(Consumer.simpleUnfit(tagged, remoting).contains("filter skips"));
    assertNull(Consumer.simpleUnfit(tagged, grpc));
    Plan.ConsumerBehaviour sql = new Plan.ConsumerBehaviour();
    sql.filter.type = "SQL92";
    sql.filter.expression = "region = 'eu'";
    assertTrue(Consumer.simpleUnfit(sql, remoting).contains("filter skips"));
    Plan.ConsumerBehaviour failing = new Plan.ConsumerBehaviour();
    failing.failureShare = 0.1;
    assertTrue(Consumer.simpleUnfit(failing, remoting).contains("broker retries"));
    assertNull(Consumer.simpleUnfit(failing, grpc));
  }
}
