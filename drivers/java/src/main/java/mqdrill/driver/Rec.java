package mqdrill.driver;

import java.util.Map;
import java.util.TreeMap;

/** One ledger line built without reflection: new Rec("si", ts).num("o", 1).str("id", id)... */
public final class Rec {
  private final StringBuilder b = new StringBuilder(160);

  public Rec(String type, double ts) {
    b.append("{\"t\":");
    quote(b, type);
    num("ts", ts);
  }

  private void key(String k) {
    b.append(',');
    quote(b, k);
    b.append(':');
  }

  public Rec str(String k, String v) {
    key(k);
    quote(b, v);
    return this;
  }

  /** Adds the field only when v is neither null nor empty. */
  public Rec strIf(String k, String v) {
    return v == null || v.isEmpty() ? this : str(k, v);
  }

  public Rec num(String k, long v) {
    key(k);
    b.append(v);
    return this;
  }

  /** A number in its shortest form: integers without a fraction, as JSON.stringify writes them. */
  public Rec num(String k, double v) {
    key(k);
    b.append(formatNumber(v));
    return this;
  }

  public Rec bool(String k, boolean v) {
    key(k);
    b.append(v);
    return this;
  }

  /** An object of strings, keys sorted. */
  public Rec strMap(String k, Map<String, String> m) {
    key(k);
    b.append('{');
    boolean first = true;
    for (Map.Entry<String, String> e : new TreeMap<>(m).entrySet()) {
      if (!first) b.append(',');
      first = false;
      quote(b, e.getKey());
      b.append(':');
      quote(b, e.getValue());
    }
    b.append('}');
    return this;
  }

  String line() {
    return b + "}\n";
  }

  @Override
  public String toString() {
    return b + "}";
  }

  static String formatNumber(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) return "null";
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return java.math.BigDecimal.valueOf(v).toPlainString();
  }

  static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    b.append('"');
  }
}
