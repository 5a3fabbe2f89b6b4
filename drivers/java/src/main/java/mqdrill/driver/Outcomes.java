package mqdrill.driver;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.remoting.exception.RemotingConnectException;
import org.apache.rocketmq.remoting.exception.RemotingException;
import org.apache.rocketmq.remoting.exception.RemotingTimeoutException;
import org.apache.rocketmq.remoting.exception.RemotingTooMuchRequestException;

/**
 * Maps a send's failure onto the ledger's outcomes, as the node and Go drivers do: {@code fail} only when the
 * message was certainly not stored (the broker refused it, or the client rejected it before writing a byte);
 * {@code unknown} for everything that may have stored it: timeouts (never {@code fail}), connections lost after the
 * request was written, internal errors, and a remoting send that failed after retries (the application sees only
 * the last attempt's error, so an earlier attempt that timed out may have stored the message).
 */
public final class Outcomes {
  private Outcomes() {}

  /** A call that did not answer within its timeout. */
  public static final class Timeout extends Exception {
    public Timeout(String message) {
      super(message);
    }
  }

  /**
   * The answer of an asynchronous client call, waited for at most timeoutMs: its value, the exception the call failed
   * with (unwrapped, so {@link #classify} sees the client's own), or {@link Timeout} (unknown: the call may go on).
   */
  public static <T> T await(Future<T> f, long timeoutMs) throws Exception {
    try {
      return f.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new Timeout("no answer within " + timeoutMs + " ms");
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }

  /** A planned transaction decision (commit, rollback, anything else: unknown) as a client's own constant. */
  public static <T> T decision(String decision, T commit, T rollback, T unknown) {
    if ("commit".equals(decision)) return commit;
    return "rollback".equals(decision) ? rollback : unknown;
  }

  public static String classify(Throwable err) {
    if (err == null) return "ok";
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof Timeout || t instanceof TimeoutException || t instanceof RemotingTimeoutException) {
        return "unknown";
      }
      if (t.getCause() == t) break;
    }
    if (err instanceof MQBrokerException) return "fail";
    if (err instanceof MQClientException mce) return classifyRemotingClient(mce);
    if (err instanceof RemotingConnectException) return "fail";
    if (err instanceof RemotingTooMuchRequestException) return "unknown";
    if (err instanceof RemotingException) return "unknown";
    if (err instanceof org.apache.rocketmq.client.apis.ClientException) return classifyGrpc(err);
    return "unknown";
  }

  /**
   * The remoting producer's own errors. "Send [N] times, still failed" (N > 1) reports only the last attempt: unknown.
   * A single attempt that the broker refused, no route for the topic, or a client-side check (a bad message, the
   * producer not running) stored nothing: fail.
   */
  static String classifyRemotingClient(MQClientException e) {
    String text = String.valueOf(e.getErrorMessage()) + " " + String.valueOf(e.getMessage());
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("Send \\[(\\d+)\\] times").matcher(text);
    if (m.find()) {
      if (Integer.parseInt(m.group(1)) > 1) return "unknown";
      Throwable cause = e.getCause();
      return cause == null ? "unknown" : classify(cause);
    }
    if (e.getCause() instanceof RemotingException) return classify(e.getCause());
    if (e.getCause() instanceof MQBrokerException) return "fail";
    if (text.contains("No route info") || text.contains("not running") || text.contains("The producer service state")
        || e.getResponseCode() == 13 /* MESSAGE_ILLEGAL */ || text.contains("the message is illegal")) {
      return "fail";
    }
    return "unknown";
  }

  /** The gRPC client's status exceptions: RocketMQ codes 1xxxx to 4xxxx are refusals (fail), 5xxxx unknown. */
  static String classifyGrpc(Throwable e) {
    String name = e.getClass().getSimpleName();
    return switch (name) {
      case "BadRequestException", "UnauthorizedException", "PaymentRequiredException", "ForbiddenException",
          "NotFoundException", "PayloadTooLargeException", "TooManyRequestsException",
          "RequestHeaderFieldsTooLargeException", "PayloadEmptyException", "UnsupportedException" -> "fail";
      default -> "unknown";
    };
  }

  /** A short error text for the ledger: class and message, 200 characters at most. */
  public static String text(Throwable err) {
    if (err == null) return "";
    String message = err.getMessage();
    if (message == null && err.getCause() != null) message = String.valueOf(err.getCause().getMessage());
    String s = err.getClass().getSimpleName() + ": " + (message == null ? "" : message.replace('\n', ' '));
    return Protocol.clip(s, 200);
  }
}
