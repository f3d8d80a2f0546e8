package io.github.kscu.cert;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Closes a probe's connection once it has been open for longer than the timeout, which wakes the probe
 * blocked on it (connecting to a port that drops packets, or reading from a kubelet that accepted and
 * never answers). It looks every {@link #TICK}, so a probe gives up between {@code timeout} and
 * {@code timeout + TICK}; it costs nothing per probe, where timed I/O costs syscalls on every one.
 * After {@link #IDLE_AFTER} without a probe it parks until the next one.
 */
final class Watchdog implements AutoCloseable {
    static final Duration TICK = Duration.ofMillis(500);
    private static final long IDLE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(5);

    private record Guarded(SocketChannel channel, long deadline) {
    }

    private final long timeoutNanos;
    private volatile Guarded current;
    private volatile long lastGuard;
    private volatile boolean idle;
    private Thread thread;

    Watchdog(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    /** Watches {@code channel} from now on; called from one thread, the prober's. */
    void guard(SocketChannel channel) {
        long now = System.nanoTime();
        lastGuard = now;
        current = new Guarded(channel, now + timeoutNanos);
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("kubelet-probe-watchdog").start(this::run);
        } else if (idle) {
            LockSupport.unpark(thread);
        }
    }

    void release() {
        current = null;
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            Guarded g = current;
            long now = System.nanoTime();
            if (g != null && now - g.deadline() > 0) {
                try {
                    g.channel().close();
                } catch (IOException e) {
                    // closing is all we wanted; the probe reports the timeout
                }
            }
            if (g == null && now - lastGuard > IDLE_AFTER_NANOS) {
                idle = true;
                if (current == null) {
                    LockSupport.park(this);
                }
                idle = false;
            } else {
                LockSupport.parkNanos(this, TICK.toNanos());
            }
        }
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.interrupt();
        }
    }
}
