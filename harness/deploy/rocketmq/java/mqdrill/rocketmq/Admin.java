package mqdrill.rocketmq;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.remoting.protocol.admin.TopicOffset;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.body.KVTable;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * One long-lived admin client for Apache RocketMQ (a JVM start per mqadmin call costs seconds): JSON requests on
 * stdin, one per line, `{"id":1,"op":"...",...}`; one JSON answer per line on stdout, `{"id":1,"ok":true,"result":..}`
 * or `{"id":1,"ok":false,"error":"..."}`. Stops at the end of stdin. Uses the rocketmq-tools admin API
 * (DefaultMQAdminExt) against the name server given as the first argument.
 *
 * Operations: brokers; createTopic {topic, queues, type}; createGroup {group, fifo, retryMaxTimes};
 * consumeStats {group}; topicStats {topic}; runtimeStats.
 */
public final class Admin {
    private final DefaultMQAdminExt admin;

    private Admin(DefaultMQAdminExt admin) {
        this.admin = admin;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Admin <namesrv host:port>");
            System.exit(2);
        }
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        System.setOut(System.err); // client libraries print; keep stdout for answers only
        DefaultMQAdminExt ext = new DefaultMQAdminExt(5000);
        ext.setNamesrvAddr(args[0]);
        ext.setInstanceName("mqdrill-admin-" + ProcessHandle.current().pid());
        ext.start();
        out.println("{\"ready\":true}");
        Admin a = new Admin(ext);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JSONObject answer = new JSONObject();
            try {
                JSONObject request = JSON.parseObject(line);
                answer.put("id", request.get("id"));
                answer.put("result", a.handle(request));
                answer.put("ok", true);
            } catch (Throwable e) {
                answer.put("ok", false);
                answer.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            out.println(answer.toJSONString());
        }
        ext.shutdown();
    }

    private Object handle(JSONObject r) throws Exception {
        switch (r.getString("op")) {
            case "brokers":
                return brokers();
            case "createTopic":
                return createTopic(r.getString("topic"), r.getIntValue("queues"), r.getString("type"));
            case "createGroup":
                return createGroup(r.getString("group"), r.getBooleanValue("fifo"), r.getInteger("retryMaxTimes"));
            case "consumeStats":
                return consumeStats(r.getString("group"));
            case "topicStats":
                return topicStats(r.getString("topic"));
            case "runtimeStats":
                return runtimeStats();
            default:
                throw new IllegalArgumentException("unknown op " + r.getString("op"));
        }
    }

    /** Master broker addresses by broker name. */
    private Map<String, String> masters() throws Exception {
        ClusterInfo info = admin.examineBrokerClusterInfo();
        Map<String, String> masters = new TreeMap<>();
        for (BrokerData b : info.getBrokerAddrTable().values()) {
            String addr = b.getBrokerAddrs().get(0L);
            if (addr != null) {
                masters.put(b.getBrokerName(), addr);
            }
        }
        return masters;
    }

    private Object brokers() throws Exception {
        return masters();
    }

    private Object createTopic(String topic, int queues, String type) throws Exception {
        Map<String, String> masters = requireMasters();
        for (String addr : masters.values()) {
            TopicConfig config = new TopicConfig(topic, queues, queues);
            Map<String, String> attributes = new HashMap<>();
            attributes.put("+message.type", type);
            config.setAttributes(attributes);
            admin.createAndUpdateTopicConfig(addr, config);
        }
        return masters.size();
    }

    private Object createGroup(String group, boolean fifo, Integer retryMaxTimes) throws Exception {
        Map<String, String> masters = requireMasters();
        for (String addr : masters.values()) {
            SubscriptionGroupConfig config = new SubscriptionGroupConfig();
            config.setGroupName(group);
            config.setConsumeMessageOrderly(fifo);
            if (retryMaxTimes != null) {
                config.setRetryMaxTimes(retryMaxTimes);
            }
            admin.createAndUpdateSubscriptionGroupConfig(addr, config);
        }
        return masters.size();
    }

    private Map<String, String> requireMasters() throws Exception {
        Map<String, String> masters = masters();
        if (masters.isEmpty()) {
            throw new IllegalStateException("no master broker registered with the name server yet");
        }
        return masters;
    }

    /** Per topic the group has offsets for: {brokerOffset, consumerOffset} summed over queues. Empty: no offsets. */
    private Object consumeStats(String group) throws Exception {
        JSONObject perTopic = new JSONObject();
        for (String addr : requireMasters().values()) {
            ConsumeStats stats;
            try {
                stats = admin.examineConsumeStats(addr, group, null, 5000);
            } catch (MQBrokerException | RuntimeException e) {
                continue; // the group has no offsets on this broker yet (nothing consumed): no rows
            }
            addRows(perTopic, stats);
        }
        return perTopic;
    }

    private static void addRows(JSONObject perTopic, ConsumeStats stats) {
        for (Map.Entry<org.apache.rocketmq.common.message.MessageQueue, OffsetWrapper> e
            : stats.getOffsetTable().entrySet()) {
            String topic = e.getKey().getTopic();
            JSONObject row = perTopic.getJSONObject(topic);
            if (row == null) {
                row = new JSONObject();
                row.put("brokerOffset", 0L);
                row.put("consumerOffset", 0L);
                perTopic.put(topic, row);
            }
            OffsetWrapper w = e.getValue();
            row.put("brokerOffset", row.getLongValue("brokerOffset") + w.getBrokerOffset());
            row.put("consumerOffset", row.getLongValue("consumerOffset") + Math.max(0, w.getConsumerOffset()));
        }
    }

    /** {exists, messages}: messages = sum over queues of max - min offset. */
    private Object topicStats(String topic) throws Exception {
        JSONObject result = new JSONObject();
        TopicStatsTable table;
        try {
            table = admin.examineTopicStats(topic);
        } catch (Exception e) {
            result.put("exists", false);
            result.put("messages", 0);
            result.put("reason", e.getMessage());
            return result;
        }
        long messages = 0;
        for (TopicOffset o : table.getOffsetTable().values()) {
            messages += o.getMaxOffset() - o.getMinOffset();
        }
        result.put("exists", true);
        result.put("messages", messages);
        return result;
    }

    /** The broker's runtime counters (msgPutTotalTodayNow, msgGetTotalTodayNow, ...) per master. */
    private Object runtimeStats() throws Exception {
        JSONObject result = new JSONObject();
        for (Map.Entry<String, String> m : requireMasters().entrySet()) {
            KVTable kv = admin.fetchBrokerRuntimeStats(m.getValue());
            result.put(m.getKey(), kv.getTable());
        }
        return result;
    }
}
