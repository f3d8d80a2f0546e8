package io.github.kscu.agent;

import io.github.kscu.agent.RemovalStep.Action;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.taint.Taints;
import java.time.Duration;
import java.time.Instant;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Removes the configured taints from one node and does not return before the server confirmed it. The
 * decisions (which taints go, what a status code means, what to do next: {@link RemovalStep}) are pure
 * functions elsewhere; this class sequences them against the API.
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

    private final NodeContext ctx;
    private final String node;
    private final CertWait certWait;
    private final Duration slowAfter;
    /** ServingCertificateReady was posted while waiting on Karpenter: once per agent is enough. */
    private boolean readyPosted;

    TaintRemover(NodeContext ctx, CertWait certWait, Duration slowAfter) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.certWait = certWait;
        this.slowAfter = slowAfter;
    }

    /** One removal's progress, from its start to the read-back. */
    private static final class Progress {
        Instant start; // reset after a wait for the certificate, which has its own timeout
        boolean slowReported;
        boolean gateLogged;
        boolean stale; // the view is known to be out of date: GET before patching
        int failures;
        Instant failingSince;
        int contested;
        int attempts;
        String lastProblem;
        String removed; // what our last successful PATCH removed
        // What a PATCH without an answer tried to remove: written by the apiserver after our timeout, the
        // retry's test op then fails and the re-read finds the taint gone. Still our removal, and reported.
        String unanswered;

        Progress(Instant start) {
            this.start = start;
        }
    }

    /**
     * Returns once none of the configured taints is on the node, as read back from the server, and
     * reports the removal. Never gives up; only an interrupt ends it early.
     *
     * @param again true when the taint came back during the settle window
     * @param since when the certificate became usable (or the taint came back), for the latency metric
     */
    void remove(boolean again, Instant since) throws InterruptedException {
        Progress p = new Progress(ctx.now());
        ctx.state().set(State.REMOVING_TAINT);
        while (true) {
            long seen = ctx.changes().version();
            NodeView view = ctx.latest().get();
            Instant attemptStart = ctx.now();
            String sending = null;
            try {
                boolean slowDue = !p.slowReported && Duration.between(p.start, ctx.now()).compareTo(slowAfter) >= 0;
                Action action = RemovalStep.next(view == null ? null : view.plan(), p.stale, certWait.permitsRemoval(),
                        slowDue);
                switch (action) {
                    case REPORT_SLOW -> reportSlow(p);
                    case GET -> {
                        ctx.latest().offer(ctx.api().get(node));
                        p.stale = false;
                    }
                    case WAIT_FOR_NODE -> ctx.changes().await(seen, untilSlow(p)); // the tracker logs why
                    case DONE -> {
                        if (p.attempts == 0 && !again) {
                            LOG.info("no configured taint on the node, nothing to remove node={}", node);
                        }
                        done(p.removed != null ? p.removed : p.unanswered, again, since, p.attempts);
                        return;
                    }
                    case WAIT_FOR_CERT -> {
                        ctx.state().set(State.WAITING_FOR_CERT);
                        LOG.info("not removing the taint while the serving certificate is not valid node={} detail={}",
                                node, Fields.quote(certWait.describeProblem()));
                        certWait.await();
                        p.start = ctx.now();
                        ctx.state().set(State.REMOVING_TAINT);
                    }
                    case WAIT_FOR_GATE -> {
                        if (!p.gateLogged) {
                            LOG.info("waiting for Karpenter to register the node before removing the taint node={} "
                                    + "blocking_taint={}", node, Taints.KARPENTER_UNREGISTERED);
                            p.gateLogged = true;
                            readyWhileGated();
                        }
                        ctx.state().set(State.WAITING_FOR_KARPENTER);
                        ctx.changes().await(seen, untilSlow(p));
                    }
                    case PATCH -> {
                        sending = view.plan().describeToRemove();
                        NodeView answer = patch(view, p);
                        p.removed = sending;
                        if (RemovalStep.afterPatch(answer.plan()) == Action.DONE) {
                            done(p.removed, again, since, p.attempts);
                            return;
                        }
                        p.contested++;
                        Duration delay = ctx.retry().backoff(p.contested);
                        contested(answer, p.contested, delay);
                        ctx.sleeper().sleep(delay);
                    }
                    case BACK_OFF_CONTESTED -> throw new IllegalStateException("only after a PATCH");
                }
            } catch (ApiFailure f) {
                failed(p, f, sending, attemptStart);
            }
        }
    }

    /** The PATCH, from the view; its answer is the stored object, the read-back. */
    private NodeView patch(NodeView view, Progress p) throws ApiFailure {
        ctx.state().set(State.REMOVING_TAINT);
        p.attempts++;
        NodeView answer = ctx.latest().offer(ctx.api().patchTaints(node, view.node().taints(), view.plan().remaining()));
        p.failures = 0;
        p.failingSince = null;
        return answer;
    }

    private void reportSlow(Progress p) {
        p.slowReported = true;
        String error = p.lastProblem != null ? p.lastProblem : ctx.latest().readError();
        ctx.reporter().report(Reason.TAINT_REMOVAL_SLOW, "Startup taint still present after "
                + Duration.between(p.start, ctx.now()).toSeconds() + "s (last error: "
                + (error == null ? "none" : error) + "); still trying");
    }

    private void failed(Progress p, ApiFailure f, String sending, Instant attemptStart) throws InterruptedException {
        p.failures++;
        p.failingSince = p.failingSince == null ? ctx.now() : p.failingSince;
        if (sending != null && (f.status() == ApiFailure.NO_RESPONSE || f.status() >= 500)) {
            p.unanswered = sending;
        }
        RetryPolicy.Decision d = ctx.retry().afterFailure(f, p.failures, Duration.between(p.failingSince, ctx.now()));
        Duration delay = d.remaining(f, Duration.between(attemptStart, ctx.now()));
        p.lastProblem = f.code() + ": " + f.getMessage();
        p.stale = d.refetch();
        String line = "taint removal failed, retrying node={} code={} attempt={} retry_in={} error={}";
        Object[] args = {node, f.code(), p.failures, delay.toMillis() + "ms", Fields.quote(f.getMessage())};
        if (d.delay().isZero()) {
            LOG.debug(line, args); // a lost race with another writer: routine, retried at once
        } else {
            LOG.warn(line, args);
        }
        if (delay.isPositive()) {
            ctx.sleeper().sleep(delay);
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
            ctx.reporter().report(Reason.STARTUP_TAINT_CONTESTED, "Startup taint " + patched.plan().describeToRemove()
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
        ctx.reporter().post(Reason.SERVING_CERTIFICATE_READY, "Kubelet " + cert + "; waiting for Karpenter to register"
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
        Duration took = Duration.between(since, ctx.now());
        if (!again) {
            ctx.metrics().certToUntaint(took);
        }
        String cert = certWait.describeCertificate();
        ctx.reporter().report(Reason.STARTUP_TAINT_REMOVED, "Removed " + removed
                + (again ? " again" : "") + " after " + took.toMillis() + "ms (" + attempts + " patch"
                + (attempts == 1 ? "" : "es") + ")" + (cert == null ? "" : "; " + cert));
    }

    private Duration untilSlow(Progress p) {
        if (p.slowReported) {
            return Duration.ofMinutes(1);
        }
        Duration left = slowAfter.minus(Duration.between(p.start, ctx.now()));
        return left.isNegative() || left.isZero() ? Duration.ofMillis(1) : left;
    }
}
