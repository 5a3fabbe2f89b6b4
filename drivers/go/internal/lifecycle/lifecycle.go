// Package lifecycle bounds the official Go client's Start and GracefulStop, which take no context: Start waits
// forever for the broker's route and Telemetry settings, and GracefulStop waits out a push consumer's long poll.
package lifecycle

import (
	"context"
	"fmt"
	"time"
)

// Startable is what the producer and the consumers of the official client share.
type Startable interface {
	Start() error
	GracefulStop() error
}

// StartWithin runs Start, bounded by ctx.
func StartWithin(ctx context.Context, what string, client Startable) error {
	done := make(chan error, 1)
	go func() { done <- client.Start() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: Start: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: Start did not return in time (the Go client blocks until the broker answers "+
			"QueryRoute and sends settings over Telemetry): %w", what, ctx.Err())
	}
}

// StartFor is StartWithin with a plain time limit.
func StartFor(limit time.Duration, what string, client Startable) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return StartWithin(ctx, what, client)
}

// StopWithin runs GracefulStop and gives up waiting after limit (the stop goes on in the background).
func StopWithin(client Startable, limit time.Duration) {
	if client == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.GracefulStop()
	}()
	select {
	case <-done:
	case <-time.After(limit):
	}
}
