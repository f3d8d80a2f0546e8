package io.github.kscu.agent;

import io.github.kscu.config.Settings.AdmissionPolicyCheck;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Proves at start that the admission policy is in force: one dry-run request of a change it must refuse
 * (a label on this node). A policy that the apiserver silently skips (a binding that matches nothing, a
 * policy removed, a cluster that ignores it) looks exactly like one in force until a token is stolen,
 * so it is asked, not assumed.
 *
 * <p>When the change is allowed: a Warning ({@link Reason#ADMISSION_POLICY_NOT_ENFORCED}: log, metric,
 * Event) and {@code kscu_admission_policy_enforced 0}. With {@code warn} (the default) the check runs once
 * the agent's own removal is done, on a thread of its own: refusing to untaint would not take a single
 * permission away from the token, only keep every node out of service. With {@code require} no taint is
 * removed until a check finds the policy in force (docs/operations.md).
 *
 * <p>With {@code warn} a check the apiserver does not answer (429, 5xx, none) is tried again only after
 * {@link #RECHECK_FIRST} and then given up: when a whole fleet boots into a throttled apiserver, quick
 * retries of a check that changes nothing competed with the writes that untaint nodes (5000 nodes
 * throttled: 12 718 checks for 5000 agents, docs/benchmarks.md).
 */
final class AdmissionCheck {
    private static final TaggedLogger LOG = Logger.tag("agent");
    /** warn: how often a check the apiserver does not answer is tried before it is given up. */
    static final int WARN_ATTEMPTS = 3;
    /** require: how soon the policy is asked again after it was found missing, growing to {@link #RECHECK_CAP}. */
    static final Duration RECHECK_FIRST = Duration.ofSeconds(30);
    static final Duration RECHECK_CAP = Duration.ofMinutes(10);
    /**
     * warn: the check waits a random delay up to this after the removal. Under a throttled apiserver the
     * check is a third of a booting fleet's writes (PATCH, Event, check); spread, it leaves the burst of
     * removals alone (5000 nodes throttled: 59.5 s before the check, 124 s with it right after each
     * removal, docs/benchmarks.md).
     */
    static final Duration WARN_SPREAD = Duration.ofSeconds(60);

    private final NodeContext ctx;
    private final String node;
    private final AdmissionPolicyCheck mode;
    /** The agent writes its Node condition: nodes/status must be held to that condition as well. */
    private final boolean status;
    private volatile Thread background;

    AdmissionCheck(NodeContext ctx, AdmissionPolicyCheck mode, boolean status) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.mode = mode;
        this.status = status;
    }

    /** Before the agent's first write: with {@code require}, returns once the policy is in force; else at once. */
    void gate() throws InterruptedException {
        if (mode == AdmissionPolicyCheck.REQUIRE) {
            check();
        } else if (mode == AdmissionPolicyCheck.OFF) {
            LOG.debug("admission policy check off node={}", node);
        }
    }

    /**
     * After the agent's own removal: with {@code warn}, checks in the background, after a random delay up
     * to {@link #WARN_SPREAD}. Then, not at start: the verdict changes nothing the agent does, so it must
     * not compete with the untaint for the apiserver when a whole fleet boots at once (5000 nodes: checks
     * at start, retried while the fleet was patching, cost 1.8 requests per node).
     */
    void afterRemoval(UnaryOperator<Runnable> guard) {
        if (mode == AdmissionPolicyCheck.WARN) {
            background = Thread.ofVirtual().name("admission-check-" + node).start(guard.apply(() -> {
                try {
                    ctx.sleeper().sleep(Duration.ofMillis(ctx.random().nextLong(WARN_SPREAD.toMillis() + 1)));
                    check();
                } catch (InterruptedException e) {
                    // the agent is stopping
                }
            }));
        }
    }

    /** Ends a check still running in the background. */
    void stop() {
        Thread t = background;
        if (t != null) {
            t.interrupt();
        }
    }

    private void check() throws InterruptedException {
        boolean reported = false;
        Duration recheck = RECHECK_FIRST;
        int failures = 0;
        Instant failingSince = null;
        while (true) {
            Optional<String> refusal;
            boolean allowedOnStatus = false;
            try {
                refusal = ctx.api().dryRunForbiddenChange(node, false);
                if (refusal.isPresent() && status) {
                    refusal = ctx.api().dryRunForbiddenChange(node, true);
                    allowedOnStatus = refusal.isEmpty();
                }
            } catch (ApiFailure f) {
                failures++;
                if (failingSince == null) {
                    failingSince = ctx.now();
                }
                if (mode == AdmissionPolicyCheck.WARN) {
                    if (failures >= WARN_ATTEMPTS) {
                        LOG.warn("could not check the admission policy, giving up node={} code={} error={}", node,
                                f.code(), Fields.quote(f.getMessage()));
                        return;
                    }
                    ctx.sleeper().sleep(RECHECK_FIRST.multipliedBy(failures));
                } else {
                    ctx.sleeper().sleep(ctx.retry().afterFailure(f, failures, Duration.between(failingSince, ctx.now()))
                            .delay());
                }
                continue;
            }
            failures = 0;
            failingSince = null;
            if (refusal.isPresent()) {
                ctx.metrics().admissionPolicyEnforced(true);
                LOG.info("admission policy in force: a dry run of a {} was refused node={} answer={}",
                        status ? "label change and of a foreign condition" : "label change", node,
                        Fields.quote(refusal.get()));
                return;
            }
            ctx.metrics().admissionPolicyEnforced(false);
            if (!reported) {
                ctx.reporter().report(Reason.ADMISSION_POLICY_NOT_ENFORCED, note(allowedOnStatus));
                reported = true;
            }
            if (mode == AdmissionPolicyCheck.WARN) {
                return;
            }
            ctx.state().set(State.WAITING_FOR_ADMISSION_POLICY);
            ctx.sleeper().sleep(recheck);
            recheck = recheck.multipliedBy(2).compareTo(RECHECK_CAP) > 0 ? RECHECK_CAP : recheck.multipliedBy(2);
        }
    }

    private String note(boolean onStatus) {
        return "admission policy not in force: the apiserver allowed this agent's token to " + (onStatus
                ? "add the condition " + HttpNodeApi.CHECK_CONDITION + " to node " + node + " (a dry run), so the token"
                        + " can change more of the node's status than its own condition"
                : "label node " + node + " (a dry run of " + HttpNodeApi.CHECK_LABEL + "), so the token can change"
                        + " more than this node's startup taint")
                + "; check that the ValidatingAdmissionPolicy and its binding exist and that the policy's"
                + " matchConditions name this ServiceAccount (Kubernetes 1.32+, docs/operations.md); "
                + (mode == AdmissionPolicyCheck.REQUIRE
                        ? "no taint is removed until it is (ADMISSION_POLICY_CHECK=require)"
                        : "the taint is removed anyway (ADMISSION_POLICY_CHECK=warn)");
    }
}
