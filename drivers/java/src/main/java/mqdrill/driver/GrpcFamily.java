package mqdrill.driver;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientConfigurationBuilder;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageBuilder;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;

/**
 * The gRPC family: org.apache.rocketmq:rocketmq-client-java, the 5.x client. Producers of every message type
 * (NORMAL, FIFO with the message group, DELAY with a delivery timestamp, TRANSACTION with a checker), SimpleConsumer
 * and PushConsumer, as the Go driver does with the Go client.
 */
public final class GrpcFamily implements Driver.Family {
  /** The proxy's minimum long poll: it refuses a receive whose deadline leaves less, so await at least this. */
  static final long PROXY_LONG_POLL_MIN_MS = 5000;
  private final ClientServiceProvider provider;

  public GrpcFamily(String logDir) {
    System.setProperty("rocketmq.log.root", logDir);
    System.setProperty("rocketmq.log.level", "WARN");
    System.setProperty("mq.consoleAppender.enabled", "false");
    provider = ClientServiceProvider.loadService();
  }

  @Override
  public String clientName() {
    Package p = ClientServiceProvider.class.getPackage();
    String v = p == null ? null : p.getImplementationVersion();
    return "rocketmq-client-java@" + (v == null ? "5.2.0" : v);
  }

  static ClientConfiguration config(Plan.Target t, long requestTimeoutMs) {
    ClientConfigurationBuilder b = ClientConfiguration.newBuilder().setEndpoints(t.endpoint).enableSsl(t.tls)
        .setRequestTimeout(Duration.ofMillis(requestTimeoutMs));
    if (t.namespace != null && !t.namespace.isEmpty()) b.setNamespace(t.namespace);
    if (t.accessKey != null && !t.accessKey.isEmpty()) {
      SessionCredentialsProvider creds = new StaticSessionCredentialsProvider(t.accessKey, t.secretKey);
      b.setCredentialProvider(creds);
    }
    return b.build();
  }

  static FilterExpression filter(Plan.Filter f) {
    String expression = f == null || f.expression == null || f.expression.isEmpty() ? "*" : f.expression;
    return new FilterExpression(expression,
        f != null && "SQL92".equals(f.type) ? FilterExpressionType.SQL92 : FilterExpressionType.TAG);
  }

  static TransactionResolution resolution(String decision) {
    return Outcomes.decision(decision, TransactionResolution.COMMIT, TransactionResolution.ROLLBACK,
        TransactionResolution.UNKNOWN);
  }

  @Override
  public ProducerClient producer(Plan.EngineMessage plan, ProducerClient.CheckBack checkBack) throws Exception {
    Plan.MessageSpec spec = plan.scenario.message;
    Producer p = provider.newProducerBuilder()
        .setClientConfiguration(config(plan.target, Math.max(3000, (long) spec.sendTimeoutMs)))
        .setTopics(spec.topic)
        .setTransactionChecker(view -> resolution(checkBack.decide(view.getProperties().get(Msg.ID))))
        .build();
    String name = clientName();
    return new ProducerClient() {
      org.apache.rocketmq.client.apis.message.Message message(Msg.Outgoing m) {
        MessageBuilder b = provider.newMessageBuilder().setTopic(m.topic()).setBody(m.body()).setKeys(m.key());
        if (m.tag() != null) b.setTag(m.tag());
        if (m.group() != null) b.setMessageGroup(m.group());
        if (m.deliverAtMs() != null) b.setDeliveryTimestamp(m.deliverAtMs());
        m.properties().forEach(b::addProperty);
        return b.build();
      }

      @Override
      public String send(Msg.Outgoing m, long timeoutMs) throws Exception {
        return Outcomes.await(p.sendAsync(message(m)), timeoutMs).getMessageId().toString();
      }

      @Override
      public Half sendHalf(Msg.Outgoing m, String decision, long timeoutMs) throws Exception {
        Transaction tx = p.beginTransaction();
        String bid = within(timeoutMs, () -> p.send(message(m), tx).getMessageId().toString());
        return new Half(bid, tx, false);
      }

      @Override
      public void end(Half half, String decision, long timeoutMs) throws Exception {
        Transaction tx = (Transaction) half.handle();
        within(timeoutMs, () -> {
          if ("commit".equals(decision)) tx.commit();
          else tx.rollback();
          return null;
        });
      }

      @Override
      public String clientName() {
        return name;
      }

      @Override
      public void close() {
        try {
          p.close();
        } catch (java.io.IOException e) {
          // closing: nothing left to record
        }
      }
    };
  }

  interface Call<T> {
    T call() throws Exception;
  }

  /** Runs a blocking client call, giving up (Outcomes.Timeout) after timeoutMs; the call may go on behind. */
  static <T> T within(long timeoutMs, Call<T> call) throws Exception {
    java.util.concurrent.CompletableFuture<T> f = new java.util.concurrent.CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        f.complete(call.call());
      } catch (Exception e) {
        f.completeExceptionally(e);
      }
    }, "grpc-call");
    t.setDaemon(true);
    t.start();
    return Outcomes.await(f, timeoutMs);
  }

  static Msg.Delivery delivery(MessageView v) {
    return new Msg.Delivery(v.getMessageId().toString(), v.getTopic(), Math.max(1, v.getDeliveryAttempt()),
        v.getTag().orElse(null), v.getMessageGroup().orElse(null), v.getProperties(),
        v.getDeliveryTimestamp().orElse(null), v);
  }

  @Override
  public ConsumerClient.Family consumers(Plan.EngineMessage plan) {
    Plan.Target t = plan.target;
    return new ConsumerClient.Family() {
      @Override
      public boolean simpleCommitsPastFiltered() {
        return true;
      }

      @Override
      public boolean simpleCanNack() {
        return true;
      }

      @Override
      public ConsumerClient.Simple startSimple(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          String group, String topic) throws Exception {
        long await = Math.max(PROXY_LONG_POLL_MIN_MS, (long) b.awaitDurationMs);
        boolean dlq = topic.startsWith("%DLQ%");
        SimpleConsumer c = provider.newSimpleConsumerBuilder()
            .setClientConfiguration(config(t, Math.max(3000, 8000 - await)))
            .setConsumerGroup(group)
            .setAwaitDuration(Duration.ofMillis(await))
            .setSubscriptionExpressions(Map.of(topic, dlq ? filter(null) : filter(b.filter)))
            .build();
        return new ConsumerClient.Simple() {
          @Override
          public List<Msg.Delivery> receive(int batch, long invisibleMs, long awaitMs) throws Exception {
            List<Msg.Delivery> out = new ArrayList<>();
            for (MessageView v : c.receive(batch, Duration.ofMillis(Math.max(10_000, invisibleMs)))) {
              out.add(delivery(v));
            }
            return out;
          }

          @Override
          public void ack(Msg.Delivery d) throws Exception {
            c.ack((MessageView) d.handle());
          }

          @Override
          public void nack(Msg.Delivery d, long retryDelayMs) throws Exception {
            c.changeInvisibleDuration((MessageView) d.handle(), Duration.ofMillis(retryDelayMs));
          }

          @Override
          public void close() {
            try {
              c.close();
            } catch (java.io.IOException e) {
              // closing
            }
          }
        };
      }

      @Override
      public ConsumerClient.Push startPush(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          ConsumerClient.Listener listener) throws Exception {
        PushConsumer c = provider.newPushConsumerBuilder()
            .setClientConfiguration(config(t, 3000))
            .setConsumerGroup(b.group)
            .setSubscriptionExpressions(Map.of(b.topic, filter(b.filter)))
            .setMessageListener(v -> listener.onMessage(delivery(v)) ? ConsumeResult.SUCCESS : ConsumeResult.FAILURE)
            .build();
        return c::close;
      }
    };
  }
}
