package io.github.kscu.agent;

import static io.github.kscu.agent.FakeNodeApi.taint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.TaintSelector;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
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

    @AfterEach
    void stop() throws InterruptedException {
        tracker.stop();
        thread.interrupt();
        thread.join(5_000);
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
            public String watch(String node, String rv, Duration timeout, Consumer<NodeSnapshot> onChange)
                    throws ApiFailure, InterruptedException {
                watches.add(clock.instant());
                return fake.watch(node, rv, timeout, onChange);
            }

            @Override
            public void createEvent(NodeEvent event) throws ApiFailure {
                fake.createEvent(event);
            }
        };
        tracker = new NodeTracker("n", recording, List.of(TaintSelector.parse(OURS.key())),
                new RetryPolicy(new SplittableRandom(7)), clock::sleep, clock, new SplittableRandom(7), new Changes());
        thread = Thread.ofVirtual().start(tracker);
        await().atMost(Duration.ofSeconds(20)).until(() -> clock.elapsed().compareTo(RUN_FOR) >= 0);
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
        assertThat(tracker.lastError()).containsAnyOf("403", "503");
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

    @Test
    void aHealthyWatchIsNotInterruptedByGets() throws Exception {
        FakeNodeApi fake = new FakeNodeApi("n", OURS);
        tracker = new NodeTracker("n", fake, List.of(TaintSelector.parse(OURS.key())),
                new RetryPolicy(new SplittableRandom(7)), Sleeper.REAL, Clock.systemUTC(), new SplittableRandom(7),
                new Changes());
        thread = Thread.ofVirtual().start(tracker);
        await().atMost(Duration.ofSeconds(5)).until(() -> fake.calls("watch") == 1);
        fake.setTaints();
        await().atMost(Duration.ofSeconds(5)).until(() -> tracker.latest().plan().clean());
        Thread.sleep(300);
        assertThat(fake.calls("get")).isEqualTo(1);
        assertThat(fake.calls("watch")).isEqualTo(1);
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
