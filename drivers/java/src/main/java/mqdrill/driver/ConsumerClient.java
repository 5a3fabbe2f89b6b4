package mqdrill.driver;

import java.util.List;

/** What a client family does for consumers; the ledger, metrics and processing stay in Consumer. */
public interface ConsumerClient {
  /** A receiving client: the gRPC SimpleConsumer, or the remoting DefaultLitePullConsumer. */
  interface Simple extends AutoCloseable {
    List<Msg.Delivery> receive(int batch, long invisibleMs, long awaitMs) throws Exception;

    void ack(Msg.Delivery d) throws Exception;

    /** Makes the message come back after retryDelayMs (gRPC: changeInvisibleDuration). */
    void nack(Msg.Delivery d, long retryDelayMs) throws Exception;

    /** Closes normally. */
    @Override
    void close();

    /** Whether the client holds a queue of the topic (remoting: its rebalance assigned one); gRPC: always. */
    default boolean hasQueues() {
      return true;
    }
  }

  /** A started push consumer. */
  interface Push extends AutoCloseable {
    /** Whether the client holds a queue of the topic (remoting: its rebalance assigned one); gRPC: always. */
    default boolean hasQueues() {
      return true;
    }
  }

  /** A push consumer's callback: true = consumed, false = consume later (the broker or client retries). */
  interface Listener {
    boolean onMessage(Msg.Delivery d);
  }

  /** The family's consumer factory. */
  interface Family {
    /** Whether receive-style consumption can fail a delivery (nack); the remoting lite pull consumer cannot. */
    boolean simpleCanNack();

    /**
     * Whether receive-style consumption moves the group's offset past messages its filter skips (gRPC: the broker's
     * pop does; the remoting lite pull consumer commits only offsets of messages it polled).
     */
    boolean simpleCommitsPastFiltered();

    Simple startSimple(Plan.ConsumerBehaviour b, String clientId, boolean orderly, String group, String topic)
        throws Exception;

    Push startPush(Plan.ConsumerBehaviour b, String clientId, boolean orderly, Listener listener)
        throws Exception;
  }
}
