package io.github.kscu.agent;

import io.github.kscu.config.Settings;
import io.github.kscu.health.HealthServer.Readiness;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Metrics;
import io.github.kscu.report.State;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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

    /** The parts that keep what the agent knows current, each on a thread of its own; null when off. */
    record Watches(NodeTracker tracker, CertWatch cert, ConditionReporter condition) {
    }

    /** The steps of the sequence, in order. */
    record Steps(AdmissionCheck admission, CertWait cert, TaintRemover remover, Settler settler) {
    }

    private final Settings settings;
    private final NodeContext ctx;
    private final Watches watches;
    private final Steps steps;
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

    Agent(Settings settings, NodeContext ctx, Watches watches, Steps steps) {
        this.settings = settings;
        this.ctx = ctx;
        this.watches = watches;
        this.steps = steps;
        this.node = ctx.node();
    }

    /**
     * Does the agent's work on the calling thread. Returns when the settle window is over in bootstrap
     * mode, or when {@link #close()} is called; runs until closed in continuous mode.
     */
    public void run() {
        runner = Thread.currentThread();
        trackerThread = Thread.ofVirtual().name("node-tracker-" + node).start(guarded("node-tracker", watches.tracker()));
        if (watches.cert() != null) {
            // A platform thread: the kubelet source probes 20 times a second, and on a virtual thread each
            // sleep and each blocking read goes through the scheduler and the I/O poller (measured: 1.7
            // times the CPU per probe, docs/benchmarks.md).
            certThread = Thread.ofPlatform().daemon().name("cert-watch-" + node).start(guarded("cert-watch", watches.cert()));
        }
        if (watches.condition() != null) {
            conditionThread = Thread.ofVirtual().name("node-condition-" + node).start(guarded("node-condition",
                    watches.condition()));
        }
        Settings s = settings;
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
            steps.admission().gate();
            ctx.state().set(State.WAITING_FOR_CERT);
            CertWait.Outcome cert = steps.cert().await();
            if (!s.conditionReport().removesTaints()) {
                report();
                return;
            }
            if (cert == CertWait.Outcome.ALREADY_VALID && s.startupJitter().isPositive()) {
                // Rolling the DaemonSet out over a running fleet: spread the first writes of all nodes.
                Duration jitter = Duration.ofMillis(ctx.random().nextLong(s.startupJitter().toMillis() + 1));
                LOG.debug("startup jitter node={} delay={}", node, jitter.toMillis() + "ms");
                ctx.sleeper().sleep(jitter);
            }
            Instant certAt = ctx.now();
            steps.remover().remove(false, certAt);
            steps.admission().afterRemoval(body -> guarded("admission-check", body));
            steps.settler().settle(s.mode() == Settings.Mode.CONTINUOUS ? null : s.settleDuration());
            if (watches.condition() != null) {
                // Not done before the condition says so: its thread stops with the agent's.
                watches.condition().awaitTrue();
            }
            finalReadiness = readiness();
            ctx.state().set(State.DONE);
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
        ctx.state().set(State.REPORTING);
        // The window starts once the condition says True: a write that keeps failing (reported as
        // NodeConditionRefused) must not end in DONE with nothing reported.
        watches.condition().awaitTrue();
        steps.admission().afterRemoval(body -> guarded("admission-check", body));
        Settings s = settings;
        if (s.mode() == Settings.Mode.CONTINUOUS) {
            new CountDownLatch(1).await(); // until closed
        }
        ctx.sleeper().sleep(s.settleDuration());
        finalReadiness = readiness();
        ctx.state().set(State.DONE);
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
        return ctx.state().get();
    }

    public Metrics metrics() {
        return ctx.metrics();
    }

    /** What {@code /readyz} says ({@link ReadinessVerdict}); frozen when the settle window ends. */
    public Readiness readiness() {
        Readiness done = finalReadiness;
        return done != null ? done : ReadinessVerdict.of(settings, steps.cert(), ctx.latest().get());
    }

    /** Stops the agent: waits end, watches are cancelled, {@link #run()} returns. Idempotent. */
    @Override
    public void close() {
        closed = true;
        ctx.reporter().close();
        // Not when run() returns: a check in the background may still be waiting to try again.
        steps.admission().stop();
        Thread r = runner;
        if (r != null && r != Thread.currentThread()) {
            r.interrupt();
        }
        stopThreads();
    }

    private void stopThreads() {
        watches.tracker().stop();
        for (Thread t : new Thread[] {trackerThread, certThread, conditionThread}) {
            if (t != null) {
                t.interrupt();
            }
        }
        try {
            if (ctx.api() instanceof AutoCloseable api) {
                api.close();
            }
        } catch (Exception e) {
            LOG.debug("closing the API client failed node={} error={}", node, Fields.quote(e.getMessage()));
        }
    }
}
