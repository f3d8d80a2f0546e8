package io.github.kscu.agent;

import io.github.kscu.agent.WatchStep.BackOff;
import io.github.kscu.agent.WatchStep.Ended;
import io.github.kscu.agent.WatchStep.Next;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.log.Fields;
import java.time.Duration;
import java.time.Instant;
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
 * every {@link #RELIST_WHILE_FAILING}, and watches start at least {@link #MIN_WATCH_GAP} apart. What
 * follows each watch is decided by {@link WatchStep}; this class does the reading, watching and waiting.
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

    private final NodeContext ctx;
    private final String node;
    private final Duration firstEventGrace;
    /**
     * How many states the watches delivered: tells a watch that showed something from one that did not
     * (a state equal to the known one counts: after a 410 the node comes again as it is).
     */
    private volatile long delivered;
    /** The problem last logged, by code: each is logged once until reading works again. */
    private volatile String lastProblem;
    /** When the node was last read with a GET, by the loop or the silence probe. */
    private volatile Instant lastGet = Instant.MIN;
    private volatile boolean stopped;

    NodeTracker(NodeContext ctx, Duration firstEventGrace) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.firstEventGrace = firstEventGrace;
    }

    @Override
    public void run() {
        // Where the next watch resumes; null: from the node as it is now (its first event is the node).
        String rv = null;
        // Read the node with a GET before the next watch: watching has not worked for a while.
        boolean get = false;
        int failures = 0;
        Instant lastWatch = Instant.MIN;
        while (!stopped) {
            Ended ended;
            ApiFailure failure = null;
            Instant attemptStart = ctx.now();
            try {
                if (get) {
                    lastGet = ctx.now();
                    rv = ctx.latest().offer(ctx.api().get(node)).node().resourceVersion();
                    get = false;
                }
                Duration gap = Duration.between(ctx.now(), lastWatch.plus(MIN_WATCH_GAP));
                if (gap.isPositive()) {
                    ctx.sleeper().sleep(gap);
                }
                lastWatch = ctx.now();
                Duration timeout = WATCH_TIMEOUT.plusSeconds(ctx.random().nextLong(WATCH_TIMEOUT.toSeconds() / 5 + 1));
                long seen = delivered;
                rv = watch(rv, timeout, seen);
                boolean early = Duration.between(lastWatch, ctx.now()).compareTo(timeout.dividedBy(2)) < 0;
                ended = early && delivered == seen ? Ended.ENDED_EARLY : Ended.WATCHED;
            } catch (ApiFailure f) {
                failure = f;
                ended = f.status() == 410 ? Ended.GONE : f.status() == 404 ? Ended.NOT_FOUND : Ended.FAILED;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A malformed answer must not end tracking: log it and start over from a GET.
                ended = Ended.BAD_ANSWER;
                ctx.latest().readError(String.valueOf(e));
            }
            Next next = WatchStep.after(ended);
            switch (next) {
                case WATCH -> {
                    failures = 0;
                    lastProblem = null;
                    ctx.latest().readError(null);
                    continue;
                }
                case WATCH_AFRESH -> {
                    LOG.debug("watch expired, watching the node afresh node={}", node);
                    rv = null;
                    continue;
                }
                default -> failures++;
            }
            Instant now = ctx.now();
            // Plain exponential backoff here, not the remover's quicker outage share: the GET below
            // already bounds how stale the view gets, and the remover retries its own PATCH.
            Duration backoff = failure == null ? ctx.retry().backoff(failures)
                    : ctx.retry().afterFailure(failure, failures, null).remaining(failure,
                            Duration.between(attemptStart, now));
            // A GET that failed is still due: it stays asked for until one succeeds.
            BackOff b = WatchStep.backOff(get || next == Next.BACK_OFF_AND_GET, backoff,
                    Duration.between(now, lastGet.plus(RELIST_WHILE_FAILING)), !lastGet.equals(Instant.MIN));
            get = b.get();
            if (failure != null) {
                ctx.latest().readError(failure.code() + ": " + failure.getMessage());
            } else if (ended == Ended.ENDED_EARLY) {
                ctx.latest().readError("the watch ended at once without events");
            }
            logProblem(failure != null ? failure.code() : ended == Ended.ENDED_EARLY ? "watch-ended-early"
                    : "bad-answer", b.delay());
            try {
                ctx.sleeper().sleep(b.delay());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One watch; a watch from the node as it is now has a {@link SilenceProbe} beside it. */
    private String watch(String rv, Duration timeout, long seen) throws ApiFailure, InterruptedException {
        SilenceProbe probe = rv == null
                ? SilenceProbe.start(node, firstEventGrace, () -> !stopped && delivered == seen, this::probe) : null;
        try {
            return ctx.api().watch(node, rv, timeout, probe == null ? () -> { } : probe::opened, this::delivered);
        } finally {
            if (probe != null) {
                probe.end();
            }
        }
    }

    /** The silence probe's GET; true when the probe is over. A 404 here is the clear "nodes X not found". */
    private boolean probe(Duration nextIn) {
        LOG.debug("the watch has shown no node within the grace, reading it node={} grace={}", node,
                firstEventGrace.toMillis() + "ms");
        try {
            lastGet = ctx.now();
            ctx.latest().offer(ctx.api().get(node));
            return true;
        } catch (ApiFailure f) {
            if (stopped) {
                return true; // the client was closed under the GET: nothing to report
            }
            ctx.latest().readError(f.code() + ": " + f.getMessage());
            logProblem(f.code(), nextIn);
        } catch (RuntimeException e) {
            ctx.latest().readError(String.valueOf(e));
            logProblem("bad-answer", nextIn);
        }
        return false;
    }

    private void delivered(NodeSnapshot s) {
        delivered++; // only the tracker's thread writes it
        ctx.latest().offer(s);
    }

    private void logProblem(String problem, Duration retryIn) {
        if (!problem.equals(lastProblem)) {
            LOG.warn("cannot read or watch the node, retrying node={} code={} retry_in={} error={}", node,
                    problem, retryIn.toMillis() + "ms", Fields.quote(ctx.latest().readError()));
            lastProblem = problem;
        }
    }

    void stop() {
        stopped = true;
    }
}
