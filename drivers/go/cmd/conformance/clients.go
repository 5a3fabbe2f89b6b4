package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"os"
	"path/filepath"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Environment variables the Go client reads (log.go, conn.go of rocketmq-clients/golang/v5).
const (
	envLogRoot   = "rocketmq.client.logRoot"
	envLogLevel  = "rocketmq.client.logLevel"
	envLogFile   = "rocketmq.client.logFileName"
	envConsole   = "mq.consoleAppender.enabled"
	envEnableSsl = "rocketmq.client.enableSsl"
)

// invisibleDuration is what the simple consumers ask for; the proxy's minimum is 10 s.
const invisibleDuration = 15 * time.Second

// awaitDuration is the simple consumers' long-polling time: RocketMQ's proxy refuses a receive whose deadline (the
// client's 3 s timeout plus this) leaves less than its 5 s minimum long poll.
const awaitDuration = 5 * time.Second

// connLogger receives the client's per-RPC log lines (by default /tmp/rocketmq-logger.log at info level).
var connLogger = zap.NewNop()

// setUpClientLogs sends the client's logs to a file in logDir instead of $HOME/logs/rocketmq, at the given level.
// The client reads its log settings when the package initialises, so the logger is rebuilt after setting them.
func setUpClientLogs(logDir, level string) (string, error) {
	if logDir == "" {
		logDir = filepath.Join(os.TempDir(), "mqdrill-go-conformance")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", fmt.Errorf("client log folder: %w", err)
	}
	for key, value := range map[string]string{
		envLogRoot: logDir, envLogLevel: level, envLogFile: "client.log", envConsole: "false",
	} {
		if err := os.Setenv(key, value); err != nil {
			return "", err
		}
	}
	rmq.ResetLogger()
	zapLevel, err := zapcore.ParseLevel(level)
	if err != nil {
		return "", err
	}
	file, err := os.OpenFile(filepath.Join(logDir, "rpc.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("client rpc log: %w", err)
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(file), zapLevel)
	connLogger = zap.New(core)
	return logDir, nil
}

// setTLS switches the client's transport. The Go client defaults to TLS and reads this global when it dials.
func setTLS(on bool) {
	rmq.EnableSsl = on
	value := "false"
	if on {
		value = "true"
	}
	_ = os.Setenv(envEnableSsl, value)
}

// clientConfig builds the client configuration; without an access key the client sends no authorization header.
func clientConfig(o options, group, accessKey, secretKey string) *rmq.Config {
	cfg := &rmq.Config{Endpoint: o.endpoint, NameSpace: o.namespace, ConsumerGroup: group}
	if accessKey != "" {
		cfg.Credentials = &credentials.SessionCredentials{AccessKey: accessKey, AccessSecret: secretKey}
	}
	return cfg
}

// newClient is the client constructor with this program's RPC logger.
func newClient(cfg *rmq.Config, opts ...rmq.ClientOption) (rmq.Client, error) {
	opts = append(opts, rmq.WithConnOptions(rmq.WithZapLogger(connLogger)))
	return rmq.NewClient(cfg, opts...)
}

func startProducer(ctx context.Context, o options, topic string, extra ...rmq.ProducerOption) (rmq.Producer, error) {
	return startProducerAs(ctx, o, o.accessKey, o.secretKey, topic, extra...)
}

func startProducerAs(ctx context.Context, o options, ak, sk, topic string,
	extra ...rmq.ProducerOption) (rmq.Producer, error) {
	opts := append([]rmq.ProducerOption{rmq.WithTopics(topic), rmq.WithClientFunc(newClient)}, extra...)
	p, err := rmq.NewProducer(clientConfig(o, "", ak, sk), opts...)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	if err := lifecycle.StartWithin(ctx, "producer", p); err != nil {
		return nil, err
	}
	return p, nil
}

func startSimpleConsumer(ctx context.Context, o options, group, topic string,
	filter *rmq.FilterExpression) (rmq.SimpleConsumer, error) {
	c, err := rmq.NewSimpleConsumer(clientConfig(o, group, o.accessKey, o.secretKey),
		rmq.WithSimpleAwaitDuration(awaitDuration),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: filter}),
		rmq.WithClientFuncForSimpleConsumer(newClient),
	)
	if err != nil {
		return nil, fmt.Errorf("simple consumer: %w", err)
	}
	if err := lifecycle.StartWithin(ctx, "simple consumer", c); err != nil {
		return nil, err
	}
	return c, nil
}

func startPushConsumer(ctx context.Context, o options, group, topic string,
	listener func(*rmq.MessageView) rmq.ConsumerResult) (rmq.PushConsumer, error) {
	c, err := rmq.NewPushConsumer(clientConfig(o, group, o.accessKey, o.secretKey),
		rmq.WithPushAwaitDuration(5*time.Second),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: listener}),
		rmq.WithPushConsumptionThreadCount(4),
	)
	if err != nil {
		return nil, fmt.Errorf("push consumer: %w", err)
	}
	if err := lifecycle.StartWithin(ctx, "push consumer", c); err != nil {
		return nil, err
	}
	return c, nil
}

// isMessageNotFound: the Go SimpleConsumer reports an empty long poll as ErrRpcStatus MESSAGE_NOT_FOUND (40401).
func isMessageNotFound(err error) bool {
	status, ok := rmq.AsErrRpcStatus(err)
	return ok && status.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND)
}

// receiveOnce does one long-polling receive; MESSAGE_NOT_FOUND is an empty batch.
// Its deadline is not cut short by a shorter ctx (a quiet period): a receive whose deadline leaves less than the
// proxy's 5 s minimum long poll is refused, so each call gets awaitDuration+5s of its own.
func receiveOnce(ctx context.Context, c rmq.SimpleConsumer) ([]*rmq.MessageView, error) {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), awaitDuration+5*time.Second)
	defer cancel()
	batch, err := c.Receive(callCtx, 16, invisibleDuration)
	if err != nil && isMessageNotFound(err) {
		return nil, nil
	}
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return batch, err
}

// errStop ends a receive loop early without an error.
var errStop = errors.New("stop")

// receiveLoop receives and acks until handle returns errStop, handle or a receive fails, or ctx ends.
func receiveLoop(ctx context.Context, c rmq.SimpleConsumer, handle func(*rmq.MessageView) error) error {
	for {
		batch, err := receiveOnce(ctx, c)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		for _, m := range batch {
			handleErr := handle(m)
			if err := c.Ack(ctx, m); err != nil {
				return fmt.Errorf("ack %s: %w", m.GetMessageId(), err)
			}
			if errors.Is(handleErr, errStop) {
				return nil
			}
			if handleErr != nil {
				return handleErr
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
