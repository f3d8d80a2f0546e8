package io.github.kscu.agent;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.cert.CertSource;
import io.github.kscu.cert.CertificateValidator;
import io.github.kscu.cert.FileCertSource;
import io.github.kscu.cert.KubeletCertSource;
import io.github.kscu.config.Settings;
import io.github.kscu.health.HealthServer.Readiness;
import io.github.kscu.health.Metrics;
import io.github.kscu.health.Reason;
import io.github.kscu.health.State;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeApi.NodeEvent;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.taint.Taints;
import io.kubernetes.client.openapi.ApiClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * The node agent: waits for a valid serving certificate, removes the startup taint from its own node,
 * then keeps it removed for the settle window. One instance per node; many can share a JVM (each has
 * its own metrics and threads, all virtual), which is how the tests and benchmarks run it.
 *
 * <pre>{@code
 * try (Agent agent = new Agent(settings, apiClient)) {
 *     agent.run(); // returns when done (bootstrap mode) or closed
 * }
 * }</pre>
 */
public final class Agent implements AutoCloseable {
    private static final TaggedLogger LOG = Logger.tag("agent");
    /** How often a settled agent looks at the certificate again in continuous mode (expiry metric). */
    private static final Duration CONTINUOUS_CERT_REFRESH = Duration.ofMinutes(1);

    private final Settings settings;
    private final String node;
    private final NodeApi api;
    private final CertSource certSource;
    private final Metrics metrics;
    private final Clock clock;
    private final RandomGenerator random;
    private final Sleeper sleeper;
    private final RetryPolicy retry;
    private final NodeTracker tracker;
    private final TaintRemover remover;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Instant createdAt;
    private volatile State state;
    private volatile boolean certValid;
    private volatile boolean closed;
    private volatile Thread runner;
    private volatile Thread trackerThread;

    /** An agent talking to the cluster through {@code client}; the usual way to build one. */
    public Agent(Settings settings, ApiClient client) {
        this(settings, client, Clock.systemUTC());
    }

    private Agent(Settings settings, ApiClient client, Clock clock) {
        this(settings, new Metrics(clock::instant), clock, RandomGenerator.getDefault(), Sleeper.REAL, client);
    }

    private Agent(Settings settings, Metrics metrics, Clock clock, RandomGenerator random, Sleeper sleeper,
            ApiClient client) {
        this(settings, new HttpNodeApi(client, metrics::request), defaultCertSource(settings, clock), metrics, clock,
                random, sleeper);
    }

    /** For tests: every collaborator given. {@code certSource} is ignored with {@code --skip-cert-check}. */
    Agent(Settings settings, NodeApi api, CertSource certSource, Metrics metrics, Clock clock, RandomGenerator random,
            Sleeper sleeper) {
        this.settings = settings;
        this.node = settings.nodeName();
        this.api = api;
        this.certSource = settings.skipCertCheck() ? null : certSource;
        this.metrics = metrics;
        this.clock = clock;
        this.random = random;
        this.sleeper = sleeper;
        this.retry = new RetryPolicy(random);
        this.tracker = new NodeTracker(node, api, retry, sleeper, random);
        this.remover = new TaintRemover(node, settings.taints(), api, tracker, retry, sleeper, clock,
                settings.taintWatcherDuration());
        this.createdAt = clock.instant();
        this.certValid = settings.skipCertCheck();
        state(State.STARTING);
    }

    private static CertSource defaultCertSource(Settings settings, Clock clock) {
        if (settings.skipCertCheck()) {
            return null;
        }
        CertificateValidator validator = new CertificateValidator(settings.nodeName(), settings.requireCertIdentity());
        return switch (settings.certSource()) {
            case FILE -> new FileCertSource(settings.certFile(), validator, clock);
            case KUBELET -> {
                try {
                    yield new KubeletCertSource(settings.kubeletAddress(), settings.kubeletCaFile(), validator,
                            settings.requireCertIdentity(), clock);
                } catch (java.io.IOException | java.security.GeneralSecurityException e) {
                    throw new IllegalArgumentException("invalid --kubelet-ca-file (KUBELET_CA_FILE) \""
                            + settings.kubeletCaFile() + "\": " + e.getMessage()
                            + "; accepted: a PEM CA bundle path, or none", e);
                }
            }
        };
    }

    /**
     * Does the agent's work on the calling thread. Returns when the settle window is over in bootstrap
     * mode, or when {@link #close()} is called; runs until closed in continuous mode.
     */
    public void run() {
        runner = Thread.currentThread();
        trackerThread = Thread.ofVirtual().name("node-tracker-" + node).start(tracker);
        try {
            LOG.info("agent started node={} taints={} cert_source={} mode={} settle={}", node,
                    settings.taints().stream().map(Object::toString).collect(Collectors.joining(",")),
                    settings.skipCertCheck() ? "skipped" : Settings.lower(settings.certSource()),
                    Settings.lower(settings.mode()), settings.settleDuration());
            CertWait wait = certSource == null ? CertWait.SKIPPED : waitForCert();
            if (wait == CertWait.ALREADY_VALID && settings.startupJitter().isPositive()) {
                // Rolling the DaemonSet out over a running fleet: spread the first writes of all nodes.
                Duration jitter = Duration.ofMillis(random.nextLong(settings.startupJitter().toMillis() + 1));
                LOG.debug("startup jitter node={} delay={}", node, jitter.toMillis() + "ms");
                sleeper.sleep(jitter);
            }
            Instant certAt = clock.instant();
            removeOnce(false, certAt);
            settle();
            state(State.DONE);
            LOG.info("settle window over, no longer watching the node node={}", node);
        } catch (InterruptedException e) {
            if (!closed) {
                Thread.currentThread().interrupt();
            }
        } finally {
            stopTracking();
            finished.countDown();
        }
    }

    /** Runs the agent on a new virtual thread and returns at once. */
    public Agent start() {
        Thread.ofVirtual().name("agent-" + node).start(this::run);
        return this;
    }

    /** Waits until {@link #run()} has returned; true if it did within {@code max}. */
    public boolean awaitFinished(Duration max) throws InterruptedException {
        return finished.await(max.toNanos(), TimeUnit.NANOSECONDS);
    }

    public State state() {
        return state;
    }

    public Metrics metrics() {
        return metrics;
    }

    /** What {@code /readyz} says: ready once the certificate is valid and no configured taint is left. */
    public Readiness readiness() {
        if (!certValid) {
            return new Readiness(false, "waiting for a valid serving certificate");
        }
        NodeSnapshot s = tracker.latest();
        if (s == null) {
            return new Readiness(false, "node " + node + " not read yet");
        }
        if (!Taints.plan(s.taints(), settings.taints()).clean()) {
            return new Readiness(false, "startup taint still on node " + node);
        }
        return new Readiness(true, "serving certificate valid, startup taint removed");
    }

    /** Stops the agent: waits end, watches are cancelled, {@link #run()} returns. Idempotent. */
    @Override
    public void close() {
        closed = true;
        Thread r = runner;
        if (r != null && r != Thread.currentThread()) {
            r.interrupt();
        }
        stopTracking();
        if (certSource != null) {
            certSource.close();
        }
    }

    private void stopTracking() {
        tracker.stop();
        Thread t = trackerThread;
        if (t != null) {
            t.interrupt();
        }
        if (api instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing the API client failed node={} error={}", node, Fields.quote(e.getMessage()));
            }
        }
    }

    private enum CertWait { SKIPPED, ALREADY_VALID, BECAME_VALID, TIMED_OUT }

    private CertWait waitForCert() throws InterruptedException {
        state(State.WAITING_FOR_CERT);
        Instant deadline = createdAt.plus(settings.certCheckDuration());
        CertCheck.Reason lastReason = null;
        boolean timedOut = false;
        boolean first = true;
        while (true) {
            CertCheck check = certSource.check();
            if (check instanceof CertCheck.Valid valid) {
                certBecameValid(valid);
                return first ? CertWait.ALREADY_VALID : CertWait.BECAME_VALID;
            }
            CertCheck.NotYet notYet = (CertCheck.NotYet) check;
            if (notYet.reason() != lastReason) {
                LOG.info("serving certificate not usable yet node={} reason={} detail={}", node,
                        notYet.reason().name().toLowerCase(java.util.Locale.ROOT), Fields.quote(notYet.describe()));
                lastReason = notYet.reason();
            }
            Instant now = clock.instant();
            if (!timedOut && !now.isBefore(deadline)) {
                timedOut = true;
                boolean failOpen = settings.onCertTimeout() == Settings.OnCertTimeout.REMOVE_TAINT;
                report(Reason.SERVING_CERTIFICATE_TIMEOUT, "No valid serving certificate after "
                        + settings.certCheckDuration().toSeconds() + "s (" + notYet.describe() + "); "
                        + (failOpen ? "removing the taint anyway (on-cert-timeout=remove-taint)"
                                : "the taint stays until one is valid (on-cert-timeout=keep-waiting)"));
                if (failOpen) {
                    return CertWait.TIMED_OUT;
                }
            }
            Duration wait = settings.certCheckInterval();
            if (!timedOut) {
                Duration left = Duration.between(now, deadline);
                wait = left.compareTo(wait) < 0 ? left.plusMillis(1) : wait;
            }
            certSource.awaitChange(wait);
            first = false;
        }
    }

    private void certBecameValid(CertCheck.Valid valid) {
        certValid = true;
        metrics.certNotAfter(valid.notAfter());
        metrics.timeToCert(Duration.between(createdAt, clock.instant()));
        if (valid.identityWarning() != null) {
            LOG.warn("serving certificate does not name this node node={} subject={} detail={}", node,
                    Fields.quote(valid.subject()), Fields.quote(valid.identityWarning()));
        }
        report(Reason.SERVING_CERTIFICATE_READY, "Kubelet serving certificate is valid until " + valid.notAfter()
                + " (" + valid.subject() + ")");
    }

    /** Removes the taint(s); {@code again} when it came back during the settle window. */
    private void removeOnce(boolean again, Instant since) throws InterruptedException {
        TaintRemover.Result result = remover.remove(new TaintRemover.Listener() {
            @Override
            public void state(State s) {
                Agent.this.state(s);
            }

            @Override
            public void slow(Duration elapsed, String lastProblem) {
                report(Reason.TAINT_REMOVAL_SLOW, "Startup taint still present after " + elapsed.toSeconds()
                        + "s (last error: " + lastProblem + "); still trying");
            }
        });
        if (result.removed().isEmpty()) {
            if (!again) {
                LOG.info("no configured taint on the node, nothing to remove node={}", node);
            }
            return;
        }
        Duration took = Duration.between(since, clock.instant());
        if (!again) {
            metrics.certToUntaint(took);
        }
        report(Reason.STARTUP_TAINT_REMOVED, "Removed " + String.join(", ", result.removed())
                + (again ? " again" : "") + " after " + took.toMillis() + "ms (" + result.attempts() + " patch"
                + (result.attempts() == 1 ? "" : "es") + ")");
    }

    private void settle() throws InterruptedException {
        boolean forever = settings.mode() == Settings.Mode.CONTINUOUS;
        Instant end = clock.instant().plus(settings.settleDuration());
        state(State.SETTLING);
        long seen = tracker.version();
        while (forever || clock.instant().isBefore(end)) {
            Duration wait = forever ? CONTINUOUS_CERT_REFRESH : min(Duration.between(clock.instant(), end),
                    CONTINUOUS_CERT_REFRESH);
            if (!certValid) {
                wait = min(wait, settings.certCheckInterval());
            }
            seen = tracker.awaitChange(seen, wait.isPositive() ? wait : Duration.ofMillis(1));
            refreshCert(forever);
            NodeSnapshot s = tracker.latest();
            if (s != null && !Taints.plan(s.taints(), settings.taints()).clean()) {
                List<String> back = Taints.plan(s.taints(), settings.taints()).removed().stream()
                        .map(Object::toString).toList();
                report(Reason.STARTUP_TAINT_READDED, "Startup taint " + String.join(", ", back)
                        + " was added again; removing it");
                removeOnce(true, clock.instant());
                state(State.SETTLING);
                seen = tracker.version();
            }
        }
    }

    /** After a fail-open removal, or in continuous mode, keeps the certificate view current. */
    private void refreshCert(boolean continuous) {
        if (certSource == null || (certValid && !continuous)) {
            return;
        }
        CertCheck check = certSource.check();
        if (check instanceof CertCheck.Valid valid) {
            if (!certValid) {
                certBecameValid(valid);
            } else {
                metrics.certNotAfter(valid.notAfter());
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private void state(State next) {
        if (state != next) {
            LOG.debug("state node={} state={}", node, next.label());
            state = next;
            metrics.state(next);
        }
    }

    /** One outcome: a log line, a metric and an Event, all under the same reason. */
    private void report(Reason reason, String note) {
        metrics.outcome(reason);
        if ("Warning".equals(reason.eventType())) {
            LOG.warn("{} node={} reason={}", note, node, reason);
        } else {
            LOG.info("{} node={} reason={}", note, node, reason);
        }
        // Events are best effort and must never delay the taint removal.
        Thread.ofVirtual().name("event-" + node).start(() -> postEvent(reason, note));
    }

    private void postEvent(Reason reason, String note) {
        long seen = tracker.version();
        NodeSnapshot s = tracker.latest();
        if (s == null) {
            // The certificate can be valid before the node was first read; an Event linked to the Node's
            // uid shows up in `kubectl describe node`, so wait a little for it.
            try {
                tracker.awaitChange(seen, Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                return;
            }
            s = tracker.latest();
        }
        NodeEvent event = new NodeEvent(node, s == null ? null : s.uid(), reason.eventType(), reason.value(),
                reason.action(), note);
        for (int attempt = 1; ; attempt++) {
            try {
                api.createEvent(event);
                return;
            } catch (ApiFailure f) {
                Optional<Duration> again = closed ? Optional.empty() : retry.afterEventFailure(f, attempt);
                if (again.isEmpty()) {
                    LOG.warn("could not record Event node={} reason={} code={} error={}", node, event.reason(),
                            f.code(), Fields.quote(f.getMessage()));
                    return;
                }
                try {
                    sleeper.sleep(again.get());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
