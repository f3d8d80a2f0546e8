package io.github.kscu.agent;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Looks for the node with a GET while a watch started without a resourceVersion has shown nothing for a
 * grace ({@link NodeTracker#FIRST_EVENT_GRACE}) after the apiserver accepted it, then every
 * {@link NodeTracker#RELIST_WHILE_FAILING} (as the tracker reads a node it cannot watch); ends when the
 * watch shows the node, a GET reads it, or the watch ends. On a virtual thread of its own, because the
 * watch blocks the tracker's thread.
 *
 * <p>Why the grace starts when the watch is accepted, not when it is sent: an apiserver that has
 * accepted the watch sends an existing node at once, so silence after that says the node is missing;
 * silence before it only says the apiserver is busy, when a GET would add to its load. Counted from the
 * send, 3860 of 5000 nodes booting at once made that GET on the benchmark's apiserver.
 */
final class SilenceProbe implements Runnable {
    /** One GET of the node; true when the probe is over (the node was read, or the agent stops). */
    @FunctionalInterface
    interface Read {
        boolean read(Duration nextIn);
    }

    private final Duration grace;
    /** True while the tracker runs and the watch has delivered nothing. */
    private final BooleanSupplier silent;
    private final Read read;
    private boolean over; // guarded by this
    private boolean accepted; // guarded by this

    private SilenceProbe(Duration grace, BooleanSupplier silent, Read read) {
        this.grace = grace;
        this.silent = silent;
        this.read = read;
    }

    static SilenceProbe start(String node, Duration grace, BooleanSupplier silent, Read read) {
        SilenceProbe p = new SilenceProbe(grace, silent, read);
        Thread.ofVirtual().name("node-probe-" + node).start(p);
        return p;
    }

    synchronized void end() {
        over = true;
        notifyAll();
    }

    synchronized void opened() {
        accepted = true;
        notifyAll();
    }

    /** Waits until the apiserver accepted the watch; false if it ended or showed the node first. */
    private synchronized boolean awaitAccepted() throws InterruptedException {
        while (!accepted && !over && silent.getAsBoolean()) {
            wait(1_000); // a delivered state does not notify this monitor: looked at every second
        }
        return accepted && !over && silent.getAsBoolean();
    }

    /** Waits {@code max}; true if the watch is still on and has still shown nothing then. */
    private synchronized boolean silentFor(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!over && silent.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return true;
            }
            // A delivered state does not notify this monitor: it is seen here at the deadline at the
            // latest, and then no GET is made.
            wait(left / 1_000_000, (int) (left % 1_000_000));
        }
        return false;
    }

    @Override
    public void run() {
        try {
            if (!awaitAccepted()) {
                return;
            }
            Duration wait = grace;
            while (silentFor(wait)) {
                wait = NodeTracker.RELIST_WHILE_FAILING;
                if (read.read(wait)) {
                    return; // the node exists; the watch goes on as any other
                }
            }
        } catch (InterruptedException e) {
            // the agent is closing
        }
    }
}
