package io.github.kscu.agent;

import io.github.kscu.health.Reason;
import io.github.kscu.health.State;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.taint.TaintSelector;
import io.github.kscu.taint.Taints;
import io.github.kscu.taint.Taints.Plan;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Removes the configured taints from one node and does not return before the server confirmed it.
 * The decisions (which taints remain, what a status code means) are pure functions elsewhere; this
 * class sequences them against the API.
 */
final class TaintRemover {
    private static final TaggedLogger LOG = Logger.tag("taint");

    /** What {@link #remove} reports about its work. */
    record Result(NodeSnapshot node, List<String> removed, int attempts) {
    }

    /** Callbacks into the agent: state changes and the slow-removal warning. */
    interface Listener {
        void state(State state);

        void slow(Duration elapsed, String lastProblem);
    }

    private final String node;
    private final List<TaintSelector> selectors;
    private final NodeApi api;
    private final NodeTracker tracker;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final Clock clock;
    private final Duration slowAfter;

    TaintRemover(String node, List<TaintSelector> selectors, NodeApi api, NodeTracker tracker, RetryPolicy retry,
            Sleeper sleeper, Clock clock, Duration slowAfter) {
        this.node = node;
        this.selectors = selectors;
        this.api = api;
        this.tracker = tracker;
        this.retry = retry;
        this.sleeper = sleeper;
        this.clock = clock;
        this.slowAfter = slowAfter;
    }

    /**
     * Returns once none of the configured taints is on the node, as read back from the server. Never
     * gives up; only an interrupt ends it early.
     */
    Result remove(Listener listener) throws InterruptedException {
        Instant start = clock.instant();
        boolean slowReported = false;
        boolean gateLogged = false;
        boolean fresh = false; // true: the tracker's copy is known to be stale, GET before patching
        int failures = 0;
        int attempts = 0;
        String lastProblem = "none";
        listener.state(State.REMOVING_TAINT);
        while (true) {
            if (!slowReported && Duration.between(start, clock.instant()).compareTo(slowAfter) >= 0) {
                slowReported = true;
                listener.slow(Duration.between(start, clock.instant()), lastProblem);
            }
            long seen = tracker.version();
            NodeSnapshot current = tracker.latest();
            try {
                if (fresh) {
                    current = api.get(node);
                    tracker.offer(current);
                    fresh = false;
                }
                if (current == null) {
                    // The tracker is still trying its first GET (and logs why it fails); wait for it.
                    tracker.awaitChange(seen, untilSlow(start, slowReported));
                    continue;
                }
                Plan plan = Taints.plan(current.taints(), selectors);
                if (plan.clean()) {
                    return new Result(current, List.of(), attempts);
                }
                if (plan.gated()) {
                    if (!gateLogged) {
                        LOG.info("waiting for Karpenter to register the node before removing the taint node={} "
                                + "blocking_taint={}", node, Taints.KARPENTER_UNREGISTERED);
                        gateLogged = true;
                    }
                    listener.state(State.WAITING_FOR_KARPENTER);
                    tracker.awaitChange(seen, untilSlow(start, slowReported));
                    continue;
                }
                if (gateLogged) {
                    listener.state(State.REMOVING_TAINT);
                }
                attempts++;
                NodeSnapshot patched = api.patchTaints(node, current.taints(), plan.remaining());
                tracker.offer(patched);
                // The PATCH answer is the stored object: it is the read-back, no extra GET needed.
                if (Taints.plan(patched.taints(), selectors).clean()) {
                    return new Result(patched, plan.removed().stream().map(Object::toString).toList(), attempts);
                }
                LOG.info("taint is back right after the patch, removing again node={}", node);
            } catch (ApiFailure f) {
                failures++;
                RetryPolicy.Decision d = retry.afterFailure(f, failures);
                lastProblem = f.code();
                fresh = d.refetch();
                String line = "taint removal failed, retrying node={} code={} attempt={} retry_in={} error={}";
                Object[] args = {node, f.code(), failures, d.delay().toMillis() + "ms", Fields.quote(f.getMessage())};
                if (d.delay().isZero()) {
                    LOG.debug(line, args); // a lost race with another writer: routine, retried at once
                } else {
                    LOG.warn(line, args);
                }
                sleeper.sleep(d.delay());
            }
        }
    }

    private Duration untilSlow(Instant start, boolean slowReported) {
        if (slowReported) {
            return Duration.ofMinutes(1);
        }
        Duration left = slowAfter.minus(Duration.between(start, clock.instant()));
        return left.isNegative() || left.isZero() ? Duration.ofMillis(1) : left;
    }
}
