package mqdrill.driver;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * Metrics from many threads; takeDelta hands out what changed and starts afresh (MetricsDelta in
 * harness/load/metrics.ts). Trend histograms hold microseconds, 3 significant digits, 1 µs to one hour (longer
 * values are clamped to the top; the exact max is sent beside the histogram), encoded in HdrHistogram's compressed
 * V2 form, base64 ("HISTFAA..."), which hdr-histogram-js decodes.
 */
public final class Metrics {
  static final long HIGHEST_US = 3_600_000_000L;

  /** One series of a delta; null fields are left out of the JSON. */
  public static final class SeriesDelta {
    public String name;
    public Map<String, String> tags;
    public String hdr;
    public Double minMs;
    public Double maxMs;
    public Double sumMs;
    public Long count;
    public Long add;
    public Long passes;
    public Long total;
    public Double value;
  }

  public static final class Delta {
    public List<SeriesDelta> series = new ArrayList<>();
  }

  private static final class Series {
    final String name;
    final Map<String, String> tags;
    Histogram hist;
    double minMs = Double.POSITIVE_INFINITY;
    double maxMs;
    double sumMs;
    long count;
    long counter;
    long passes;
    long total;
    Double gauge;

    Series(String name, Map<String, String> tags) {
      this.name = name;
      this.tags = new TreeMap<>(tags);
    }
  }

  private final Map<String, Series> series = new LinkedHashMap<>();

  private Series get(String name, Map<String, String> tags) {
    StringBuilder key = new StringBuilder(name);
    new TreeMap<>(tags).forEach((k, v) -> key.append('|').append(k).append(':').append(v));
    return series.computeIfAbsent(key.toString(), k -> new Series(name, tags));
  }

  public synchronized void trend(String name, double valueMs, Map<String, String> tags) {
    double v = Math.max(valueMs, 0);
    long us = Math.max(1, Math.min(Math.round(v * 1000), HIGHEST_US));
    Series s = get(name, tags);
    if (s.hist == null) s.hist = new Histogram(1, HIGHEST_US, 3);
    s.hist.recordValue(us);
    s.minMs = Math.min(s.minMs, v);
    s.maxMs = Math.max(s.maxMs, v);
    s.sumMs += v;
    s.count++;
  }

  public synchronized void count(String name, Map<String, String> tags, long increment) {
    get(name, tags).counter += increment;
  }

  public synchronized void rate(String name, boolean passed, Map<String, String> tags) {
    Series s = get(name, tags);
    if (passed) s.passes++;
    s.total++;
  }

  public synchronized void gauge(String name, double value, Map<String, String> tags) {
    get(name, tags).gauge = value;
  }

  public synchronized Delta takeDelta() {
    Delta out = new Delta();
    for (Series s : series.values()) {
      SeriesDelta item = new SeriesDelta();
      item.name = s.name;
      item.tags = s.tags;
      boolean changed = false;
      if (s.count > 0) {
        item.hdr = encode(s.hist);
        item.minMs = s.minMs;
        item.maxMs = s.maxMs;
        item.sumMs = s.sumMs;
        item.count = s.count;
        s.hist.reset();
        s.minMs = Double.POSITIVE_INFINITY;
        s.maxMs = 0;
        s.sumMs = 0;
        s.count = 0;
        changed = true;
      }
      if (s.counter != 0) {
        item.add = s.counter;
        s.counter = 0;
        changed = true;
      }
      if (s.total > 0) {
        item.passes = s.passes;
        item.total = s.total;
        s.passes = 0;
        s.total = 0;
        changed = true;
      }
      if (s.gauge != null) {
        item.value = s.gauge;
        s.gauge = null;
        changed = true;
      }
      if (changed) out.series.add(item);
    }
    return out;
  }

  /** The compressed V2 encoding, base64. */
  public static String encode(Histogram h) {
    ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int length = h.encodeIntoCompressedByteBuffer(buffer);
    byte[] bytes = new byte[length];
    buffer.flip();
    buffer.get(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }
}
