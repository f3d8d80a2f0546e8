package io.github.kscu.agent;

import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import java.time.Duration;
import java.util.random.RandomGenerator;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Keeps the latest state of this agent's Node: one GET, then a field-selector watch resumed from the
 * last resourceVersion. Started as soon as the agent starts, so the connection, TLS session and
 * credentials are warm (and any RBAC problem is logged) long before the certificate arrives, and the
 * taint removal can patch from this snapshot without a GET of its own.
 *
 * <p>Why not client-java's informer: it lists and watches through the generated models, pulls in the
 * dependencies we exclude and keeps a cache for one object; this loop is the part we need.
 */
final class NodeTracker implements Runnable {
    private static final TaggedLogger LOG = Logger.tag("node");
    /** The apiserver ends watches after timeoutSeconds; spread them so 1000 nodes do not reconnect at once. */
    private static final Duration WATCH_TIMEOUT = Duration.ofMinutes(5);

    private final String node;
    private final NodeApi api;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final RandomGenerator random;
    private final Object lock = new Object();
    private NodeSnapshot latest;
    private long version;
    private volatile boolean stopped;
    private boolean announced;

    NodeTracker(String node, NodeApi api, RetryPolicy retry, Sleeper sleeper, RandomGenerator random) {
        this.node = node;
        this.api = api;
        this.retry = retry;
        this.sleeper = sleeper;
        this.random = random;
    }

    @Override
    public void run() {
        String rv = null;
        int failures = 0;
        String lastProblem = null;
        while (!stopped && !Thread.currentThread().isInterrupted()) {
            try {
                if (rv == null) {
                    NodeSnapshot s = api.get(node);
                    offer(s);
                    rv = s.resourceVersion();
                    if (!announced) {
                        // The first successful request: credentials, TLS and RBAC work.
                        LOG.info("node read, watching it node={} taints={}", node, s.taints().size());
                        announced = true;
                    }
                }
                long jitterSeconds = random.nextLong(WATCH_TIMEOUT.toSeconds() / 5 + 1);
                rv = api.watch(node, rv, WATCH_TIMEOUT.plusSeconds(jitterSeconds), this::offer);
                failures = 0;
                lastProblem = null;
            } catch (ApiFailure f) {
                if (f.status() == 410) {
                    LOG.debug("watch expired, reading the node again node={}", node);
                    rv = null;
                    continue;
                }
                failures++;
                Duration delay = retry.afterFailure(f, failures).delay();
                if (delay.isZero()) {
                    delay = retry.backoff(failures);
                }
                String problem = f.code();
                if (!problem.equals(lastProblem)) {
                    LOG.warn("cannot read or watch the node, retrying node={} code={} retry_in={} error={}", node,
                            problem, delay.toMillis() + "ms", Fields.quote(f.getMessage()));
                    lastProblem = problem;
                }
                if (f.status() == 404) {
                    rv = null;
                }
                try {
                    sleeper.sleep(delay);
                } catch (InterruptedException e) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A malformed answer must not end tracking: log it and start over from a GET.
                failures++;
                LOG.warn("unexpected answer while watching the node node={} error={}", node,
                        Fields.quote(String.valueOf(e)));
                rv = null;
                try {
                    sleeper.sleep(retry.backoff(failures));
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    void stop() {
        stopped = true;
    }

    /**
     * Records a state of the node unless an equal or newer one is known. Resource versions are opaque,
     * but for one object they are etcd revisions and grow; when one does not parse as a number, the
     * newest arrival wins.
     */
    void offer(NodeSnapshot s) {
        synchronized (lock) {
            if (latest != null && !isNewer(s.resourceVersion(), latest.resourceVersion())) {
                return;
            }
            latest = s;
            version++;
            lock.notifyAll();
        }
    }

    static boolean isNewer(String candidate, String known) {
        try {
            return Long.parseLong(candidate) > Long.parseLong(known);
        } catch (NumberFormatException e) {
            return !candidate.equals(known);
        }
    }

    /** The latest known state, or {@code null} before the first GET succeeded. */
    NodeSnapshot latest() {
        synchronized (lock) {
            return latest;
        }
    }

    long version() {
        synchronized (lock) {
            return version;
        }
    }

    /** Waits until a state newer than {@code seen} arrives or {@code max} passes; returns the version. */
    long awaitChange(long seen, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (lock) {
            while (version == seen) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                lock.wait(left / 1_000_000, (int) (left % 1_000_000));
            }
            return version;
        }
    }
}
