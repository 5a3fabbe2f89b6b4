package mqdrill.driver;

import java.util.SplittableRandom;

/**
 * Seeded randomness of one driver (key choice, sizes, failure draws). Like the Go driver it does not reproduce the
 * node driver's sequence; it is deterministic from its own seed, which is what the plan asks for.
 */
public final class Rand {
  private final SplittableRandom random;

  public Rand(long seed) {
    random = new SplittableRandom(seed ^ 0x9e3779b97f4a7c15L);
  }

  public synchronized double nextFloat() {
    return random.nextDouble();
  }

  /** An integer in [lo, hi]. */
  public synchronized int nextInt(int lo, int hi) {
    return lo + random.nextInt(hi - lo + 1);
  }

  /** One value of the distribution. */
  public double sample(Plan.Distribution d) {
    if (d == null) return 0;
    switch (d.distribution == null ? "fixed" : d.distribution) {
      case "uniform":
        return d.min + nextFloat() * (d.max - d.min);
      case "normal": {
        double u = 1 - nextFloat();
        double v = nextFloat();
        double z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return Math.min(d.max, Math.max(d.min, d.mean + z * d.stddev));
      }
      case "exponential":
        return Math.min(d.max, -Math.log(1 - nextFloat()) * d.mean);
      default:
        return d.value;
    }
  }

  /** total split into count parts as evenly as possible: part index (earlier parts get the remainder). */
  public static int splitCount(int total, int index, int count) {
    if (count <= 0) return total;
    return total / count + (index < total % count ? 1 : 0);
  }

  /**
   * A deterministic share of ids in [0, 1): FNV-1a over the UTF-16 units of "id|salt", then murmur3's finaliser;
   * bit for bit idShare of harness/load/sampling.ts, so every driver fails the same deliveries.
   */
  public static double idShare(String id, String salt) {
    String s = id + "|" + salt;
    int h = 0x811c9dc5;
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x01000193;
    }
    h = (h ^ (h >>> 16)) * 0x85ebca6b;
    h = (h ^ (h >>> 13)) * 0xc2b2ae35;
    h ^= h >>> 16;
    return Integer.toUnsignedLong(h) / 4294967296.0;
  }
}
