package mqdrill.driver;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Draws the messages of one producer segment from its spec, deterministically from the seed; thread-safe. */
public final class Planner {
  /** What one send looks like. transaction: commit, rollback or unknown for TRANSACTION messages, else null. */
  public record Planned(
      String id, String key, int seq, String tag, int bodySizeBytes, Double delayMs, String transaction,
      boolean poison) {}

  private final Plan.MessageSpec spec;
  private final String idPrefix;
  private final KeyPicker keys;
  private final Map<String, Integer> sequences = new HashMap<>();
  private final Rand random;
  private int count;

  public Planner(Plan.MessageSpec spec, String idPrefix, Plan.Segment segment, Rand random) {
    this.spec = spec;
    this.idPrefix = idPrefix;
    this.random = random;
    this.keys = spec.keys == null ? null : new KeyPicker(spec.keys, segment);
  }

  public synchronized Planned next() {
    count++;
    String id = idPrefix + "-" + count;
    String key = id;
    int seq = 1;
    if (keys != null) {
      key = keys.pick(random);
      seq = sequences.merge(key, 1, Integer::sum);
    }
    List<String> tags = spec.tags == null ? List.of() : spec.tags;
    String tag = tags.isEmpty() ? null : tags.size() == 1 ? tags.get(0) : tags.get(random.nextInt(0, tags.size() - 1));
    int size = (int) Math.max(1, Math.round(random.sample(spec.bodySizeBytes)));
    Double delay = spec.delayMs == null ? null : (double) Math.round(random.sample(spec.delayMs));
    String tx = null;
    if (spec.transaction != null) {
      double u = random.nextFloat();
      tx = u < spec.transaction.commit ? "commit"
          : u < spec.transaction.commit + spec.transaction.rollback ? "rollback" : "unknown";
    }
    boolean poison = spec.poisonShare > 0 && random.nextFloat() < spec.poisonShare;
    return new Planned(id, key, seq, tag, size, delay, tx, poison);
  }

  /** Keys of one segment: segment i of n owns the keys k with k % n == i (uniform or Zipf). */
  public static final class KeyPicker {
    private final Plan.KeySpec spec;
    private final int segIndex;
    private final int segCount;
    private final int local;
    private final double[] cdf;

    public KeyPicker(Plan.KeySpec spec, Plan.Segment seg) {
      this.spec = spec;
      this.segCount = seg == null || seg.count <= 0 ? 1 : seg.count;
      this.segIndex = seg == null || seg.count <= 0 ? 0 : seg.index;
      this.local = Math.max(1, Rand.splitCount(spec.count, segIndex, segCount));
      if ("zipf".equals(spec.distribution)) {
        cdf = new double[local];
        double sum = 0;
        for (int j = 0; j < local; j++) {
          sum += 1 / Math.pow(j + 1, spec.exponent);
          cdf[j] = sum;
        }
        for (int j = 0; j < local; j++) cdf[j] /= sum;
      } else {
        cdf = null;
      }
    }

    public String pick(Rand r) {
      int chosen;
      if (cdf != null) {
        double u = r.nextFloat();
        int lo = 0;
        int hi = local - 1;
        while (lo < hi) {
          int mid = (lo + hi) >>> 1;
          if (cdf[mid] < u) lo = mid + 1;
          else hi = mid;
        }
        chosen = lo;
      } else {
        chosen = r.nextInt(0, local - 1);
      }
      return (spec.prefix == null ? "" : spec.prefix) + (chosen * segCount + segIndex);
    }
  }
}
