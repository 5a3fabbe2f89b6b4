package mqdrill.driver;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The driver side of the plan protocol: plan, start, stop and clock in; ready, metrics, done, error, log and clock
 * out (harness/load/driver/runtime.ts does the same for the node driver, drivers/go for the Go driver).
 */
public final class Driver {
  /** Bounds the dead-letter scan after the drain. */
  static final long DLQ_SCAN_LIMIT_MS = 60_000;
  /**
   * Bounds the wait, after the engine's stop, for check-backs of transactions left open (the engine waits 30 s for
   * done; RocketMQ checks half messages older than 6 s at each check interval).
   */
  static final long CHECK_BACK_WAIT_MS = 20_000;
  /** Bounds the wait, before ready, for a consumer's clients to start and hold their queues. */
  static final long CONSUMER_READY_MS = 20_000;
  /** Bounds the wait for the engine's clock reply before the ledger closes without a closing `ck`. */
  static final long CLOCK_REPLY_TIMEOUT_MS = 2_000;

  /** A log line for the engine. */
  public interface Log {
    void log(String level, String message);
  }

  /** A client family: remoting (4.x API) or grpc (5.x). */
  public interface Family {
    String clientName();

    ProducerClient producer(Plan.EngineMessage plan, ProducerClient.CheckBack checkBack) throws Exception;

    ConsumerClient.Family consumers(Plan.EngineMessage plan);
  }

  private final PrintStream out;
  private final Family family;
  private String id;
  private Plan.EngineMessage plan;
  private Ledger ledger;
  private final Metrics metrics = new Metrics();
  private Producer producer;
  private Consumer consumer;
  private Executors.Executor executor;
  private long clockSeq;
  private final Map<Long, CountDownLatch> clockWaiters = new ConcurrentHashMap<>();
  private volatile boolean stopped;
  private final CountDownLatch finished = new CountDownLatch(1);
  /** The engine's stop, awaited by a transaction producer whose schedule is over. */
  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private boolean finishing;
  private Thread metricsThread;

  public Driver(String id, PrintStream out, Family family) {
    this.id = id;
    this.out = out;
    this.family = family;
  }

  static double wallMs() {
    return System.currentTimeMillis() + (System.nanoTime() / 1000 % 1000) / 1000.0;
  }

  void send(Object message) {
    String line = Protocol.encode(message);
    synchronized (out) {
      out.print(line);
      out.flush();
    }
  }

  void log(String level, String message) {
    send(Map.of("type", "log", "driverId", id, "level", level, "message", message));
  }

  public boolean awaitFinished(long ms) throws InterruptedException {
    return finished.await(ms, TimeUnit.MILLISECONDS);
  }

  /** Handles one engine message; an exception is fatal (the caller reports it and exits). */
  public void handle(Plan.EngineMessage m) throws Exception {
    switch (m.type) {
      case "plan" -> prepare(m);
      case "start" -> start();
      case "stop" -> {
        Thread t = new Thread(() -> stop(m.reason), "stop");
        t.setDaemon(true);
        t.start();
      }
      case "clock" -> onClockReply(m);
      default -> log("warn", "ignored engine message " + m.type);
    }
  }

  private CountDownLatch requestClock() {
    CountDownLatch done = new CountDownLatch(1);
    long seq;
    synchronized (this) {
      seq = ++clockSeq;
    }
    clockWaiters.put(seq, done);
    send(Map.of("type", "clock", "driverId", id, "seq", seq, "sentMs", wallMs()));
    return done;
  }

  private void onClockReply(Plan.EngineMessage m) {
    double received = wallMs();
    CountDownLatch done = clockWaiters.remove(m.seq);
    if (done == null || ledger == null) return;
    double err = Math.max(0, (received - m.sentMs) / 2);
    double off = (m.sentMs + received) / 2 - m.drillMs;
    Ledger.write(ledger, new Rec("ck", received).num("off", off).num("err", err));
    done.countDown();
  }

  private Map<String, Object> header() {
    Plan.Scenario s = plan.scenario;
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("process", plan.driverId);
    h.put("role", s.role);
    h.put("run", plan.runId);
    h.put("startedMs", System.currentTimeMillis());
    try {
      h.put("host", InetAddress.getLocalHost().getHostName());
    } catch (IOException e) {
      h.put("host", "unknown");
    }
    h.put("client", family.clientName());
    h.put("meta", Map.of("scenario", s.name, "segment", plan.segment, "seed", plan.seed));
    Plan.ConsumerBehaviour c = s.consumer;
    if (c != null) {
      Map<String, Object> sub = new LinkedHashMap<>();
      sub.put("group", c.group);
      sub.put("topic", c.topic);
      sub.put("filter", c.filter.expression);
      sub.put("filterType", c.filter.type);
      if (plan.isFifo(c.topic)) sub.put("fifo", true);
      if (c.maxAttempts != null) sub.put("maxAttempts", c.maxAttempts);
      h.put("subscriptions", List.of(sub));
    }
    return h;
  }

  private void prepare(Plan.EngineMessage p) throws Exception {
    if (plan != null) throw new IllegalStateException("a second plan");
    plan = p;
    if (p.driverId != null && !p.driverId.isEmpty()) id = p.driverId;
    if (p.ledgerPath != null) {
      ledger = new Ledger(p.ledgerPath, header());
    }
    Plan.Scenario s = p.scenario;
    if ("producer".equals(s.role)) {
      if (s.message == null) throw new IllegalArgumentException("producer scenario without a message spec");
      producer = new Producer(p, metrics, ledger);
      producer.attach(family.producer(p, producer));
    } else if (s.consumer == null) {
      throw new IllegalArgumentException("consumer scenario without a consumer behaviour");
    } else if (s.schedule.startTimeMs <= 0 && s.schedule.durationMs <= 0) {
      startConsumerBeforeReady();
    }
    // After the clients started (which can take seconds), so the round trip measures the clocks, not the start.
    // Answered before start: the engine replies at once and starts drivers only after every ready.
    if (ledger != null) requestClock();
    send(Map.of("type", "ready", "driverId", id, "client", family.clientName()));
  }

  /**
   * A consumer with nothing but the drain to run (a drill's drain round: start and duration 0) starts its clients
   * before it answers ready, and waits (bounded) until they hold their queues: the engine's drain counts idle time
   * from the start, and a JVM client that is still starting or rebalancing receives nothing without being idle.
   * (Load consumers start with the load: started before it, the ordered drill's latency fault no longer showed in
   * its send times, median 0.64-0.79 s under a 1 s fault, for reasons not found yet.)
   */
  private void startConsumerBeforeReady() {
    Plan.Scenario s = plan.scenario;
    int vus = "constant-vus".equals(s.schedule.executor) ? Math.max(1, s.schedule.vus) : 1;
    Consumer c = new Consumer(plan, vus, metrics, ledger, this::log, family.consumers(plan));
    synchronized (this) {
      consumer = c;
    }
    c.start();
    if (!c.awaitReady(CONSUMER_READY_MS)) {
      log("warn", "consumer " + s.consumer.group + ": its clients did not all start and hold a queue of "
          + s.consumer.topic + " within " + CONSUMER_READY_MS / 1000 + " s; ready anyway, they keep trying");
    }
  }

  private void start() {
    if (plan == null) throw new IllegalStateException("start before plan");
    metricsThread = new Thread(this::metricsLoop, "metrics");
    metricsThread.setDaemon(true);
    metricsThread.start();
    Plan.Scenario s = plan.scenario;
    if (producer != null) {
      Executors.Executor e = Executors.start(s.schedule, producer);
      synchronized (this) {
        executor = e;
      }
      Thread waiter = new Thread(() -> {
        try {
          while (!e.awaitDone(1000)) {
            // until the schedule and its graceful stop are over
          }
          if (producer.answersCheckBacks()) stayOpenForCheckBacks();
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
        finish(e.result());
      }, "executor-wait");
      waiter.setDaemon(true);
      waiter.start();
      return;
    }
    synchronized (this) {
      if (consumer != null) return; // started before ready
    }
    int vus = "constant-vus".equals(s.schedule.executor) ? Math.max(1, s.schedule.vus) : 1;
    Consumer c = new Consumer(plan, vus, metrics, ledger, this::log, family.consumers(plan));
    synchronized (this) {
      consumer = c;
    }
    Thread starter = new Thread(() -> {
      try {
        Thread.sleep((long) s.schedule.startTimeMs);
      } catch (InterruptedException ie) {
        return;
      }
      synchronized (this) {
        if (!stopped) c.start();
      }
    }, "consumer-start");
    starter.setDaemon(true);
    starter.start();
  }

  /**
   * A transaction producer's schedule is over, but the broker checks back the transactions it left open (RocketMQ:
   * half messages older than its transaction timeout, at each check interval) and only a live producer of the group
   * can answer. So it says `schedule-over` (the load phase may end without it), stays open through the drain until
   * the engine's stop, then waits, bounded, for the check-backs still due before it closes.
   */
  private void stayOpenForCheckBacks() throws InterruptedException {
    synchronized (this) {
      if (stopped) return;
    }
    send(Map.of("type", "schedule-over", "driverId", id));
    stopRequested.await();
    int open = producer.awaitCheckBacks(CHECK_BACK_WAIT_MS);
    if (open > 0) {
      log("warn", open + " transactions left open were not checked back within " + CHECK_BACK_WAIT_MS / 1000
          + " s of the stop; the producer closes and the broker keeps them until a producer of the group answers");
    }
  }

  private synchronized Executors.Result progress() {
    if (executor != null) return executor.progress();
    Executors.Result r = new Executors.Result();
    int vus = consumer == null ? 0 : consumer.activeClients();
    r.vusAllocatedMax = vus;
    r.activeVUs = vus;
    return r;
  }

  private void metricsLoop() {
    long interval = Math.max(10, (long) plan.metricsIntervalMs);
    while (finished.getCount() > 0) {
      try {
        Thread.sleep(interval);
      } catch (InterruptedException e) {
        return;
      }
      Executors.Result p = progress();
      metrics.gauge("vus", p.activeVUs == null ? 0 : p.activeVUs, Map.of("scenario", plan.scenario.name));
      synchronized (this) {
        if (finishing || (stopped && executor == null)) continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("type", "metrics");
      m.put("driverId", id);
      m.put("wallMs", wallMs());
      m.put("delta", metrics.takeDelta());
      m.put("progress", p);
      send(m);
    }
  }

  /** Producers stop starting iterations (done follows when the executor settles); consumers stop, scan, done. */
  void stop(String reason) {
    Executors.Executor e;
    Consumer c;
    synchronized (this) {
      stopped = true;
      e = executor;
      c = consumer;
    }
    if (e != null) {
      e.stop();
      stopRequested.countDown();
      return;
    }
    if (plan == null || producer != null || c == null) {
      finish(new Executors.Result());
      return;
    }
    try {
      c.stop();
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
    String scan = plan.scenario.consumer.deadLetterScanGroup;
    if (scan != null && !scan.isEmpty() && plan.segment.index == 0) c.scanDeadLetters(scan, DLQ_SCAN_LIMIT_MS);
    Executors.Result r = progress();
    r.activeVUs = null;
    finish(r);
  }

  /** Closes the clients and the ledger and answers done with the last metrics (once). */
  void finish(Executors.Result result) {
    synchronized (this) {
      if (finishing) return;
      finishing = true;
    }
    if (producer != null) producer.close();
    if (ledger != null) {
      try {
        requestClock().await(CLOCK_REPLY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    long records = Ledger.records(ledger);
    if (ledger != null) {
      try {
        ledger.close();
      } catch (IOException e) {
        log("error", "ledger: " + e.getMessage());
      }
    }
    result.activeVUs = null;
    Map<String, Object> done = new LinkedHashMap<>();
    done.put("type", "done");
    done.put("driverId", id);
    done.put("result", result);
    done.put("delta", metrics.takeDelta());
    done.put("ledgerPath", plan == null ? null : plan.ledgerPath);
    done.put("ledgerRecords", records);
    send(done);
    finished.countDown();
  }

  /** A fatal error: tell the engine, close the ledger. */
  void fatal(Throwable e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "error");
    m.put("driverId", id);
    m.put("message", Outcomes.text(e));
    m.put("fatal", true);
    send(m);
    if (ledger != null) {
      try {
        ledger.close();
      } catch (IOException ignored) {
        // the error above is what matters
      }
    }
  }
}
