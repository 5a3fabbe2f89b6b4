package mqdrill.driver;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One producer segment: plan a message, write `si`, send within the send timeout, write `sc`, and for transactions
 * end them as planned (`ei`/`ec`) or leave them to the check-back (`tk`). FIFO messages of one group go out one after
 * another (send n+1 after send n completed), as an ordered producer must; concurrency comes from many groups.
 */
public final class Producer implements Executors.Hooks, ProducerClient.CheckBack {
  private static final int BODY_POOL = 1 << 20;
  private final Plan.MessageSpec spec;
  private final Planner planner;
  private final Metrics metrics;
  private final Ledger ledger;
  private final Map<String, String> tags;
  private final byte[] bodyPool = new byte[BODY_POOL];
  private final Map<String, String> decisions = new ConcurrentHashMap<>();
  private final Map<String, CountDownLatch> groupTail = new HashMap<>();
  /**
   * Transactions whose half message was stored and that were left open as planned (no end call): the broker checks
   * each back. An end call whose outcome is unknown (a timeout, the remoting one-way end) is not awaited: it may have
   * reached the broker, and then no check-back comes (one that comes is answered all the same).
   */
  private final Set<String> awaitingCheckBack = new HashSet<>();
  /** Ids the broker checked back (a check-back can come before an end call that timed out returns). */
  private final Set<String> checkedBack = new HashSet<>();
  private ProducerClient client;

  public Producer(Plan.EngineMessage plan, Metrics metrics, Ledger ledger) {
    this.spec = plan.scenario.message;
    this.planner = new Planner(spec, plan.idPrefix, plan.segment, new Rand((long) plan.seed));
    this.metrics = metrics;
    this.ledger = ledger;
    this.tags = Map.of("scenario", plan.scenario.name, "topic", spec.topic);
    SplittableRandom fill = new SplittableRandom((long) plan.seed * 7919);
    for (int i = 0; i < bodyPool.length; i++) bodyPool[i] = (byte) fill.nextInt(256);
  }

  public void attach(ProducerClient c) {
    this.client = c;
  }

  public void close() {
    if (client != null) client.close();
  }

  /** Whether this producer sends transactions, whose check-backs only a live producer of its group answers. */
  public boolean answersCheckBacks() {
    return "TRANSACTION".equals(spec.type);
  }

  /** Waits at most timeoutMs until every transaction the broker will check back was answered; how many were not. */
  public int awaitCheckBacks(long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    synchronized (awaitingCheckBack) {
      while (!awaitingCheckBack.isEmpty()) {
        long leftMs = (deadline - System.nanoTime()) / 1_000_000;
        if (leftMs <= 0) break;
        awaitingCheckBack.wait(leftMs);
      }
      return awaitingCheckBack.size();
    }
  }

  /** The engine's drain waits until as many were checked back as awaited one (both counters). */
  private void expectCheckBack(String id) {
    synchronized (awaitingCheckBack) {
      if (checkedBack.contains(id) || !awaitingCheckBack.add(id)) return;
    }
    metrics.count("transactions_awaiting_check_back", tags, 1);
  }

  /** The check-back: the planned decision when the end did not get through, commit for ids it does not know. */
  @Override
  public String decide(String id) {
    String decision = "rollback".equals(decisions.get(id)) ? "rollback" : "commit";
    if (id != null && ledger != null) {
      // After the ledger closed the answer could not be recorded: leave the transaction undecided.
      if (!Ledger.write(ledger, new Rec("tk", Driver.wallMs()).str("id", id).str("x", decision))) return "unknown";
    }
    if (id != null) {
      boolean awaited;
      synchronized (awaitingCheckBack) {
        checkedBack.add(id);
        awaited = awaitingCheckBack.remove(id);
        awaitingCheckBack.notifyAll();
      }
      if (awaited) metrics.count("transactions_checked_back", tags, 1);
    }
    return decision;
  }

  private record Queued(Planner.Planned m, Runnable done) {}

  private Queued nextInGroupOrder() throws InterruptedException {
    if (!"FIFO".equals(spec.type)) return new Queued(planner.next(), () -> {});
    CountDownLatch mine = new CountDownLatch(1);
    Planner.Planned m;
    CountDownLatch previous;
    synchronized (groupTail) {
      m = planner.next();
      previous = groupTail.put(m.key(), mine);
    }
    // Bounded: the send before this one has its own send timeout.
    if (previous != null) previous.await((long) spec.sendTimeoutMs * 3 + 5000, TimeUnit.MILLISECONDS);
    String key = m.key();
    return new Queued(m, () -> {
      synchronized (groupTail) {
        groupTail.remove(key, mine);
      }
      mine.countDown();
    });
  }

  private Msg.Outgoing outgoing(Planner.Planned m, long sentWallMs) {
    byte[] body = new byte[m.bodySizeBytes()];
    if (m.bodySizeBytes() <= BODY_POOL) {
      int start = m.bodySizeBytes() < BODY_POOL ? (int) (((long) m.seq() * 7919) % (BODY_POOL - m.bodySizeBytes())) : 0;
      System.arraycopy(bodyPool, start, body, 0, m.bodySizeBytes());
    }
    Map<String, String> props = new HashMap<>(spec.properties == null ? Map.of() : spec.properties);
    props.put(Msg.ID, m.id());
    props.put(Msg.KEY, m.key());
    props.put(Msg.SEQ, Integer.toString(m.seq()));
    props.put(Msg.SENT_MS, Long.toString(sentWallMs));
    if (m.poison()) props.put(Msg.POISON, "1");
    String group = "FIFO".equals(spec.type) ? m.key() : null;
    Long at = m.delayMs() == null ? null : sentWallMs + m.delayMs().longValue();
    return new Msg.Outgoing(m.id(), spec.topic, body, m.tag(), m.key(), group, at, props);
  }

  private void writeSendInvoke(long o, Planner.Planned m, double ts, double intended, Long at) {
    Rec r = new Rec("si", ts).num("o", o).str("id", m.id()).str("tp", spec.topic).num("q", m.seq()).str("k", m.key());
    if ("FIFO".equals(spec.type)) r.str("g", m.key());
    r.strIf("tg", m.tag());
    if (at != null) r.num("at", at);
    if (m.transaction() != null) r.num("tx", 1);
    if (m.poison()) r.num("po", 1);
    if (spec.properties != null && !spec.properties.isEmpty()) r.strMap("pr", spec.properties);
    Ledger.write(ledger, r.num("it", intended));
  }

  @Override
  public void onDropped(double intendedMs) {
    metrics.count("dropped_iterations", Map.of("scenario", tags.get("scenario")), 1);
  }

  @Override
  public void iterate(Executors.Iteration it) throws Exception {
    long queued = System.nanoTime();
    Queued q = nextInGroupOrder();
    try {
      send(it, q.m(), queued);
    } finally {
      q.done().run();
    }
  }

  private void send(Executors.Iteration it, Planner.Planned m, long queued) {
    long sentWallMs = System.currentTimeMillis();
    double ts = Driver.wallMs();
    Msg.Outgoing msg = outgoing(m, sentWallMs);
    double sendDelayMs = it.actualStartMs() - it.intendedStartMs() + (System.nanoTime() - queued) / 1e6;
    metrics.count("iterations", tags, 1);
    metrics.count("messages_sent", tags, 1);
    metrics.trend("send_delay", sendDelayMs, tags);
    long o = Ledger.nextOp(ledger);
    writeSendInvoke(o, m, ts, ts - sendDelayMs, msg.deliverAtMs());
    if (m.transaction() != null) decisions.put(m.id(), m.transaction());
    long timeout = (long) spec.sendTimeoutMs;
    long t0 = System.nanoTime();
    String bid = null;
    ProducerClient.Half half = null;
    Throwable err = null;
    try {
      if (m.transaction() != null) {
        half = client.sendHalf(msg, m.transaction(), timeout);
        bid = half.bid();
      } else {
        bid = client.send(msg, timeout);
      }
    } catch (Exception e) {
      err = e;
    }
    double durationMs = (System.nanoTime() - t0) / 1e6;
    String outcome = Outcomes.classify(err);
    Rec r = new Rec("sc", Driver.wallMs()).num("o", o).str("id", m.id()).str("r", outcome).num("d", durationMs)
        .strIf("bid", bid);
    if (err != null) r.str("e", Outcomes.text(err));
    Ledger.write(ledger, r);
    recordOutcome(outcome, durationMs);
    if (half != null && err == null) endTransaction(m, half, timeout);
  }

  private void recordOutcome(String outcome, double durationMs) {
    metrics.trend("send_duration", durationMs, tags);
    switch (outcome) {
      case "ok" -> metrics.count("messages_acked", tags, 1);
      case "fail" -> metrics.count("messages_failed", tags, 1);
      default -> metrics.count("messages_unknown", tags, 1);
    }
    metrics.rate("send_failed", !outcome.equals("ok"), tags);
  }

  /** `ei`/`ec` as planned; the `unknown` share is left to the check-back. */
  private void endTransaction(Planner.Planned m, ProducerClient.Half half, long timeout) {
    if ("unknown".equals(m.transaction())) {
      expectCheckBack(m.id());
      return;
    }
    long o = Ledger.nextOp(ledger);
    Ledger.write(ledger, new Rec("ei", Driver.wallMs()).num("o", o).str("id", m.id()).str("x", m.transaction()));
    long t0 = System.nanoTime();
    Throwable err = null;
    String outcome;
    if (half.endSent()) {
      outcome = "unknown";
      err = new IllegalStateException("the remoting API ends a transaction one way: no answer to know it by");
    } else {
      try {
        client.end(half, m.transaction(), timeout);
      } catch (Exception e) {
        err = e;
      }
      outcome = Outcomes.classify(err);
    }
    if (outcome.equals("ok")) decisions.remove(m.id());
    Rec r = new Rec("ec", Driver.wallMs()).num("o", o).str("id", m.id()).str("r", outcome)
        .num("d", (System.nanoTime() - t0) / 1e6);
    if (err != null) r.str("e", Outcomes.text(err));
    Ledger.write(ledger, r);
  }
}
