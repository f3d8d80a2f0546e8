package io.github.kscu.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(new SplittableRandom(7));

    static ApiFailure status(int code) {
        return new ApiFailure(code, null, "status " + code);
    }

    @ParameterizedTest
    @ValueSource(ints = {409, 422})
    void conflictsRefetchAndRetryAtOnceThenBackOff(int code) {
        for (int attempt = 1; attempt <= RetryPolicy.IMMEDIATE_CONFLICT_RETRIES; attempt++) {
            RetryPolicy.Decision d = policy.afterFailure(status(code), attempt, Duration.ZERO);
            assertThat(d.delay()).isZero();
            assertThat(d.refetch()).isTrue();
        }
        RetryPolicy.Decision later = policy.afterFailure(status(code), RetryPolicy.IMMEDIATE_CONFLICT_RETRIES + 1, Duration.ZERO);
        assertThat(later.delay()).isPositive();
        assertThat(later.refetch()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(ints = {429, 500, 503, ApiFailure.NO_RESPONSE})
    void throttledOrUnansweredWritesBackOffWithoutReadingTheNodeAgain(int code) {
        for (int attempt = 1; attempt <= 3; attempt++) {
            RetryPolicy.Decision d = policy.afterFailure(status(code), attempt, Duration.ZERO);
            assertThat(d.delay()).isPositive();
            assertThat(d.refetch()).as("the watch holds the node; only a conflict says it is stale").isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {429, 500, 503, ApiFailure.NO_RESPONSE})
    void eventsRetryWhatCanPassAFewTimes(int code) {
        for (int attempt = 1; attempt < RetryPolicy.EVENT_ATTEMPTS; attempt++) {
            assertThat(policy.afterEventFailure(status(code), attempt)).hasValueSatisfying(d ->
                    assertThat(d).isPositive().isLessThanOrEqualTo(RetryPolicy.EVENT_RETRY_CAP));
        }
        assertThat(policy.afterEventFailure(status(code), RetryPolicy.EVENT_ATTEMPTS)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 401, 403, 404, 409, 422})
    void eventsAreDroppedAtOnceWhenRetryingCannotHelp(int code) {
        assertThat(policy.afterEventFailure(status(code), 1)).isEmpty();
    }

    @Test
    void eventsWaitAtLeastRetryAfterSpreadUpToTwiceItWithinTheirCap() {
        Set<Duration> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            Duration d = policy.afterEventFailure(new ApiFailure(429, Duration.ofSeconds(1), "x"), 1).orElseThrow();
            assertThat(d).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
            seen.add(d);
        }
        assertThat(seen).as("spread, not in lockstep").hasSizeGreaterThan(10);
        assertThat(policy.afterEventFailure(new ApiFailure(429, Duration.ofSeconds(60), "x"), 1))
                .contains(RetryPolicy.EVENT_RETRY_CAP);
    }

    @Test
    void retryAfterIsHonouredSpreadUpToTwiceItAndCapped() {
        Set<Duration> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            Duration d = policy.afterFailure(new ApiFailure(429, Duration.ofSeconds(3), "x"), 1, Duration.ZERO).delay();
            assertThat(d).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(6));
            seen.add(d);
        }
        assertThat(seen).as("spread, not in lockstep").hasSizeGreaterThan(10);
        assertThat(policy.afterFailure(new ApiFailure(503, Duration.ofSeconds(3600), "x"), 1, Duration.ZERO).delay())
                .isEqualTo(RetryPolicy.CAP);
        // A negative Retry-After counts as none: the first backoff applies.
        assertThat(policy.afterFailure(new ApiFailure(429, Duration.ofSeconds(-1), "x"), 1, Duration.ZERO).delay())
                .isLessThanOrEqualTo(RetryPolicy.BASE);
    }

    @Test
    void aServerThatKeepsThrottlingGetsTheGrowingBackoffOnceItIsLongerThanRetryAfter() {
        ApiFailure throttled = new ApiFailure(429, Duration.ofSeconds(1), "x");
        // Failing for a minute: the window is a fifth of that, 12 s, half of it fixed.
        Duration d = policy.afterFailure(throttled, 10, Duration.ofSeconds(60)).delay();
        assertThat(d).isBetween(Duration.ofSeconds(6), Duration.ofSeconds(12));
        // Early on, Retry-After (spread up to twice it) is the longer one.
        assertThat(policy.afterFailure(throttled, 1, Duration.ZERO).delay())
                .isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 429, 500, 503, 401, 403, 404})
    void everythingElseBacksOffWithinTheWindow(int code) {
        for (int attempt = 1; attempt <= 30; attempt++) {
            Duration d = policy.afterFailure(status(code), attempt, Duration.ofHours(1)).delay();
            long window = Math.min(RetryPolicy.CAP.toMillis(), RetryPolicy.BASE.toMillis() << Math.min(attempt - 1, 20));
            assertThat(d.toMillis()).isBetween(window / 2, window);
        }
    }

    @Test
    void backoffIsAtMostAFifthOfTheOutageSoFarSoRecoveryIsQuickAfterAShortOne() {
        // 20 s of failures: pure exponential backoff would be in its 6.4-12.8 s window by attempt 7.
        for (int attempt = 1; attempt <= 30; attempt++) {
            assertThat(policy.backoff(attempt, Duration.ofSeconds(20))).isLessThanOrEqualTo(Duration.ofSeconds(4));
            assertThat(policy.backoff(attempt, Duration.ZERO)).isLessThanOrEqualTo(Duration.ofSeconds(1));
        }
        // A long outage still ends up at the cap, never beyond it.
        assertThat(policy.backoff(30, Duration.ofHours(1))).isBetween(RetryPolicy.CAP.dividedBy(2), RetryPolicy.CAP);
    }

    @Test
    void backoffIsJitteredSoNodesDoNotRetryInLockstep() {
        RetryPolicy a = new RetryPolicy(new SplittableRandom(1));
        RetryPolicy b = new RetryPolicy(new SplittableRandom(2));
        long same = 0;
        for (int attempt = 3; attempt < 13; attempt++) {
            same += a.backoff(attempt).equals(b.backoff(attempt)) ? 1 : 0;
        }
        assertThat(same).isLessThan(3);
    }

    @Test
    void backoffNeverExceedsTheCapEvenForHugeAttemptCounts() {
        assertThat(policy.backoff(Integer.MAX_VALUE)).isLessThanOrEqualTo(RetryPolicy.CAP);
        assertThat(policy.backoff(0)).isLessThanOrEqualTo(RetryPolicy.BASE);
    }

    @Test
    void retryAfterHeaderParsing() {
        assertThat(HttpNodeApi.retryAfter("5")).isEqualTo(Duration.ofSeconds(5));
        assertThat(HttpNodeApi.retryAfter(" 1 ")).isEqualTo(Duration.ofSeconds(1));
        assertThat(HttpNodeApi.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).isNull();
        assertThat(HttpNodeApi.retryAfter(null)).isNull();
    }
}
