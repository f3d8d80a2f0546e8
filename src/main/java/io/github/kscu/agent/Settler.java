package io.github.kscu.agent;

import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
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

    private final NodeContext ctx;
    private final TaintRemover remover;

    Settler(NodeContext ctx, TaintRemover remover) {
        this.ctx = ctx;
        this.remover = remover;
    }

    /** Returns when the window ({@code null}: none, continuous mode) is over. */
    void settle(Duration window) throws InterruptedException {
        Instant end = window == null ? null : ctx.now().plus(window);
        ctx.state().set(State.SETTLING);
        long seen = ctx.changes().version();
        int readds = 0;
        Instant lastRemoval = ctx.now();
        while (end == null || ctx.now().isBefore(end)) {
            Duration wait = end == null ? MAX_WAIT : min(Duration.between(ctx.now(), end), MAX_WAIT);
            seen = ctx.changes().await(seen, wait.isPositive() ? wait : Duration.ofMillis(1));
            NodeView view = ctx.latest().get();
            if (view == null || view.plan().clean()) {
                continue;
            }
            readds = Duration.between(lastRemoval, ctx.now()).compareTo(FIGHT_MEMORY) > 0 ? 1 : readds + 1;
            ctx.reporter().report(Reason.STARTUP_TAINT_READDED, "Startup taint " + view.plan().describeToRemove()
                    + " was added again; removing it");
            if (readds > 1) {
                ctx.sleeper().sleep(ctx.retry().backoff(readds - 1));
            }
            remover.remove(true, ctx.now());
            lastRemoval = ctx.now();
            ctx.state().set(State.SETTLING);
            seen = ctx.changes().version();
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
