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
 * Keeps the latest state of this agent's Node: a field-selector watch, started without a resourceVersion
 * and resumed from the last one it saw. Started as soon as the agent starts, so the connection, TLS
 * session and credentials are warm (and any RBAC problem is logged) long before the certificate arrives,
 * and the taint removal can patch from this snapshot without a GET of its own.
 *
 * <p>Why no GET first: a watch without a resourceVersion begins with the node as it is now, as a
 * synthetic ADDED event carrying everything a GET would (taints, uid, resourceVersion), so list-then-watch
 * would read the same object twice: one request per node per bootstrap saved. The GET stays where it
 * says something the watch cannot: when the first watch shows no node within {@link #FIRST_EVENT_GRACE}
 * (a wrong node name is then a logged 404, not silence), and while watches fail (below). After a
 * {@code 410 Gone} the watch starts again without a resourceVersion, which reads the node afresh too.
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
    /**
     * How long a watch started without a resourceVersion may show nothing, once the apiserver accepted it,
     * before one GET looks for the node. The apiserver sends an existing node as the first event as soon
     * as the watch is set up, so silence this long means the node does not exist (a wrong NODE_NAME, a node
     * not registered yet) and the GET turns that into the logged 404 it always was. The same patience as
     * any other request ({@link io.github.kscu.kube.HttpNodeApi#REQUEST_TIMEOUT}): an apiserver busy with
     * a fleet's watches may be slow to send even an accepted watch's first event; more would delay the
     * 404 further, which already comes well before {@code taint-watcher-duration}.
     */
    static final Duration FIRST_EVENT_GRACE = Duration.ofSeconds(10);

    private final String node;
    private final NodeApi api;
    private final List<TaintSelector> selectors;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final Clock clock;
    private final RandomGenerator random;
    private final Changes changes;
    private final Duration firstEventGrace;
    private final Object lock = new Object();
    private NodeView latest;
    /**
     * How many states the watches delivered: tells a watch that showed something from one that did not
     * (a state equal to the known one counts: after a 410 the node comes again as it is).
     */
    private volatile long delivered;
    private volatile String lastError;
    /** The problem last logged, by code: each is logged once until reading works again. */
    private volatile String lastProblem;
    /** When the node was last read with a GET, by the loop or the silence probe. */
    private volatile Instant lastGet = Instant.MIN;
    private volatile boolean stopped;

    NodeTracker(String node, NodeApi api, List<TaintSelector> selectors, RetryPolicy retry, Sleeper sleeper,
            Clock clock, RandomGenerator random, Changes changes, Duration firstEventGrace) {
        this.node = node;
        this.api = api;
        this.selectors = selectors;
        this.retry = retry;
        this.sleeper = sleeper;
        this.clock = clock;
        this.random = random;
        this.changes = changes;
        this.firstEventGrace = firstEventGrace;
    }

    @Override
    public void run() {
        // Where the next watch resumes; null: from the node as it is now (its first event is the node).
        String rv = null;
        // Read the node with a GET before the next watch: watching has not worked for a while.
        boolean relist = false;
        int failures = 0;
        Instant lastWatch = Instant.MIN;
        while (!stopped) {
            String problem;
            ApiFailure failure = null;
            Instant attemptStart = clock.instant();
            try {
                if (relist) {
                    lastGet = clock.instant();
                    NodeSnapshot s = api.get(node);
                    offer(s);
                    rv = s.resourceVersion();
                    relist = false;
                }
                Duration gap = Duration.between(clock.instant(), lastWatch.plus(MIN_WATCH_GAP));
                if (gap.isPositive()) {
                    sleeper.sleep(gap);
                }
                lastWatch = clock.instant();
                Duration timeout = WATCH_TIMEOUT.plusSeconds(random.nextLong(WATCH_TIMEOUT.toSeconds() / 5 + 1));
                long seen = delivered;
                SilenceProbe probe = rv == null ? SilenceProbe.start(this, seen) : null;
                try {
                    rv = api.watch(node, rv, timeout, probe == null ? () -> { } : probe::opened, this::delivered);
                } finally {
                    if (probe != null) {
                        probe.end();
                    }
                }
                boolean early = Duration.between(lastWatch, clock.instant()).compareTo(timeout.dividedBy(2)) < 0;
                if (!early || delivered != seen) {
                    failures = 0;
                    lastProblem = null;
                    lastError = null;
                    continue;
                }
                problem = "watch-ended-early";
            } catch (ApiFailure f) {
                if (f.status() == 410) {
                    // The resourceVersion is too old to resume from: start from the node as it is now.
                    LOG.debug("watch expired, watching the node afresh node={}", node);
                    rv = null;
                    continue;
                }
                failure = f;
                problem = f.code();
                if (f.status() == 404) {
                    relist = true;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A malformed answer must not end tracking: log it and start over from a GET.
                problem = "bad-answer";
                lastError = String.valueOf(e);
                relist = true;
            }
            failures++;
            Instant now = clock.instant();
            // Plain exponential backoff here, not the remover's quicker outage share: the relist below
            // already bounds how stale the view gets, and the remover retries its own PATCH.
            Duration delay = failure == null ? retry.backoff(failures)
                    : retry.afterFailure(failure, failures, null).remaining(failure, Duration.between(attemptStart, now));
            Duration untilRelist = Duration.between(now, lastGet.plus(RELIST_WHILE_FAILING));
            if (delay.compareTo(untilRelist) >= 0) {
                // Watching has not worked for a while: the next attempt reads the node afresh. Before any
                // GET (the first watch failed) that read waits for this failure's own backoff, so a 429
                // on a fleet's first watches is not answered at once by as many GETs.
                relist = true;
                if (!lastGet.equals(Instant.MIN)) {
                    delay = untilRelist.isNegative() ? Duration.ZERO : untilRelist;
                }
            }
            if (failure != null) {
                lastError = failure.code() + ": " + failure.getMessage();
            } else if ("watch-ended-early".equals(problem)) {
                lastError = "the watch ended at once without events";
            }
            logProblem(problem, delay);
            try {
                sleeper.sleep(delay);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void delivered(NodeSnapshot s) {
        delivered++; // only the tracker's thread writes it
        offer(s);
    }

    private void logProblem(String problem, Duration retryIn) {
        if (!problem.equals(lastProblem)) {
            LOG.warn("cannot read or watch the node, retrying node={} code={} retry_in={} error={}", node,
                    problem, retryIn.toMillis() + "ms", Fields.quote(lastError));
            lastProblem = problem;
        }
    }

    /**
     * Looks for the node with a GET while a watch started without a resourceVersion has shown nothing for
     * {@link #FIRST_EVENT_GRACE} after the apiserver accepted it, then every {@link #RELIST_WHILE_FAILING}
     * (as the loop reads a node it cannot watch); ends when the watch shows the node, a GET reads it, or
     * the watch ends. On a virtual thread of its own, because the watch blocks the tracker's thread.
     *
     * <p>Why the grace starts when the watch is accepted, not when it is sent: an apiserver that has
     * accepted the watch sends an existing node at once, so silence after that says the node is missing;
     * silence before it only says the apiserver is busy, when a GET would add to its load. Counted from the
     * send, 3860 of 5000 nodes booting at once made that GET on the benchmark's apiserver.
     */
    private static final class SilenceProbe implements Runnable {
        private final NodeTracker t;
        private final long seen;
        private boolean over; // guarded by this
        private boolean accepted; // guarded by this

        private SilenceProbe(NodeTracker t, long seen) {
            this.t = t;
            this.seen = seen;
        }

        static SilenceProbe start(NodeTracker t, long seen) {
            SilenceProbe p = new SilenceProbe(t, seen);
            Thread.ofVirtual().name("node-probe-" + t.node).start(p);
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
            while (!accepted && !over && !t.stopped && t.delivered == seen) {
                wait(1_000); // a delivered state does not notify this monitor: looked at every second
            }
            return accepted && !over && !t.stopped && t.delivered == seen;
        }

        /** Waits {@code max}; true if the watch is still on and has still shown nothing then. */
        private synchronized boolean silentFor(Duration max) throws InterruptedException {
            long deadline = System.nanoTime() + max.toNanos();
            while (!over && !t.stopped && t.delivered == seen) {
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
                Duration wait = t.firstEventGrace;
                while (silentFor(wait)) {
                    wait = RELIST_WHILE_FAILING;
                    LOG.debug("the watch has shown no node within the grace, reading it node={} grace={}", t.node,
                            t.firstEventGrace.toMillis() + "ms");
                    try {
                        t.lastGet = t.clock.instant();
                        t.offer(t.api.get(t.node));
                        return; // the node exists; the watch goes on as any other
                    } catch (ApiFailure f) {
                        if (t.stopped) {
                            return; // the client was closed under the GET: nothing to report
                        }
                        // A 404 here is the clear "nodes X not found" that a wrong node name deserves.
                        t.lastError = f.code() + ": " + f.getMessage();
                        t.logProblem(f.code(), wait);
                    } catch (RuntimeException e) {
                        t.lastError = String.valueOf(e);
                        t.logProblem("bad-answer", wait);
                    }
                }
            } catch (InterruptedException e) {
                // the agent is closing
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
        boolean first;
        synchronized (lock) {
            if (latest != null && !isNewer(s.resourceVersion(), latest.node().resourceVersion())) {
                return view;
            }
            first = latest == null;
            latest = view;
        }
        if (first) {
            // The node is known: credentials, TLS and RBAC work (the benchmark times start-up to this line).
            LOG.info("node read, watching it node={} taints={}", node, s.taints().size());
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

    /** The latest known state, or {@code null} before the node was first seen (on the watch or by a GET). */
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
