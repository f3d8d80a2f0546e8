package io.github.kscu.agent;

import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.taint.TaintSelector;
import io.github.kscu.taint.Taints;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.random.RandomGenerator;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Keeps the latest state of this agent's Node: one GET, then a field-selector watch resumed from the
 * last resourceVersion. Started as soon as the agent starts, so the connection, TLS session and
 * credentials are warm (and any RBAC problem is logged) long before the certificate arrives, and the
 * taint removal can patch from this snapshot without a GET of its own.
 *
 * <p>Never blind: while watches fail (403, 5xx, no response) or end at once, a fresh GET is made at least
 * every {@link #RELIST_WHILE_FAILING}, and watches start at least {@link #MIN_WATCH_GAP} apart.
 *
 * <p>Why not client-java's informer: it lists and watches through the generated models, pulls in the
 * dependencies we exclude and keeps a cache for one object; this loop is the part we need.
 */
final class NodeTracker implements Runnable {
    private static final TaggedLogger LOG = Logger.tag("node");
    /** The apiserver ends watches after timeoutSeconds; spread them so 1000 nodes do not reconnect at once. */
    static final Duration WATCH_TIMEOUT = Duration.ofMinutes(5);
    static final Duration RELIST_WHILE_FAILING = Duration.ofSeconds(30);
    static final Duration MIN_WATCH_GAP = Duration.ofSeconds(1);

    private final String node;
    private final NodeApi api;
    private final List<TaintSelector> selectors;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final Clock clock;
    private final RandomGenerator random;
    private final Changes changes;
    private final Object lock = new Object();
    private NodeView latest;
    /** How many snapshots were stored: tells a watch that delivered something from one that did not. */
    private volatile long stored;
    private volatile String lastError;
    private volatile boolean stopped;

    NodeTracker(String node, NodeApi api, List<TaintSelector> selectors, RetryPolicy retry, Sleeper sleeper,
            Clock clock, RandomGenerator random, Changes changes) {
        this.node = node;
        this.api = api;
        this.selectors = selectors;
        this.retry = retry;
        this.sleeper = sleeper;
        this.clock = clock;
        this.random = random;
        this.changes = changes;
    }

    @Override
    public void run() {
        String rv = null;
        int failures = 0;
        Instant lastGet = Instant.MIN;
        Instant lastWatch = Instant.MIN;
        String lastProblem = null;
        boolean announced = false;
        while (!stopped) {
            String problem;
            ApiFailure failure = null;
            Instant attemptStart = clock.instant();
            try {
                if (rv == null) {
                    lastGet = clock.instant();
                    NodeSnapshot s = api.get(node);
                    offer(s);
                    rv = s.resourceVersion();
                    if (!announced) {
                        // The first successful request: credentials, TLS and RBAC work.
                        LOG.info("node read, watching it node={} taints={}", node, s.taints().size());
                        announced = true;
                    }
                }
                Duration gap = Duration.between(clock.instant(), lastWatch.plus(MIN_WATCH_GAP));
                if (gap.isPositive()) {
                    sleeper.sleep(gap);
                }
                lastWatch = clock.instant();
                Duration timeout = WATCH_TIMEOUT.plusSeconds(random.nextLong(WATCH_TIMEOUT.toSeconds() / 5 + 1));
                long seen = stored;
                rv = api.watch(node, rv, timeout, this::offer);
                boolean early = Duration.between(lastWatch, clock.instant()).compareTo(timeout.dividedBy(2)) < 0;
                if (!early || stored != seen) {
                    failures = 0;
                    lastProblem = null;
                    lastError = null;
                    continue;
                }
                problem = "watch-ended-early";
            } catch (ApiFailure f) {
                if (f.status() == 410) {
                    LOG.debug("watch expired, reading the node again node={}", node);
                    rv = null;
                    continue;
                }
                failure = f;
                problem = f.code();
                if (f.status() == 404) {
                    rv = null;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A malformed answer must not end tracking: log it and start over from a GET.
                problem = "bad-answer";
                lastError = String.valueOf(e);
                rv = null;
            }
            failures++;
            Instant now = clock.instant();
            // Plain exponential backoff here, not the remover's quicker outage share: the relist below
            // already bounds how stale the view gets, and the remover retries its own PATCH.
            Duration delay = failure == null ? retry.backoff(failures)
                    : retry.afterFailure(failure, failures, null).remaining(failure, Duration.between(attemptStart, now));
            Duration untilRelist = Duration.between(now, lastGet.plus(RELIST_WHILE_FAILING));
            if (delay.compareTo(untilRelist) >= 0) {
                // Watching has not worked for a while: the next attempt reads the node afresh.
                rv = null;
                delay = untilRelist.isNegative() ? Duration.ZERO : untilRelist;
            }
            if (failure != null) {
                lastError = failure.code() + ": " + failure.getMessage();
            } else if ("watch-ended-early".equals(problem)) {
                lastError = "the watch ended at once without events";
            }
            if (!problem.equals(lastProblem)) {
                LOG.warn("cannot read or watch the node, retrying node={} code={} retry_in={} error={}", node,
                        problem, delay.toMillis() + "ms", Fields.quote(lastError));
                lastProblem = problem;
            }
            try {
                sleeper.sleep(delay);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void stop() {
        stopped = true;
    }

    /**
     * Records a state of the node unless an equal or newer one is known, and returns its view (the plan
     * is computed here, once per snapshot). Resource versions are opaque, but for one object they are
     * etcd revisions and grow; when one does not parse as a number, the newest arrival wins.
     */
    NodeView offer(NodeSnapshot s) {
        NodeView view = new NodeView(s, Taints.plan(s.taints(), selectors));
        synchronized (lock) {
            if (latest != null && !isNewer(s.resourceVersion(), latest.node().resourceVersion())) {
                return view;
            }
            latest = view;
            stored++;
        }
        changes.signal();
        return view;
    }

    static boolean isNewer(String candidate, String known) {
        try {
            return Long.parseLong(candidate) > Long.parseLong(known);
        } catch (NumberFormatException e) {
            return !candidate.equals(known);
        }
    }

    /** The latest known state, or {@code null} before the first GET succeeded. */
    NodeView latest() {
        synchronized (lock) {
            return latest;
        }
    }

    /** What the last failed read or watch said, or {@code null} while reading works. */
    String lastError() {
        return lastError;
    }
}
