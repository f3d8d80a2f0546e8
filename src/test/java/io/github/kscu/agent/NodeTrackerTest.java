package io.github.kscu.agent;

import static io.github.kscu.agent.FakeNodeApi.taint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.config.InvalidSettingException;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.report.Metrics;
import io.github.kscu.taint.Taint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The node tracker in virtual time: it never goes blind, and never re-arms watches in a busy loop. */
class NodeTrackerTest {
    private static final Taint OURS = taint("example.com/kubelet-no-server-cert", "NoSchedule");
    private static final Duration RUN_FOR = Duration.ofMinutes(10);

    /** Time moves only when the tracker sleeps, so ten minutes of retries take milliseconds. */
    private final VirtualClock clock = new VirtualClock();
    private final List<Instant> gets = new CopyOnWriteArrayList<>();
    private final List<Instant> watches = new CopyOnWriteArrayList<>();
    private Thread thread;
    private NodeTracker tracker;
    private NodeContext context;

    @AfterEach
    void stopTracker() {
        tracker.stop();
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(thread.isAlive()).as("the tracker's thread ends when stopped").isFalse();
    }

    /** A tracker of node n that removes {@link #OURS}, as {@link Wiring} builds it. */
    private NodeTracker tracker(NodeApi api, Timing timing, Duration grace) {
        Settings settings;
        try {
            settings = Settings.fromMap(Map.of("NODE_NAME", "n", "TAINT_KEY", OURS.key()));
        } catch (InvalidSettingException e) {
            throw new AssertionError(e);
        }
        context = new NodeContext(settings, api, new Metrics(timing.clock()::instant), timing);
        return new NodeTracker(context, grace);
    }

    private void run(FakeNodeApi fake) {
        NodeApi recording = new NodeApi() {
            @Override
            public NodeSnapshot get(String node) throws ApiFailure {
                gets.add(clock.instant());
                return fake.get(node);
            }

            @Override
            public NodeSnapshot patchTaints(String node, List<Taint> expected, List<Taint> desired) throws ApiFailure {
                return fake.patchTaints(node, expected, desired);
            }

            @Override
            public String watch(String node, String rv, Duration timeout, Runnable opened,
                    Consumer<NodeSnapshot> onChange)
                    throws ApiFailure, InterruptedException {
                watches.add(clock.instant());
                return fake.watch(node, rv, timeout, opened, onChange);
            }

            @Override
            public java.util.Optional<String> dryRunForbiddenChange(String node, boolean status) throws ApiFailure {
                return fake.dryRunForbiddenChange(node, status);
            }

            @Override
            public NodeSnapshot patchCondition(String node, io.github.kscu.kube.NodeCondition c) throws ApiFailure {
                return fake.patchCondition(node, c);
            }

            @Override
            public void createEvent(NodeEvent event) throws ApiFailure {
                fake.createEvent(event);
            }
        };
        tracker = tracker(recording, new Timing(clock, clock::sleep, new SplittableRandom(7)),
                NodeTracker.FIRST_EVENT_GRACE);
        thread = Thread.ofVirtual().start(tracker);
        await().atMost(Duration.ofSeconds(20)).until(() -> clock.elapsed().compareTo(RUN_FOR) >= 0);
        // A virtual minute passes in a few real milliseconds, so the tracker is well past the window when
        // the wait notices: stop it, then count only what it asked within the window.
        stopTracker();
        Instant end = clock.start().plus(RUN_FOR);
        gets.removeIf(t -> t.isAfter(end));
        watches.removeIf(t -> t.isAfter(end));
    }

    @Test
    void aWatchThatKeepsFailingIsBackedByAFreshGetAtLeastEveryThirtySeconds() {
        FakeNodeApi fake = new FakeNodeApi("n", OURS);
        for (int i = 0; i < 10_000; i++) {
            fake.failNext("watch", i % 2 == 0 ? new ApiFailure(403, null, "watch 403: forbidden")
                    : new ApiFailure(503, null, "watch 503: unavailable"));
        }
        run(fake);
        assertThat(gaps(gets)).isNotEmpty().allSatisfy(g -> assertThat(g).isLessThanOrEqualTo(Duration.ofSeconds(30)));
        assertThat(gets.size()).isGreaterThanOrEqualTo((int) (RUN_FOR.toSeconds() / 30));
        assertThat(context.latest().readError()).containsAnyOf("403", "503");
        // Backed off, not hammering: ten minutes of failures cost well under one request a second.
        assertThat(gets.size() + watches.size()).isLessThan((int) RUN_FOR.toSeconds() / 4);
    }

    @Test
    void aWatchThatEndsAtOnceIsReArmedNoSoonerThanTheFloorAndBackedByGets() {
        run(new FakeNodeApi("n", OURS).watchEndsAtOnce());
        assertThat(gaps(watches)).isNotEmpty()
                .allSatisfy(g -> assertThat(g).isGreaterThanOrEqualTo(NodeTracker.MIN_WATCH_GAP));
        assertThat(gaps(gets)).allSatisfy(g -> assertThat(g).isLessThanOrEqualTo(Duration.ofSeconds(30)));
        assertThat(gets.size()).isGreaterThanOrEqualTo((int) (RUN_FOR.toSeconds() / 30));
        assertThat(watches.size()).isLessThan((int) RUN_FOR.toSeconds() / 4);
    }

    /** On the real clock, for what happens in the first seconds. */
    private void runReal(FakeNodeApi fake, Duration grace) {
        tracker = tracker(fake, new Timing(Clock.systemUTC(), Sleeper.REAL, new SplittableRandom(7)), grace);
        thread = Thread.ofVirtual().start(tracker);
    }

    @Test
    void theWatchAloneReadsTheNodeAndAHealthyOneIsNotInterruptedByGets() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OURS);
        runReal(fake, Duration.ofMillis(200));
        await().atMost(Duration.ofSeconds(5)).until(() -> context.latest().get() != null);
        // The watch starts without a resourceVersion, so its first event is the node: no GET before it.
        assertThat(fake.watchedFrom).containsExactly((String) null);
        assertThat(context.latest().get().node().uid()).isEqualTo("uid-n");
        assertThat(context.latest().get().node().taints()).containsExactly(OURS);
        fake.setTaints();
        await().atMost(Duration.ofSeconds(5)).until(() -> context.latest().get().plan().clean());
        Thread.sleep(400); // past the grace: the node came in time, so no GET looks for it
        assertThat(fake.calls("get")).isZero();
        assertThat(fake.calls("watch")).isEqualTo(1);
    }

    @Test
    void aNodeTheFirstWatchDoesNotShowWithinTheGraceIsLookedForWithOneGetThatSaysNotFound() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OURS).missing();
        runReal(fake, Duration.ofMillis(500));
        Thread.sleep(150);
        assertThat(fake.calls("get")).as("GETs within the grace").isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> fake.calls("get") == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> context.latest().readError() != null);
        assertThat(context.latest().readError()).contains("404", "nodes \"n\" not found");
        assertThat(context.latest().get()).isNull();
        Thread.sleep(600);
        assertThat(fake.calls("get")).as("GETs a grace later: the next one waits %s", NodeTracker.RELIST_WHILE_FAILING)
                .isEqualTo(1);
        // The node registers: the watch, still open, shows it.
        fake.create();
        await().atMost(Duration.ofSeconds(5)).until(() -> context.latest().get() != null);
        assertThat(context.latest().get().node().taints()).containsExactly(OURS);
        assertThat(fake.calls("get")).isEqualTo(1);
        assertThat(fake.calls("watch")).isEqualTo(1);
    }

    @Test
    void aWatchTheApiserverIsSlowToAcceptIsNotDoubledByAGet() throws Exception {
        // Busy with a fleet's watches: silence before the watch is accepted says nothing about the node.
        FakeNodeApi fake = new FakeNodeApi("n", OURS).watchAnsweredAfter(Duration.ofMillis(800));
        runReal(fake, Duration.ofMillis(200));
        await().atMost(Duration.ofSeconds(5)).until(() -> context.latest().get() != null);
        Thread.sleep(400); // past the grace after acceptance too
        assertThat(fake.calls("get")).as("GETs while the apiserver was slow to accept the watch").isZero();
        assertThat(fake.calls("watch")).isEqualTo(1);
    }

    @Test
    void aGoneWatchStartsAgainFromTheNodeAsItIsNowWithoutAGet() throws Exception {
        // The first watch fails (a GET follows: never blind), the second, resumed from that GET, is too old.
        FakeNodeApi fake = new FakeNodeApi("n", OURS).failNext("watch", new ApiFailure(503, null, "watch 503"),
                new ApiFailure(410, null, "watch error: too old resource version"));
        runReal(fake, Duration.ofMillis(200));
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.calls("watch") == 3 && context.latest().get() != null);
        assertThat(fake.watchedFrom).containsExactly(null, "100", null);
        Thread.sleep(400);
        assertThat(fake.calls("get")).isEqualTo(1);
        assertThat(fake.calls("watch")).isEqualTo(3);
    }

    private static List<Duration> gaps(List<Instant> times) {
        List<Duration> out = new ArrayList<>();
        for (int i = 1; i < times.size(); i++) {
            out.add(Duration.between(times.get(i - 1), times.get(i)));
        }
        return out;
    }

    /** A clock that a sleep advances; a real millisecond passes too, so other threads can run. */
    static final class VirtualClock extends Clock {
        private final Instant start = Instant.parse("2026-12-01T00:00:00Z");
        private volatile Duration elapsed = Duration.ZERO;

        void sleep(Duration d) throws InterruptedException {
            if (d.isPositive()) {
                synchronized (this) {
                    elapsed = elapsed.plus(d);
                }
            }
            Thread.sleep(1);
        }

        Duration elapsed() {
            return elapsed;
        }

        Instant start() {
            return start;
        }

        @Override
        public Instant instant() {
            return start.plus(elapsed);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
