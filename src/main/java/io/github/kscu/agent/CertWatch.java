package io.github.kscu.agent;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.cert.CertSource;
import io.github.kscu.config.Settings;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Reason;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * Keeps the verdict on the serving certificate current, on a thread of its own, for the whole life of
 * the agent: before the first valid certificate (at {@code cert-check-interval}, and at once on a file
 * event), and after it, so that a certificate that expires or is replaced by a bad one is noticed while
 * the agent settles (on every file event, at its expiry, and every {@link #RECHECK_VALID}).
 *
 * <p>It also times each spell without a usable certificate (from the start, or from when a valid one
 * went bad) and reports {@code ServingCertificateTimeout} once per spell after {@code cert-check-duration};
 * what follows (keep waiting or fail open) is {@link CertWait}'s policy.
 *
 * <p>The only user of its {@link CertSource}, so sources need not be thread-safe. Each change of
 * verdict wakes the sequencer through {@link Changes}.
 */
final class CertWatch implements Runnable {
    private static final TaggedLogger LOG = Logger.tag("cert");
    /** A valid certificate is looked at again this often (a kubelet source has no change events). */
    static final Duration RECHECK_VALID = Duration.ofSeconds(30);
    /** How long "cannot reach or trust the kubelet" may last before it is a Warning of its own. */
    static final Duration UNREACHABLE_AFTER = Duration.ofSeconds(30);
    private final NodeContext ctx;
    private final String node;
    private final CertSource source;
    private final Duration interval;
    private final Duration timeout;
    private final boolean failOpen;
    private final Instant createdAt;
    private volatile CertCheck latest;
    private volatile Instant unusableSince;
    /** The spell (by its start) whose timeout was reported. */
    private volatile Instant timedOutSpell;
    private boolean everValid;
    private CertCheck.Problem lastProblem;
    /** Since when the kubelet cannot be reached or trusted, without a break; null while it can. */
    private Instant unreachableSince;
    private boolean unreachableReported;

    CertWatch(NodeContext ctx, CertSource source, Settings settings) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.source = source;
        this.interval = settings.certCheckInterval();
        this.timeout = settings.certCheckDuration();
        this.failOpen = settings.onCertTimeout() == Settings.OnCertTimeout.REMOVE_TAINT;
        this.createdAt = ctx.now();
        this.unusableSince = createdAt;
    }

    @Override
    public void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                publish(checkOnce());
                if (latest instanceof CertCheck.Valid valid) {
                    awaitUntil(min(ctx.now().plus(RECHECK_VALID), valid.notAfter().plusMillis(1)));
                } else {
                    source.awaitChange(untilTimeoutOr(pace()));
                }
            }
        } catch (InterruptedException e) {
            // closed
        } finally {
            source.close();
        }
    }

    /**
     * One look at the certificate. A source that throws (a bug, or a hostile answer nobody foresaw) gives
     * "not valid" for this look, logged with the exception: the thread carries on, so neither a "valid"
     * (which would keep removing taints) nor a "not yet" (which would never reach its timeout) is frozen.
     */
    private CertCheck checkOnce() {
        try {
            return source.check();
        } catch (RuntimeException e) {
            LOG.error(e, "certificate check failed node={} error={}", node, Fields.quote(String.valueOf(e)));
            return new CertCheck.NotYet(CertCheck.Problem.CHECK_FAILED, String.valueOf(e));
        }
    }

    /** The last look's verdict, or {@code null} before the first. */
    CertCheck latest() {
        return latest;
    }

    /** True when a certificate has been checked and is inside its validity window now. */
    boolean usable(Instant now) {
        return valid(now) != null;
    }

    /** The certificate when it is usable now, else {@code null}. */
    CertCheck.Valid valid(Instant now) {
        return latest instanceof CertCheck.Valid v && !now.isAfter(v.notAfter()) ? v : null;
    }

    /** False until the first check is done: "not valid yet" and "not looked yet" differ at start. */
    boolean checked() {
        return latest != null;
    }

    /** True when the certificate is not usable and this spell's timeout has been reported. */
    boolean timedOut() {
        return !usable(ctx.now()) && unusableSince.equals(timedOutSpell);
    }

    /** Why the certificate is not usable, for readiness, timeouts and Events. */
    String describeProblem() {
        CertCheck c = latest;
        return switch (c) {
            case null -> "not checked yet";
            case CertCheck.NotYet n -> n.describe();
            case CertCheck.Valid v -> "certificate has expired: notAfter " + v.notAfter();
        };
    }

    private void publish(CertCheck check) {
        Instant now = ctx.now();
        CertCheck previous = latest;
        boolean was = usable(now);
        latest = check;
        if (check instanceof CertCheck.Valid valid) {
            lastProblem = null;
            ctx.metrics().certNotAfter(valid.notAfter());
            if (!was) {
                becameValid(valid, now);
            }
        } else if (check instanceof CertCheck.NotYet notYet) {
            if (previous instanceof CertCheck.Valid gone) {
                // Expired (then it went bad at notAfter) or replaced by one that is not valid.
                unusableSince = now.isAfter(gone.notAfter()) ? gone.notAfter() : now;
                ctx.reporter().report(Reason.SERVING_CERTIFICATE_INVALID, "Serving certificate is no longer valid ("
                        + notYet.describe() + "); the startup taint is not removed until a valid one is served");
            } else if (notYet.problem() != lastProblem) {
                LOG.info("serving certificate not usable yet node={} reason={} detail={}", node,
                        notYet.problem().name().toLowerCase(Locale.ROOT), Fields.quote(notYet.describe()));
            }
            lastProblem = notYet.problem();
            unreachable(notYet, now);
        }
        if (check.isValid()) {
            unreachableSince = null;
        }
        // A new problem wakes waiters too: the Node condition names it.
        if (previous == null || was != usable(now) || previous.isValid() != check.isValid()
                || (previous instanceof CertCheck.NotYet p && check instanceof CertCheck.NotYet n
                        && p.problem() != n.problem())) {
            ctx.changes().signal();
        }
    }

    /**
     * "No certificate yet" is the kubelet's to fix and ends by itself; "cannot reach or trust it" (refused,
     * timeout, a chain the CA bundle rejects) does not, so after {@link #UNREACHABLE_AFTER} it is reported
     * as such, once per spell, well before the certificate timeout.
     */
    private void unreachable(CertCheck.NotYet notYet, Instant now) {
        if (!notYet.problem().unreachable()) {
            unreachableSince = null;
            return;
        }
        if (unreachableSince == null) {
            unreachableSince = now;
            unreachableReported = false;
        }
        if (!unreachableReported && !now.isBefore(unreachableSince.plus(UNREACHABLE_AFTER))) {
            unreachableReported = true;
            ctx.reporter().report(Reason.KUBELET_UNREACHABLE, "Cannot reach or trust the kubelet for "
                    + UNREACHABLE_AFTER.toSeconds() + "s (" + notYet.describe() + "): check a host firewall on port"
                    + " 10250, KUBELET_ADDRESS and KUBELET_CA_FILE; the taint stays, and on-cert-timeout applies after"
                    + " cert-check-duration");
        }
    }

    /** Between looks while unusable: the source's pace, slowed after a timeout ({@link CertPace}). */
    private Duration pace() {
        Duration pace = source.pollInterval(interval);
        return timedOut() ? CertPace.slowed(pace, Duration.between(unusableSince.plus(timeout), ctx.now())) : pace;
    }

    /** The wait before the next look while unusable: {@code max}, or less to report the timeout on time. */
    private Duration untilTimeoutOr(Duration max) {
        Instant now = ctx.now();
        Instant spell = unusableSince;
        Instant timeoutAt = spell.plus(timeout);
        if (now.isBefore(timeoutAt)) {
            Duration left = Duration.between(now, timeoutAt).plusMillis(1);
            return left.compareTo(max) < 0 ? left : max;
        }
        if (!spell.equals(timedOutSpell)) {
            timedOutSpell = spell;
            ctx.reporter().report(Reason.SERVING_CERTIFICATE_TIMEOUT, "No valid serving certificate after "
                    + timeout.toSeconds() + "s (" + describeProblem() + "); " + (failOpen
                            ? "removing the taint anyway (on-cert-timeout=remove-taint)"
                            : "the taint stays until one is valid (on-cert-timeout=keep-waiting)"));
            ctx.changes().signal();
        }
        return max;
    }

    private void becameValid(CertCheck.Valid valid, Instant now) {
        if (!everValid) {
            everValid = true;
            ctx.metrics().timeToCert(Duration.between(createdAt, now));
        }
        if (valid.identityWarning() != null) {
            LOG.warn("serving certificate does not name this node node={} subject={} detail={}", node,
                    Fields.quote(valid.subject()), Fields.quote(valid.identityWarning()));
        }
        // Logged and counted, not posted: the StartupTaintRemoved Event that normally follows names this
        // certificate, and the remover posts this reason itself when removal has to wait (Karpenter).
        ctx.reporter().record(Reason.SERVING_CERTIFICATE_READY, "Kubelet serving certificate is valid until "
                + valid.notAfter() + " (" + valid.subject() + ")");
    }

    /** Waits for a change event or {@code until}; a source without events sleeps until then in one go. */
    private void awaitUntil(Instant until) throws InterruptedException {
        Duration left = Duration.between(ctx.now(), until);
        while (left.isPositive() && !source.awaitChange(left)) {
            left = Duration.between(ctx.now(), until);
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
