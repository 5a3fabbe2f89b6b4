package mqdrill.driver;

/** What a client family does for a producer; the ledger and metrics stay in Producer. */
public interface ProducerClient extends AutoCloseable {
  /** Sends within timeoutMs; returns the broker's message id. Throws Outcomes.Timeout when it did not answer. */
  String send(Msg.Outgoing m, long timeoutMs) throws Exception;

  /**
   * Sends a transactional half message whose local transaction ends as {@code decision} (commit, rollback, unknown:
   * left to the check-back). Returns the broker's message id and a handle for {@link #end}.
   */
  Half sendHalf(Msg.Outgoing m, String decision, long timeoutMs) throws Exception;

  /** Commits or rolls back (gRPC); remoting clients already sent the end one way: see {@link Half#endSent}. */
  void end(Half half, String decision, long timeoutMs) throws Exception;

  /** Client library and version, e.g. rocketmq-client-java@5.2.0. */
  String clientName();

  @Override
  void close();

  /**
   * A half message. endSent: the client ended the transaction itself, one way (the remoting API: no answer comes,
   * so the end's outcome is unknown to the application).
   */
  record Half(String bid, Object handle, boolean endSent) {}

  /** Answers the broker's transaction check-back for a harness id: commit, rollback or unknown. */
  interface CheckBack {
    String decide(String harnessId);
  }
}
