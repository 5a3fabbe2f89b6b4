package mqdrill.driver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.RPCHook;

/**
 * The remoting family: org.apache.rocketmq:rocketmq-client with the 4.x API, as applications and Spring users run it,
 * over the name server and broker TCP. DefaultMQProducer (sync sends; async when the plan's send mode says so);
 * FIFO messages through a MessageQueueSelector on the message group (so FIFO holds per queue, which a group maps to);
 * delivery timestamps (setDeliverTimeMs); TransactionMQProducer with a check listener; DefaultMQPushConsumer
 * concurrent, or orderly on FIFO topics; DefaultLitePullConsumer for receive-style consumption; maxReconsumeTimes
 * = maxAttempts - 1, and %DLQ%group as RocketMQ defines them for this API.
 */
public final class RemotingFamily implements Driver.Family {
  /** The remoting client's route refresh, 30 s by default: 2 s, so a drill sees a restarted broker's routes soon. */
  static final int POLL_NAMESRV_MS = 2000;
  /** Delay levels of a default broker (messageDelayLevel), in ms: a failed concurrent delivery retries at one. */
  static final long[] DELAY_LEVELS_MS = {1000, 5000, 10000, 30000, 60000, 120000, 180000, 240000, 300000, 360000,
      420000, 480000, 540000, 600000, 1200000, 1800000, 3600000, 7200000};

  private final String logDir;

  public RemotingFamily(String logDir) {
    this.logDir = logDir;
    System.setProperty("rocketmq.client.logRoot", logDir);
    System.setProperty("rocketmq.client.logLevel", "WARN");
    System.setProperty("rocketmq.client.logUseSlf4j", "false");
    // Rebalance every 2 s instead of 20 s: queues dropped while a broker was down come back within a drill's drain.
    System.setProperty("rocketmq.client.rebalance.waitInterval", "2000");
  }

  @Override
  public String clientName() {
    return "rocketmq-client@" + org.apache.rocketmq.common.MQVersion.getVersionDesc(
        org.apache.rocketmq.common.MQVersion.CURRENT_VERSION).replace("V", "").replace('_', '.');
  }

  /** The smallest delay level (1-based) at or above ms. */
  static int delayLevelFor(double ms) {
    for (int i = 0; i < DELAY_LEVELS_MS.length; i++) {
      if (DELAY_LEVELS_MS[i] >= ms) return i + 1;
    }
    return DELAY_LEVELS_MS.length;
  }

  static RPCHook hook(Plan.Target t) {
    if (t.accessKey != null && !t.accessKey.isEmpty()) {
      throw new IllegalArgumentException("the remoting driver does not sign requests (ACL): use --driver java "
          + "for a target with access keys");
    }
    return t.remotingRoutes == null || t.remotingRoutes.isEmpty() ? null : new RouteRewrite(t.remotingRoutes);
  }

  static void configure(ClientConfig c, Plan.Target t, String instance) {
    if (t.namesrv == null || t.namesrv.isEmpty()) {
      throw new IllegalArgumentException("the remoting driver needs a name server address (target.namesrv): the "
          + "rocketmq target provides one; for --target external set MQDRILL_NAMESRV");
    }
    c.setNamesrvAddr(t.namesrv);
    c.setInstanceName(instance);
    c.setPollNameServerInterval(POLL_NAMESRV_MS);
    c.setVipChannelEnabled(false);
    if (t.namespace != null && !t.namespace.isEmpty()) c.setNamespaceV2(t.namespace);
  }

  @Override
  public ProducerClient producer(Plan.EngineMessage plan, ProducerClient.CheckBack checkBack) throws Exception {
    Plan.MessageSpec spec = plan.scenario.message;
    String group = "mqdrill-" + plan.driverId;
    DefaultMQProducer p;
    if (spec.transaction != null) {
      TransactionMQProducer tp = new TransactionMQProducer(group, hook(plan.target));
      tp.setTransactionListener(new TransactionListener() {
        @Override
        public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
          return state((String) arg);
        }

        @Override
        public LocalTransactionState checkLocalTransaction(MessageExt msg) {
          return state(checkBack.decide(msg.getUserProperty(Msg.ID)));
        }
      });
      p = tp;
    } else {
      p = new DefaultMQProducer(group, hook(plan.target));
    }
    configure(p, plan.target, plan.driverId + "@" + ProcessHandle.current().pid());
    p.setSendMsgTimeout((int) spec.sendTimeoutMs);
    p.start();
    try {
      // The route before ready, as the gRPC clients fetch theirs at start: the first sends are not slowed by it.
      p.fetchPublishMessageQueues(spec.topic);
    } catch (MQClientException e) {
      p.shutdown();
      throw e;
    }
    boolean async = "async".equals(spec.sendMode) || "async".equals(System.getenv("MQDRILL_JAVA_SEND_MODE"));
    return new RemotingProducer(p, async, clientName());
  }

  static LocalTransactionState state(String decision) {
    return Outcomes.decision(decision, LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.ROLLBACK_MESSAGE,
        LocalTransactionState.UNKNOW);
  }

  /** A SendResult that is not SEND_OK stored the message without the flush or replica it waits for: unknown. */
  static final class NotFlushed extends Exception {
    NotFlushed(SendStatus status) {
      super("send status " + status + ": stored, but not flushed or replicated as configured");
    }
  }

  static final class RemotingProducer implements ProducerClient {
    private final DefaultMQProducer p;
    private final boolean async;
    private final String name;
    private static final MessageQueueSelector BY_GROUP =
        (mqs, msg, arg) -> mqs.get(Math.floorMod(arg.hashCode(), mqs.size()));

    RemotingProducer(DefaultMQProducer p, boolean async, String name) {
      this.p = p;
      this.async = async;
      this.name = name + (async ? " (async sends)" : "");
    }

    static Message message(Msg.Outgoing m) {
      Message msg = new Message(m.topic(), m.tag() == null ? "" : m.tag(), m.key(), m.body());
      m.properties().forEach(msg::putUserProperty);
      if (m.group() != null) MessageAccessor.putProperty(msg, MessageConst.PROPERTY_SHARDING_KEY, m.group());
      if (m.deliverAtMs() != null) msg.setDeliverTimeMs(m.deliverAtMs());
      return msg;
    }

    static String checked(SendResult r) throws NotFlushed {
      if (r.getSendStatus() != SendStatus.SEND_OK) throw new NotFlushed(r.getSendStatus());
      return r.getMsgId();
    }

    @Override
    public String send(Msg.Outgoing m, long timeoutMs) throws Exception {
      Message msg = message(m);
      if (!async) {
        return checked(m.group() != null ? p.send(msg, BY_GROUP, m.group(), timeoutMs) : p.send(msg, timeoutMs));
      }
      CompletableFuture<SendResult> f = new CompletableFuture<>();
      SendCallback cb = new SendCallback() {
        @Override
        public void onSuccess(SendResult r) {
          f.complete(r);
        }

        @Override
        public void onException(Throwable e) {
          f.completeExceptionally(e);
        }
      };
      if (m.group() != null) p.send(msg, BY_GROUP, m.group(), cb, timeoutMs);
      else p.send(msg, cb, timeoutMs);
      // The client answers the callback itself when its own timeout passes; a second more before giving up on it.
      return checked(Outcomes.await(f, timeoutMs + 1000));
    }

    @Override
    public Half sendHalf(Msg.Outgoing m, String decision, long timeoutMs) throws Exception {
      return new Half(checked(p.sendMessageInTransaction(message(m), decision)), null, true);
    }

    @Override
    public void end(Half half, String decision, long timeoutMs) {
      throw new UnsupportedOperationException("the remoting producer ended the transaction in sendHalf");
    }

    @Override
    public String clientName() {
      return name;
    }

    @Override
    public void close() {
      p.shutdown();
    }
  }

  @Override
  public ConsumerClient.Family consumers(Plan.EngineMessage plan) {
    Plan.Target t = plan.target;
    return new ConsumerClient.Family() {
      @Override
      public boolean simpleCommitsPastFiltered() {
        return false;
      }

      @Override
      public boolean simpleCanNack() {
        return false;
      }

      @Override
      public ConsumerClient.Simple startSimple(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          String group, String topic) throws Exception {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group, hook(t));
        configure(c, t, clientId + "@" + ProcessHandle.current().pid());
        c.setAutoCommit(false);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullBatchSize(Math.max(1, b.receiveBatchSize));
        c.setTopicMetadataCheckIntervalMillis(POLL_NAMESRV_MS);
        subscribe(c, topic, topic.startsWith(MixAll.DLQ_GROUP_TOPIC_PREFIX) ? new Plan.Filter() : b.filter);
        c.start();
        return new LitePull(c, orderly, topic);
      }

      @Override
      public ConsumerClient.Push startPush(Plan.ConsumerBehaviour b, String clientId, boolean orderly,
          ConsumerClient.Listener listener) throws Exception {
        return push(t, b, clientId, orderly, listener);
      }
    };
  }

  static void subscribe(Object consumer, String topic, Plan.Filter f) throws MQClientException {
    String expression = f.expression == null || f.expression.isEmpty() ? "*" : f.expression;
    MessageSelector selector = "SQL92".equals(f.type) ? MessageSelector.bySql(expression)
        : MessageSelector.byTag(expression);
    if (consumer instanceof DefaultLitePullConsumer c) c.subscribe(topic, selector);
    else ((DefaultMQPushConsumer) consumer).subscribe(topic, selector);
  }

  static Msg.Delivery delivery(MessageExt m, boolean orderly, MessageQueue mq) {
    Map<String, String> props = m.getProperties() == null ? Map.of() : m.getProperties();
    Long at = null;
    String timer = props.get(MessageConst.PROPERTY_TIMER_DELIVER_MS);
    if (timer != null) {
      try {
        at = Long.parseLong(timer);
      } catch (NumberFormatException e) {
        at = null;
      }
    }
    String group = orderly ? props.get(Msg.KEY) : null;
    String tag = m.getTags() == null || m.getTags().isEmpty() ? null : m.getTags();
    return new Msg.Delivery(m.getMsgId(), m.getTopic(), m.getReconsumeTimes() + 1, tag, group, props, at,
        new Object[] {m, mq});
  }

  static ConsumerClient.Push push(Plan.Target t, Plan.ConsumerBehaviour b, String clientId, boolean orderly,
      ConsumerClient.Listener listener) throws Exception {
    DefaultMQPushConsumer c = new DefaultMQPushConsumer(b.group, hook(t));
    configure(c, t, clientId + "@" + ProcessHandle.current().pid());
    c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
    c.setConsumeMessageBatchMaxSize(1);
    if (b.maxAttempts != null) c.setMaxReconsumeTimes(Math.max(0, b.maxAttempts - 1));
    subscribe(c, b.topic, b.filter);
    if (orderly) {
      c.setSuspendCurrentQueueTimeMillis(Math.max(10, (long) b.retryDelayMs));
      c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
        for (MessageExt m : msgs) {
          if (!listener.onMessage(delivery(m, true, ctx.getMessageQueue()))) {
            return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
          }
        }
        return ConsumeOrderlyStatus.SUCCESS;
      });
    } else {
      int level = delayLevelFor(b.retryDelayMs);
      c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
        for (MessageExt m : msgs) {
          if (!listener.onMessage(delivery(m, false, ctx.getMessageQueue()))) {
            ctx.setDelayLevelWhenNextConsume(level);
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
          }
        }
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
      });
    }
    c.start();
    return new ConsumerClient.Push() {
      @Override
      public boolean hasQueues() {
        return holds(c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet(), b.topic);
      }

      @Override
      public void close() {
        c.shutdown();
      }
    };
  }

  /** Whether the queues include one of the topic (the client's topics may carry a namespace prefix). */
  static boolean holds(java.util.Collection<MessageQueue> queues, String topic) {
    for (MessageQueue mq : queues) {
      if (mq.getTopic().equals(topic) || mq.getTopic().endsWith("%" + topic)) return true;
    }
    return false;
  }

  /** Receive-style consumption on DefaultLitePullConsumer: an ack commits the queue's offset past the message. */
  static final class LitePull implements ConsumerClient.Simple {
    private final DefaultLitePullConsumer c;
    private final boolean orderly;
    private final String topic;

    LitePull(DefaultLitePullConsumer c, boolean orderly, String topic) {
      this.c = c;
      this.orderly = orderly;
      this.topic = topic;
    }

    @Override
    public List<Msg.Delivery> receive(int batch, long invisibleMs, long awaitMs) throws MQClientException {
      List<MessageExt> got = c.poll(Math.max(100, awaitMs));
      if (got.isEmpty()) probeBrokers();
      List<Msg.Delivery> out = new ArrayList<>(got.size());
      for (MessageExt m : got) {
        out.add(delivery(m, orderly, new MessageQueue(m.getTopic(), m.getBrokerName(), m.getQueueId())));
      }
      return out;
    }

    /**
     * poll() answers nothing both when the queues are empty and when the client's background pulls fail (they only
     * log), and the engine's drain takes an empty answer for idle. So an empty poll asks each broker of the
     * subscription one offset query (offsetForTimestamp: one request to the broker, through the same connections
     * and fault proxy as the pulls); a broker that does not answer makes this receive fail, as a gRPC receive does.
     */
    private void probeBrokers() throws MQClientException {
      Set<MessageQueue> queues = c.assignment();
      if (queues.isEmpty()) queues = new HashSet<>(c.fetchMessageQueues(topic));
      Map<String, MessageQueue> oneByBroker = new TreeMap<>();
      for (MessageQueue mq : queues) oneByBroker.putIfAbsent(mq.getBrokerName(), mq);
      for (MessageQueue mq : oneByBroker.values()) {
        try {
          c.offsetForTimestamp(mq, System.currentTimeMillis());
        } catch (MQClientException e) {
          throw new MQClientException("no message, and broker " + mq.getBrokerName() + " did not answer an offset "
              + "query, so the consumer's pulls cannot reach it either: " + Outcomes.text(e), e);
        }
      }
    }

    @Override
    public void ack(Msg.Delivery d) {
      Object[] handle = (Object[]) d.handle();
      MessageExt m = (MessageExt) handle[0];
      Map<MessageQueue, Long> offsets = new HashMap<>();
      offsets.put((MessageQueue) handle[1], m.getQueueOffset() + 1);
      c.commit(offsets, true);
    }

    @Override
    public void nack(Msg.Delivery d, long retryDelayMs) {
      throw new UnsupportedOperationException("DefaultLitePullConsumer has no per-message retry");
    }

    @Override
    public void close() {
      c.shutdown();
    }

    @Override
    public boolean hasQueues() {
      try {
        return holds(c.assignment(), topic);
      } catch (MQClientException e) {
        return false;
      }
    }
  }
}
