import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientConfigurationBuilder;
import org.apache.rocketmq.client.apis.ClientException;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageBuilder;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.ProducerBuilder;
import org.apache.rocketmq.client.apis.producer.TransactionChecker;

/** Builds the official clients from the command-line options and closes them (bounded) at the end of a case. */
final class Clients implements AutoCloseable {
  /** User property carrying the run id, so a case only counts the messages it sent. */
  static final String RUN_PROPERTY = "mqdrill-run";

  /** A message as received, with the local wall-clock time at which receive() returned it. */
  record Received(MessageView view, long atMs) {
    String property(String key) {
      return view.getProperties().get(key);
    }

    String body() {
      return StandardCharsets.UTF_8.decode(view.getBody().duplicate()).toString();
    }
  }

  final ClientServiceProvider provider = ClientServiceProvider.loadService();
  final String runId = Long.toString(System.nanoTime(), 36);
  private final Conformance.Args args;
  private final List<Closeable> opened = new ArrayList<>();

  Clients(Conformance.Args args) {
    this.args = args;
  }

  ClientConfiguration configuration() {
    ClientConfigurationBuilder b = ClientConfiguration.newBuilder()
        .setEndpoints(args.require("endpoint"))
        .enableSsl(args.bool("tls", false))
        .setRequestTimeout(Duration.ofMillis(args.integer("request-timeout-ms", 5_000)));
    String ak = args.get("ak", "");
    if (!ak.isEmpty()) b.setCredentialProvider(new StaticSessionCredentialsProvider(ak, args.get("sk", "")));
    return b.build();
  }

  Producer producer(String topic, TransactionChecker checker) throws ClientException {
    ProducerBuilder b = provider.newProducerBuilder().setClientConfiguration(configuration()).setTopics(topic);
    if (checker != null) b.setTransactionChecker(checker);
    return track(b.build());
  }

  /** A message of this run: body "runId:i", the run property set. */
  MessageBuilder message(String topic, int i) {
    return provider.newMessageBuilder()
        .setTopic(topic)
        .setKeys("key-" + runId + "-" + i)
        .addProperty(RUN_PROPERTY, runId)
        .setBody((runId + ":" + i).getBytes(StandardCharsets.UTF_8));
  }

  SimpleConsumer simpleConsumer(String group, String topic, FilterExpression filter) throws ClientException {
    return track(provider.newSimpleConsumerBuilder()
        .setClientConfiguration(configuration())
        .setConsumerGroup(group)
        .setAwaitDuration(Duration.ofMillis(args.integer("await-ms", 2_000)))
        .setSubscriptionExpressions(Map.of(topic, filter))
        .build());
  }

  /** A push consumer that records every message of this run into sink and acknowledges everything. */
  PushConsumer pushConsumer(String group, String topic, FilterExpression filter, Queue<Received> sink)
      throws ClientException {
    return track(provider.newPushConsumerBuilder()
        .setClientConfiguration(configuration())
        .setConsumerGroup(group)
        .setSubscriptionExpressions(Map.of(topic, filter))
        .setMessageListener(view -> {
          if (runId.equals(view.getProperties().get(RUN_PROPERTY))) {
            sink.add(new Received(view, System.currentTimeMillis()));
          }
          return ConsumeResult.SUCCESS;
        })
        .build());
  }

  /**
   * Receives (and acks, in order) until `done` holds for the messages of this run seen so far or the deadline
   * passes. Messages of other runs are acknowledged and dropped.
   */
  List<Received> receive(SimpleConsumer c, long deadlineMs, Predicate<List<Received>> done) throws ClientException {
    List<Received> got = new ArrayList<>();
    Duration invisible = Duration.ofSeconds(30);
    while (!done.test(got) && System.currentTimeMillis() < deadlineMs) {
      for (MessageView v : c.receive(16, invisible)) {
        if (runId.equals(v.getProperties().get(RUN_PROPERTY))) got.add(new Received(v, System.currentTimeMillis()));
        c.ack(v);
      }
    }
    return got;
  }

  /** Waits (bounded) until `done` holds for what a push consumer has recorded. */
  static List<Received> await(Queue<Received> sink, long deadlineMs, Predicate<List<Received>> done)
      throws InterruptedException {
    while (!done.test(new ArrayList<>(sink)) && System.currentTimeMillis() < deadlineMs) Thread.sleep(50);
    return new ArrayList<>(sink);
  }

  static Queue<Received> sink() {
    return new ConcurrentLinkedQueue<>();
  }

  static Predicate<List<Received>> atLeast(int n) {
    return got -> got.size() >= n;
  }

  private <T extends Closeable> T track(T client) {
    opened.add(client);
    return client;
  }

  /** Closes the clients newest first; each close gets at most 15 s (a push consumer waits for its long polls). */
  @Override
  public void close() {
    for (int i = opened.size() - 1; i >= 0; i--) {
      Closeable c = opened.get(i);
      Thread t = new Thread(() -> {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("close failed: " + Conformance.describe(e));
        }
      }, "conformance-close");
      t.setDaemon(true);
      t.start();
      try {
        t.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
