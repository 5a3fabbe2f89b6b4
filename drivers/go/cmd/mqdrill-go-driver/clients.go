package main

import (
	"context"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"os"
	"runtime/debug"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
	"go.uber.org/zap"
)

// The client setup follows cmd/conformance (clients.go): the Go client logs to $HOME/logs/rocketmq and dials TLS
// unless told otherwise through these environment variables and globals (log.go, conn.go of golang/v5).
const (
	envLogRoot   = "rocketmq.client.logRoot"
	envLogLevel  = "rocketmq.client.logLevel"
	envLogFile   = "rocketmq.client.logFileName"
	envConsole   = "mq.consoleAppender.enabled"
	envEnableSsl = "rocketmq.client.enableSsl"
	clientModule = "github.com/apache/rocketmq-clients/golang/v5"
)

// startTimeout bounds Start, which waits forever for the broker's route and settings.
const startTimeout = 20 * time.Second

// setUpClientLogs sends the client's own log (warnings and up) to logDir instead of $HOME/logs/rocketmq; stdout
// is the protocol channel, so nothing of the client may print there.
func setUpClientLogs(logDir string) error {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("client log folder: %w", err)
	}
	for key, value := range map[string]string{
		envLogRoot: logDir, envLogLevel: "warn", envLogFile: "client.log", envConsole: "false",
	} {
		if err := os.Setenv(key, value); err != nil {
			return err
		}
	}
	rmq.ResetLogger()
	return nil
}

// setTLS switches the client's transport: the Go client defaults to TLS, the plan's target says.
func setTLS(on bool) {
	rmq.EnableSsl = on
	value := "false"
	if on {
		value = "true"
	}
	_ = os.Setenv(envEnableSsl, value)
}

// clientName is the client library and version, e.g. golang/v5@5.1.4, read from the build.
func clientName() string {
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == clientModule {
				version = dep.Version
				if len(version) > 0 && version[0] == 'v' {
					version = version[1:]
				}
			}
		}
	}
	return "golang/v5@" + version
}

func clientConfig(t load.Target, group string) *rmq.Config {
	cfg := &rmq.Config{Endpoint: t.Endpoint, NameSpace: t.Namespace, ConsumerGroup: group}
	if t.AccessKey != "" {
		cfg.Credentials = &credentials.SessionCredentials{AccessKey: t.AccessKey, AccessSecret: t.SecretKey}
	}
	return cfg
}

// proxyLongPollMin is RocketMQ's proxy minimum long poll: it refuses a receive whose deadline (the client's
// timeout plus its await duration) leaves less, so shorter await durations are raised to it on every target.
const proxyLongPollMin = 5 * time.Second

func pollAwait(d time.Duration) time.Duration {
	if d < proxyLongPollMin {
		return proxyLongPollMin
	}
	return d
}

// newClient is the client constructor with the per-RPC connection logger switched off (it would write
// /tmp/rocketmq-logger.log at info level, one line per call).
// minReceiveDeadline: RocketMQ's proxy refuses a long poll whose gRPC deadline leaves less than its minimum
// long-polling time (5 s) and polls at least that long anyway. The client's receive deadline is its request timeout
// plus the await duration, so a short await duration gets a longer request timeout (a margin above 5 s included).
const minReceiveDeadline = 8 * time.Second

func receiveRequestTimeout(await time.Duration) time.Duration {
	return max(3*time.Second, minReceiveDeadline-await)
}

// newClientWithTimeout is newClient with the client's request timeout (WithQueryRouteTimeout sets it for every call).
func newClientWithTimeout(timeout time.Duration) rmq.NewClientFunc {
	return func(cfg *rmq.Config, opts ...rmq.ClientOption) (rmq.Client, error) {
		return newClient(cfg, append(opts, rmq.WithQueryRouteTimeout(timeout))...)
	}
}

func newClient(cfg *rmq.Config, opts ...rmq.ClientOption) (rmq.Client, error) {
	opts = append(opts, rmq.WithConnOptions(rmq.WithZapLogger(zap.NewNop())))
	return rmq.NewClient(cfg, opts...)
}

func filterOf(f load.Filter) *rmq.FilterExpression {
	expression := f.Expression
	if expression == "" {
		expression = "*"
	}
	if f.Type == "SQL92" {
		return rmq.NewFilterExpressionWithType(expression, rmq.SQL92)
	}
	return rmq.NewFilterExpressionWithType(expression, rmq.TAG)
}

func startSimpleConsumer(t load.Target, group, topic string, filter load.Filter,
	await time.Duration) (rmq.SimpleConsumer, error) {
	c, err := rmq.NewSimpleConsumer(clientConfig(t, group),
		rmq.WithSimpleAwaitDuration(pollAwait(await)),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: filterOf(filter)}),
		rmq.WithClientFuncForSimpleConsumer(newClientWithTimeout(receiveRequestTimeout(await))),
	)
	if err != nil {
		return nil, fmt.Errorf("simple consumer: %w", err)
	}
	if err := lifecycle.StartFor(startTimeout, "simple consumer", c); err != nil {
		lifecycle.StopWithin(c, time.Second)
		return nil, err
	}
	return c, nil
}

// receive does one long-polling receive; MESSAGE_NOT_FOUND (the Go client's empty long poll) is an empty batch.
func receive(c rmq.SimpleConsumer, batch int, invisible, await time.Duration) ([]*rmq.MessageView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pollAwait(await)+10*time.Second)
	defer cancel()
	msgs, err := c.Receive(ctx, int32(batch), invisible)
	if err != nil && isMessageNotFound(err) {
		return nil, nil
	}
	return msgs, err
}

func isMessageNotFound(err error) bool {
	status, ok := rmq.AsErrRpcStatus(err)
	return ok && status.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND)
}
