package io.github.kscu.agent;

import io.github.kscu.health.Reason;
import io.github.kscu.health.State;
import io.github.kscu.kube.RetryPolicy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The settle window: the node is watched for {@code settle-duration} (for ever in continuous mode) and a
 * configured taint that comes back is removed again (Karpenter, {@code eks:node-manager} and others
 * re-add startup taints). A writer that keeps re-adding it within {@link #FIGHT_MEMORY} is answered after a
 * growing, capped backoff instead of at once, so two controllers never fight in a tight loop.
 */
final class Settler {
    /** Re-additions closer together than this count as one fight. */
    static final Duration FIGHT_MEMORY = Duration.ofMinutes(5);
    private static final Duration MAX_WAIT = Duration.ofMinutes(1);

    private final NodeTracker tracker;
    private final TaintRemover remover;
    private final Changes changes;
    private final Reporter reporter;
    private final StateRecorder state;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final Clock clock;

    Settler(NodeTracker tracker, TaintRemover remover, Changes changes, Reporter reporter, StateRecorder state,
            RetryPolicy retry, Sleeper sleeper, Clock clock) {
        this.tracker = tracker;
        this.remover = remover;
        this.changes = changes;
        this.reporter = reporter;
        this.state = state;
        this.retry = retry;
        this.sleeper = sleeper;
        this.clock = clock;
    }

    /** Returns when the window ({@code null}: none, continuous mode) is over. */
    void settle(Duration window) throws InterruptedException {
        Instant end = window == null ? null : clock.instant().plus(window);
        state.set(State.SETTLING);
        long seen = changes.version();
        int readds = 0;
        Instant lastRemoval = clock.instant();
        while (end == null || clock.instant().isBefore(end)) {
            Duration wait = end == null ? MAX_WAIT : min(Duration.between(clock.instant(), end), MAX_WAIT);
            seen = changes.await(seen, wait.isPositive() ? wait : Duration.ofMillis(1));
            NodeView view = tracker.latest();
            if (view == null || view.plan().clean()) {
                continue;
            }
            readds = Duration.between(lastRemoval, clock.instant()).compareTo(FIGHT_MEMORY) > 0 ? 1 : readds + 1;
            reporter.report(Reason.STARTUP_TAINT_READDED, "Startup taint " + view.plan().describeToRemove()
                    + " was added again; removing it");
            if (readds > 1) {
                sleeper.sleep(retry.backoff(readds - 1));
            }
            remover.remove(true, clock.instant());
            lastRemoval = clock.instant();
            state.set(State.SETTLING);
            seen = changes.version();
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
