import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one named conformance case of the official RocketMQ 5 Java client against a broker endpoint and prints one
 * JSON line: {"case":"...","ok":true|false,"detail":{...},"error":"..."}. Exit code 0 when ok, 1 otherwise, 2 on
 * bad arguments.
 *
 * Usage: java -cp 'classes:rocketmq-client-java/*' Conformance --endpoint host:port --case NAME
 * [--tls true|false] [--ak X --sk Y] [--topic T] [--group G] [--count N] [--timeout-ms MS] ...
 * Cases are listed in {@link Cases#NAMES}.
 */
public final class Conformance {
  private Conformance() {}

  /** A case failed an expectation; the detail says what was observed. */
  static final class CaseFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final Map<String, Object> detail;

    CaseFailure(String message, Map<String, Object> detail) {
      super(message);
      this.detail = detail;
    }
  }

  /** --key value pairs. */
  static final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();

    static Args parse(String[] argv) {
      Args a = new Args();
      for (int i = 0; i < argv.length; i++) {
        if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
          throw new IllegalArgumentException("expected --key value pairs, got '" + argv[i] + "'");
        }
        a.values.put(argv[i].substring(2), argv[++i]);
      }
      return a;
    }

    String get(String key, String fallback) {
      return values.getOrDefault(key, fallback);
    }

    String require(String key) {
      String v = values.get(key);
      if (v == null || v.isEmpty()) throw new IllegalArgumentException("missing --" + key);
      return v;
    }

    int integer(String key, int fallback) {
      return values.containsKey(key) ? Integer.parseInt(values.get(key)) : fallback;
    }

    void set(String key, String value) {
      values.put(key, value);
    }

    boolean bool(String key, boolean fallback) {
      return values.containsKey(key) ? Boolean.parseBoolean(values.get(key)) : fallback;
    }
  }

  public static void main(String[] argv) {
    quietClientLogging();
    String name = "?";
    Args args;
    try {
      args = Args.parse(argv);
      name = args.require("case");
      args.require("endpoint");
      if (!Cases.NAMES.contains(name)) throw new IllegalArgumentException("unknown case; known: " + Cases.NAMES);
    } catch (IllegalArgumentException e) {
      print(name, false, Map.of(), e.getMessage());
      System.exit(2);
      return;
    }
    boolean ok = run(name, args);
    System.out.flush();
    // The client keeps non-daemon threads (scheduler, netty) alive; exit explicitly.
    Runtime.getRuntime().halt(ok ? 0 : 1);
  }

  private static boolean run(String name, Args args) {
    int timeoutMs = args.integer("timeout-ms", 60_000);
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "conformance-case");
      t.setDaemon(true);
      return t;
    });
    Future<Map<String, Object>> future = executor.submit(() -> Cases.run(name, args));
    try {
      print(name, true, future.get(timeoutMs, TimeUnit.MILLISECONDS), null);
      return true;
    } catch (TimeoutException e) {
      future.cancel(true);
      print(name, false, Map.of(), "case did not finish within --timeout-ms " + timeoutMs);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      Map<String, Object> detail = cause instanceof CaseFailure ? ((CaseFailure) cause).detail : Map.of();
      print(name, false, detail, describe(cause));
    } catch (InterruptedException e) {
      print(name, false, Map.of(), "interrupted");
    }
    return false;
  }

  /** Client logs go to a file under rocketmq.log.root (the test points it at its temp dir), never to stdout. */
  private static void quietClientLogging() {
    if (System.getProperty("rocketmq.log.root") == null) {
      System.setProperty("rocketmq.log.root", System.getProperty("java.io.tmpdir") + File.separator + "mqdrill-java");
    }
    if (System.getProperty("rocketmq.log.level") == null) System.setProperty("rocketmq.log.level", "info");
    System.setProperty("mq.consoleAppender.enabled", "false");
  }

  /** The exception and its causes, class names and messages, outermost first. */
  static String describe(Throwable t) {
    List<String> parts = new ArrayList<>();
    for (Throwable c = t; c != null && parts.size() < 6; c = c.getCause()) {
      parts.add(c.getClass().getName() + ": " + c.getMessage());
      if (c.getCause() == c) break;
    }
    return String.join(" <- caused by ", parts);
  }

  static void print(String name, boolean ok, Map<String, Object> detail, String error) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("case", name);
    line.put("ok", ok);
    line.put("detail", detail);
    if (error != null) line.put("error", error);
    System.out.println(Json.write(line));
  }

  /** Just enough JSON for maps, lists, strings, numbers, booleans and null. */
  static final class Json {
    private Json() {}

    static String write(Object value) {
      StringBuilder sb = new StringBuilder();
      append(sb, value);
      return sb.toString();
    }

    private static void append(StringBuilder sb, Object v) {
      if (v == null) {
        sb.append("null");
      } else if (v instanceof Number || v instanceof Boolean) {
        sb.append(v);
      } else if (v instanceof Map) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          if (!first) sb.append(',');
          first = false;
          string(sb, String.valueOf(e.getKey()));
          sb.append(':');
          append(sb, e.getValue());
        }
        sb.append('}');
      } else if (v instanceof Iterable) {
        sb.append('[');
        boolean first = true;
        for (Object o : (Iterable<?>) v) {
          if (!first) sb.append(',');
          first = false;
          append(sb, o);
        }
        sb.append(']');
      } else {
        string(sb, String.valueOf(v));
      }
    }

    private static void string(StringBuilder sb, String s) {
      sb.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '"' || c == '\\') {
          sb.append('\\').append(c);
        } else if (c < 0x20) {
          sb.append(String.format("\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
      sb.append('"');
    }
  }
}
