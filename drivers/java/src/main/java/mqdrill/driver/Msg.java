package mqdrill.driver;

import java.util.Map;

/** Message shapes shared by the client families. */
public final class Msg {
  private Msg() {}

  /** User properties the harness puts on every message (docs/ledger.md). */
  public static final String ID = "mqd_id";
  public static final String KEY = "mqd_key";
  public static final String SEQ = "mqd_seq";
  public static final String POISON = "mqd_poison";
  public static final String SENT_MS = "mqd_sent_ms";

  /** One message to send. group: the FIFO message group (the key) or null; deliverAtMs: delayed, or null. */
  public record Outgoing(
      String id, String topic, byte[] body, String tag, String key, String group, Long deliverAtMs,
      Map<String, String> properties) {}

  /**
   * One delivery, whichever client returned it. attempt is 1-based. group: the FIFO group when the client knows it
   * (gRPC) or the ordering key under an orderly remoting consumer. deliveryTsMs: a delayed message's delivery time.
   */
  public record Delivery(
      String bid, String topic, int attempt, String tag, String group, Map<String, String> properties,
      Long deliveryTsMs, Object handle) {
    public String harnessId() {
      String id = properties.get(ID);
      return id != null ? id : bid;
    }
  }
}
