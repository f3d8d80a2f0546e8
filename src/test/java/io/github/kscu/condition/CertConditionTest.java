package io.github.kscu.condition;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.cert.CertCheck.Problem;
import io.github.kscu.condition.CertCondition.Step;
import io.github.kscu.condition.CertCondition.Verdict;
import io.github.kscu.kube.NodeCondition;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The condition's contract as a table: what it says for each verdict, and when it is written. */
class CertConditionTest {
    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");
    private static final Duration HB = CertCondition.HEARTBEAT_PERIOD;
    private static final Verdict READY = new Verdict(true, "ServingCertificateReady",
            "the kubelet serves a valid certificate until 2027-12-03T10:00:00Z");
    private static final Verdict MISSING = new Verdict(false, "Missing", "no valid serving certificate: file does not exist");
    private static final Verdict UNTRUSTED = new Verdict(false, "Untrusted",
            "no valid serving certificate: certificate chain is not signed by the configured CA");

    private static NodeCondition stored(Verdict v, Instant beat, Instant transition) {
        return new NodeCondition(NodeCondition.CERT_TYPE, v.status(), v.reason(), v.message(), beat, transition);
    }

    private static Instant at(int seconds) {
        return T0.plusSeconds(seconds);
    }

    /** stored, verdict, now, last write; then: written?, the transition written or the wake-up time. */
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("absent, first verdict False: written, transition now",
                        null, MISSING, at(0), null, true, at(0)),
                Arguments.of("absent, first verdict True: written, transition now",
                        null, READY, at(0), null, true, at(0)),
                Arguments.of("False to True: written at once, transition now",
                        stored(MISSING, at(0), at(0)), READY, at(5), at(0), true, at(5)),
                Arguments.of("True to False (expired, replaced): written at once, transition now",
                        stored(READY, at(0), at(0)), UNTRUSTED, at(30), at(0), true, at(30)),
                Arguments.of("a status change within a second of our last write waits for the second",
                        stored(MISSING, at(0), at(0)), READY, at(0), at(0), false, at(1)),
                Arguments.of("False for another reason: written, transition kept",
                        stored(MISSING, at(0), at(0)), UNTRUSTED, at(20), at(0), true, at(0)),
                Arguments.of("False for another reason within 10 s of our last write: waits",
                        stored(MISSING, at(0), at(0)), UNTRUSTED, at(4), at(0), false, at(10)),
                Arguments.of("says the same, heartbeat fresh: nothing, look again when it is due",
                        stored(READY, at(0), at(0)), READY, at(60), at(0), false, at(0).plus(HB)),
                Arguments.of("says the same, heartbeat due: confirmed, transition kept",
                        stored(READY, at(0), at(-3600)), READY, at(0).plus(HB), at(0), true, at(-3600)),
                Arguments.of("says the same after a restart (never written by us), heartbeat fresh: nothing",
                        stored(READY, at(0), at(-3600)), READY, at(30), null, false, at(0).plus(HB)),
                Arguments.of("another writer left no times: written, transition now",
                        stored(READY, null, null), READY, at(30), null, true, at(30)),
                Arguments.of("another writer set Unknown: written, transition now",
                        new NodeCondition(NodeCondition.CERT_TYPE, "Unknown", "X", "y", at(0), at(0)), READY, at(30),
                        null, true, at(30)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void decides(String name, NodeCondition stored, Verdict verdict, Instant now, Instant lastWrite, boolean writes,
            Instant expected) {
        Step step = CertCondition.next(stored, verdict, now, lastWrite, HB);
        if (writes) {
            assertThat(step.write()).isNotNull();
            assertThat(step.write().type()).isEqualTo(NodeCondition.CERT_TYPE);
            assertThat(step.write().status()).isEqualTo(verdict.status());
            assertThat(step.write().reason()).isEqualTo(verdict.reason());
            assertThat(step.write().message()).isEqualTo(verdict.message());
            assertThat(step.write().lastHeartbeatTime()).isEqualTo(now);
            assertThat(step.write().lastTransitionTime()).isEqualTo(expected);
            assertThat(step.wakeAt()).isEqualTo(now.plus(HB));
        } else {
            assertThat(step.write()).isNull();
            assertThat(step.wakeAt()).isEqualTo(expected);
        }
    }

    @Test
    void verdictsUseTheSharedReasonConstants() {
        Instant now = at(0);
        assertThat(CertCondition.verdict(new CertCheck.Valid("CN=system:node:n", at(-60), at(3600), null), now))
                .isEqualTo(new Verdict(true, "ServingCertificateReady",
                        "the kubelet serves a valid certificate until 2026-12-03T11:00:00Z"));
        // Valid when looked at, past its notAfter now: expired.
        assertThat(CertCondition.verdict(new CertCheck.Valid("CN=x", at(-7200), at(-1), null), now).reason())
                .isEqualTo("Expired");
        assertThat(Stream.of(Problem.MISSING, Problem.EXPIRED, Problem.UNTRUSTED, Problem.IDENTITY_MISMATCH,
                Problem.NO_CONNECTION, Problem.HANDSHAKE_FAILED)
                .map(p -> CertCondition.verdict(new CertCheck.NotYet(p, "per-probe detail 10.0.0.1:10250"), now)))
                .extracting(Verdict::reason)
                .containsExactly("Missing", "Expired", "Untrusted", "IdentityMismatch", "NoConnection", "HandshakeFailed");
        // The detail of one probe never reaches the message, so it alone never forces a write.
        assertThat(CertCondition.verdict(new CertCheck.NotYet(Problem.NO_CONNECTION, "10.0.0.1:10250"), now).message())
                .isEqualTo("no valid serving certificate: kubelet port refused the connection");
        for (Problem p : Problem.values()) {
            assertThat(p.reason()).as(p.name()).matches("[A-Z][A-Za-z]*");
        }
    }
}
