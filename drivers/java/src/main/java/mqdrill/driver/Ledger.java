package mqdrill.driver;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Appends records to one NDJSON file as docs/ledger.md describes: the header first, then one record per line in
 * the order events happen. Lines are buffered (64 KiB) and flushed at least every second; a write blocks while the
 * disk is busy, so the ledger never drops a record and its memory stays bounded. A null ledger is "ledger off":
 * use the static helpers, which accept null.
 */
public final class Ledger implements AutoCloseable {
  public static final int VERSION = 1;
  private final String path;
  private final BufferedWriter out;
  private final ScheduledExecutorService flusher;
  private long opId;
  private long records;
  private IOException error;
  private boolean closed;

  public Ledger(String path, Map<String, Object> header) throws IOException {
    this.path = path;
    Path p = Path.of(path);
    if (p.getParent() != null) Files.createDirectories(p.getParent());
    out = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(p), StandardCharsets.UTF_8), 64 * 1024);
    Map<String, Object> full = new LinkedHashMap<>();
    full.put("type", "header");
    full.put("version", VERSION);
    full.putAll(header);
    out.write(Protocol.GSON.toJson(full));
    out.write('\n');
    flusher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ledger-flush");
      t.setDaemon(true);
      return t;
    });
    flusher.scheduleAtFixedRate(this::flushQuietly, 1, 1, TimeUnit.SECONDS);
  }

  private synchronized void flushQuietly() {
    if (closed || error != null) return;
    try {
      out.flush();
    } catch (IOException e) {
      error = e;
    }
  }

  /** A fresh operation id; the completion repeats it. 0 when the ledger is off. */
  public static long nextOp(Ledger l) {
    if (l == null) return 0;
    synchronized (l) {
      return ++l.opId;
    }
  }

  /** Appends a record; false when it could not be written (ledger off, closed, or a disk error kept). */
  public static boolean write(Ledger l, Rec r) {
    if (l == null) return false;
    synchronized (l) {
      if (l.closed || l.error != null) return false;
      try {
        l.out.write(r.line());
        l.records++;
        return true;
      } catch (IOException e) {
        l.error = e;
        return false;
      }
    }
  }

  public static long records(Ledger l) {
    if (l == null) return 0;
    synchronized (l) {
      return l.records;
    }
  }

  public String path() {
    return path;
  }

  /** Flushes and closes; idempotent. Throws the first write error kept. */
  @Override
  public void close() throws IOException {
    synchronized (this) {
      if (!closed) {
        closed = true;
        try {
          out.close();
        } catch (IOException e) {
          if (error == null) error = e;
        }
      }
    }
    flusher.shutdownNow();
    if (error != null) throw new IOException("ledger " + path + ": " + error.getMessage(), error);
  }
}
