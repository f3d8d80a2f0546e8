package io.github.kscu.agent;

import io.github.kscu.config.Settings;
import io.github.kscu.health.HealthServer.Readiness;
import io.github.kscu.health.Metrics;
import io.github.kscu.health.State;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.log.Fields;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * The node agent, as a sequence (DESIGN.md §1): wait for a usable serving certificate, remove the startup
 * taint from this node, check that the admission policy is in force (before the removal with
 * ADMISSION_POLICY_CHECK=require), settle, then idle. With NODE_CONDITION the verdict is also a Node
 * condition, kept current on a thread of its own ({@link ConditionReporter}); reporter-only reports
 * instead of removing (§8). One instance per node; many can share a JVM (each has its own
 * metrics and threads, all virtual), which is how the tests and benchmarks run it. Built by
 * {@link Wiring}; each step is a class of its own.
 *
 * <pre>{@code
 * try (Agent agent = Wiring.agent(settings, apiClient)) {
 *     agent.run(); // returns when done (bootstrap mode) or closed
 * }
 * }</pre>
 */
public final class Agent implements AutoCloseable {
    private static final TaggedLogger LOG = Logger.tag("agent");

    /** The collaborators, built and connected by {@link Wiring}. */
    record Parts(Settings settings, NodeTracker tracker, CertWatch certWatch, CertWait certWait,
            ConditionReporter condition, AdmissionCheck admissionCheck, TaintRemover remover,
            Settler settler, Reporter reporter, StateRecorder state, Metrics metrics, AutoCloseable api, Clock clock,
            RandomGenerator random, Sleeper sleeper) {
    }

    private final Parts p;
    private final String node;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile Readiness finalReadiness;
    private volatile boolean closed;
    private volatile Thread runner;
    private volatile Thread trackerThread;
    private volatile Thread certThread;
    private volatile Thread conditionThread;
    /** Why a part of the agent died; set once, thrown by {@link #run()}. */
    private volatile IllegalStateException failure;

    Agent(Parts parts) {
        this.p = parts;
        this.node = parts.settings().nodeName();
    }

    /**
     * Does the agent's work on the calling thread. Returns when the settle window is over in bootstrap
     * mode, or when {@link #close()} is called; runs until closed in continuous mode.
     */
    public void run() {
        runner = Thread.currentThread();
        trackerThread = Thread.ofVirtual().name("node-tracker-" + node).start(guarded("node-tracker", p.tracker()));
        if (p.certWatch() != null) {
            // A platform thread: the kubelet source probes 20 times a second, and on a virtual thread each
            // sleep and each blocking read goes through the scheduler and the I/O poller (measured: 1.7
            // times the CPU per probe, docs/benchmarks.md).
            certThread = Thread.ofPlatform().daemon().name("cert-watch-" + node).start(guarded("cert-watch", p.certWatch()));
        }
        if (p.condition() != null) {
            conditionThread = Thread.ofVirtual().name("node-condition-" + node).start(guarded("node-condition",
                    p.condition()));
        }
        Settings s = p.settings();
        try {
            LOG.info("agent started node={} taints={} cert_source={} mode={} settle={} node_condition={}", node,
                    s.taints().stream().map(Object::toString).collect(Collectors.joining(",")),
                    s.skipCertCheck() ? "skipped" : Settings.lower(s.certSource()), Settings.lower(s.mode()),
                    s.settleDuration(), Settings.lower(s.conditionReport()));
            if (!s.postsNodeEvents()) {
                LOG.warn("no Events: the apiserver accepts Events about a Node only in the default or kube-system"
                        + " namespace node={} namespace={}; outcomes are still logged and counted", node,
                        s.eventNamespace());
            }
            // require: no write before the admission policy is in force (the certificate is watched meanwhile).
            p.admissionCheck().gate();
            p.state().set(State.WAITING_FOR_CERT);
            CertWait.Outcome cert = p.certWait().await();
            if (!s.conditionReport().removesTaints()) {
                report();
                return;
            }
            if (cert == CertWait.Outcome.ALREADY_VALID && s.startupJitter().isPositive()) {
                // Rolling the DaemonSet out over a running fleet: spread the first writes of all nodes.
                Duration jitter = Duration.ofMillis(p.random().nextLong(s.startupJitter().toMillis() + 1));
                LOG.debug("startup jitter node={} delay={}", node, jitter.toMillis() + "ms");
                p.sleeper().sleep(jitter);
            }
            Instant certAt = p.clock().instant();
            p.remover().remove(false, certAt);
            p.admissionCheck().afterRemoval(body -> guarded("admission-check", body));
            p.settler().settle(s.mode() == Settings.Mode.CONTINUOUS ? null : s.settleDuration());
            if (p.condition() != null) {
                // Not done before the condition says so: its thread stops with the agent's.
                p.condition().awaitTrue();
            }
            finalReadiness = readiness();
            p.state().set(State.DONE);
            LOG.info("settle window over, no longer watching the node node={}", node);
        } catch (InterruptedException e) {
            if (!closed) {
                Thread.currentThread().interrupt();
            }
        } finally {
            stopThreads();
            finished.countDown();
        }
        IllegalStateException failed = failure;
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * NODE_CONDITION=reporter-only, once the certificate is valid: the condition (on its own thread) says
     * so and the Node Readiness Controller removes the taint. The agent keeps the condition current for
     * the settle window (for ever in continuous mode) and touches no taint.
     */
    private void report() throws InterruptedException {
        p.state().set(State.REPORTING);
        // The window starts once the condition says True: a write that keeps failing (reported as
        // NodeConditionRefused) must not end in DONE with nothing reported.
        p.condition().awaitTrue();
        p.admissionCheck().afterRemoval(body -> guarded("admission-check", body));
        Settings s = p.settings();
        if (s.mode() == Settings.Mode.CONTINUOUS) {
            new CountDownLatch(1).await(); // until closed
        }
        p.sleeper().sleep(s.settleDuration());
        finalReadiness = readiness();
        p.state().set(State.DONE);
        LOG.info("settle window over, no longer reporting the node condition node={}", node);
    }

    /**
     * A part that runs on a thread of its own, stopping the whole agent if it dies: no thread may end
     * silently and leave a verdict or a view frozen. {@link #run()} then throws, and the process exits
     * non-zero so that the kubelet restarts it (its log names the part and the exception).
     */
    private Runnable guarded(String part, Runnable body) {
        return () -> {
            try {
                body.run();
            } catch (Throwable t) {
                fail(part, t);
            }
        };
    }

    private void fail(String part, Throwable t) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = new IllegalStateException(part + " stopped unexpectedly: " + t, t);
        }
        LOG.error(t, "a part of the agent stopped unexpectedly, stopping node={} part={} error={}", node, part,
                Fields.quote(String.valueOf(t)));
        close();
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
        return p.state().get();
    }

    public Metrics metrics() {
        return p.metrics();
    }

    /**
     * What {@code /readyz} says: ready once this node is done (a usable certificate, no configured taint
     * left), or once the agent has reported that it cannot be (ServingCertificateTimeout). Why the second:
     * a pod that is never Ready counts as unavailable for ever, which stalls a DaemonSet rollout at
     * {@code maxUnavailable} and keeps GitOps health checks "progressing"; the stuck node is reported by
     * its Warning Event and the state metric, and its taint still keeps workloads off it.
     * Frozen when the settle window ends: nothing is watched after that, so nothing could change it.
     */
    public Readiness readiness() {
        Readiness done = finalReadiness;
        if (done != null) {
            return done;
        }
        CertWait cert = p.certWait();
        if (!cert.certUsable()) {
            if (cert.timedOut()) {
                return new Readiness(true, "no valid serving certificate after " + p.settings().certCheckDuration()
                        .toSeconds() + "s, reported (ServingCertificateTimeout); " + (cert.failsOpen()
                                ? "taint removed anyway (on-cert-timeout=remove-taint)"
                                : "the taint stays until one is valid") + ": " + cert.describeProblem());
            }
            return new Readiness(false, "serving certificate not valid: " + cert.describeProblem());
        }
        NodeView view = p.tracker().latest();
        if (view == null) {
            return new Readiness(false, "node " + node + " not read yet");
        }
        if (!p.settings().conditionReport().removesTaints()) {
            NodeCondition c = view.node().certCondition();
            return c != null && "True".equals(c.status())
                    ? new Readiness(true, "serving certificate valid, reported in the node condition")
                    : new Readiness(false, "serving certificate valid, node condition not written yet");
        }
        if (!view.plan().clean()) {
            return new Readiness(false, "startup taint still on node " + node);
        }
        return new Readiness(true, "serving certificate valid, startup taint removed");
    }

    /** Stops the agent: waits end, watches are cancelled, {@link #run()} returns. Idempotent. */
    @Override
    public void close() {
        closed = true;
        p.reporter().close();
        // Not when run() returns: a check in the background may still be waiting to try again.
        p.admissionCheck().stop();
        Thread r = runner;
        if (r != null && r != Thread.currentThread()) {
            r.interrupt();
        }
        stopThreads();
    }

    private void stopThreads() {
        p.tracker().stop();
        for (Thread t : new Thread[] {trackerThread, certThread, conditionThread}) {
            if (t != null) {
                t.interrupt();
            }
        }
        try {
            p.api().close();
        } catch (Exception e) {
            LOG.debug("closing the API client failed node={} error={}", node, Fields.quote(e.getMessage()));
        }
    }
}
