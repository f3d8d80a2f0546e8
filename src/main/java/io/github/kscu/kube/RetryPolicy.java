package io.github.kscu.kube;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * What to do after a failed request. Pure: the same failure, attempt and random draw give the same
 * decision, so the whole sequence is unit-tested without a server.
 *
 * <ul>
 *   <li>409/422 (our {@code test} precondition or an optimistic-lock conflict): another writer changed
 *   the taints; read again and retry at once. After a few in a row, back off: a persistent 422 is an
 *   admission rejection, not a race, and must not become a hot loop.</li>
 *   <li>429 and 5xx: honour {@code Retry-After}, else jittered exponential backoff.</li>
 *   <li>No response (refused, reset, timed out): the same backoff; the apiserver may be restarting.</li>
 *   <li>Anything else (401/403/404...): backoff as well, because the agent never gives up while it runs;
 *   RBAC being fixed or a Node being re-created are both things that end.</li>
 * </ul>
 */
public final class RetryPolicy {
    public static final Duration BASE = Duration.ofMillis(200);
    public static final Duration CAP = Duration.ofSeconds(30);
    static final int IMMEDIATE_CONFLICT_RETRIES = 3;

    private final RandomGenerator random;

    public RetryPolicy(RandomGenerator random) {
        this.random = random;
    }

    /**
     * The decision after a failure.
     *
     * @param delay   how long to wait first (zero: at once)
     * @param refetch whether to read the node again before the next write
     */
    public record Decision(Duration delay, boolean refetch) {
    }

    /** @param attempt how many failures in a row so far, counting this one (1 for the first) */
    public Decision afterFailure(ApiFailure failure, int attempt) {
        int status = failure.status();
        if ((status == 409 || status == 422) && attempt <= IMMEDIATE_CONFLICT_RETRIES) {
            return new Decision(Duration.ZERO, true);
        }
        if ((status == 429 || status >= 500) && failure.retryAfter() != null) {
            Duration d = failure.retryAfter();
            return new Decision(d.compareTo(CAP) > 0 ? CAP : d.isNegative() ? Duration.ZERO : d, true);
        }
        return new Decision(backoff(attempt), true);
    }

    /**
     * Equal-jitter exponential backoff: half the window fixed, half random. Full jitter could retry at
     * once after an outage; no jitter would make a thousand nodes retry in lockstep.
     */
    public Duration backoff(int attempt) {
        int exponent = Math.min(Math.max(attempt - 1, 0), 20);
        long window = Math.min(CAP.toMillis(), BASE.toMillis() << exponent);
        long half = window / 2;
        return Duration.ofMillis(half + random.nextLong(half + 1));
    }
}
