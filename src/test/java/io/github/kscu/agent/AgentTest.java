package io.github.kscu.agent;

import static io.github.kscu.agent.FakeNodeApi.taint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.report.Metrics;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.Taints;
import io.github.kscu.testing.Scraped;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The agent's sequencing against an in-memory node: retries, the Karpenter gate, settle, timeouts. */
class AgentTest {
    static final String OURS = "example.com/kubelet-no-server-cert";
    static final Taint OUR_TAINT = taint(OURS, "NoSchedule");
    static final Taint FOREIGN = taint("team.io/gpu", "NoSchedule");
    static final Duration WAIT = Duration.ofSeconds(10);

    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
    /** Records what the agent would sleep, and sleeps only briefly so the tests take milliseconds. */
    private final Sleeper sleeper = d -> {
        sleeps.add(d);
        Thread.sleep(Math.min(d.toMillis(), 5));
    };
    private Agent agent;
    private FakeNodeApi api;

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (api != null) {
            api.close();
        }
    }

    static Settings settings(String... kv) throws Exception {
        // The admission policy check off unless a test turns it on: its sleeps and random draws would
        // otherwise mix with those the other tests assert on.
        return Settings.fromMap(io.github.kscu.testing.TestSettings.of(Map.of("NODE_NAME", "n", "STARTUP_JITTER", "0",
                "SETTLE_DURATION", "0", "CERT_CHECK_INTERVAL", "100ms", "ADMISSION_POLICY_CHECK", "off"), kv));
    }

    private Agent start(Settings s, FakeNodeApi fake, FakeCertSource cert) {
        return start(s, fake, cert, Clock.systemUTC());
    }

    private Agent start(Settings s, FakeNodeApi fake, FakeCertSource cert, Clock clock) {
        api = fake;
        agent = Wiring.agent(s, fake, cert, new Metrics(clock::instant), new Timing(clock, sleeper, new SplittableRandom(1)));
        return agent.start();
    }

    /** The system clock, moved forward on demand (for waits of tens of seconds). */
    static final class JumpingClock extends Clock {
        private volatile Duration offset = Duration.ZERO;

        void jump(Duration d) {
            offset = offset.plus(d);
        }

        @Override
        public java.time.Instant instant() {
            return java.time.Instant.now().plus(offset);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    @Test
    void aKubeletThatCannotBeReachedIsAWarningOfItsOwnLongBeforeTheTimeout() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        cert.set(new CertCheck.NotYet(CertCheck.Problem.HANDSHAKE_FAILED, "TLS alert 80"));
        JumpingClock clock = new JumpingClock();
        start(settings(), fake, cert, clock);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        clock.jump(Duration.ofSeconds(40)); // "no certificate yet" for 40 s: the kubelet's to fix, no Warning
        Thread.sleep(300);
        assertThat(fake.eventReasons()).doesNotContain("KubeletUnreachable");

        cert.set(new CertCheck.NotYet(CertCheck.Problem.NO_CONNECTION, "10.0.0.1:10250"));
        Thread.sleep(300);
        assertThat(fake.eventReasons()).doesNotContain("KubeletUnreachable");
        clock.jump(Duration.ofSeconds(31));
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("KubeletUnreachable"));
        assertThat(note("KubeletUnreachable")).contains("10.0.0.1:10250", "firewall");
        assertThat(fake.eventReasons()).doesNotContain("ServingCertificateTimeout"); // 71 s < 75 s
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
        Thread.sleep(300);
        assertThat(fake.eventReasons()).containsOnlyOnce("KubeletUnreachable");
    }

    @Test
    void eventsRetryAThrottledPostAfterRetryAfterAndDropAForbiddenOne() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT)
                .failNext("create-event", new ApiFailure(429, Duration.ofMillis(1500), "throttled"),
                        new ApiFailure(403, null, "forbidden"));
        // TaintRemovalSlow at once, then StartupTaintRemoved.
        start(settings("TAINT_WATCHER_DURATION", "0"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        // Two Events to post: one is throttled once and then recorded, the other is forbidden and dropped.
        await().atMost(WAIT).until(() -> fake.calls("create-event") == 3);
        assertThat(fake.events).hasSize(1);
        assertThat(sleeps).anySatisfy(d -> assertThat(d).isBetween(Duration.ofMillis(1500), Duration.ofMillis(3000)));
        Thread.sleep(200);
        assertThat(fake.calls("create-event")).isEqualTo(3);
    }

    @Test
    void validCertificateAtStartRemovesOnlyOurTaintWithOneWatchOnePatchAndOneEvent() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", FOREIGN, OUR_TAINT, taint("z.io/last", "NoExecute"));
        FakeCertSource cert = new FakeCertSource().makeValid();
        start(settings(), fake, cert);
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).extracting(Taint::key).containsExactly("team.io/gpu", "z.io/last");
        // The watch's first event is the node: no GET before it, and the PATCH answer is the read-back.
        assertThat(fake.calls("get")).isZero();
        assertThat(fake.calls("watch")).isEqualTo(1);
        assertThat(fake.calls("patch")).isEqualTo(1);
        assertThat(agent.readiness().ready()).isTrue();
        assertThat(agent.state()).isEqualTo(State.DONE);
        await().atMost(WAIT).until(() -> !fake.events.isEmpty());
        Thread.sleep(200); // an Event posted later would show here
        // One Event per bootstrap: the removal's note names the certificate, which was only logged and counted.
        assertThat(fake.eventReasons()).containsExactly("StartupTaintRemoved");
        assertThat(fake.events.get(0).nodeUid()).isEqualTo("uid-n");
        CertCheck.Valid valid = (CertCheck.Valid) cert.check();
        assertThat(note("StartupTaintRemoved")).startsWith("Removed " + OURS + ":NoSchedule after ")
                .contains("(1 patch); serving certificate CN=system:node:n valid until " + valid.notAfter());
        assertThat(Scraped.outcomes(agent.metrics(), Reason.SERVING_CERTIFICATE_READY)).isEqualTo(1);
    }

    @Test
    void waitsForTheCertificateThenRemoves() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        start(settings(), fake, cert);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        Thread.sleep(200);
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
        assertThat(fake.calls("patch")).isZero();
        assertThat(agent.readiness().ready()).isFalse();
        cert.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(agent.readiness().ready()).isTrue();
    }

    @Test
    void conflictsAreRetriedAtOnceWithAFreshRead() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT)
                .failNext("patch", new ApiFailure(409, null, "conflict"), new ApiFailure(422, null, "test failed"));
        start(settings(), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(fake.calls("patch")).isEqualTo(3);
        assertThat(fake.calls("get")).isEqualTo(2); // one fresh read per conflict; the watch brought the first
        assertThat(sleeps).allSatisfy(d -> assertThat(d).isZero());
    }

    @Test
    void aConcurrentWriterIsNotOverwritten() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        start(settings(), fake, cert);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        // Another controller adds a taint; the tracker may or may not have seen it when we patch.
        fake.setTaints(OUR_TAINT, FOREIGN);
        cert.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).containsExactly(FOREIGN);
    }

    @Test
    void aPatchAppliedAfterItsTimeoutIsStillReportedAsTheRemoval() throws Exception {
        // The apiserver wrote our PATCH after the client gave up; the retry finds the taint gone.
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT).patchAppliedButUnanswered(1);
        start(settings(), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("StartupTaintRemoved"));
        assertThat(note("StartupTaintRemoved")).startsWith("Removed " + OUR_TAINT.key());
        assertThat(Scraped.outcomes(agent.metrics(), Reason.STARTUP_TAINT_REMOVED)).isEqualTo(1);
    }

    @Test
    void throttlingHonoursRetryAfter() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT)
                .failNext("patch", new ApiFailure(429, Duration.ofSeconds(2), "too many requests"));
        start(settings(), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        // Retry-After: 2, spread up to twice it so that nodes throttled together do not return together.
        assertThat(sleeps).anySatisfy(d -> assertThat(d).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4)));
    }

    @Test
    void serverErrorsAndTimeoutsBackOffAndNeverGiveUp() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        for (int i = 0; i < 8; i++) {
            fake.failNext("patch", i % 2 == 0 ? new ApiFailure(500, null, "etcd timeout")
                    : ApiFailure.noResponse("patch: SocketTimeoutException: timeout"));
        }
        start(settings("TAINT_WATCHER_DURATION", "0"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(fake.calls("patch")).isEqualTo(9);
        assertThat(sleeps).hasSizeGreaterThanOrEqualTo(8).allSatisfy(d -> assertThat(d).isPositive());
        // The backoff grows: the last waits are longer than the first.
        assertThat(sleeps.get(sleeps.size() - 1)).isGreaterThan(sleeps.get(0));
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("TaintRemovalSlow"));
    }

    @Test
    void persistentForbiddenKeepsTryingAndWarnsOnceNamingTheReadError() throws Exception {
        // The watch is refused, so the tracker reads the node instead, and that is refused five times too.
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT)
                .failNext("watch", new ApiFailure(403, null, "watch 403: nodes is forbidden"));
        for (int i = 0; i < 5; i++) {
            fake.failNext("get", new ApiFailure(403, null, "get 403: nodes \"n\" is forbidden"));
        }
        FakeCertSource cert = new FakeCertSource();
        start(settings("TAINT_WATCHER_DURATION", "0"), fake, cert);
        await().atMost(WAIT).until(() -> fake.calls("get") >= 2);
        cert.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(fake.calls("get")).isEqualTo(6);
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("TaintRemovalSlow"));
        assertThat(fake.eventReasons()).containsOnlyOnce("TaintRemovalSlow");
        // The reads were failing, so the warning says how, not "last error: none".
        assertThat(note("TaintRemovalSlow")).contains("last error: 403").contains("forbidden");
    }

    private String note(String reason) {
        return api.events.stream().filter(e -> e.reason().equals(reason)).findFirst().orElseThrow().note();
    }

    @Test
    void aTaintBackInThePatchAnswerIsPatchedAgainOnlyAfterAGrowingBackoffAndTheWriterIsNamed() throws Exception {
        // A mutating webhook puts our taint back into four PATCH results in a row, then gives up.
        FakeNodeApi fake = new FakeNodeApi("n", FOREIGN, OUR_TAINT).reAddOnPatch(OUR_TAINT, 4, "policy-engine");
        start(settings(), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).containsExactly(FOREIGN);
        assertThat(fake.calls("patch")).isEqualTo(5);
        // One backoff before each re-patch, growing, never a tight loop (today: 109,727 PATCHes a second).
        assertThat(sleeps).hasSize(4);
        assertThat(sleeps.get(0)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
        assertThat(sleeps.get(3)).isGreaterThan(sleeps.get(0)).isLessThanOrEqualTo(Duration.ofSeconds(30));
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("StartupTaintRemoved"));
        assertThat(fake.eventReasons()).containsOnlyOnce("StartupTaintContested");
        assertThat(fake.events.stream().filter(e -> e.reason().equals("StartupTaintContested")).findFirst()
                .orElseThrow().type()).isEqualTo("Warning");
        assertThat(note("StartupTaintContested")).contains("policy-engine").contains(OURS);
    }

    @Test
    void aWriterThatKeepsReAddingDuringSettleIsAnsweredWithBackoff() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("SETTLE_DURATION", "20s"), fake, new FakeCertSource().makeValid());
        await().atMost(WAIT).until(() -> agent.state() == State.SETTLING);
        for (int i = 1; i <= 4; i++) {
            int patches = fake.calls("patch");
            fake.setTaints(OUR_TAINT);
            await().atMost(WAIT).until(() -> fake.calls("patch") > patches && fake.taints().isEmpty());
        }
        // The first re-add is answered at once; each further one within the fight window waits longer.
        assertThat(sleeps).hasSize(3);
        assertThat(sleeps.get(2)).isGreaterThan(sleeps.get(0));
    }

    @Test
    void aCertificateThatTurnsInvalidWhileSettlingStopsRemovalAndReadinessUntilAValidOneReturns() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT, FOREIGN);
        FakeCertSource cert = new FakeCertSource().makeValid();
        start(settings("SETTLE_DURATION", "30s"), fake, cert);
        await().atMost(WAIT).until(() -> agent.state() == State.SETTLING && agent.readiness().ready());
        cert.set(new CertCheck.NotYet(CertCheck.Problem.EXPIRED, "notAfter 2026-11-30T00:00:00Z"));
        await().atMost(WAIT).until(() -> !agent.readiness().ready());
        assertThat(agent.readiness().detail()).contains("certificate has expired");
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("ServingCertificateInvalid"));

        int patches = fake.calls("patch");
        fake.setTaints(FOREIGN, OUR_TAINT); // Karpenter re-syncs its startup taints
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        Thread.sleep(300);
        assertThat(fake.taints()).containsExactly(FOREIGN, OUR_TAINT);
        assertThat(fake.calls("patch")).isEqualTo(patches);
        assertThat(agent.readiness().ready()).isFalse();

        cert.makeValid();
        await().atMost(WAIT).until(() -> fake.taints().equals(List.of(FOREIGN)));
        await().atMost(WAIT).until(() -> agent.readiness().ready());
    }

    @Test
    void karpenterGateHoldsUntilUnregisteredIsGoneAndOursIsRewritten() throws Exception {
        Taint unregistered = taint(Taints.KARPENTER_UNREGISTERED, "NoExecute");
        FakeNodeApi fake = new FakeNodeApi("n", unregistered, OUR_TAINT);
        start(settings("SETTLE_DURATION", "2s"), fake, new FakeCertSource().makeValid());
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_KARPENTER);
        Thread.sleep(200);
        assertThat(fake.taints()).containsExactly(unregistered, OUR_TAINT);
        assertThat(fake.calls("patch")).isZero();
        // Ready, and waiting on Karpenter: the Node says which side it waits for.
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("ServingCertificateReady"));
        assertThat(note("ServingCertificateReady")).contains("CN=system:node:n", "valid until",
                "waiting for Karpenter", Taints.KARPENTER_UNREGISTERED);
        // Karpenter registers the node: drops unregistered and writes the NodePool's startupTaints back.
        fake.setTaints(OUR_TAINT);
        await().atMost(WAIT).until(() -> fake.taints().isEmpty());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("StartupTaintRemoved"));
        assertThat(fake.eventReasons()).containsOnlyOnce("ServingCertificateReady");
    }

    @Test
    void reAddedInsideTheSettleWindowIsRemovedAgainAndNotAfterIt() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT, FOREIGN);
        start(settings("SETTLE_DURATION", "1500ms"), fake, new FakeCertSource().makeValid());
        await().atMost(WAIT).until(() -> agent.state() == State.SETTLING);
        fake.setTaints(FOREIGN, OUR_TAINT);
        await().atMost(WAIT).until(() -> fake.taints().equals(List.of(FOREIGN)));
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("StartupTaintReadded"));
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(agent.state()).isEqualTo(State.DONE);
        int watches = fake.calls("watch");
        fake.setTaints(FOREIGN, OUR_TAINT);
        Thread.sleep(300);
        assertThat(fake.taints()).containsExactly(FOREIGN, OUR_TAINT);
        assertThat(fake.calls("watch")).isEqualTo(watches);
        assertThat(Scraped.requests(agent.metrics(), "patch")).isZero(); // the fake does not report to metrics
    }

    @Test
    void certTimeoutKeepWaitingWarnsTurnsReadyKeepsTheTaintAndStillUntaintsLate() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        start(settings("CERT_CHECK_DURATION", "200ms"), fake, cert);
        assertThat(agent.readiness().ready()).isFalse();
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("ServingCertificateTimeout"));
        // Reported: Ready, so a DaemonSet rollout does not stall on this node; the taint stays.
        await().atMost(WAIT).until(() -> agent.readiness().ready());
        assertThat(agent.readiness().detail()).contains("ServingCertificateTimeout", "the taint stays",
                "file does not exist");
        Thread.sleep(200);
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
        assertThat(fake.calls("patch")).isZero();
        cert.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(agent.readiness().detail()).contains("startup taint removed");
        assertThat(fake.events.stream().filter(e -> e.reason().equals("ServingCertificateTimeout")).findFirst()
                .orElseThrow().type()).isEqualTo("Warning");
    }

    @Test
    void afterTheTimeoutAFastSourceSlowsDownToOneLookASecond() throws Exception {
        FakeCertSource cert = new FakeCertSource().pace(Duration.ofMillis(20));
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        JumpingClock clock = new JumpingClock();
        start(settings("CERT_CHECK_DURATION", "1s"), fake, cert, clock);
        Thread.sleep(500);
        assertThat(cert.checks()).as("at its own pace before the timeout").isGreaterThan(10);
        await().atMost(WAIT).until(() -> fake.eventReasons().contains("ServingCertificateTimeout"));
        int at = cert.checks();
        Thread.sleep(500);
        assertThat(cert.checks() - at).as("checks in 0.5 s just after the timeout").isGreaterThan(8);
        clock.jump(Duration.ofMinutes(2));
        Thread.sleep(200); // the wait under way when the clock jumped
        at = cert.checks();
        Thread.sleep(2_500);
        assertThat(cert.checks() - at).as("checks in 2.5 s, two minutes after the timeout").isBetween(2, 4);
        cert.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void certTimeoutRemoveTaintFailsOpenAndReadinessSaysSo() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        cert.set(new CertCheck.NotYet(CertCheck.Problem.EXPIRED, "notAfter yesterday"));
        start(settings("CERT_CHECK_DURATION", "100ms", "ON_CERT_TIMEOUT", "remove-taint", "SETTLE_DURATION", "5s"),
                fake, cert);
        await().atMost(WAIT).until(() -> fake.taints().isEmpty());
        assertThat(agent.readiness().detail()).contains("remove-taint", "certificate has expired");
        cert.makeValid();
        await().atMost(WAIT).until(() -> agent.readiness().detail().contains("serving certificate valid"));
        assertThat(agent.readiness().ready()).isTrue();
    }

    @Test
    void skipCertCheckIsAGenericTaintRemover() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("SKIP_CERT_CHECK", "true"), fake, new FakeCertSource());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        assertThat(agent.readiness().ready()).isTrue();
    }

    @Test
    void startupJitterOnlyWhenTheCertificateWasAlreadyValid() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("STARTUP_JITTER", "3s"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(sleeps).hasSize(1).allSatisfy(d -> assertThat(d).isBetween(Duration.ZERO, Duration.ofSeconds(3)));

        sleeps.clear();
        FakeNodeApi second = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource late = new FakeCertSource();
        start(settings("STARTUP_JITTER", "3s"), second, late);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        late.makeValid();
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(sleeps).isEmpty();
    }

    @Test
    void nodeWithoutOurTaintIsANoOp() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", FOREIGN);
        start(settings(), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.calls("patch")).isZero();
        assertThat(fake.taints()).containsExactly(FOREIGN);
        assertThat(agent.readiness().ready()).isTrue();
    }

    @Test
    void aCertificateCheckThatThrowsCountsAsNotValidAndTheWatchCarriesOn() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource().throwOnChecks(3, new IllegalStateException("bug in a source"));
        cert.set(FakeCertSource.valid());
        start(settings(), fake, cert);
        await().atMost(WAIT).until(() -> cert.checks() >= 3);
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(cert.checks()).isGreaterThan(3);
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void aPartOfTheAgentThatDiesStopsTheAgentWhichSaysWhyAndRemovesNothing() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        FakeCertSource cert = new FakeCertSource().throwOnAwait(new IllegalStateException("bug in a wait"));
        api = fake;
        agent = Wiring.agent(settings(), fake, cert, new Metrics(Clock.systemUTC()::instant),
                new Timing(Clock.systemUTC(), sleeper, new SplittableRandom(1)));
        java.util.concurrent.atomic.AtomicReference<Throwable> thrown = new java.util.concurrent.atomic.AtomicReference<>();
        Thread runner = Thread.ofVirtual().start(() -> {
            try {
                agent.run();
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        runner.join(WAIT);
        assertThat(runner.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("cert-watch stopped unexpectedly").hasRootCauseMessage("bug in a wait");
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
        assertThat(fake.calls("patch")).isZero();
    }

    @Test
    void inANamespaceWhereTheApiserverRefusesNodeEventsNoneIsPostedButEveryOutcomeIsCounted() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("POD_NAMESPACE", "agents"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        Thread.sleep(200); // Events are posted in the background
        assertThat(fake.calls("create-event")).isZero();
        assertThat(Scraped.outcomes(agent.metrics(), Reason.STARTUP_TAINT_REMOVED)).isEqualTo(1);
    }

    @Test
    void closeEndsAWaitingAgentPromptly() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("MODE", "continuous"), fake, new FakeCertSource());
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        long start = System.nanoTime();
        agent.close();
        assertThat(agent.awaitFinished(Duration.ofSeconds(2))).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
    }

    @Test
    void aPolicyInForceIsCheckedOnceAndSaysNothing() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("ADMISSION_POLICY_CHECK", "warn"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> fake.calls("check-policy") == 1);
        Thread.sleep(200);
        assertThat(fake.eventReasons()).doesNotContain(Reason.ADMISSION_POLICY_NOT_ENFORCED.value());
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void aPolicyNotInForceIsAWarningAndTheTaintGoesAnywayByDefault() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        fake.policyEnforced = false;
        start(settings("ADMISSION_POLICY_CHECK", "warn"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> fake.eventReasons().contains(Reason.ADMISSION_POLICY_NOT_ENFORCED.value()));
        assertThat(note(Reason.ADMISSION_POLICY_NOT_ENFORCED.value())).contains("ADMISSION_POLICY_CHECK=warn");
        assertThat(Scraped.outcomes(agent.metrics(), Reason.ADMISSION_POLICY_NOT_ENFORCED)).isEqualTo(1);
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void requireRemovesNothingUntilThePolicyIsInForce() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        fake.policyEnforced = false;
        start(settings("ADMISSION_POLICY_CHECK", "require"), fake, new FakeCertSource().makeValid());
        await().atMost(WAIT).until(() -> fake.calls("check-policy") >= 3);
        assertThat(agent.state()).isEqualTo(State.WAITING_FOR_ADMISSION_POLICY);
        assertThat(fake.calls("patch")).isZero();
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
        assertThat(fake.eventReasons()).containsOnlyOnce(Reason.ADMISSION_POLICY_NOT_ENFORCED.value());
        assertThat(sleeps).startsWith(AdmissionCheck.RECHECK_FIRST, AdmissionCheck.RECHECK_FIRST.multipliedBy(2));

        fake.policyEnforced = true;
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void offChecksNothing() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        fake.policyEnforced = false;
        start(settings("ADMISSION_POLICY_CHECK", "off"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.calls("check-policy")).isZero();
        assertThat(fake.eventReasons()).doesNotContain(Reason.ADMISSION_POLICY_NOT_ENFORCED.value());
        assertThat(fake.taints()).isEmpty();
    }

    @Test
    void warnNeitherWaitsForNorHammersAnApiserverThatCannotAnswerTheCheck() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT).failNext("check-policy",
                ApiFailure.noResponse("refused"), ApiFailure.noResponse("refused"), ApiFailure.noResponse("refused"));
        start(settings("ADMISSION_POLICY_CHECK", "warn"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        // In the background, each try a while after the one before, then given up.
        await().atMost(WAIT).until(() -> fake.calls("check-policy") == AdmissionCheck.WARN_ATTEMPTS);
        assertThat(sleeps).contains(AdmissionCheck.RECHECK_FIRST, AdmissionCheck.RECHECK_FIRST.multipliedBy(2));
        Thread.sleep(200);
        assertThat(fake.calls("check-policy")).isEqualTo(AdmissionCheck.WARN_ATTEMPTS);
    }

    @Test
    void reporterOnlyReportsTheConditionAndNeverTouchesTheTaint() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", FOREIGN, OUR_TAINT);
        FakeCertSource cert = new FakeCertSource();
        start(settings("NODE_CONDITION", "reporter-only"), fake, cert);
        // Absent before the first look, then False with the problem's reason.
        await().atMost(WAIT).until(() -> fake.condition() != null);
        assertThat(fake.condition().type()).isEqualTo(NodeCondition.CERT_TYPE);
        assertThat(fake.condition().status()).isEqualTo("False");
        assertThat(fake.condition().reason()).isEqualTo("Missing");
        assertThat(agent.readiness().ready()).isFalse();
        Instant falseSince = fake.condition().lastTransitionTime();

        cert.makeValid();
        await().atMost(WAIT).until(() -> "True".equals(fake.condition().status()));
        assertThat(fake.condition().reason()).isEqualTo(Reason.SERVING_CERTIFICATE_READY.value());
        assertThat(fake.condition().lastTransitionTime()).isAfterOrEqualTo(falseSince);
        assertThat(agent.awaitFinished(WAIT)).isTrue(); // SETTLE_DURATION=0
        assertThat(agent.readiness().ready()).isTrue();
        assertThat(agent.state()).isEqualTo(State.DONE);
        // The taint is the Node Readiness Controller's: not one patch of spec.taints.
        assertThat(fake.calls("patch")).isZero();
        assertThat(fake.taints()).containsExactly(FOREIGN, OUR_TAINT);
        assertThat(fake.calls("patch-status")).isEqualTo(2);
    }

    @Test
    void withTheConditionOnTheTaintGoesAndTheConditionSaysTrue() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("NODE_CONDITION", "on"), fake, new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).isEmpty();
        await().atMost(WAIT).until(() -> fake.condition() != null);
        assertThat(fake.condition().status()).isEqualTo("True");
    }

    @Test
    void aRefusedConditionIsAWarningRetriedWithBackoffAndReporterOnlyStaysNotReady() throws Exception {
        ApiFailure forbidden = new ApiFailure(403, null, "patch-status 403: nodes \"n\" is forbidden");
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT).failNext("patch-status", forbidden, forbidden, forbidden);
        start(settings("NODE_CONDITION", "reporter-only"), fake, new FakeCertSource().makeValid());
        await().atMost(WAIT).until(() -> fake.calls("patch-status") >= 4);
        await().atMost(WAIT).until(() -> fake.condition() != null && "True".equals(fake.condition().status()));
        assertThat(fake.eventReasons()).containsOnlyOnce(Reason.NODE_CONDITION_REFUSED.value());
        assertThat(note(Reason.NODE_CONDITION_REFUSED.value())).contains("nodes/status", "components/node-condition");
        assertThat(sleeps.subList(0, 3)).allMatch(Duration::isPositive); // backed off, never at once
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.taints()).containsExactly(OUR_TAINT);
    }

    @Test
    void withTheConditionOnTheAdmissionCheckAlsoTriesAForeignCondition() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OUR_TAINT);
        start(settings("NODE_CONDITION", "on", "ADMISSION_POLICY_CHECK", "require"), fake,
                new FakeCertSource().makeValid());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(fake.calls("check-policy")).isEqualTo(1);
        assertThat(fake.calls("check-policy-status")).isEqualTo(1);
    }
}
