package io.github.kscu.agent;

import java.time.Duration;

/**
 * A counter that the node tracker and the certificate watch bump whenever what they know changes, so
 * the sequencer waits on one thing instead of polling two. Spurious wake-ups are fine: waiters look
 * again at what they need.
 */
final class Changes {
    private long version;

    synchronized long version() {
        return version;
    }

    synchronized void signal() {
        version++;
        notifyAll();
    }

    /** Waits until the version is no longer {@code seen} or {@code max} passes; returns the version. */
    synchronized long await(long seen, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (version == seen) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            wait(left / 1_000_000, (int) (left % 1_000_000));
        }
        return version;
    }
}
