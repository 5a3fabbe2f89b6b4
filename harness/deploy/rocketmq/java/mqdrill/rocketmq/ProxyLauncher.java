package mqdrill.rocketmq;

import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.common.utils.StartAndShutdown;
import org.apache.rocketmq.proxy.ProxyStartup;
import org.apache.rocketmq.proxy.config.ConfigurationManager;
import org.apache.rocketmq.proxy.config.ProxyConfig;
import org.apache.rocketmq.proxy.grpc.GrpcServer;
import org.apache.rocketmq.proxy.grpc.GrpcServerBuilder;
import org.apache.rocketmq.proxy.grpc.v2.GrpcMessagingApplication;
import org.apache.rocketmq.proxy.metrics.ProxyMetricsManager;
import org.apache.rocketmq.proxy.processor.DefaultMessagingProcessor;
import org.apache.rocketmq.proxy.processor.MessagingProcessor;

/**
 * Starts Apache RocketMQ's broker with its gRPC proxy in one JVM (LOCAL mode, as `mqbroker --enable-proxy` does),
 * with one difference: the gRPC port that routes advertise can differ from the port the gRPC server listens on.
 *
 * Why: in LOCAL mode a QueryRoute answer names brokerIP1 and the configured grpcServerPort, whatever address the
 * client dialled, so a fault proxy (Toxiproxy) in front of the gRPC port is bypassed after the first route lookup.
 * The route service reads grpcServerPort once, when it is built; the gRPC server reads it when it binds. This
 * launcher builds the route service while grpcServerPort holds the advertised port (-Dmqdrill.advertisedGrpcPort,
 * the fault proxy's port on brokerIP1), then binds the gRPC server on the configured port. Without the property it
 * behaves like ProxyStartup in LOCAL mode. The proxy's remoting (4.x protocol) server is not started: the drills use
 * gRPC clients only.
 *
 * It extends ProxyStartup only to call its protected command-line and broker-creation helpers.
 */
public final class ProxyLauncher extends ProxyStartup {
    private static final List<StartAndShutdown> PARTS = new ArrayList<>();

    public static void main(String[] args) {
        try {
            start(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.out.println("mqdrill: rocketmq-proxy failed to start: " + e);
            System.exit(1);
        }
        System.out.printf("%s%n", new Date() + " rocketmq-proxy startup successfully");
    }

    private static void start(String[] args) throws Exception {
        initConfiguration(parseCommandLineArgument(args));
        ProxyConfig config = ConfigurationManager.getProxyConfig();
        config.setProxyMode("LOCAL");
        initThreadPoolMonitor();
        int listenPort = config.getGrpcServerPort();
        int advertisedPort = Integer.getInteger("mqdrill.advertisedGrpcPort", listenPort);
        ThreadPoolExecutor executor = createServerExecutor();

        BrokerController broker = createBrokerController();
        ProxyMetricsManager.initLocalMode(broker.getBrokerMetricsManager(), config);
        PARTS.add(new StartAndShutdown() {
            @Override
            public void start() throws Exception {
                broker.start();
            }

            @Override
            public void shutdown() throws Exception {
                broker.shutdown();
            }
        });
        config.setGrpcServerPort(advertisedPort);
        MessagingProcessor processor = DefaultMessagingProcessor.createForLocalMode(broker);
        config.setGrpcServerPort(listenPort);
        PARTS.add(processor);
        GrpcMessagingApplication application = GrpcMessagingApplication.create(processor);
        PARTS.add(application);
        GrpcServer grpcServer = GrpcServerBuilder.newBuilder(executor, listenPort)
            .addService(application)
            .configInterceptor()
            .shutdownTime(config.getGrpcShutdownTimeSeconds(), TimeUnit.SECONDS)
            .build();
        PARTS.add(grpcServer);
        for (StartAndShutdown part : PARTS) {
            part.start();
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (int i = PARTS.size() - 1; i >= 0; i--) {
                try {
                    PARTS.get(i).preShutdown();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }
            for (int i = PARTS.size() - 1; i >= 0; i--) {
                try {
                    PARTS.get(i).shutdown();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }
            executor.shutdown();
        }));
    }
}
