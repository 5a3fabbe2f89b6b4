package mqdrill.driver;

import java.util.List;
import java.util.Map;

/**
 * The engine's messages (harness/load/protocol.ts), read with Gson: field names are the JSON names. Absent numbers
 * are 0, absent objects null, as in the Go driver's structs.
 */
public final class Plan {
  private Plan() {}

  /** Where and how the driver connects. {@code namesrv} and {@code remotingRoutes} serve the remoting family. */
  public static final class Target {
    public String endpoint = "";
    public boolean tls;
    public String accessKey;
    public String secretKey;
    public String namespace = "";
    /** Name-server address (host:port, several separated by ';'): the remoting client's entry point. */
    public String namesrv;
    /**
     * Broker addresses the name server returns, mapped to the fault proxy in front of each: the remoting client
     * dials the proxy instead (RouteRewrite), so network faults reach its broker connections.
     */
    public Map<String, String> remotingRoutes;
    /** FIFO topics the target was provisioned with. */
    public List<String> fifoTopics = List.of();
  }

  public static final class Segment {
    public int index;
    public int count;
  }

  public static final class Distribution {
    public String distribution = "fixed";
    public double value;
    public double min;
    public double max;
    public double mean;
    public double stddev;
  }

  public static final class KeySpec {
    public int count;
    public String distribution = "uniform";
    public double exponent;
    public String prefix = "";
  }

  public static final class TransactionShares {
    public double commit;
    public double rollback;
    public double unknown;
  }

  public static final class MessageSpec {
    public String type = "NORMAL";
    public String topic;
    public List<String> tags = List.of();
    public KeySpec keys;
    public Distribution bodySizeBytes = new Distribution();
    public Distribution delayMs;
    public TransactionShares transaction;
    public Map<String, String> properties = Map.of();
    public double sendTimeoutMs = 3000;
    public double poisonShare;
    /** Remoting family: sync (default) or async sends (SendCallback). */
    public String sendMode;
  }

  public static final class Filter {
    public String type = "TAG";
    public String expression = "*";
  }

  public static final class Poison {
    public double share;
    public List<String> tags = List.of();
  }

  public static final class ConsumerBehaviour {
    public String group;
    public String topic;
    public String kind = "simple";
    public Filter filter = new Filter();
    public Distribution processingTimeMs = new Distribution();
    public double failureShare;
    public Poison poison = new Poison();
    public double retryDelayMs;
    public Integer crashAfterMessages;
    public double restartDelayMs;
    public double invisibleDurationMs;
    public int receiveBatchSize = 16;
    public double awaitDurationMs;
    public Integer maxAttempts;
    public String deadLetterScanGroup;
  }

  public static final class Stage {
    public double target;
    public double durationMs;
  }

  /** The executor configuration, already this segment's share; durations in ms. */
  public static final class Schedule {
    public String executor;
    public double startTimeMs;
    public double gracefulStopMs;
    public double rate;
    public double startRate;
    public double timeUnitMs = 1000;
    public double durationMs;
    public List<Stage> stages = List.of();
    public int preAllocatedVUs;
    public int maxVUs;
    public int vus;
    public int startVUs;
    public double gracefulRampDownMs;
    public int iterations;
    public double maxDurationMs;
  }

  public static final class Scenario {
    public String name;
    public String role;
    public Schedule schedule = new Schedule();
    public MessageSpec message;
    public ConsumerBehaviour consumer;
    public Map<String, String> tags = Map.of();
    public int workers = 1;
  }

  /** Any engine-to-driver message: plan, start, stop or clock (the fields of the others stay at their defaults). */
  public static final class EngineMessage {
    public String type;
    public int protocol;
    public String driverId;
    public String runId;
    public Segment segment = new Segment();
    public Target target = new Target();
    public Scenario scenario = new Scenario();
    public String idPrefix;
    public double seed;
    public String ledgerPath;
    public double metricsIntervalMs = 1000;
    /** Topics the plan's producers send FIFO messages to: a remoting consumer of one consumes orderly. */
    public List<String> fifoTopics = List.of();
    public String reason;
    public long seq;
    public double sentMs;
    public double drillMs;

    /** Whether a producer of the plan, or the target's provisioning, makes this topic FIFO. */
    public boolean isFifo(String topic) {
      return (fifoTopics != null && fifoTopics.contains(topic))
          || (target != null && target.fifoTopics != null && target.fifoTopics.contains(topic));
    }
  }
}
