package mqdrill.driver;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Java load driver of mqdrill: `java -cp ... mqdrill.driver.Main --family remoting|grpc --driver-id ID`. It speaks
 * the plan protocol of docs/load.md (NDJSON on stdin and stdout) with the official RocketMQ Java clients. stdout is
 * the protocol channel: System.out is pointed at stderr so nothing a client prints can corrupt it.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws IOException {
    String driverId = "driver";
    String familyName = null;
    String logDir = null;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--driver-id" -> driverId = value;
        case "--family" -> familyName = value;
        case "--log-dir" -> logDir = value;
        case "--help" -> {
          System.err.println("usage: mqdrill-java-driver --family remoting|grpc --driver-id ID [--log-dir DIR]");
          System.exit(0);
        }
        default -> {
          System.err.println("mqdrill-java-driver: unknown argument " + args[i] + " (see --help)");
          System.exit(2);
        }
      }
      i++;
    }
    if (driverId == null || (!"remoting".equals(familyName) && !"grpc".equals(familyName))) {
      System.err.println("mqdrill-java-driver: --family must be remoting or grpc, and --driver-id needs a value");
      System.exit(2);
    }
    if (logDir == null) {
      logDir = Path.of(System.getProperty("java.io.tmpdir"), "mqdrill-java-driver", driverId).toString();
    }
    Files.createDirectories(Path.of(logDir));
    PrintStream protocol =
        new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    Driver.Family family = "remoting".equals(familyName) ? new RemotingFamily(logDir) : new GrpcFamily(logDir);
    Driver d = new Driver(driverId, protocol, family);
    Thread exit = new Thread(() -> {
      try {
        d.awaitFinished(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        return;
      }
      protocol.flush();
      Runtime.getRuntime().halt(0);
    }, "exit-when-done");
    exit.setDaemon(true);
    exit.start();
    System.exit(run(d, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))));
  }

  static int run(Driver d, BufferedReader in) throws IOException {
    Thread reader = Thread.currentThread();
    for (;;) {
      String line = in.readLine();
      if (line == null) {
        // The engine is gone: stop as if told to, so the ledger is complete, then exit.
        Thread t = new Thread(() -> d.stop("stdin closed"), "stop");
        t.setDaemon(true);
        t.start();
        try {
          d.awaitFinished(60_000);
        } catch (InterruptedException e) {
          reader.interrupt();
        }
        return 0;
      }
      if (line.isBlank()) continue;
      Plan.EngineMessage m;
      try {
        m = Protocol.decode(line);
      } catch (IllegalArgumentException e) {
        d.log("warn", e.getMessage());
        continue;
      }
      if (m.type.equals("plan")) {
        // Clients start here, for seconds: on its own thread, so this loop keeps reading (clock replies above all).
        Thread prepare = new Thread(() -> {
          try {
            d.handle(m);
          } catch (Exception | Error e) {
            d.fatal(e);
            Runtime.getRuntime().halt(1);
          }
        }, "prepare");
        prepare.setDaemon(true);
        prepare.start();
        continue;
      }
      try {
        d.handle(m);
      } catch (Exception | Error e) {
        d.fatal(e);
        return 1;
      }
      try {
        if (d.awaitFinished(0)) return 0;
      } catch (InterruptedException e) {
        return 0;
      }
    }
  }
}
