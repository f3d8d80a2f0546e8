package io.github.kscu.agent;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.config.Settings.OnCertTimeout;
import java.time.Duration;

/**
 * Waiting for a usable serving certificate, and the timeout policy applied once {@link CertWatch} has
 * reported a spell without one: {@code keep-waiting} (a late certificate still untaints) or
 * {@code remove-taint} (fail open). The same wait serves the start and any later spell in which the
 * certificate went bad. With {@code --skip-cert-check} there is no watch and removal is always permitted.
 */
final class CertWait {
    /** How a wait ended. */
    enum Outcome { SKIPPED, ALREADY_VALID, BECAME_VALID, FAILED_OPEN }

    private static final Duration IDLE_WAIT = Duration.ofMinutes(1);

    private final CertWatch watch;
    private final boolean failOpen;
    private final NodeContext ctx;

    CertWait(NodeContext ctx, CertWatch watch, OnCertTimeout policy) {
        this.ctx = ctx;
        this.watch = watch;
        this.failOpen = policy == OnCertTimeout.REMOVE_TAINT;
    }

    /** Whether a taint may be removed now: a usable certificate, or the fail-open policy applies. */
    boolean permitsRemoval() {
        return watch == null || watch.usable(ctx.now()) || (failOpen && watch.timedOut());
    }

    /** Whether the certificate itself is usable now, a skipped check counting as usable. */
    boolean certUsable() {
        return watch == null || watch.usable(ctx.now());
    }

    /** Whether the spell without a usable certificate has lasted past the timeout, which was reported. */
    boolean timedOut() {
        return watch != null && watch.timedOut();
    }

    boolean failsOpen() {
        return failOpen;
    }

    /** Why the certificate is not usable; meaningful only when {@link #certUsable()} is false. */
    String describeProblem() {
        return watch == null ? "certificate check skipped" : watch.describeProblem();
    }

    /**
     * The certificate that permits removal, for notes: {@code serving certificate <subject> valid until
     * <notAfter>}, what the removal rests on when it is not usable, or {@code null} with
     * {@code --skip-cert-check}.
     */
    String describeCertificate() {
        if (watch == null) {
            return null;
        }
        CertCheck.Valid v = watch.valid(ctx.now());
        if (v != null) {
            return "serving certificate " + v.subject() + " valid until " + v.notAfter();
        }
        return "serving certificate not valid (" + watch.describeProblem() + ")"
                + (failOpen && watch.timedOut() ? ", removed under on-cert-timeout=remove-taint" : "");
    }

    /** Returns once removal is permitted; never gives up on its own, only an interrupt ends it early. */
    Outcome await() throws InterruptedException {
        if (watch == null) {
            return Outcome.SKIPPED;
        }
        boolean first = true;
        long seen = ctx.changes().version();
        while (true) {
            if (watch.checked()) {
                if (watch.usable(ctx.now())) {
                    return first ? Outcome.ALREADY_VALID : Outcome.BECAME_VALID;
                }
                first = false;
                if (failOpen && watch.timedOut()) {
                    return Outcome.FAILED_OPEN;
                }
            }
            seen = ctx.changes().await(seen, IDLE_WAIT);
        }
    }
}
