package io.github.kscu.agent;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.condition.CertCondition;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Reason;
import java.time.Duration;
import java.time.Instant;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Keeps this node's certificate condition ({@link NodeCondition#CERT_TYPE}) in line with the verdict,
 * on a thread of its own while the agent watches: reads the verdict and the stored condition (from the
 * node watch), lets {@link CertCondition#next} decide, writes. Nothing is written before the first look
 * at the certificate: an absent condition means "not reported yet", which NRC reads as Unknown.
 *
 * <p>Never storming: a condition that says the same is confirmed once per heartbeat period (a little
 * under {@link CertCondition#HEARTBEAT_PERIOD}, at random, so that a fleet rolled out together drifts
 * apart); a DaemonSet rollout over running nodes whose certificates are valid spreads its first writes
 * over {@code startup-jitter}; failures back off as every other write does.
 */
final class ConditionReporter implements Runnable {
    private static final TaggedLogger LOG = Logger.tag("condition");
    private static final Duration IDLE = Duration.ofMinutes(1);

    private final NodeContext ctx;
    private final String node;
    private final CertWatch watch;
    private final Duration startupJitter;

    ConditionReporter(NodeContext ctx, CertWatch watch, Duration startupJitter) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.watch = watch;
        this.startupJitter = startupJitter;
    }

    @Override
    public void run() {
        long seen = ctx.changes().version();
        Instant lastWrite = null;
        Instant notBefore = null; // the start-up jitter's end, once decided
        Duration heartbeat = heartbeat();
        int failures = 0;
        boolean refusalReported = false;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Instant now = ctx.now();
                CertCheck check = watch.latest();
                NodeView view = ctx.latest().get();
                if (check == null || view == null) {
                    seen = ctx.changes().await(seen, IDLE);
                    continue;
                }
                if (notBefore == null) {
                    // Already valid at the first look: a rollout over running nodes, not a node booting.
                    notBefore = check.isValid() && startupJitter.isPositive()
                            ? now.plusMillis(ctx.random().nextLong(startupJitter.toMillis() + 1)) : now;
                }
                NodeCondition stored = view.node().certCondition();
                CertCondition.Step step = CertCondition.next(stored, CertCondition.verdict(check, now), now, lastWrite,
                        heartbeat);
                if (step.write() != null && now.isBefore(notBefore)) {
                    step = new CertCondition.Step(null, notBefore);
                }
                if (step.write() == null) {
                    Duration wait = Duration.between(now, step.wakeAt());
                    seen = ctx.changes().await(seen, wait.compareTo(IDLE) > 0 ? IDLE : wait.plusMillis(1));
                    continue;
                }
                lastWrite = now;
                try {
                    ctx.latest().offer(ctx.api().patchCondition(node, step.write()));
                } catch (ApiFailure f) {
                    failures++;
                    // A refusal is not a conflict: no write at once, as the remover's 409/422 retries are.
                    Duration delay = f.status() == 403 || f.status() == 422 ? ctx.retry().backoff(failures)
                            : ctx.retry().afterFailure(f, failures, null).delay();
                    if ((f.status() == 403 || f.status() == 422) && !refusalReported) {
                        refusalReported = true;
                        ctx.reporter().report(Reason.NODE_CONDITION_REFUSED, "The apiserver refused the node condition "
                                + NodeCondition.CERT_TYPE + " (" + f.getMessage() + "): give the agent nodes/status"
                                + " patch and its admission policy (components/node-condition, docs/install.md);"
                                + " retrying");
                    } else if (failures == 1) {
                        LOG.warn("could not write the node condition, retrying node={} code={} retry_in={} error={}",
                                node, f.code(), delay.toMillis() + "ms", Fields.quote(f.getMessage()));
                    }
                    ctx.sleeper().sleep(delay);
                    continue;
                }
                failures = 0;
                refusalReported = false;
                heartbeat = heartbeat();
                if (stored == null || !stored.status().equals(step.write().status())
                        || !step.write().reason().equals(stored.reason())) {
                    LOG.info("node condition set node={} type={} status={} reason={}", node, NodeCondition.CERT_TYPE,
                            step.write().status(), step.write().reason());
                }
            }
        } catch (InterruptedException e) {
            // the agent is stopping
        }
    }

    /** Returns once the stored condition is {@code True} (as the node watch or our own write shows it). */
    void awaitTrue() throws InterruptedException {
        long seen = ctx.changes().version();
        while (true) {
            NodeView view = ctx.latest().get();
            NodeCondition c = view == null ? null : view.node().certCondition();
            if (c != null && "True".equals(c.status())) {
                return;
            }
            seen = ctx.changes().await(seen, IDLE);
        }
    }

    /** The period until the next confirmation: up to a tenth under the nominal one, at random. */
    private Duration heartbeat() {
        long tenth = CertCondition.HEARTBEAT_PERIOD.toMillis() / 10;
        return CertCondition.HEARTBEAT_PERIOD.minusMillis(ctx.random().nextLong(tenth + 1));
    }
}
