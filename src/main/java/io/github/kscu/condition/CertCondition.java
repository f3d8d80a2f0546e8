package io.github.kscu.condition;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.report.Reason;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The Node condition that reports the serving certificate, and when to write it: pure decisions, no I/O
 * (the agent's {@code ConditionReporter} reads, calls {@link #next} and writes).
 *
 * <p>Heartbeats as NRC's own reporter treats them: a condition that says the same is not rewritten, only
 * confirmed once its {@code lastHeartbeatTime} is older than the period; every write sets it to now;
 * {@code lastTransitionTime} moves only when {@code status} changes. NRC itself reads neither time (it
 * compares type and status), so the heartbeat is for people and alerts: "the reporter is alive".
 */
public final class CertCondition {
    /**
     * How long a condition that says the same goes unconfirmed: NRC's reporter default and the kubelet's
     * own {@code nodeStatusReportFrequency}. Each write of {@code nodes/status} stores the whole Node
     * again, so a fleet confirming more often would cost etcd more than any reader gains.
     */
    public static final Duration HEARTBEAT_PERIOD = Duration.ofMinutes(5);
    /** The least time between two writes that change only the reason or message (a flapping cause). */
    public static final Duration MIN_REASON_GAP = Duration.ofSeconds(10);
    /** The least time between two writes of any kind: a verdict that flips every probe is not a write storm. */
    public static final Duration MIN_WRITE_GAP = Duration.ofSeconds(1);

    private CertCondition() {
    }

    /** What the condition says: {@code True} or {@code False}, a CamelCase reason and a short message. */
    public record Verdict(boolean ready, String reason, String message) {
        public String status() {
            return ready ? "True" : "False";
        }
    }

    /**
     * What to do now: write {@code write} (non-null), or look again at {@code wakeAt} (or when anything
     * changes before).
     */
    public record Step(NodeCondition write, Instant wakeAt) {
    }

    /**
     * The verdict on one look at the certificate. Reasons are constants shared with logs, metrics and
     * Events: {@link Reason#SERVING_CERTIFICATE_READY} when valid, else the {@link CertCheck.Problem}
     * (a valid certificate past its notAfter now is {@code Expired}). Messages are stable texts (no
     * per-probe detail such as a port or an error string), so that a message alone never forces a write.
     */
    public static Verdict verdict(CertCheck check, Instant now) {
        return switch (check) {
            case CertCheck.Valid v when !now.isAfter(v.notAfter()) -> new Verdict(true,
                    Reason.SERVING_CERTIFICATE_READY.value(), "the kubelet serves a valid certificate until "
                            + v.notAfter().truncatedTo(ChronoUnit.SECONDS));
            case CertCheck.Valid v -> problem(CertCheck.Problem.EXPIRED);
            case CertCheck.NotYet n -> problem(n.problem());
        };
    }

    private static Verdict problem(CertCheck.Problem p) {
        return new Verdict(false, p.reason(), "no valid serving certificate: " + p.description());
    }

    /**
     * What to do, given the condition as stored ({@code null}: none), the verdict now, when the agent last
     * wrote ({@code null}: never) and the heartbeat period in force.
     */
    public static Step next(NodeCondition stored, Verdict verdict, Instant now, Instant lastWrite, Duration heartbeat) {
        boolean statusChanges = stored == null || !stored.status().equals(verdict.status());
        boolean saysTheSame = !statusChanges && verdict.reason().equals(stored.reason())
                && verdict.message().equals(stored.message());
        Instant earliest;
        if (saysTheSame) {
            Instant beat = stored.lastHeartbeatTime();
            earliest = beat == null ? now : beat.plus(heartbeat);
        } else {
            earliest = statusChanges ? Instant.MIN : lastWrite == null ? Instant.MIN : lastWrite.plus(MIN_REASON_GAP);
        }
        if (lastWrite != null && earliest.isBefore(lastWrite.plus(MIN_WRITE_GAP))) {
            earliest = lastWrite.plus(MIN_WRITE_GAP);
        }
        if (now.isBefore(earliest)) {
            return new Step(null, earliest);
        }
        Instant transition = statusChanges || stored.lastTransitionTime() == null ? now : stored.lastTransitionTime();
        return new Step(new NodeCondition(NodeCondition.CERT_TYPE, verdict.status(), verdict.reason(), verdict.message(),
                now, transition), now.plus(heartbeat));
    }
}
