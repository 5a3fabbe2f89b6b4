package mqdrill.driver;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One consumer segment: `vus` clients (receive loops or push consumers) from the scenario's start until the engine
 * says the drain is over. Every delivery is written (`rm`), processed (processing time from the plan), then acked or
 * failed: poison fails every attempt, failureShare fails transiently (idShare of id and attempt, as the other drivers
 * decide it); a failure on attempt >= maxAttempts counts as dead-lettered. crashAfter drops a receiving client
 * without acking what it holds.
 */
public final class Consumer {
  private final Plan.ConsumerBehaviour b;
  private final int vus;
  private final String driverId;
  private final boolean orderly;
  private final Rand random;
  private final Metrics metrics;
  private final Ledger ledger;
  private final Map<String, String> tags;
  private final Driver.Log log;
  private final ConsumerClient.Family family;
  /** Ids that failed on their last attempt: the dead-letter scan is complete once each was seen in the DLQ. */
  private final java.util.Set<String> deadLettered = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean stopping;
  private CountDownLatch loops;
  /** Each VU's current client, asked whether it holds a queue yet (see awaitReady). */
  private final Map<Integer, java.util.function.BooleanSupplier> clients =
      new java.util.concurrent.ConcurrentHashMap<>();

  public Consumer(Plan.EngineMessage plan, int vus, Metrics metrics, Ledger ledger, Driver.Log log,
      ConsumerClient.Family family) {
    this.b = plan.scenario.consumer;
    this.vus = vus;
    this.driverId = plan.driverId;
    this.orderly = plan.isFifo(b.topic);
    this.random = new Rand((long) plan.seed);
    this.metrics = metrics;
    this.ledger = ledger;
    this.log = log;
    this.family = family;
    this.tags = Map.of("scenario", plan.scenario.name, "topic", b.topic, "group", b.group);
  }

  public boolean orderly() {
    return orderly;
  }

  /**
   * Why receive-style consumption cannot serve this behaviour with this family (null: it can). Failing deliveries need
   * a nack; a filter needs the group's offset moved past the messages it filters out, or its backlog never drains.
   */
  static String simpleUnfit(Plan.ConsumerBehaviour b, ConsumerClient.Family family) {
    boolean fails = b.failureShare > 0 || b.poison.share > 0 || !b.poison.tags.isEmpty() || b.maxAttempts != null;
    if (fails && !family.simpleCanNack()) {
      return "failing deliveries need broker retries, which the remoting DefaultLitePullConsumer lacks";
    }
    boolean filtered = b.filter != null && ("SQL92".equals(b.filter.type)
        || b.filter.expression != null && !b.filter.expression.isBlank() && !"*".equals(b.filter.expression.trim()));
    if (filtered && !family.simpleCommitsPastFiltered()) {
      return "the remoting DefaultLitePullConsumer commits only past the messages it polled, never past those its "
          + "filter skips, so the group's backlog would not drain";
    }
    return null;
  }

  public void start() {
    String unfit = "push".equals(b.kind) ? null : simpleUnfit(b, family);
    boolean push = "push".equals(b.kind) || unfit != null;
    if (unfit != null) {
      log.log("info", "consumer " + b.group + ": " + unfit + ": consuming with DefaultMQPushConsumer");
    }
    loops = new CountDownLatch(vus);
    for (int vu = 0; vu < vus; vu++) {
      int id = vu;
      Thread t = new Thread(() -> {
        try {
          if (push) pushLoop(id);
          else simpleLoop(id);
        } catch (RuntimeException e) {
          log.log("error", "consumer " + clientId(id, 0) + " stopped: " + Outcomes.text(e));
        } finally {
          loops.countDown();
        }
      }, "consumer-" + vu);
      t.setDaemon(true);
      t.start();
    }
  }

  /**
   * Waits at most timeoutMs until every VU's client has started and one holds a queue of the topic (remoting: its
   * first rebalance is done). Until then the consumer looks idle without being so: a lite pull poll answers nothing
   * and a push consumer gets nothing, and a drain that counts from then ends before the clients consumed anything
   * (a remoting JVM took 10 s to start its consumer on a loaded machine, and each drain round restarted it).
   */
  public boolean awaitReady(long timeoutMs) {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    while (!stopping) {
      if (clients.size() >= vus
          && clients.values().stream().anyMatch(java.util.function.BooleanSupplier::getAsBoolean)) {
        return true;
      }
      if (System.nanoTime() >= deadline) return false;
      sleep(100);
    }
    return false;
  }

  /** Stops receiving; returns once every client is closed (bounded). */
  public void stop() throws InterruptedException {
    stopping = true;
    if (loops != null && !loops.await(60, TimeUnit.SECONDS)) log.log("warn", "consumers did not close within 60 s");
  }

  public int activeClients() {
    return stopping ? 0 : vus;
  }

  private String clientId(int vu, int generation) {
    return driverId + "-c" + vu + (generation > 0 ? "." + generation : "");
  }

  private static void sleep(double ms) {
    try {
      Thread.sleep(Math.max(0, (long) ms));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private ConsumerClient.Simple connectSimple(int vu, int generation) {
    while (!stopping) {
      try {
        return family.startSimple(b, clientId(vu, generation), orderly, b.group, b.topic);
      } catch (Exception e) {
        log.log("warn", "consumer " + clientId(vu, generation) + " failed to start: " + Outcomes.text(e));
        countReceiveCall("fail");
        sleep(1000);
      }
    }
    return null;
  }

  private void simpleLoop(int vu) {
    int generation = 0;
    int sinceStart = 0;
    ConsumerClient.Simple client = null;
    while (!stopping) {
      if (client == null) {
        if ((client = connectSimple(vu, generation)) == null) return;
        clients.put(vu, client::hasQueues);
      }
      String id = clientId(vu, generation);
      List<Msg.Delivery> batch = receiveBatch(client, id);
      if (batch == null) continue;
      for (Msg.Delivery m : batch) {
        sinceStart++;
        if (b.crashAfterMessages != null && sinceStart > b.crashAfterMessages) {
          // Crash: the rest of the batch is never acked and comes back (gRPC: after the invisible duration;
          // remoting: from the last committed offset, to whichever client owns the queue next).
          metrics.count("consumer_crashes", tags, 1);
          ConsumerClient.Simple dead = client;
          Thread closer = new Thread(dead::close, "crash-close");
          closer.setDaemon(true);
          closer.start();
          client = null;
          sinceStart = 0;
          generation++;
          sleep(b.restartDelayMs);
          break;
        }
        boolean ok = process(m);
        settle(client, m, id, ok);
      }
    }
    if (client != null) client.close();
  }

  private List<Msg.Delivery> receiveBatch(ConsumerClient.Simple client, String id) {
    long o = Ledger.nextOp(ledger);
    Ledger.write(ledger, new Rec("ri", Driver.wallMs()).num("o", o).str("cg", b.group).str("c", id));
    long t0 = System.nanoTime();
    List<Msg.Delivery> batch;
    try {
      batch = client.receive(Math.max(1, b.receiveBatchSize), (long) b.invisibleDurationMs, (long) b.awaitDurationMs);
    } catch (Exception e) {
      Ledger.write(ledger, new Rec("rc", Driver.wallMs()).num("o", o).str("r", "unknown")
          .num("d", (System.nanoTime() - t0) / 1e6).str("e", Outcomes.text(e)));
      countReceiveCall("fail");
      if (!stopping) sleep(200);
      return null;
    }
    countReceiveCall("ok");
    for (Msg.Delivery m : batch) recordDelivery(m, id, o);
    Ledger.write(ledger, new Rec("rc", Driver.wallMs()).num("o", o).str("r", "ok")
        .num("d", (System.nanoTime() - t0) / 1e6).num("n", batch.size()));
    return batch;
  }

  private void pushLoop(int vu) {
    String id = clientId(vu, 0);
    ConsumerClient.Listener listener = m -> {
      recordDelivery(m, id, 0);
      boolean ok = process(m);
      recordSettle(m, id, ok, 0, "ok", 0, null);
      return ok;
    };
    ConsumerClient.Push client = null;
    while (client == null && !stopping) {
      try {
        client = family.startPush(b, id, orderly, listener);
        clients.put(vu, client::hasQueues);
      } catch (Exception e) {
        log.log("warn", "push consumer " + id + " failed to start: " + Outcomes.text(e));
        sleep(1000);
      }
    }
    while (!stopping) sleep(100);
    if (client != null) {
      try {
        client.close();
      } catch (Exception e) {
        log.log("warn", "push consumer " + id + " close: " + Outcomes.text(e));
      }
    }
  }

  /**
   * Counts a receive call (or a failed client start) by result: the engine's drain is idle only when the broker
   * answered receives with nothing, not while they fail.
   */
  private void countReceiveCall(String result) {
    Map<String, String> t = new java.util.HashMap<>(tags);
    t.put("result", result);
    metrics.count("receive_calls", t, 1);
  }

  /** `rm` (o = 0: a push delivery, no receive operation) and the delivery metrics. */
  void recordDelivery(Msg.Delivery m, String clientId, long o) {
    double now = Driver.wallMs();
    Map<String, String> props = m.properties();
    if (ledger != null) {
      Rec r = new Rec("rm", now).str("cg", b.group).str("c", clientId);
      if (props.containsKey(Msg.ID)) r.str("id", props.get(Msg.ID));
      r.str("bid", m.bid()).str("tp", m.topic()).num("a", m.attempt()).strIf("tg", m.tag()).strIf("g", m.group());
      try {
        r.num("q", Double.parseDouble(props.getOrDefault(Msg.SEQ, "")));
      } catch (NumberFormatException e) {
        // no sequence: not a harness message
      }
      if (o != 0) r.num("o", o);
      Ledger.write(ledger, r);
    }
    metrics.count("messages_received", tags, 1);
    if (m.attempt() > 1) {
      metrics.count("messages_redelivered", tags, 1);
      return;
    }
    try {
      double from = Double.parseDouble(props.getOrDefault(Msg.SENT_MS, ""));
      if (m.deliveryTsMs() != null) from = Math.max(from, m.deliveryTsMs());
      metrics.trend("e2e_latency", now - from, tags);
    } catch (NumberFormatException e) {
      // not sent by the harness
    }
  }

  /** Simulates the work on one delivery; true is a success. */
  boolean process(Msg.Delivery m) {
    double processMs = random.sample(b.processingTimeMs);
    if (processMs > 0) sleep(processMs);
    metrics.trend("process_duration", processMs, tags);
    return succeeds(b, m);
  }

  /** Poison fails every attempt; failureShare fails a delivery by idShare of id and attempt. */
  static boolean succeeds(Plan.ConsumerBehaviour b, Msg.Delivery m) {
    String id = m.harnessId();
    boolean poison = "1".equals(m.properties().get(Msg.POISON))
        || (b.poison.share > 0 && Rand.idShare(id, "poison") < b.poison.share)
        || (m.tag() != null && b.poison.tags.contains(m.tag()));
    if (poison) return false;
    return !(b.failureShare > 0 && Rand.idShare(id, "fail:" + m.attempt()) < b.failureShare);
  }

  private void settle(ConsumerClient.Simple client, Msg.Delivery m, String clientId, boolean ok) {
    String id = m.harnessId();
    long o = Ledger.nextOp(ledger);
    Rec r = new Rec(ok ? "ai" : "ni", Driver.wallMs()).num("o", o).str("cg", b.group).str("c", clientId).str("id", id);
    Ledger.write(ledger, ok ? r.str("bid", m.bid()) : r.num("iv", b.retryDelayMs));
    long t0 = System.nanoTime();
    Throwable err = null;
    try {
      if (ok) client.ack(m);
      else client.nack(m, (long) Math.max(1000, b.retryDelayMs));
    } catch (Exception e) {
      err = e;
    }
    recordSettle(m, clientId, ok, (System.nanoTime() - t0) / 1e6, err == null ? "ok" : "unknown", o,
        err == null ? null : Outcomes.text(err));
  }

  /** The completion (push: both records, o = 0 asks for a fresh operation) and the metrics. */
  void recordSettle(Msg.Delivery m, String clientId, boolean ok, double durationMs, String outcome, long o,
      String errText) {
    String id = m.harnessId();
    if (ledger != null) {
      if (o == 0) {
        o = Ledger.nextOp(ledger);
        Rec r = new Rec(ok ? "ai" : "ni", Driver.wallMs()).num("o", o).str("cg", b.group).str("c", clientId)
            .str("id", id);
        Ledger.write(ledger, ok ? r.str("bid", m.bid()) : r);
      }
      Ledger.write(ledger, new Rec(ok ? "ac" : "nc", Driver.wallMs()).num("o", o).str("id", id).str("r", outcome)
          .num("d", durationMs).strIf("e", errText));
    }
    if (ok) {
      metrics.count("messages_consumed", tags, 1);
      return;
    }
    metrics.count("messages_nacked", tags, 1);
    if (b.maxAttempts != null && m.attempt() >= b.maxAttempts) {
      metrics.count("messages_dead_lettered", tags, 1);
      deadLettered.add(id);
    }
  }

  /**
   * Reads %DLQ%group to the end with the scan group, one `dlq` record per message between `dlq-scan` phase markers;
   * the end marker says whether the scan completed within timeLimitMs: two empty receives in a row after every
   * message that failed its last attempt was seen. RocketMQ's gRPC proxy moves a message to the DLQ only when a
   * consumer of the group polls it after its last attempt, so (gRPC) one consumer of the group keeps polling, and
   * failing what it must, during the scan; the remoting client sends it back to the DLQ itself.
   */
  public int scanDeadLetters(String scanGroup, long timeLimitMs) {
    Ledger.write(ledger, new Rec("ph", Driver.wallMs()).str("n", "dlq-scan").str("s", "start"));
    boolean complete = false;
    int found = 0;
    java.util.Set<String> seen = new java.util.HashSet<>();
    ConsumerClient.Simple client = null;
    ConsumerClient.Simple own = null;
    try {
      long deadline = System.nanoTime() + timeLimitMs * 1_000_000;
      if (b.maxAttempts != null && family.simpleCanNack()) {
        own = family.startSimple(b, driverId + "-dlq-wait", orderly, b.group, b.topic);
      }
      // The DLQ topic appears with its first dead letter, and its route can take a while to be served.
      while (client == null) {
        try {
          client = family.startSimple(b, driverId + "-dlq", false, scanGroup, "%DLQ%" + b.group);
        } catch (Exception e) {
          if (System.nanoTime() > deadline) throw e;
          pollGroup(own);
          sleep(1000);
        }
      }
      int empty = 0;
      while (System.nanoTime() < deadline) {
        ConsumerClient.Simple waiting = own;
        var late = java.util.concurrent.CompletableFuture.supplyAsync(() -> pollGroup(waiting));
        List<Msg.Delivery> batch = receiveQuietly(client, 32, 30_000, 1000);
        int lateCount = late.join();
        if (batch.isEmpty() && lateCount == 0) {
          if (++empty >= 2 && seen.containsAll(deadLettered)) {
            complete = true;
            break;
          }
          continue;
        }
        empty = 0;
        for (Msg.Delivery m : batch) {
          Rec r = new Rec("dlq", Driver.wallMs()).str("cg", b.group);
          if (m.properties().containsKey(Msg.ID)) r.str("id", m.properties().get(Msg.ID));
          Ledger.write(ledger, r.str("bid", m.bid()));
          seen.add(m.harnessId());
          try {
            client.ack(m);
          } catch (Exception e) {
            // the scan group's progress only
          }
          found++;
        }
      }
    } catch (Exception e) {
      log.log("warn", "DLQ scan of %DLQ%" + b.group + " failed: " + Outcomes.text(e));
    } finally {
      if (client != null) client.close();
      if (own != null) own.close();
      Ledger.write(ledger, new Rec("ph", Driver.wallMs()).str("n", "dlq-scan").str("s", "end").bool("ok", complete));
    }
    return found;
  }

  private static List<Msg.Delivery> receiveQuietly(ConsumerClient.Simple c, int batch, long invisibleMs, long await) {
    try {
      return c.receive(batch, invisibleMs, await);
    } catch (Exception e) {
      return List.of();
    }
  }

  /** One receive of the group's own consumer during the DLQ scan, each delivery processed and settled; how many. */
  private int pollGroup(ConsumerClient.Simple own) {
    if (own == null) return 0;
    String id = driverId + "-dlq-wait";
    List<Msg.Delivery> late = receiveQuietly(own, Math.max(1, b.receiveBatchSize), (long) b.invisibleDurationMs,
        (long) b.awaitDurationMs);
    for (Msg.Delivery m : late) {
      recordDelivery(m, id, 0);
      settle(own, m, id, process(m));
    }
    return late.size();
  }
}
