package mqdrill.driver;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The k6-style executors of harness/load/executors, for the Java driver: the open model (constant- and
 * ramping-arrival-rate: arrivals start at their intended time whatever the latency of earlier ones, and are dropped
 * and counted when no VU is free with maxVUs allocated) and the closed model (constant-vus, ramping-vus,
 * per-vu-iterations, shared-iterations: each active VU runs iterations back to back).
 */
public final class Executors {
  private Executors() {}

  /** What an executor tells one iteration; intended and actual start in ms since the executor started. */
  public record Iteration(int vu, int iteration, double intendedStartMs, double actualStartMs) {}

  public interface Hooks {
    void iterate(Iteration it) throws Exception;

    default void onDropped(double intendedMs) {}
  }

  /** The executor counters (ExecutorResult in harness/load/executors/types.ts) plus activeVUs for progress. */
  public static final class Result {
    public int startedIterations;
    public int completedIterations;
    public int failedIterations;
    public int droppedIterations;
    public int interruptedIterations;
    public int vusAllocatedMax;
    public Integer activeVUs;

    Result copy(Integer active) {
      Result r = new Result();
      r.startedIterations = startedIterations;
      r.completedIterations = completedIterations;
      r.failedIterations = failedIterations;
      r.droppedIterations = droppedIterations;
      r.interruptedIterations = interruptedIterations;
      r.vusAllocatedMax = vusAllocatedMax;
      r.activeVUs = active;
      return r;
    }
  }

  /** Intended start of arrival n (ms after start), or a negative number when the schedule is over. */
  public interface ArrivalFunc {
    double at(int n);
  }

  public static ArrivalFunc constantArrival(Plan.Schedule s) {
    double interval = s.timeUnitMs / s.rate;
    return n -> {
      double at = n * interval;
      return at < s.durationMs ? at : -1;
    };
  }

  /** The rate moves linearly through the stages; arrival n starts when the rate's integral reaches n. */
  public static ArrivalFunc rampingArrival(Plan.Schedule s) {
    int k = s.stages.size();
    double[] start = new double[k];
    double[] dur = new double[k];
    double[] from = new double[k];
    double[] to = new double[k];
    double[] before = new double[k];
    double[] count = new double[k];
    double t = 0;
    double c = 0;
    double f = s.startRate / s.timeUnitMs;
    for (int i = 0; i < k; i++) {
      Plan.Stage st = s.stages.get(i);
      double tr = st.target / s.timeUnitMs;
      start[i] = t;
      dur[i] = st.durationMs;
      from[i] = f;
      to[i] = tr;
      before[i] = c;
      count[i] = (f + tr) / 2 * st.durationMs;
      t += st.durationMs;
      c += count[i];
      f = tr;
    }
    return n -> {
      for (int i = 0; i < k; i++) {
        if (n < before[i] + count[i]) {
          double x = n - before[i];
          double a = (to[i] - from[i]) / (2 * dur[i]);
          double b = from[i];
          double den = b + Math.sqrt(Math.max(0, b * b + 4 * a * x));
          return start[i] + (den <= 0 ? 0 : Math.min(dur[i], 2 * x / den));
        }
      }
      return -1;
    };
  }

  /** A running schedule. */
  public abstract static class Executor {
    protected final Plan.Schedule s;
    protected final Hooks hooks;
    protected final ExecutorService pool;
    protected final Result result = new Result();
    protected int inFlight;
    protected volatile boolean stopped;
    protected final CountDownLatch done = new CountDownLatch(1);
    protected final long t0 = System.nanoTime();

    Executor(Plan.Schedule s, Hooks hooks) {
      this.s = s;
      this.hooks = hooks;
      this.pool = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread th = new Thread(r, "vu");
        th.setDaemon(true);
        return th;
      });
    }

    double elapsedMs() {
      return (System.nanoTime() - t0) / 1e6;
    }

    /** Stops starting iterations now; in-flight ones get gracefulStop as usual. */
    public synchronized void stop() {
      stopped = true;
      notifyAll();
    }

    public boolean awaitDone(long ms) throws InterruptedException {
      return done.await(ms, TimeUnit.MILLISECONDS);
    }

    public synchronized Result result() {
      return result.copy(null);
    }

    public synchronized Result progress() {
      return result.copy(inFlight);
    }

    /** Sleeps until elapsedMs reaches untilMs unless stopped first; true when the time came. */
    protected synchronized boolean sleepUntil(double untilMs) throws InterruptedException {
      while (!stopped) {
        double left = untilMs - elapsedMs();
        if (left <= 0) return true;
        wait(Math.max(1, (long) Math.ceil(left)));
      }
      return false;
    }

    protected void runOne(Iteration it) {
      boolean failed = false;
      try {
        hooks.iterate(it);
      } catch (Exception | Error e) {
        failed = true;
      }
      synchronized (this) {
        if (failed) result.failedIterations++;
        else result.completedIterations++;
        inFlight--;
        ended(it.vu());
        notifyAll();
      }
    }

    protected void ended(int vu) {}

    /** Waits for in-flight iterations at most gracefulStop, counts the rest as interrupted, and ends. */
    protected void finish() throws InterruptedException {
      long deadline = System.nanoTime() + (long) (s.gracefulStopMs * 1e6);
      synchronized (this) {
        while (inFlight > 0) {
          long left = (deadline - System.nanoTime()) / 1_000_000;
          if (left <= 0) break;
          wait(left);
        }
        result.interruptedIterations += inFlight;
      }
      pool.shutdown();
      done.countDown();
    }

    abstract void run() throws InterruptedException;

    void launch() {
      Thread th = new Thread(() -> {
        try {
          run();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          done.countDown();
        }
      }, "executor");
      th.setDaemon(true);
      th.start();
    }
  }

  static final class ArrivalRate extends Executor {
    private final ArrivalFunc arrivals;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private int allocated;

    ArrivalRate(Plan.Schedule s, ArrivalFunc arrivals, Hooks hooks) {
      super(s, hooks);
      this.arrivals = arrivals;
      for (int vu = 0; vu < s.preAllocatedVUs; vu++) free.addLast(vu);
      allocated = s.preAllocatedVUs;
      result.vusAllocatedMax = allocated;
    }

    @Override
    void run() throws InterruptedException {
      if (sleepUntil(s.startTimeMs)) {
        double base = elapsedMs();
        for (int n = 0; ; n++) {
          double at = arrivals.at(n);
          if (at < 0 || !sleepUntil(base + at)) break;
          start(n, at, elapsedMs() - base);
        }
      }
      finish();
    }

    private void start(int n, double intended, double actual) {
      Integer vu;
      synchronized (this) {
        vu = free.pollLast();
        if (vu == null && allocated < s.maxVUs) {
          vu = allocated++;
          result.vusAllocatedMax = allocated;
        }
        if (vu == null) {
          result.droppedIterations++;
        } else {
          inFlight++;
          result.startedIterations++;
        }
      }
      if (vu == null) {
        hooks.onDropped(intended);
        return;
      }
      Iteration it = new Iteration(vu, n, intended, actual);
      pool.execute(() -> runOne(it));
    }

    @Override
    protected void ended(int vu) {
      free.addLast(vu);
    }
  }

  static final class VuLoop extends Executor {
    private final List<double[]> changes;
    private final double endMs;
    private final int perVu;
    private int sharedLeft;
    private int active;
    private double base;

    VuLoop(Plan.Schedule s, List<double[]> changes, double endMs, int perVu, int shared, Hooks hooks) {
      super(s, hooks);
      this.changes = changes;
      this.endMs = endMs;
      this.perVu = perVu;
      this.sharedLeft = shared > 0 ? shared : Integer.MAX_VALUE;
    }

    @Override
    void run() throws InterruptedException {
      if (!sleepUntil(s.startTimeMs)) {
        finish();
        return;
      }
      base = elapsedMs();
      int maxVus = 0;
      for (double[] c : changes) maxVus = Math.max(maxVus, (int) c[1]);
      CountDownLatch vus = new CountDownLatch(maxVus);
      for (int vu = 0; vu < maxVus; vu++) {
        int id = vu;
        pool.execute(() -> {
          try {
            loop(id);
          } finally {
            vus.countDown();
          }
        });
      }
      for (double[] c : changes) {
        if (c[0] >= endMs && c[0] > 0) break;
        if (!sleepUntil(base + c[0])) break;
        synchronized (this) {
          active = (int) c[1];
          result.vusAllocatedMax = Math.max(result.vusAllocatedMax, active);
          notifyAll();
        }
      }
      sleepUntil(base + endMs);
      synchronized (this) {
        stopped = true;
        notifyAll();
      }
      finish();
    }

    private void loop(int id) {
      for (int n = 0; ; n++) {
        Iteration it;
        synchronized (this) {
          try {
            while (!stopped && id >= active) wait(100);
          } catch (InterruptedException e) {
            return;
          }
          double elapsed = elapsedMs() - base;
          if (stopped || elapsed >= endMs || sharedLeft <= 0 || (perVu > 0 && n >= perVu)) return;
          sharedLeft--;
          inFlight++;
          it = new Iteration(id, result.startedIterations, elapsed, elapsed);
          result.startedIterations++;
        }
        runOne(it);
      }
    }
  }

  /** The VU count changes to the integer k when the linear ramp reaches k: {atMs, vus} pairs. */
  static List<double[]> rampingVuChanges(Plan.Schedule s) {
    List<double[]> changes = new java.util.ArrayList<>();
    changes.add(new double[] {0, s.startVUs});
    int from = s.startVUs;
    double stageStart = 0;
    for (Plan.Stage st : s.stages) {
      int target = (int) st.target;
      int step = target > from ? 1 : -1;
      for (int k = from + step; step > 0 ? k <= target : k >= target; k += step) {
        double fraction = st.durationMs == 0 ? 0 : (double) (k - from) / (target - from);
        changes.add(new double[] {stageStart + fraction * st.durationMs, k});
      }
      from = target;
      stageStart += st.durationMs;
    }
    return changes;
  }

  /** Starts the schedule now (its startTimeMs counts from here). */
  public static Executor start(Plan.Schedule s, Hooks hooks) {
    Executor e = switch (s.executor) {
      case "constant-arrival-rate" -> new ArrivalRate(s, constantArrival(s), hooks);
      case "ramping-arrival-rate" -> new ArrivalRate(s, rampingArrival(s), hooks);
      case "constant-vus" -> new VuLoop(s, List.<double[]>of(new double[] {0, s.vus}), s.durationMs, 0, 0, hooks);
      case "ramping-vus" -> new VuLoop(s, rampingVuChanges(s), stagesMs(s), 0, 0, hooks);
      case "per-vu-iterations" -> new VuLoop(
          s, List.<double[]>of(new double[] {0, s.vus}), s.maxDurationMs, s.iterations, 0, hooks);
      case "shared-iterations" -> new VuLoop(
          s, List.<double[]>of(new double[] {0, s.vus}), s.maxDurationMs, 0, Math.max(1, s.iterations), hooks);
      default -> throw new IllegalArgumentException("unknown executor \"" + s.executor + "\"");
    };
    e.launch();
    return e;
  }

  static double stagesMs(Plan.Schedule s) {
    double sum = 0;
    for (Plan.Stage st : s.stages) sum += st.durationMs;
    return sum;
  }
}
