package io.github.kscu.agent;

import io.github.kscu.health.Metrics;
import io.github.kscu.health.Reason;
import io.github.kscu.health.State;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.taint.Taints;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Removes the configured taints from one node and does not return before the server confirmed it. The
 * decisions (which taints go, what a status code means) are pure functions elsewhere; this class
 * sequences them against the API.
 *
 * <ul>
 *   <li>Patches from the tracker's latest view; a fresh GET only after a failure says it is stale.</li>
 *   <li>Removes nothing unless {@link CertWait#permitsRemoval()}; waits for the certificate otherwise.</li>
 *   <li>Waits while Karpenter has not registered the node ({@link Taints#KARPENTER_UNREGISTERED}).</li>
 *   <li>A taint back in the PATCH answer (a webhook or policy re-adding it) is patched again only after a
 *   growing, capped backoff, and reported once as a Warning naming the other field manager.</li>
 * </ul>
 */
final class TaintRemover {
    private static final TaggedLogger LOG = Logger.tag("taint");

    private final String node;
    private final NodeApi api;
    private final NodeTracker tracker;
    private final CertWait certWait;
    private final Changes changes;
    private final Reporter reporter;
    private final StateRecorder state;
    private final Metrics metrics;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final Clock clock;
    private final Duration slowAfter;
    /** ServingCertificateReady was posted while waiting on Karpenter: once per agent is enough. */
    private boolean readyPosted;

    TaintRemover(String node, NodeApi api, NodeTracker tracker, CertWait certWait, Changes changes, Reporter reporter,
            StateRecorder state, Metrics metrics, RetryPolicy retry, Sleeper sleeper, Clock clock, Duration slowAfter) {
        this.node = node;
        this.api = api;
        this.tracker = tracker;
        this.certWait = certWait;
        this.changes = changes;
        this.reporter = reporter;
        this.state = state;
        this.metrics = metrics;
        this.retry = retry;
        this.sleeper = sleeper;
        this.clock = clock;
        this.slowAfter = slowAfter;
    }

    /**
     * Returns once none of the configured taints is on the node, as read back from the server, and
     * reports the removal. Never gives up; only an interrupt ends it early.
     *
     * @param again true when the taint came back during the settle window
     * @param since when the certificate became usable (or the taint came back), for the latency metric
     */
    void remove(boolean again, Instant since) throws InterruptedException {
        Instant start = clock.instant(); // reset after a wait for the certificate, which has its own timeout
        boolean slowReported = false;
        boolean gateLogged = false;
        boolean stale = false; // the tracker's view is known to be out of date: GET before patching
        int failures = 0;
        int contested = 0;
        int attempts = 0;
        Instant failingSince = null;
        String lastProblem = null;
        String removed = null; // what our last successful PATCH removed
        // What a PATCH without an answer tried to remove: written by the apiserver after our timeout, the
        // retry's test op then fails and the re-read finds the taint gone. Still our removal, and reported.
        String unanswered = null;
        state.set(State.REMOVING_TAINT);
        while (true) {
            if (!slowReported && Duration.between(start, clock.instant()).compareTo(slowAfter) >= 0) {
                slowReported = true;
                String error = lastProblem != null ? lastProblem : tracker.lastError();
                reporter.report(Reason.TAINT_REMOVAL_SLOW, "Startup taint still present after "
                        + Duration.between(start, clock.instant()).toSeconds() + "s (last error: "
                        + (error == null ? "none" : error) + "); still trying");
            }
            long seen = changes.version();
            NodeView view = tracker.latest();
            Instant attemptStart = clock.instant();
            String sending = null;
            try {
                if (stale) {
                    view = tracker.offer(api.get(node));
                    stale = false;
                }
                if (view == null) {
                    // The tracker is still trying its first GET (and logs why it fails); wait for it.
                    changes.await(seen, untilSlow(start, slowReported));
                    continue;
                }
                if (view.plan().clean()) {
                    if (attempts == 0 && !again) {
                        LOG.info("no configured taint on the node, nothing to remove node={}", node);
                    }
                    done(removed != null ? removed : unanswered, again, since, attempts);
                    return;
                }
                if (!certWait.permitsRemoval()) {
                    state.set(State.WAITING_FOR_CERT);
                    LOG.info("not removing the taint while the serving certificate is not valid node={} detail={}",
                            node, Fields.quote(certWait.describeProblem()));
                    certWait.await();
                    start = clock.instant();
                    state.set(State.REMOVING_TAINT);
                    continue;
                }
                if (view.plan().gated()) {
                    if (!gateLogged) {
                        LOG.info("waiting for Karpenter to register the node before removing the taint node={} "
                                + "blocking_taint={}", node, Taints.KARPENTER_UNREGISTERED);
                        gateLogged = true;
                        readyWhileGated();
                    }
                    state.set(State.WAITING_FOR_KARPENTER);
                    changes.await(seen, untilSlow(start, slowReported));
                    continue;
                }
                state.set(State.REMOVING_TAINT);
                attempts++;
                sending = view.plan().describeToRemove();
                NodeView patched = tracker.offer(api.patchTaints(node, view.node().taints(), view.plan().remaining()));
                // The PATCH answer is the stored object: it is the read-back, no extra GET needed.
                failures = 0;
                failingSince = null;
                removed = sending;
                if (patched.plan().clean()) {
                    done(removed, again, since, attempts);
                    return;
                }
                contested++;
                Duration delay = retry.backoff(contested);
                contested(patched, contested, delay);
                sleeper.sleep(delay);
            } catch (ApiFailure f) {
                failures++;
                failingSince = failingSince == null ? clock.instant() : failingSince;
                if (sending != null && (f.status() == ApiFailure.NO_RESPONSE || f.status() >= 500)) {
                    unanswered = sending;
                }
                RetryPolicy.Decision d = retry.afterFailure(f, failures, Duration.between(failingSince, clock.instant()));
                Duration delay = d.remaining(f, Duration.between(attemptStart, clock.instant()));
                lastProblem = f.code() + ": " + f.getMessage();
                stale = d.refetch();
                String line = "taint removal failed, retrying node={} code={} attempt={} retry_in={} error={}";
                Object[] args = {node, f.code(), failures, delay.toMillis() + "ms", Fields.quote(f.getMessage())};
                if (d.delay().isZero()) {
                    LOG.debug(line, args); // a lost race with another writer: routine, retried at once
                } else {
                    LOG.warn(line, args);
                }
                if (delay.isPositive()) {
                    sleeper.sleep(delay);
                }
            }
        }
    }

    /** The taint was back in our own PATCH's answer: someone re-adds it as we remove it. */
    private void contested(NodeView patched, int times, Duration delay) {
        NodeSnapshot.FieldWriter other = patched.node().otherTaintWriter(HttpNodeApi.FIELD_MANAGER);
        String who = other != null ? "field manager " + other
                : "no other field manager owns spec.taints, so a mutating admission webhook or policy";
        LOG.info("taint is back in the PATCH answer, removing again after a backoff node={} attempt={} retry_in={} "
                + "writer={}", node, times, delay.toMillis() + "ms", Fields.quote(who));
        if (times == 1) {
            reporter.report(Reason.STARTUP_TAINT_CONTESTED, "Startup taint " + patched.plan().describeToRemove()
                    + " was back in the answer to our PATCH: " + who + " re-adds it; retrying with backoff up to "
                    + RetryPolicy.CAP.toSeconds() + "s");
        }
    }

    /**
     * The certificate is ready but the taint stays: say so on the Node, once. In a normal bootstrap the
     * StartupTaintRemoved Event names the certificate and ServingCertificateReady is only logged; a wait
     * on Karpenter can last, and an operator looking at the Node then sees which side it waits for.
     */
    private void readyWhileGated() {
        if (readyPosted || !certWait.certUsable()) {
            return;
        }
        String cert = certWait.describeCertificate();
        if (cert == null) {
            return; // --skip-cert-check: no certificate to speak of
        }
        readyPosted = true;
        reporter.post(Reason.SERVING_CERTIFICATE_READY, "Kubelet " + cert + "; waiting for Karpenter to register"
                + " the node (" + Taints.KARPENTER_UNREGISTERED + ") before removing the startup taint");
    }

    /**
     * Reports what our PATCH removed; nothing when another writer removed it first. The one Event of a
     * normal bootstrap, so its note carries the certificate too (subject and expiry).
     */
    private void done(String removed, boolean again, Instant since, int attempts) {
        if (removed == null) {
            return;
        }
        Duration took = Duration.between(since, clock.instant());
        if (!again) {
            metrics.certToUntaint(took);
        }
        String cert = certWait.describeCertificate();
        reporter.report(Reason.STARTUP_TAINT_REMOVED, "Removed " + removed
                + (again ? " again" : "") + " after " + took.toMillis() + "ms (" + attempts + " patch"
                + (attempts == 1 ? "" : "es") + ")" + (cert == null ? "" : "; " + cert));
    }

    private Duration untilSlow(Instant start, boolean slowReported) {
        if (slowReported) {
            return Duration.ofMinutes(1);
        }
        Duration left = slowAfter.minus(Duration.between(start, clock.instant()));
        return left.isNegative() || left.isZero() ? Duration.ofMillis(1) : left;
    }
}
